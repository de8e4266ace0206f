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
# # Serverless in the Wild (ATC'20): invocation frequency and the keep-alive trade-off
#
# **Source.** Shahrad et al., "Serverless in the Wild: Characterizing and Optimizing the
# Serverless Workload at a Large Cloud Provider", USENIX ATC 2020: section 3 (how often
# applications are invoked: the CDF of their average invocation rates) and section 4 (cold
# starts against wasted memory for fixed keep-alive windows and for the hybrid histogram
# policy). The claims checked are the paper's own summary (its abstract): *most functions are
# invoked very infrequently, but there is an 8-order-of-magnitude range of invocation
# frequencies*, and the policy *significantly reduces the number of function cold starts, while
# spending fewer resources than state-of-the-practice policies* (a fixed 10-minute keep-alive).
#
# **Data: a sample, so shapes and claims, not numbers.** The paper characterizes every
# application of Azure Functions over 14 days; the sample in
# `../shared/traces/serverless/azure_functions_2019_invitro_sample100` is 100 functions (one
# per application) chosen by the InVitro sampler, over 8 hours (minutes 480-959 of one day), as
# per-minute counts. Its rates and its range cannot match the paper's numbers; what can be
# compared is the shape of the distribution and the direction of each claim.
#
# **What is modelled.** The trace records no cold starts. `analysis.coldstarts` replays each
# function as one instance that serves its invocations in turn: an invocation is cold when it
# is the function's first or comes after the instance was unloaded; idle-but-warm time is wasted
# memory-time, weighted by the function's published memory. Per-minute counts put every
# invocation at the start of its minute with no duration. The adaptive policy is the paper's
# hybrid histogram (1-minute bins over 4 hours, pre-warm at the 5th and unload at the 99th
# percentile of idle times with 10% margins), with a fixed 4-hour keep-alive where the
# histogram is not representative (the paper's ARIMA branch is not modelled). Every cold start
# and every wasted GB-second below is modelled, not measured.
#
# **How.** `analysis.invocations.frequency` and `.summary` (rates per application over the
# trace's span), `analysis.coldstarts.keepalive_fixed` (fixed windows, all functions) and
# `coldstarts.compare_policies` (fixed windows and the adaptive policy on the same functions).

# %%
import os
from pathlib import Path

import checks
import plotly.express as px
import plotly.graph_objects as go
import polars as pl

from analysis import coldstarts, invocations
from analysis.db import LakeDB

# %% tags=["parameters"]
# Set by notebooks/run.py; by hand, point it at any lake (`make demo` builds ../lake).
LAKE = os.environ.get("TRACES_LAKE", "../lake")

# %%
db = LakeDB(Path(LAKE))
candidates = [t for t in db.traces() if db.info(t).source == "azure_functions_2019"]
if not candidates:
    raise SystemExit(f"No Azure Functions 2019 trace in {LAKE}: ingest its invocation counts.")
TRACE = candidates[0]
freq = invocations.frequency(db, TRACE, level="app")
summary = invocations.summary(freq)
fixed = coldstarts.keepalive_fixed(db, TRACE)
policies = coldstarts.compare_policies(db, TRACE)
pl.DataFrame([summary])

# %% [markdown]
# ## How often applications are invoked
#
# The CDF of each application's average invocation rate over the trace's span, on the paper's
# axis (invocations per day, log scale), with once per hour and once per minute marked.
# (Vertical lines are drawn as traces: plotly places shape annotations on a log axis in log
# units, which would stretch the axis.)

# %%
fig = px.ecdf(freq, x="per_day", log_x=True)
fig.update_traces(name=f"{summary['entities']} applications (ours)", showlegend=True)
for per_day, label in ((24, "once per hour"), (1440, "once per minute")):
    fig.add_scatter(x=[per_day, per_day], y=[0, 1], mode="lines", line_dash="dot", name=label)
fig.update_layout(
    title=f"Average invocations per day, {summary['entities']} applications ({TRACE})",
    xaxis={"title": "invocations per day (log scale)", "type": "log"},
    yaxis={"title": "share of applications", "range": [0, 1]},
    template="plotly_white",
)
fig.show()

