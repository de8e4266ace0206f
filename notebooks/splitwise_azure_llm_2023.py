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
# # Splitwise (ISCA'24): token lengths of the Azure LLM inference trace 2023
#
# **Source.** Patel et al., "Splitwise: Efficient Generative LLM Inference Using Phase
# Splitting", ISCA 2024: the characterization of the production traces Azure released with it
# (prompt and generated token distributions per service). Published medians for the
# conversation service: **1,020 input tokens and 129 output tokens**.
#
# **Data.** `AzureLLMInferenceTrace_conv.csv` of the Azure LLM inference dataset 2023, the
# whole conversation file, from `../shared/traces/llm_serving/azure_llm_inference_2023`. The
# coding file is not among the samples; if a lake holds it, its numbers are shown as ours only.
#
# **How.** `analysis.tokens.lengths_by_service` returns exact value counts per service from
# DuckDB; `tokens.summarize` and `tokens.cdf_points` turn them into quantiles and CDFs. Nothing
# is computed here beyond plotting and the comparison.

# %%
import os
from pathlib import Path

import checks
import plotly.graph_objects as go
import polars as pl

from analysis import tokens
from analysis.db import LakeDB

# %% tags=["parameters"]
# Set by notebooks/run.py; by hand, point it at any lake (`make demo` builds ../lake).
LAKE = os.environ.get("TRACES_LAKE", "../lake")

# %%
PUBLISHED = {"conversation": {"input": 1020, "output": 129}}
TOLERANCE = 0.01  # relative: the medians are exact order statistics of the same file

db = LakeDB(Path(LAKE))
traces = [t for t in db.traces() if db.info(t).source == "azure_llm_2023"]
if not traces:
    raise SystemExit(f"No Azure LLM 2023 trace in {LAKE}: `traces ingest` its CSV files first.")

summaries: dict[str, dict[str, tokens.Summary]] = {}
curves: dict[str, dict[str, tuple]] = {}
for trace in traces:
    by_service = tokens.lengths_by_service(db, trace, top=10)
    for service in by_service["service"].unique(maintain_order=True).to_list():
        for side in ("input", "output"):
            part = by_service.filter((pl.col("service") == service) & (pl.col("side") == side))
            values, counts = part["tokens"].to_numpy(), part["n"].to_numpy()
            summaries.setdefault(service, {})[side] = tokens.summarize(values, counts)
            curves.setdefault(service, {})[side] = tokens.cdf_points(values, counts)

pl.DataFrame(
    [
        {
            "service": svc,
            "side": side,
            "n": s.n,
            "mean": s.mean,
            "p10": s.p10,
            "p50": s.p50,
            "p90": s.p90,
        }
        for svc, sides in summaries.items()
        for side, s in sides.items()
    ]
)

# %% [markdown]
# ## Token length CDFs per service, with the published medians

# %%
fig = go.Figure()
colors = {"input": "#1f77b4", "output": "#d62728"}
for service, by_side in curves.items():
    for side, (x, f) in by_side.items():
        fig.add_scatter(
            x=x,
            y=f,
            mode="lines",
            line_shape="hv",
            name=f"{service} {side} (ours)",
            line={"color": colors[side]},
        )
        published = PUBLISHED.get(service, {}).get(side)
        if published:
            fig.add_scatter(
                x=[published, published],
                y=[0, 1],
                mode="lines",
                line={"color": colors[side], "dash": "dot"},
                name=f"{service} {side}: published median {published:,}",
            )
fig.update_layout(
    title="Azure LLM inference 2023: token lengths (Splitwise, ISCA'24)",
    xaxis={"title": "tokens per request (log scale)", "type": "log"},
    yaxis={"title": "share of requests", "range": [0, 1]},
    template="plotly_white",
)
fig.show()

# %% [markdown]
# ## Our medians beside the published ones

# %%
results = []
for service, sides in summaries.items():
    for side in ("input", "output"):
        ours = sides[side].p50
        published = PUBLISHED.get(service, {}).get(side)
        name = f"{service}: median {side} tokens"
        if published is None:
            results.append(checks.context(name, ours, None, "no published number used here"))
        else:
            results.append(checks.number(name, ours, published, rel=TOLERANCE))
for service in PUBLISHED:
    if service not in summaries:
        results.append(
            checks.claim(f"{service}: in the lake", "missing", "present", "present", False)
        )
checks.report("splitwise_azure_llm_2023", results)
