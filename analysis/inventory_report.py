"""Presentation of `analysis.inventory` (fleet capacity) for the report."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.describe import count, num, pct
from analysis.inventory import InventoryResult
from analysis.presentation import drawable
from analysis.section import Section

NO_CLASS = "(no class given)"
# The lake's mem_gb counts 1 GB = 1024 MiB, as the traces do: binary units, so the report says
# GiB and TiB (1 TiB = 1024 GiB), never GB or TB, which would be 7-10% off.
MEMORY_COLUMN = "memory (GiB)"


def _label(kind: str | None) -> str:
    return kind if kind is not None else NO_CLASS


def _fig_classes(result: InventoryResult) -> go.Figure:
    fig = go.Figure()
    names = [_label(c.kind) for c in result.classes]
    fig.add_bar(
        x=names,
        y=[c.machines for c in result.classes],
        name="machines",
        text=[f"{c.machines:,}" for c in result.classes],
        textposition="outside",
    )
    if result.gpus:
        fig.add_bar(
            x=names,
            y=[c.gpus for c in result.classes],
            name="GPUs",
            text=[f"{c.gpus:,.0f}" if c.gpus is not None else "" for c in result.classes],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        title="Machines and GPUs per class",
        xaxis_title="machine class (GPU model or type)",
        yaxis_title="count",
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def _class_table(result: InventoryResult) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "class": _label(c.kind),
                "machines": c.machines,
                "share": c.machines / result.machines,
                "cores": c.cpus,
                "GPUs": c.gpus,
                MEMORY_COLUMN: c.mem_gb,
                "CPU-only": c.cpu_only,
            }
            for c in result.classes
        ],
        schema_overrides={"cores": pl.Float64, "GPUs": pl.Float64, MEMORY_COLUMN: pl.Float64},
    )


def _config_table(result: InventoryResult) -> pl.DataFrame:
    df = result.configs.with_columns(pl.col("kind").fill_null(NO_CLASS))
    # Capacities no machine reports are left out of the table.
    keep = [c for c in df.columns if c in ("kind", "machines") or df[c].drop_nulls().len()]
    names = {"kind": "class", "mem_gb": MEMORY_COLUMN}
    return df.select(keep).rename({k: v for k, v in names.items() if k in keep})


def _findings(result: InventoryResult) -> list[str]:
    if result.system is not None:
        parts = [f"One system, {result.system}"]
    else:
        parts = [f"{count(result.machines)} machines"]
    if result.cpus is not None:
        parts.append(f"{count(round(result.cpus))} cores")
    if result.gpus:
        parts.append(f"{count(round(result.gpus))} GPUs")
    if result.mem_gb is not None:
        parts.append(f"{num(result.mem_gb / 1024, 4)} TiB of memory")
    if result.nodes is not None:
        parts.append(f"{count(round(result.nodes))} nodes")
    out = [", ".join(parts) + "."]
    named = [c for c in result.classes if c.kind is not None]
    if len(result.classes) > 1:
        top = result.classes[0]
        out.append(
            f"{len(result.classes)} classes; the largest, {_label(top.kind)}, holds "
            f"{pct(top.machines / result.machines)} of the machines"
            + (f" and {pct((top.gpus or 0) / result.gpus)} of the GPUs." if result.gpus else ".")
        )
    if result.gpus:
        out.append(
            f"{count(result.gpu_machines)} machines have GPUs ({num(result.gpus_per_gpu_machine)} "
            f"per machine on average); {count(result.cpu_only)} are CPU-only."
        )
    if result.system is None:
        out.append(
            f"{count(result.configurations)} distinct configuration(s); the commonest covers "
            f"{pct(result.largest_configuration_share)} of the machines"
            + (" (a homogeneous fleet)." if result.configurations == 1 else ".")
        )
    if result.mem_normalized:
        out.append("Memory is given relative to the largest machine (0-100), not in bytes.")
    if not named and len(result.classes) == 1 and result.machines > 1:
        out.append("The release names no machine classes.")
    if result.offered_load is not None:
        out.append(
            f"The trace's {count(result.load_jobs or 0)} jobs asked for {pct(result.offered_load)} "
            "of the stated cores over the span from the first start to the last end (offered "
            "load: requested cores x run time)."
        )
    return out


def numbers(result: InventoryResult) -> dict[str, Any]:
    fields = asdict(result)
    for key in ("trace", "configs", "classes"):
        del fields[key]
    fields["classes"] = {
        _label(c.kind): {k: v for k, v in asdict(c).items() if k != "kind"} for c in result.classes
    }
    return fields


def section(result: InventoryResult) -> Section:
    figures = [_fig_classes(result)] if len(result.classes) > 1 else []
    tables = {"Capacity per class": _class_table(result)}
    if result.configurations > 1:
        tables["Configurations (machines of each)"] = _config_table(result)
    return Section(
        key="inventory",
        title="Capacity of the fleet",
        numbers=numbers(result),
        tables=tables,
        figures=drawable(figures),
        findings=_findings(result),
    )
