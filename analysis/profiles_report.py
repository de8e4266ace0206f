"""Presentation of `analysis.profiles` (operator time against tokens) for the report."""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.describe import count, num, pct
from analysis.presentation import drawable
from analysis.profiles import OperatorProfile, ProfilesResult
from analysis.section import Section

_TP = re.compile(r"^(?P<base>.+)/tp(?P<tp>\d+)$")


def _by_subject(result: ProfilesResult) -> dict[str, list[OperatorProfile]]:
    out: dict[str, list[OperatorProfile]] = {}
    for o in result.operators:
        out.setdefault(o.subject, []).append(o)
    return out


def _subject_table(result: ProfilesResult) -> pl.DataFrame:
    rows = []
    for subject, ops in _by_subject(result).items():
        top = max(ops, key=lambda o: o.share_at_max or 0.0)
        rows.append(
            {
                "subject": subject,
                "GPU": ops[0].sku,
                "operators": len(ops),
                "tokens": f"{ops[0].tokens_min:,}-{max(o.tokens_max for o in ops):,}",
                "time at fewest tokens (ms)": sum(o.t_at_min_s for o in ops) * 1e3,
                "time at most tokens (ms)": sum(o.t_at_max_s for o in ops) * 1e3,
                "largest operator": top.operator,
                "its share": top.share_at_max,
                "its flat range (tokens)": top.flat_until_tokens,
            }
        )
    return pl.DataFrame(rows)


def _operator_table(result: ProfilesResult) -> pl.DataFrame:
    ops = [o for o in result.operators if o.subject == result.curve_subject]
    return pl.DataFrame(
        [
            {
                "operator": o.operator,
                "points": o.points,
                f"ms at {o.tokens_min:,} token(s)": o.t_at_min_s * 1e3,
                "ms at most tokens": o.t_at_max_s * 1e3,
                "flat until (tokens)": o.flat_until_tokens,
                "µs per token (upper half)": None if o.s_per_token is None else o.s_per_token * 1e6,
                "R² (line)": o.r2,
                "timing CV": o.timing_cv,
                "share at most tokens": o.share_at_max,
            }
            for o in ops
        ]
    )


def _collective_table(result: ProfilesResult) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "setup": c.subject,
                "collective": c.collective,
                "points": c.points,
                "bytes": f"{c.size_min_bytes:,}-{c.size_max_bytes:,}",
                "µs at smallest": c.t_at_min_s * 1e6,
                "ms at largest": c.t_at_max_s * 1e3,
                "GB/s at largest": c.gb_per_s_at_max,
                "GB/s (slope)": c.gb_per_s_slope,
            }
            for c in result.collectives
        ]
    )


def _fig_curves(result: ProfilesResult) -> go.Figure:
    fig = go.Figure()
    for (op,), grp in result.curves.group_by("operator", maintain_order=True):
        fig.add_scatter(
            x=grp["tokens"].to_list(),
            y=(grp["t"] * 1e3).to_list(),
            mode="lines",
            name=str(op),
        )
    fig.update_layout(
        title=f"Operator time against batch tokens: {result.curve_subject}",
        xaxis_title="tokens in the batch (log scale)",
        xaxis_type="log",
        yaxis_title="median call time (ms, log scale)",
        yaxis_type="log",
        legend={"orientation": "h", "y": -0.3},
    )
    return fig


def _short(subject: str) -> str:
    """'a100/meta-llama/Llama-2-7b-hf/tp1' -> 'a100/Llama-2-7b-hf/tp1' (the org adds nothing)."""
    parts = subject.split("/")
    return "/".join([parts[0], *parts[2:]]) if len(parts) == 4 else subject


def _fig_shares(result: ProfilesResult) -> go.Figure:
    by = _by_subject(result)
    subjects = list(by)
    labels = [_short(s) for s in subjects]
    names = sorted({o.operator for o in result.operators})
    fig = go.Figure()
    for name in names:
        fig.add_bar(
            x=labels,
            y=[next((o.share_at_max for o in by[s] if o.operator == name), None) for s in subjects],
            name=name,
        )
    fig.update_layout(
        barmode="stack",
        title="Share of the profiled operators' time at the largest batch",
        xaxis_title="GPU / model / tensor-parallel degree",
        yaxis_title="share of operator time",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.6},
    )
    return fig


def _fig_collectives(result: ProfilesResult) -> go.Figure:
    fig = go.Figure()
    for name in sorted({c.collective for c in result.collectives}):
        cs = [c for c in result.collectives if c.collective == name]
        fig.add_bar(
            x=[c.subject for c in cs],
            y=[c.gb_per_s_at_max for c in cs],
            name=name,
            text=[f"{c.size_max_bytes / 2**20:,.0f} MiB" for c in cs],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        title="Collective bandwidth at the largest message",
        xaxis_title="node setup / workers",
        yaxis_title="GB/s (message bytes / time)",
        legend={"orientation": "h", "y": -0.35},
    )
    return fig


