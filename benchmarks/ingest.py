"""Ingest throughput and memory: `traces ingest` vs raw DuckDB COPY vs pandas, same files.

Generates CSVs in the Azure LLM inference 2023 format whose token counts and inter-arrival
times are drawn from the real sample in ../shared/traces, then runs each contender in a fresh
process (interpreter start and imports included for all three) and prints rows/s, wall time
and peak RSS. Ratios against DuckDB COPY in the same run are the figures to trust on a shared
machine; absolute seconds vary.

    python benchmarks/ingest.py                 # 1M and 10M rows
    python benchmarks/ingest.py --rows 1000000  # quicker
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
REAL = (
    ROOT.parent
    / "shared/traces/llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
)

# Each contender runs as `python -c`, reporting its own peak RSS. VmHWM, not ru_maxrss: on
# Linux ru_maxrss survives exec, so a child would report its parent's high-water mark.
PEAK = (
    "\nprint('PEAK', next(int(l.split()[1]) for l in open('/proc/self/status') "
    "if l.startswith('VmHWM')))"
)
CONTENDERS = {
    "traces ingest": (
        "import sys, traces_cli\n"
        "sys.argv = ['traces', 'ingest', {csv!r}, '--lake', {out!r}]\n"
        "try:\n    traces_cli.main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    ),
    "duckdb COPY": (
        "import duckdb\n"
        "duckdb.sql(\"COPY (FROM read_csv('{csv}')) TO '{out}/raw.parquet' (FORMAT parquet)\")\n"
    ),
    "pandas": (
        "import pandas as pd\n"
        "df = pd.read_csv({csv!r}, parse_dates=['TIMESTAMP'])\n"
        "df.to_parquet({out!r} + '/pandas.parquet')\n"
    ),
}


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


def run(name: str, csv: Path, out: Path) -> dict[str, float]:
    out.mkdir(parents=True, exist_ok=True)
    code = CONTENDERS[name].format(csv=str(csv), out=str(out)) + PEAK
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-2000:]}")
    peak_kib = int(proc.stdout.rsplit("PEAK", 1)[1].split()[0])
    shutil.rmtree(out)
    return {"seconds": wall, "peak_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; best is kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if not REAL.is_file():
        raise SystemExit(f"Real sample not found at {REAL}: the benchmark draws rows from it.")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            csv = Path(tmp) / f"AzureLLMInferenceTrace_conv_{rows}.csv"
            generate(csv, rows)
            size_mib = csv.stat().st_size / 2**20
            for name in CONTENDERS:
                best = min(
                    (run(name, csv, Path(tmp) / "out") for _ in range(args.repeat)),
                    key=lambda r: r["seconds"],
                )
                results.append({"rows": rows, "csv_mib": size_mib, "contender": name, **best})
            csv.unlink()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'rows':>11} {'CSV MiB':>8} {'contender':<14} {'seconds':>8} {'rows/s':>12} "
        f"{'peak MiB':>9} {'vs COPY':>8}"
    )
    for r in results:
        copy = next(
            x for x in results if x["rows"] == r["rows"] and x["contender"] == "duckdb COPY"
        )
        print(
            f"{r['rows']:>11,} {r['csv_mib']:>8.0f} {r['contender']:<14} {r['seconds']:>8.2f} "
            f"{r['rows'] / r['seconds']:>12,.0f} {r['peak_mib']:>9.0f} "
            f"{r['seconds'] / copy['seconds']:>7.2f}x"
        )


if __name__ == "__main__":
    main()
