"""Time and peak memory of `traces generate` writing a 10M-request workload (azure-llm format),
beside baselines that only write the same number of rows from columns generated beforehand.

The source is the real Azure LLM 2023 conversation sample (../shared/traces), ingested into a
temporary lake first (not timed). `generate.api.generate` (what `traces generate` runs, the
table rendered as the command prints it) runs at the rate scale that gives about --rows
requests over the trace's own hour: it fits the arrival models (the full selection), draws 10M
arrivals and token pairs, writes the CSV in chunks and measures the fidelity table, all of it
timed, imports included, with the time of each step ("fitting arrivals" includes sampling
them). Baselines: polars `write_csv` and pandas `to_csv` of pre-generated columns (timestamps,
two token columns), timing the write only. Each contender runs in a fresh process and reports
its own peak RSS (resource.getrusage ru_maxrss). Targets (issue 14): under 30 s and 1 GiB.

    python benchmarks/generate.py                 # 10M requests
    python benchmarks/generate.py --rows 1000000
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = (
    ROOT.parent
    / "shared/traces/llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
)
TRACE = "azure_llm_2023_conv"
SOURCE_ROWS = 19_366  # requests in the sample (its hour)

PEAK = "import resource; print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"

GENERATE = (
    """
import json, time
start = time.perf_counter()
stages = []
from rich.console import Console
from generate.api import generate
result = generate({lake!r}, {trace!r}, {out!r}, "azure-llm", rate_scale={scale!r},
                  progress=lambda what: stages.append((what, time.perf_counter() - start)))
stages.append(("done", time.perf_counter() - start))
Console(file=open("/dev/null", "w"), width=120).print(result.fidelity.rich_table())  # as printed
open({js!r}, "w").write(json.dumps(result.to_json()))
print("STAGES", json.dumps(stages))
"""
    + PEAK
)

BASELINE = (
    """
import time, numpy as np
rng = np.random.default_rng(0)
n = {rows}
us = 1_700_158_546_680_590 + np.cumsum(rng.exponential(3600e6 / n, n)).astype(np.int64)
ctx = rng.integers(1, 8000, n)
gen = rng.integers(1, 1000, n)
start = time.perf_counter()
{write}
print('WRITE', time.perf_counter() - start)
"""
    + PEAK
)

WRITERS = {
    "polars write_csv": """
import polars as pl
pl.DataFrame({{"TIMESTAMP": pl.Series(us).cast(pl.Datetime("us")), "ContextTokens": ctx,
    "GeneratedTokens": gen}}).write_csv({out!r}, datetime_format="%Y-%m-%d %H:%M:%S%.6f0")
""",
    "pandas to_csv": """
import pandas as pd
pd.DataFrame({{"TIMESTAMP": pd.to_datetime(us, unit="us"), "ContextTokens": ctx,
    "GeneratedTokens": gen}}).to_csv({out!r}, index=False, date_format="%Y-%m-%d %H:%M:%S.%f0")
""",
}


def child(code: str) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of `code` run by a fresh Python in the project folder."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    peak = next(int(x.split()[1]) for x in proc.stdout.splitlines() if x.startswith("PEAK"))
    return seconds, peak / 1024, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ingest.pipeline import ingest_paths

    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        lake = Path(tmp) / "lake"
        report = ingest_paths([SAMPLE], lake)
        assert not report.failures, report.failures
        scale = args.rows / SOURCE_ROWS
        out = Path(tmp) / "generated.csv"
        fidelity = Path(tmp) / "fidelity.json"
        code = GENERATE.format(
            lake=str(lake), trace=TRACE, out=str(out), scale=scale, js=str(fidelity)
        )
        seconds, peak, stdout = child(code)
        stages = json.loads(next(x[7:] for x in stdout.splitlines() if x.startswith("STAGES")))
        result = json.loads(fidelity.read_text())
        rows = [("generate(): fit, draw, write, fidelity (imports included)", result["events"],
                 seconds, peak, out.stat().st_size)]  # fmt: skip
        for name, writer in WRITERS.items():
            target = Path(tmp) / f"baseline-{name.split()[0]}.csv"
            code = BASELINE.format(rows=result["events"], write=writer.format(out=str(target)))
            total, peak_b, stdout = child(code)
            write_s = float(
                next(x.split()[1] for x in stdout.splitlines() if x.startswith("WRITE"))
            )
            rows.append((f"{name} of pre-generated columns (write only)", result["events"], write_s,
                         peak_b, target.stat().st_size))  # fmt: skip
            del total
        print("| contender | requests | seconds | peak RSS | file |")
        print("|---|---:|---:|---:|---:|")
        for name, n, s, p, size in rows:
            print(f"| {name} | {n:,} | {s:.1f} | {p:,.0f} MiB | {size / 2**20:,.0f} MiB |")
        steps = [
            f"{what} {later - at:.1f} s" for (what, at), (_, later) in itertools.pairwise(stages)
        ]
        print(f"\nWhere the time goes (in the process, after imports): {'; '.join(steps)}.")
        gen_s, gen_peak = rows[0][2], rows[0][3]
        fid = result["fidelity"]
        verdict = "passed" if fid["passed"] else "failed: " + ", ".join(fid["failed"])
        print(
            f"\nTargets: under 30 s ({'met' if gen_s < 30 else 'NOT met'}: {gen_s:.1f} s) and "
            f"under 1 GiB ({'met' if gen_peak < 1024 else 'NOT met'}: {gen_peak:,.0f} MiB). "
            f"Arrival model: {result['arrivals']}; fidelity "
            f"{verdict}; "
            f"in-process time {result['seconds']:.1f} s."
        )


if __name__ == "__main__":
    main()
