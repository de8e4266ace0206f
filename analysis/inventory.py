"""Capacity of a fleet: machine inventories (the `summaries` rows with stat 'capacity').

Node lists (Alibaba GPU 2023, spot GPU 2026, PAI 2020 machine specs, Alibaba 2018 machine
meta) and the capacity an SWF log states in its header describe the machines a workload ran
on. Their users ask how large the fleet is (machines, cores, GPUs, memory), how it splits into
classes (GPU models, CPU-only machines), how heterogeneous it is (distinct configurations), and,
where the same trace holds jobs, how much of that capacity the jobs asked for (offered load).
SQL in analysis/queries/inventory_*.sql.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.db import LakeDB


@dataclass(frozen=True)
class ClassCapacity:
    """One machine class (GPU model or machine type; None when the release gives none)."""

    kind: str | None
    machines: int
    cpus: float | None  # cores, summed over the class's machines
    gpus: float | None  # GPUs, summed
    mem_gb: float | None  # GB, summed
    cpu_only: int  # machines with zero GPUs


@dataclass(frozen=True)
class InventoryResult:
    """The fleet of one trace. Capacities are summed over machines in their own units."""

    trace: str
    machines: int
    system: str | None  # the machine's name when the inventory is one system (an SWF log's)
    classes: tuple[ClassCapacity, ...]  # largest first
    cpus: float | None  # cores
    gpus: float | None
    mem_gb: float | None  # GB; None when the release gives memory only normalized
    mem_normalized: bool  # memory given relative to the largest machine (0-100)
    nodes: float | None  # nodes (an SWF system's)
    cpu_only: int  # machines with zero GPUs
    gpu_machines: int  # machines with at least one GPU
    gpus_per_gpu_machine: float | None  # mean over machines with GPUs
    configurations: int  # distinct (class, cores, GPUs, memory, nodes)
    largest_configuration_share: float  # machines in the commonest configuration / machines
    load_jobs: int | None  # jobs of the same trace with cores and run time
    offered_load: float | None  # their core-seconds / (cores x span from first start to last end)
    configs: pl.DataFrame  # kind, cpus, gpus, mem_gb, mem_normalized, nodes, machines


def _sum(df: pl.DataFrame, col: str, counted: str | None) -> float | None:
    """The column's sum, or None when no machine reports it."""
    if counted is not None and int(df[counted].sum()) == 0:
        return None
    value = df[col].sum()
    return None if value is None else float(value)


def compute(db: LakeDB, trace: str) -> InventoryResult | None:
    """The capacity summaries of a trace; None when it has none."""
    if not db.has(trace, "summaries"):
        return None
    classes = db.query("inventory_classes", trace=trace)
    if classes.is_empty():
        return None
    configs = db.query("inventory_configs", trace=trace)
    machines = int(classes["machines"].sum())
    cpu_only = int(classes["cpu_only"].sum())
    with_gpus = int(classes["with_gpus"].sum())
    gpus = _sum(classes, "gpus", "with_gpus")
    gpu_machines = with_gpus - cpu_only
    cpus = _sum(classes, "cpus", "with_cpus")
    load = jobs = None
    if cpus and db.has(trace, "jobs"):
        row = db.query_rounded("inventory_load", trace=trace).row(0, named=True)
        jobs = int(row["timed_jobs"])
        if row["core_seconds"] is not None and row["span_s"]:
            load = float(row["core_seconds"]) / (cpus * float(row["span_s"]))
    return InventoryResult(
        trace=trace,
        machines=machines,
        system=str(classes["first_machine"][0]) if machines == 1 else None,
        classes=tuple(
            ClassCapacity(
                kind=r["kind"],
                machines=int(r["machines"]),
                cpus=float(r["cpus"]) if r["with_cpus"] else None,
                gpus=float(r["gpus"]) if r["with_gpus"] else None,
                mem_gb=float(r["mem_gb"]) if r["with_mem_gb"] else None,
                cpu_only=int(r["cpu_only"]),
            )
            for r in classes.iter_rows(named=True)
        ),
        cpus=cpus,
        gpus=gpus,
        mem_gb=_sum(classes, "mem_gb", "with_mem_gb"),
        mem_normalized=configs["mem_normalized"].drop_nulls().len() > 0,
        nodes=_sum(classes, "nodes", None) if classes["nodes"].drop_nulls().len() else None,
        cpu_only=cpu_only,
        gpu_machines=gpu_machines,
        gpus_per_gpu_machine=gpus / gpu_machines if gpus and gpu_machines else None,
        configurations=configs.height,
        largest_configuration_share=int(configs["machines"].max()) / machines,  # type: ignore[arg-type]
        load_jobs=jobs,
        offered_load=load,
        configs=configs,
    )