# %% [markdown]
# ## Modelled: cold starts against wasted memory
#
# Each fixed keep-alive window is one point; the star is the adaptive (hybrid histogram)
# policy replayed on the same functions. The y axis is the paper's measure, the 75th percentile
# of the per-function cold-start rate; the x axis is wasted memory-time relative to the fixed
# 10-minute window.

# %%
norm = next(c for c in policies.columns if c.startswith("wasted_vs_fixed_"))
fixed_rows = policies.filter(pl.col("window_min").is_not_null())
adaptive = policies.filter(pl.col("window_min").is_null()).row(0, named=True)
unit = "GB-s" if policies["wasted_gb_s"].null_count() < policies.height else "instance-s"
fig = go.Figure()
fig.add_scatter(
    x=fixed_rows[norm].to_list(),
    y=fixed_rows["fn_cold_rate_p75"].to_list(),
    mode="lines+markers+text",
    text=[f"{w:g} min" for w in fixed_rows["window_min"].to_list()],
    textposition="top right",
    name="fixed keep-alive (modelled)",
)
fig.add_scatter(
    x=[adaptive[norm]],
    y=[adaptive["fn_cold_rate_p75"]],
    mode="markers",
    marker={"size": 14, "symbol": "star"},
    name="hybrid histogram (modelled)",
)
fig.update_layout(
    title="Modelled trade-off on the 100-function sample: cold starts vs wasted memory",
    xaxis={"title": f"wasted memory-time ({unit}) relative to fixed 10 min"},
    yaxis={"title": "75th-percentile per-function cold-start rate", "tickformat": ".0%"},
    template="plotly_white",
)
fig.show()
fixed.select("window_min", "cold_starts", "cold_start_rate", "fn_cold_rate_p75", "wasted_s")

# %% [markdown]
# ## Our numbers beside the published claims

# %%
base = policies.filter(pl.col("window_min") == 10.0).row(0, named=True)
cold_falls = fixed["cold_starts"].diff().drop_nulls().le(0).all()
waste_grows = fixed["wasted_s"].diff().drop_nulls().ge(0).all()
results = [
    checks.claim(
        "applications invoked at most once per minute on average",
        summary["at_most_once_per_minute"],
        "most functions are invoked very infrequently",
        "more than half",
        summary["at_most_once_per_minute"] > 0.5,
        fmt=".0%",
    ),
    checks.claim(
        "orders of magnitude between busiest and rarest rate",
        summary["orders_of_magnitude"],
        "8 (whole workload, 14 days)",
        "at least 4",
        (summary["orders_of_magnitude"] or 0) >= 4,
        "100 functions over 8 hours cannot span the whole workload: the rarest rate a "
        "function can show here is one invocation in 8 hours",
        fmt=".1f",
    ),
    checks.context(
        "applications invoked at most once per hour on average",
        summary["at_most_once_per_hour"],
        None,
        "for the shape of the CDF; no published number used",
        fmt=".0%",
    ),
    checks.context(
        "share of invocations of the busiest 10% of applications",
        summary["top10_share"],
        None,
        "for the skew; no published number used",
        fmt=".1%",
    ),
    checks.claim(
        "modelled: longer fixed windows, fewer cold starts, more waste",
        "yes" if cold_falls and waste_grows else "no",
        "the fixed keep-alive trade-off",
        "monotone in the window",
        bool(cold_falls and waste_grows),
    ),
    checks.claim(
        "modelled: hybrid p75 cold-start rate / fixed 10 min",
        adaptive["fn_cold_rate_p75"] / base["fn_cold_rate_p75"],
        "fewer cold starts than fixed 10 min",
        "below 1",
        adaptive["fn_cold_rate_p75"] < base["fn_cold_rate_p75"],
        fmt=".2f",
    ),
    checks.claim(
        "modelled: hybrid wasted memory / fixed 10 min",
        adaptive[norm],
        "fewer resources than fixed 10 min",
        "below 1",
        adaptive[norm] < 1.0,
        fmt=".2f",
    ),
]
checks.report("azure_functions_atc20", results)
