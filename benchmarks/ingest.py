"""Ingest throughput and memory: `traces ingest` beside its baselines, same files, same run.

Generates CSVs in the Azure LLM inference 2023 format whose token counts and inter-arrival
times are drawn from the real sample in ../shared/traces, then runs each contender in a fresh
process (interpreter start and imports included for all) and prints wall time, rows/s and
peak RSS. The contenders:

- `duckdb COPY`: the raw `COPY (FROM read_csv(...)) TO 'x.parquet'`, 3 columns as detected;
- `fair limit`: a DuckDB COPY of the same file into the 15 canonical columns with the lake's
  types and write options (one-value ENUMs, per-thread files, snappy), and no checks: what
  writing the lake's table costs before anything is verified;
- `traces ingest`: the CLI, with the independent record count and sha256, the strict value
  checks, the profile of the written table and the atomic commit;
- `pandas`: `read_csv` + `to_parquet`.

The contenders take turns (one run of each, then the next round), so that a shared machine's
load falls on all of them alike; ratios of runs of the same round are the figures to trust,
absolute seconds vary. `--stages` also times the stages of one ingest inside one process.

    python benchmarks/ingest.py                       # 1M and 10M rows
    python benchmarks/ingest.py --rows 10000000 --stages
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This folder is on sys.path (run as a script, or loaded by benchmarks/report.py), and this
# file would hide the `ingest` package: the project root goes first.
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from ingest.schema import TABLES  # noqa: E402
from ingest.write import projection  # noqa: E402

REAL = (
    ROOT.parent
    / "shared/traces/llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
)

# The canonical requests table as `traces ingest` writes it for this file, minus the checks.
FAIR_SELECT = projection(
    TABLES["requests"],
    {"ts", "input_tokens", "output_tokens"},
    {"service": "conversation", "kind": "conversation", "status": "unknown"},
    "azure_llm_2023_conv",
)

# Each contender runs as `python -c`, reporting its own peak RSS. VmHWM, not ru_maxrss: on
# Linux ru_maxrss survives exec, so a child would report its parent's high-water mark.
PEAK = (
    "\nprint('PEAK', next(int(l.split()[1]) for l in open('/proc/self/status') "
    "if l.startswith('VmHWM')))"
)
CONTENDERS = {
    "duckdb COPY": (
        "import duckdb\n"
        "duckdb.sql(\"COPY (FROM read_csv('{csv}')) TO '{out}/raw.parquet' (FORMAT parquet)\")\n"
    ),
    "fair limit": (
        "import duckdb\n"
        'duckdb.sql("""COPY (SELECT {fair} FROM (SELECT make_timestamptz(epoch_us(TIMESTAMP))'
        " AS ts, ContextTokens AS input_tokens, GeneratedTokens AS output_tokens"
        " FROM read_csv('{csv}'))) TO '{out}/fair' (FORMAT parquet, PER_THREAD_OUTPUT true,"
        ' COMPRESSION snappy)""")\n'
    ),
    "traces ingest": (
        "import sys, traces_cli\n"
        "sys.argv = ['traces', 'ingest', {csv!r}, '--lake', {out!r}]\n"
        "try:\n    traces_cli.main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    ),
    "pandas": (
        "import pandas as pd\n"
        "df = pd.read_csv({csv!r}, parse_dates=['TIMESTAMP'])\n"
        "df.to_parquet({out!r} + '/pandas.parquet')\n"
    ),
}

# Times each stage of one in-process ingest (wall, and CPU of the whole process: DuckDB's
# threads and the checksum thread included) by wrapping the functions that do them.
STAGES = r"""
import functools, resource, sys, threading, time
from pathlib import Path
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start, start_cpu = time.perf_counter(), cpu()
import traces_cli
import ingest.pipeline as P, ingest.runner as R, ingest.lake as L
log = [("imports (traces_cli)", time.perf_counter() - start, cpu() - start_cpu)]
def timed(mod, name, label, clock=cpu):
    f = getattr(mod, name)
    @functools.wraps(f)
    def g(*a, **k):
        w, c = time.perf_counter(), clock()
        try:
            return f(*a, **k)
        finally:
            log.append((label, time.perf_counter() - w, clock() - c))
    setattr(mod, name, g)
# The scan runs in a thread beside the COPY: its own thread's CPU; the COPY's figure is the
# whole process's, so it includes the scan's.
timed(P, "scan_file", "record count + sha256 (its thread)", time.thread_time)
timed(R, "run_query", "COPY: parse, check, write (+ the scan beside it)")
timed(R, "csv_rejects", "reader's rejects")
timed(R, "query_findings", "order check (first 100k rows)")
timed(P, "check_records", "records check")
timed(P, "profile_table", "profile of the written table")
timed(L.Stage, "commit", "commit")
w, c = time.perf_counter(), cpu()
report = P.ingest_paths([Path({csv!r})], Path({out!r}))
assert not report.failures, report.failures
log.append(("ingest_paths total", time.perf_counter() - w, cpu() - c))
print("STAGES", repr(log))
"""


def generate(path: Path, rows: int) -> None:
    """Rows drawn from the real sample: tokens as pairs, inter-arrival gaps independently."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""CREATE TABLE real AS
            SELECT row_number() OVER (ORDER BY TIMESTAMP) - 1 AS i, ContextTokens AS c,
                   GeneratedTokens AS g,
                   epoch_us(TIMESTAMP) - lag(epoch_us(TIMESTAMP), 1, epoch_us(TIMESTAMP))
                       OVER (ORDER BY TIMESTAMP) AS gap
            FROM read_csv('{REAL}')"""
    )
    n = con.execute("SELECT count(*) FROM real").fetchall()[0][0]
    con.execute(
        f"""COPY (
            WITH draws AS (
                SELECT r.range AS k, (hash(r.range) % {n})::BIGINT AS a,
                       (hash(r.range + 7919) % {n})::BIGINT AS b
                FROM range({rows}) r)
            SELECT strftime(make_timestamp(epoch_us(TIMESTAMP '2023-11-16 18:15:46')
                       + (sum(gb.gap) OVER (ORDER BY k))::BIGINT), '%Y-%m-%d %H:%M:%S.%f') || '0'
                       AS TIMESTAMP,
                   ta.c AS ContextTokens, ta.g AS GeneratedTokens
            FROM draws JOIN real ta ON ta.i = draws.a JOIN real gb ON gb.i = draws.b
            ORDER BY k
        ) TO '{path}' (HEADER)"""
    )
    con.close()


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _python(code: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (all threads) and stdout of `python -c code`."""
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode:
        raise SystemExit(f"failed:\n{code}\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout


def run(name: str, csv: Path, out: Path) -> dict[str, float]:
    out.mkdir(parents=True, exist_ok=True)
    code = CONTENDERS[name].format(csv=str(csv), out=str(out), fair=FAIR_SELECT) + PEAK
    wall, cpu, stdout = _python(code)
    peak_kib = int(stdout.rsplit("PEAK", 1)[1].split()[0])
    shutil.rmtree(out)
    return {"seconds": wall, "cpu_seconds": cpu, "peak_mib": peak_kib / 1024}


def stages(csv: Path, out: Path) -> list[tuple[str, float, float]]:
    _, _, stdout = _python(STAGES.format(csv=str(csv), out=str(out)))
    shutil.rmtree(out, ignore_errors=True)
    found: list[tuple[str, float, float]] = eval(stdout.rsplit("STAGES", 1)[1])
    return found


def _ratios(runs: dict[str, list[dict[str, float]]], i: int) -> dict[str, float]:
    out = {}
    for clock, key in (("wall", "seconds"), ("CPU", "cpu_seconds")):
        s = {name: r[i][key] for name, r in runs.items()}
        out[f"ingest/raw COPY, {clock}"] = s["traces ingest"] / s["duckdb COPY"]
        out[f"ingest/fair limit, {clock}"] = s["traces ingest"] / s["fair limit"]
        out[f"pandas/ingest, {clock}"] = s["pandas"] / s["traces ingest"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best run is kept")
    parser.add_argument("--stages", action="store_true", help="also time one ingest's stages")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    if not REAL.is_file():
        raise SystemExit(f"Real sample not found at {REAL}: the benchmark draws rows from it.")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            csv = Path(tmp) / f"AzureLLMInferenceTrace_conv_{rows}.csv"
            generate(csv, rows)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in CONTENDERS}
            for _ in range(args.repeat):
                for name in CONTENDERS:
                    runs[name].append(run(name, csv, Path(tmp) / "out"))
            rounds = [_ratios(runs, i) for i in range(args.repeat)]
            best = {name: {k: min(x[k] for x in r) for k in r[0]} for name, r in runs.items()}
            results.append(
                {
                    "rows": rows,
                    "csv_mib": csv.stat().st_size / 2**20,
                    "best": best,
                    "rounds": rounds,
                    "stages": stages(csv, Path(tmp) / "out") if args.stages else None,
                }
            )
            csv.unlink()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        _print(r)


def _print(r: dict[str, Any]) -> None:
    best = r["best"]
    raw, fair = best["duckdb COPY"]["seconds"], best["fair limit"]["seconds"]
    print(f"\n{r['rows']:,} rows, {r['csv_mib']:.0f} MiB CSV (best of {len(r['rounds'])} rounds)")
    print(
        f"{'contender':<14} {'seconds':>8} {'CPU s':>7} {'rows/s':>12} {'peak MiB':>9} "
        f"{'vs COPY':>8} {'vs fair':>8}"
    )
    for name, b in best.items():
        print(
            f"{name:<14} {b['seconds']:>8.2f} {b['cpu_seconds']:>7.2f} "
            f"{r['rows'] / b['seconds']:>12,.0f} {b['peak_mib']:>9.0f} "
            f"{b['seconds'] / raw:>7.2f}x {b['seconds'] / fair:>7.2f}x"
        )
    print("\nratios within each round (the same CSV, one run of each contender in turn)")
    for key in r["rounds"][0]:
        values = [x[key] for x in r["rounds"]]
        print(
            f"{key:<24} {', '.join(f'{v:.2f}' for v in values)}  "
            f"(median {statistics.median(values):.2f})"
        )
    if r["stages"]:
        print("\nstages of one in-process ingest      wall s    CPU s (all threads)")
        for label, wall, cpu in r["stages"]:
            print(f"{label:<50} {wall:6.2f} {cpu:9.2f}")


if __name__ == "__main__":
    main()