def _tp_scaling(result: ProfilesResult) -> list[str]:
    """Per model and GPU: operator time at the largest batch for each TP degree against TP 1."""
    totals: dict[str, dict[int, float]] = {}
    for subject, ops in _by_subject(result).items():
        m = _TP.match(subject)
        if m:
            totals.setdefault(m["base"], {})[int(m["tp"])] = sum(o.t_at_max_s for o in ops)
    out = []
    for base, by_tp in sorted(totals.items()):
        if 1 in by_tp and len(by_tp) > 1:
            ratios = ", ".join(
                f"TP {tp}: {num(by_tp[tp] / by_tp[1])}x" for tp in sorted(by_tp) if tp != 1
            )
            out.append(
                f"{base}: per-GPU operator time at the largest batch against TP 1 — {ratios}."
            )
    return out


def _findings(result: ProfilesResult) -> list[str]:
    out = []
    by = _by_subject(result)
    if by:
        n_ops = sorted({len(v) for v in by.values()})
        lo = min(o.tokens_min for o in result.operators)
        hi = max(o.tokens_max for o in result.operators)
        out.append(
            f"{result.subjects} GPU/model/tensor-parallel configurations, "
            f"{'-'.join(map(str, (n_ops[0], n_ops[-1]))) if len(n_ops) > 1 else n_ops[0]} "
            f"operators each, profiled from {count(lo)} to {count(hi)} tokens per batch."
        )
        tops = [max(ops, key=lambda o: o.share_at_max or 0.0) for ops in by.values()]
        names = sorted({t.operator for t in tops})
        shares = [t.share_at_max or 0.0 for t in tops]
        out.append(
            f"At the largest batch {' / '.join(names)} takes the largest share of the profiled "
            f"time in every configuration ({pct(min(shares))}-{pct(max(shares))})."
            if len(names) == 1
            else f"The largest operator at the largest batch: {', '.join(names)} "
            f"({pct(min(shares))}-{pct(max(shares))} of the profiled time)."
        )
        flat = [t.flat_until_tokens for t in tops if t.flat_until_tokens is not None]
        if flat:
            typical = count(int(statistics.median(flat)))
            out.append(
                f"Memory-bound regime: a batch of up to a median {typical} "
                f"tokens ({count(min(flat))}-{count(max(flat))}) runs the largest operator within "
                f"{pct(result.flat_factor - 1, 0)} of its one-token time; beyond that time grows "
                "linearly with tokens (R² of a line "
                f"{num(min(o.r2 or 0 for o in tops))}-{num(max(o.r2 or 0 for o in tops))})."
            )
        cvs = [o.timing_cv for o in result.operators if o.timing_cv is not None]
        if cvs:
            out.append(
                f"Repeated calls vary little: median std/mean {pct(statistics.median(cvs))} "
                f"(largest {pct(max(cvs))})."
            )
        out += _tp_scaling(result)
    for c in result.collectives:
        out.append(
            f"{c.collective} on {c.subject}: {num(c.t_at_min_s * 1e6)} µs for "
            f"{count(c.size_min_bytes)} bytes, {num(c.t_at_max_s * 1e3)} ms for "
            f"{c.size_max_bytes / 2**20:,.0f} MiB ({num(c.gb_per_s_at_max)} GB/s)."
        )
    return out


def numbers(result: ProfilesResult) -> dict[str, Any]:
    operators: dict[str, dict[str, Any]] = {}
    for o in result.operators:
        fields = asdict(o)
        del fields["subject"], fields["operator"]
        operators.setdefault(o.subject, {})[o.operator] = fields
    collectives: dict[str, dict[str, Any]] = {}
    for c in result.collectives:
        fields = asdict(c)
        del fields["subject"], fields["collective"]
        collectives.setdefault(c.subject, {})[c.collective] = fields
    return {
        "flat_factor": result.flat_factor,
        "subjects": result.subjects,
        "operators": operators,
        "collectives": collectives,
    }


def section(result: ProfilesResult) -> Section:
    figures = []
    tables: dict[str, pl.DataFrame] = {}
    if result.operators:
        figures += [_fig_curves(result), _fig_shares(result)]
        tables["Configurations (profiled operators summed)"] = _subject_table(result)
        tables[f"Operators of {result.curve_subject}"] = _operator_table(result)
    if result.collectives:
        figures.append(_fig_collectives(result))
        tables["Collectives"] = _collective_table(result)
    return Section(
        key="profiles",
        title="GPU operator profiles: time against tokens",
        numbers=numbers(result),
        tables=tables,
        figures=drawable(figures),
        findings=_findings(result),
        notes=[
            "Times are the profiles' median call times. 'Flat until' is the largest batch whose "
            f"time stays within {result.flat_factor:g}x the smallest batch's; the per-token "
            "slope is fitted over the upper half of the token range. Only the operators in the "
            "files are summed (the sample has no attention kernels)."
        ],
    )
