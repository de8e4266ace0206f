# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Acme (NSDI'24): final states of jobs, beside Alibaba, Google 2011 and SWF
#
# **Source.** Hu et al., "Characterization of Large Language Model Development in the
# Datacenter", NSDI 2024: the share of GPU jobs that completed, were cancelled or failed in
# each cluster, published in AcmeTrace's `data/cluster_summary.csv` for its own clusters
# (Seren, Kalos) and the earlier traces it compares them with (Philly, Helios):
#
# | cluster | completed | cancelled | failed |
# |---|---|---|---|
# | Seren | 0.497 | 0.075 | 0.429 |
# | Kalos | 0.541 | 0.062 | 0.397 |
# | Philly | 0.604 | 0.090 | 0.305 |
# | Helios | 0.624 | 0.221 | 0.155 |
#
# (Acme counts TIMEOUT and NODE_FAIL as failed.) **This is a summary, not a reproduction**:
# the file holds Acme's own published ratios, not job records, so the notebook can only read
# them back and check that they came through ingest and the failure analysis unchanged (within
# the file's rounding). Its rows are labelled `summary`; reproducing them would take the job
# logs (`trace_seren.csv`, `trace_kalos.csv`), which the samples do not include.
#
# **Beside them, ours.** The same final-state shares computed from job records by
# `analysis.failures` for the samples of Alibaba 2017 (batch tasks), Google 2011 (jobs) and the
# Parallel Workloads Archive SWF log (KTH SP2). No published number is checked for those: the
# samples are slices of the full traces. `unknown` is a job whose final state the slice does not
# show (still running at its end), counted apart and left out of every share: shares are of the
# jobs whose final state is known, the one failure ratio the report and its comparison table use.

# %%
import os
from pathlib import Path

import checks
import plotly.graph_objects as go
import polars as pl

from analysis import failures, failures_report
from analysis.db import LakeDB

# %% tags=["parameters"]
# Set by notebooks/run.py; by hand, point it at any lake (`make demo` builds ../lake).
LAKE = os.environ.get("TRACES_LAKE", "../lake")

# %%
PUBLISHED = {  # AcmeTrace data/cluster_summary.csv, GPU jobs
    "Seren": {"ok": 0.497, "cancelled": 0.075, "failed": 0.429},
    "Kalos": {"ok": 0.541, "cancelled": 0.062, "failed": 0.397},
    "Philly": {"ok": 0.604, "cancelled": 0.090, "failed": 0.305},
    "Helios": {"ok": 0.624, "cancelled": 0.221, "failed": 0.155},
}
TOLERANCE = 0.0005  # the file's three decimals
OURS = {  # source -> label, for the job traces analysed from their records
    "alibaba_2017_batch": "Alibaba 2017 batch tasks",
    "google_2011_jobs": "Google 2011 jobs",
    "swf": "SWF (PWA)",
}

db = LakeDB(Path(LAKE))
acme = [t for t in db.traces() if db.info(t).source == "acme_cluster_summary"]
if not acme:
    raise SystemExit(f"No Acme cluster_summary in {LAKE}: ingest acme_trace/cluster_summary.csv.")
published = failures.published(db, acme[0])
gpu_jobs = published.filter((pl.col("metric") == "jobs_share") & (pl.col("kind") == "gpu"))
ours = {t: failures.compute(db, t) for t in db.traces() if db.info(t).source in OURS}
gpu_jobs.pivot(on="status", index=["cluster", "jobs"], values="value")

# %% [markdown]
# ## One figure: published GPU-job shares (Acme) and our record-level shares

# %%
bars: list[tuple[str, dict[str, float]]] = []
for cluster in PUBLISHED:
    part = gpu_jobs.filter(pl.col("cluster") == cluster)
    bars.append((f"{cluster}<br>(Acme, published)", dict(part.select("status", "value").rows())))
for trace, res in ours.items():
    if res is not None and res.recorded is not None:
        label = OURS[db.info(trace).source]
        label = f"{label}<br>(ours, {res.recorded.counts.known_rows:,} rows with a known state)"
        bars.append((label, res.ratio_by_status))
statuses = [s for s in failures.STATUSES if any(s in shares for _, shares in bars)]
fig = go.Figure()
for status in statuses:
    fig.add_bar(
        x=[label for label, _ in bars],
        y=[shares.get(status, 0.0) for _, shares in bars],
        name=status,
        marker_color=failures_report.COLORS[status],
    )
fig.update_layout(
    barmode="stack",
    title="Final state of jobs: Acme's published GPU-job shares beside our analysis",
    yaxis={"title": "share of jobs", "tickformat": ".0%"},
    template="plotly_white",
)
fig.show()

# %% [markdown]
# ## Our numbers beside the published ones

# %%
results = []
for cluster, shares in PUBLISHED.items():
    got = dict(gpu_jobs.filter(pl.col("cluster") == cluster).select("status", "value").rows())
    for status, value in shares.items():
        results.append(
            checks.summary(
                f"{cluster} GPU jobs {status}",
                got.get(status),
                value,
                abs_tol=TOLERANCE,
                fmt=".3f",
            )
        )
for trace, res in ours.items():
    if res is None or res.recorded is None:
        continue
    counts = res.recorded.counts
    note = "a slice of the trace: no published number to check" + (
        f"; {counts.unknown_rows:,} of {counts.rows:,} rows have no final state in the slice "
        "and are left out"
        if counts.unknown_rows
        else ""
    )
    results.append(
        checks.context(f"{trace}: unsuccessful share", res.failure_ratio, None, note, ".3f")
    )
checks.report("acme_job_failures", results)
