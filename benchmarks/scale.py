"""How ingest and the full report scale: DuckDB at 10M, 50M and 100M generated requests, Spark
(local[2]) at 10M.

Each lake is generated as benchmarks/report.py does (half the rows in the Azure LLM 2023
format, half in the BurstGPT format), ingested with `traces ingest`, then characterized by
`analysis.report.write_report` to JSON in a fresh process per engine (ingest too: with
`--engine spark` at the Spark sizes, one Spark task per generated file). Peak RSS is that of the
whole process tree (Spark's JVM included), sampled every 0.2 s. Cost should grow linearly with
the rows and memory stay bounded (DuckDB spills beyond its 1 GB limit). Not a timed test.

    python benchmarks/scale.py                                  # 10M, 50M, 100M; Spark at 10M
    python benchmarks/scale.py --sizes 1000000 --spark-sizes 1000000
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "bench_report", Path(__file__).with_name("report.py")
)
assert _spec and _spec.loader
bench_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_report)
bench_ingest = bench_report.bench_ingest

REPORT = """
from pathlib import Path
from analysis.report import write_report
write_report(Path({lake!r}), Path({out!r}), fmt="json", engine={engine!r})
"""
INGEST = """
import sys, traces_cli
sys.argv = {argv!r}
try:
    traces_cli.main()
except SystemExit as e:
    assert not e.code, e.code
"""


def run(code: str) -> tuple[float, float, str]:
    """(seconds, peak MiB of the process tree, error or "") of `python -c code` in a fresh
    process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    error = ""
    if proc.returncode:
        lines = [
            line for line in err.strip().splitlines() if "Error" in line or "Exception" in line
        ]
        error = (lines[-1] if lines else err.strip()[-300:])[:200]
    return seconds, peak / 2**20, error


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**7, 5 * 10**7, 10**8])
    parser.add_argument("--spark-sizes", type=int, nargs="*", default=[10**7])
    args = parser.parse_args()
    print("| requests | engine | ingest s | report s | report peak RSS |")
    print("|---:|---|---:|---:|---:|")
    for rows in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            azure = work / "AzureLLMInferenceTrace_conv.csv"
            burst = work / "BurstGPT_bench.csv"
            bench_ingest.generate(azure, rows // 2)
            bench_report.generate_burstgpt(burst, rows - rows // 2)
            engines = ["duckdb"] + (["spark"] if rows in args.spark_sizes else [])
            ingest_s = {}
            for engine in engines:
                # the lake each engine ingested: the same rows (tests/spark checks equality)
                lake = work / f"lake-{engine}"
                argv = ["traces", "ingest", str(azure), str(burst), "--lake", str(lake)]
                argv += ["--engine", engine]
                ingest_s[engine], _, error = run(INGEST.format(argv=argv))
                if error:
                    raise SystemExit(f"{engine} ingest of {rows:,} rows failed: {error}")
            azure.unlink()
            burst.unlink()
            for engine in engines:
                out = work / f"report-{engine}.json"
                lake = work / f"lake-{engine}"
                seconds, peak, error = run(
                    REPORT.format(lake=str(lake), out=str(out), engine=engine)
                )
                took = f"failed after {seconds:.1f}: {error}" if error else f"{seconds:.1f}"
                print(
                    f"| {rows:,} | {engine} | {ingest_s[engine]:.1f} | {took} | {peak:,.0f} MiB |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
