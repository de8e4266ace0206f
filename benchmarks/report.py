"""Time and peak memory of the full `traces report` on a generated 10M-request lake.

Generates a CSV in the Azure LLM 2023 format (token counts and inter-arrival gaps drawn from
the real sample, as benchmarks/ingest.py does), ingests it, then runs `traces report` in a
fresh process and prints wall time and peak RSS (VmHWM) for HTML and JSON output.
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
        csv = work / "AzureLLMInferenceTrace_conv.csv"
        t = time.perf_counter()
        bench_ingest.generate(csv, args.rows)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s")
        lake = args.keep or work / "lake"
        seconds, peak = run_cli("ingest", str(csv), "--lake", str(lake))
        csv.unlink()
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
