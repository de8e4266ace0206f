"""Time and peak memory of the full `traces report` on a generated 10M-request lake.

The lake holds two generated traces of half the rows each, so that every request analysis
runs: one in the Azure LLM 2023 format (µs timestamps; tokens and gaps drawn from the real
sample, as benchmarks/ingest.py does) and one in the BurstGPT format (1 s clock, two models,
sessions, about 2% failed requests with zero output tokens). Each `traces` command runs in a
fresh process; the script prints wall time and peak RSS (VmHWM) for HTML and JSON output.
Target (issue 4): under 60 s and under 2 GiB on the 2-core machine.

    python benchmarks/report.py                # 10M requests
    python benchmarks/report.py --rows 1000000
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# This folder also holds ingest.py (the ingest benchmark), which would shadow the `ingest`
# package on sys.path: load it by path, and run the toolkit itself in subprocesses.
_spec = importlib.util.spec_from_file_location(
    "bench_ingest", Path(__file__).with_name("ingest.py")
)
assert _spec and _spec.loader
bench_ingest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_ingest)

RUN = """
import sys, traces_cli
sys.argv = {argv!r}
try:
    traces_cli.main()
except SystemExit as e:
    assert not e.code, e.code
print('PEAK', next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')))
"""


def generate_burstgpt(path: Path, rows: int) -> None:
    """BurstGPT release-3 columns; tokens drawn from the real Azure sample, 1 s clock."""
    import duckdb

    con = duckdb.connect()
    real = str(bench_ingest.REAL).replace("'", "''")
    con.execute(
        f"""CREATE TABLE real AS SELECT row_number() OVER () - 1 AS i, ContextTokens AS c,
            GeneratedTokens AS g FROM read_csv('{real}')"""
    )
    n = con.execute("SELECT count(*) FROM real").fetchall()[0][0]
    con.execute(
        f"""COPY (
            SELECT (k // 40)::DOUBLE AS "Timestamp",
                   'session-' || (hash(k) % {max(rows // 8, 1)}) AS "Session ID",
                   (r.g // 40) AS "Elapsed time",
                   CASE WHEN k % 5 = 0 THEN 'GPT-4' ELSE 'ChatGPT' END AS "Model",
                   r.c AS "Request tokens",
                   CASE WHEN hash(k + 17) % 50 = 0 THEN 0 ELSE r.g END AS "Response tokens",
                   r.c + r.g AS "Total tokens",
                   CASE WHEN k % 20 = 0 THEN 'Conversation log' ELSE 'API log' END AS "Log Type"
            FROM range({rows}) t(k) JOIN real r ON r.i = hash(k) % {n}
            ORDER BY k
        ) TO '{path}' (HEADER)"""
    )
    con.close()


def run_cli(*args: str) -> tuple[float, float]:
    """(seconds, peak MiB) of one `traces ...` command in a fresh process."""
    code = RUN.format(argv=["traces", *args])
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"traces {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    peak_kib = int(proc.stdout.rsplit("PEAK", 1)[1].split()[0])
    return seconds, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, help="keep the generated lake here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        azure = work / "AzureLLMInferenceTrace_conv.csv"
        burst = work / "BurstGPT_bench.csv"
        t = time.perf_counter()
        bench_ingest.generate(azure, args.rows // 2)
        generate_burstgpt(burst, args.rows - args.rows // 2)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s")
        lake = args.keep or work / "lake"
        seconds, peak = run_cli("ingest", str(azure), str(burst), "--lake", str(lake))
        azure.unlink()
        burst.unlink()
        print(f"ingest   {seconds:7.1f} s  peak {peak:7.0f} MiB")
        for fmt in ("html", "json"):
            out = work / f"report.{fmt}"
            seconds, peak = run_cli(
                "report", "--lake", str(lake), "--out", str(out), "--format", fmt
            )
            size = out.stat().st_size / 2**20
            print(f"report {fmt:<4} {seconds:5.1f} s  peak {peak:7.0f} MiB  ({size:.1f} MiB file)")


if __name__ == "__main__":
    main()
