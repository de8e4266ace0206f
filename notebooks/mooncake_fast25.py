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
# # Mooncake (FAST'25): the conversation trace and its prefix reuse
#
# **Source.** Qin et al., "Mooncake: Trading More Storage for Less Computation — A
# KVCache-centric Architecture for Serving LLM Chatbot", FAST 2025, and the statistics its
# repository publishes for the released conversation trace (`FAST25-release/traces`):
# **12,031 requests, mean input length 12,035 tokens, mean output length 343 tokens**.
# The release README describes the (older, arXiv) trace as having "up to 50% cache hit ratio";
# no figure for the conversation trace is used here, so our prefix reuse is shown, not checked.
#
# **Data.** `conversation_trace.jsonl` (complete file) from
# `../shared/traces/llm_serving/mooncake_fast25`.
#
# **How.** `analysis.tokens.compute` gives the counts and means; `tokens.lengths` and
# `tokens.cdf_points` the CDFs; `tokens.prefix_reuse` the share of 512-token prefix blocks
# (`hash_ids`) already seen earlier in arrival order: the hit rate of an infinite prefix cache,
# an upper bound on what a real cache can reuse.

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
db = LakeDB(Path(LAKE))
candidates = [t for t in db.traces() if db.info(t).source == "mooncake" and "conversation" in t]
if not candidates:
    raise SystemExit(f"No Mooncake conversation trace in {LAKE}: ingest conversation_trace.jsonl.")
TRACE = candidates[0]
result = tokens.compute(db, TRACE)
if result is None or result.input is None or result.output is None:
    raise SystemExit(f"{TRACE} has no input and output token counts.")
lengths = {"input": result.input.summary, "output": result.output.summary}
reuse = tokens.prefix_reuse(db, TRACE)
hist = tokens.lengths(db, TRACE)
print(f"{result.requests:,} requests, median input {result.input_p50}, output {result.output_p50}")

# %% [markdown]
# ## Input and output lengths

# %%
fig = go.Figure()
for side, color in (("input", "#1f77b4"), ("output", "#d62728")):
    part = hist.filter(pl.col("side") == side)
    x, f = tokens.cdf_points(part["tokens"].to_numpy(), part["n"].to_numpy())
    fig.add_scatter(x=x, y=f, mode="lines", line_shape="hv", name=side, line={"color": color})
    mean = lengths[side].mean or 0.0
    fig.add_scatter(
        x=[mean, mean],
        y=[0, 1],
        mode="lines",
        line={"color": color, "dash": "dot"},
        name=f"mean {side} {mean:,.0f}",
    )
fig.update_layout(
    title=f"Mooncake conversation trace ({result.requests:,} requests): token lengths",
    xaxis={"title": "tokens per request (log scale)", "type": "log"},
    yaxis={"title": "share of requests", "range": [0, 1]},
    template="plotly_white",
)
fig.show()

# %% [markdown]
# ## Prefix reuse from `hash_ids`

# %%
if reuse is None:
    raise SystemExit(f"{TRACE} has no hash_ids: prefix reuse needs the Mooncake release file.")
over = reuse.over_time
fig = go.Figure(
    go.Bar(x=(over["t_s"] / 60.0).to_list(), y=over["share"].to_list(), name="per bucket")
)
fig.add_hline(
    y=reuse.share,
    line_dash="dot",
    annotation_text=f"whole trace {reuse.share:.1%} of {reuse.blocks:,} blocks",
)
fig.update_layout(
    title=f"Prefix blocks ({reuse.block_tokens} tokens) already seen, per {reuse.bucket_s:g} s",
    xaxis={"title": "minutes since the first request"},
    yaxis={"title": "share of blocks seen before", "range": [0, 1], "tickformat": ".0%"},
    template="plotly_white",
)
fig.show()

# %% [markdown]
# ## Our numbers beside the published ones

# %%
results = [
    checks.number("requests", result.requests, 12031, abs_tol=0),
    checks.number("mean input tokens", lengths["input"].mean, 12035, abs_tol=0.5, fmt=",.1f"),
    checks.number("mean output tokens", lengths["output"].mean, 343, abs_tol=0.5, fmt=",.1f"),
    checks.context(
        "prefix blocks seen before (infinite cache)",
        reuse.share,
        "up to 50%",
        "the README's words for the older arXiv trace, not this one; an upper bound on the "
        "cache hit ratio, so shown, not checked",
        fmt=".1%",
    ),
]
checks.report("mooncake_fast25", results)
