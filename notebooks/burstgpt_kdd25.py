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
# # BurstGPT (KDD'25): the paper's analyses on a BurstGPT file you supply
#
# **Source.** Wang et al., "BurstGPT: A Real-World Workload Dataset to Optimize LLM Serving
# Systems", KDD 2025: 10.31 million requests to regional Azure OpenAI GPT services over 213
# days (the first arXiv version: 5.29 million over 121 days), characterized from four sides
# (its abstract): request concurrency and burstiness per service and model; conversation
# patterns (turns and their intervals); response lengths and how they relate to request
# lengths; and failures (responses of zero tokens).
#
# **Data: whatever file `BURSTGPT_PATH` names.** No real BurstGPT rows are among the samples
# here, so by default this notebook runs on `tests/fixtures/burstgpt_schema_fixture.csv`: ten
# invented rows written to the published schema. **On the fixture no published number can be
# checked**, and none is: the table at the end shows ours beside the paper's for reading only.
# Point `BURSTGPT_PATH` at a release file (`BurstGPT_1.csv`, ...; both the 6- and 8-column
# layouts are read) and the same cells characterize it; `notebooks/run.py --burstgpt FILE` does
# that for a whole run.
#
# **How.** The file is ingested into a lake of its own with `traces ingest FILE --source
# burstgpt` (`Response tokens == 0` becomes status `failed`; times are relative, at 1 s
# resolution), run as a command rather than called in-process because the ingest turns on
# DuckDB's progress bar, which inside Jupyter asks for ipywidgets; then
# `analysis.burstiness`, `analysis.tokens` and `analysis.failures` compute the numbers (typed
# results), and their `*_report.section` the figures and sentences shown.

# %%
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import checks

from analysis import (
    burstiness,
    burstiness_report,
    failures,
    failures_report,
    tokens,
    tokens_report,
)
from analysis.db import LakeDB

# %% tags=["parameters"]
# Set by notebooks/run.py (--burstgpt FILE); by hand, any BurstGPT CSV.
FIXTURE = Path("..") / "tests" / "fixtures" / "burstgpt_schema_fixture.csv"
BURSTGPT_PATH = os.environ.get("BURSTGPT_PATH", str(FIXTURE))
BURSTGPT_LAKE = os.environ.get("BURSTGPT_LAKE", "")  # empty: a temporary folder
TRACE = "burstgpt"  # the file's trace in that lake (ingesting again replaces it)

# %%
path = Path(BURSTGPT_PATH)
is_fixture = path.resolve() == FIXTURE.resolve() or "fixture" in path.name
lake = Path(BURSTGPT_LAKE or tempfile.mkdtemp(prefix="burstgpt-lake-"))
command = ["ingest", str(path), "--source", "burstgpt", "--trace", TRACE, "--lake", str(lake)]
done = subprocess.run(
    [sys.executable, "-m", "traces_cli", *command],
    capture_output=True,
    text=True,
    # Plain text: inherited Jupyter variables would make rich print for a notebook.
    env={k: v for k, v in os.environ.items() if not k.startswith("JPY_")}
    | {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
)
print("traces " + " ".join(command) + "\n" + done.stdout + done.stderr)
if done.returncode:
    raise SystemExit(f"traces ingest failed (exit {done.returncode}): see above")
db = LakeDB(lake)
burst = burstiness.compute(db, TRACE)
tok = tokens.compute(db, TRACE)
fail = failures.compute(db, TRACE)
sections = {
    "burstiness": burstiness_report.section(burst) if burst else None,
    "tokens": tokens_report.section(tok) if tok else None,
    "failures": failures_report.section(fail) if fail else None,
}
print("schema fixture: no published number can be checked" if is_fixture else "a BurstGPT file")

# %% [markdown]
# ## Request concurrency and burstiness

# %%
sec = sections["burstiness"]
if sec is None:
    print(
        f"No burstiness analysis: it needs at least {burstiness.MIN_EVENTS} timed requests "
        f"(this file has {db.info(TRACE).tables.get('requests', 0)})."
    )
else:
    for line in sec.findings:
        print("-", line)
    for fig in sec.figures:
        fig.show()

# %% [markdown]
# ## Request and response lengths, conversations

# %%
sec = sections["tokens"]
if sec is not None:
    for line in sec.findings + sec.notes:
        print("-", line)
    for fig in sec.figures:
        fig.show()

# %% [markdown]
# ## Failures (zero-token responses)

# %%
sec = sections["failures"]
if sec is None:
    print("No failures in this file.")
else:
    for line in sec.findings:
        print("-", line)
    for fig in sec.figures:
        fig.show()

# %% [markdown]
# ## Ours beside the paper's: shown, not checked

# %%
arrivals = burstiness.arrival_summary(db, TRACE)
span_days = arrivals.span_s / 86400 if arrivals else None
why = (
    "schema fixture: invented rows, no published number can be checked"
    if is_fixture
    else "a release file is one part of the dataset (and releases differ), so the paper's "
    "whole-dataset numbers are for reading, not for checking"
)
results = [
    checks.context("requests", tok.requests if tok else None, "10.31 million", why),
    checks.context("span (days)", span_days, 213, why, fmt=".4g"),
    checks.context(
        "failed share (zero-token responses)",
        fail.ratio_by_status.get("failed", 0.0) if fail else 0.0,
        None,
        why,
        fmt=".1%",
    ),
    checks.context("median request tokens", tok.input_p50 if tok else None, None, why),
    checks.context("median response tokens", tok.output_p50 if tok else None, None, why),
    checks.context(
        "Spearman rho, request vs response", tok.spearman if tok else None, None, why, ".2f"
    ),
]
checks.report("burstgpt_kdd25", results)
