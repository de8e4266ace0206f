"""Predictor serving speed: ONNX batch throughput and single-request latency, per predictor.

Trains each predictor on the real samples (or uses `--lake` as given), then times
onnxruntime (what a scheduler would run) against the scikit-learn pipelines it was exported
from, in the same run and on the same rows: the held-out test rows, tiled to `--batch` rows
for throughput, one row at a time for latency. Targets from issue 5: 1M predictions/s in
batch, under 50 microseconds p50 for one request.

    python benchmarks/predict.py                   # builds a lake from ../shared/traces
    python benchmarks/predict.py --lake lake --batch 200000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on sys.path, and benchmarks/ingest.py would hide
# the `ingest` package: put the project root first instead.
sys.path[0] = str(ROOT)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from predictors import api, common  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "traces"
RUNS: dict[str, tuple[list[str], Path, dict[str, Any]]] = {
    "output-length": (
        ["azure_llm_2023_conv"],
        SAMPLES / "llm_serving/azure_llm_inference_2023",
        {},
    ),
    "latency": (["vidur_profiling"], SAMPLES / "llm_serving/vidur_profiling", {}),
    "interference": (
        ["azure_vm_noise_2024"],
        SAMPLES / "vm_interference/azure_vm_noise_2024",
        {},
    ),
}


def _best(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench(model_dir: Path, result: common.TrainResult, batch: int, singles: int) -> dict[str, Any]:
    predictor = common.load(model_dir)
    rows = result.test_rows
    assert rows is not None
    tiled = pl.concat([rows] * (batch // rows.height + 1)).head(batch)
    feeds = common.onnx_feeds(tiled, predictor.features)
    pipes, card = result.pipelines, predictor.card
    outputs = [common.Output(**o) for o in card["outputs"]]
    x = common.model_frame(tiled, predictor.features)
    onnx_s = _best(lambda: predictor.run(feeds), 3)
    sk_s = _best(lambda: [p.predict(x) for p in pipes.values()], 2)

    one = [common.onnx_feeds(rows.slice(i, 1), predictor.features) for i in range(64)]
    one_x = [common.model_frame(rows.slice(i, 1), predictor.features) for i in range(64)]
    for f in one[:8]:  # warm up
        predictor.run(f)
    lat_onnx = []
    for i in range(singles):
        f = one[i % 64]
        start = time.perf_counter_ns()
        predictor.session.run(predictor.outputs, f)
        lat_onnx.append(time.perf_counter_ns() - start)
    lat_sk = []
    for i in range(min(singles, 300)):
        xi = one_x[i % 64]
        start = time.perf_counter_ns()
        for p in pipes.values():
            p.predict(xi)
        lat_sk.append(time.perf_counter_ns() - start)
    # The whole Python path a caller uses: dict in, array out.
    dict_rows = rows.head(64).to_dicts()
    lat_dict = []
    for i in range(min(singles, 2000)):
        start = time.perf_counter_ns()
        predictor.predict([dict_rows[i % 64]])
        lat_dict.append(time.perf_counter_ns() - start)
    return {
        "outputs": len(outputs),
        "batch_rows": batch,
        "onnx_pred_per_s": batch / onnx_s,
        "sklearn_pred_per_s": batch / sk_s,
        "onnx_p50_us": float(np.percentile(lat_onnx, 50)) / 1e3,
        "onnx_p99_us": float(np.percentile(lat_onnx, 99)) / 1e3,
        "load_predict_dict_p50_us": float(np.percentile(lat_dict, 50)) / 1e3,
        "sklearn_p50_us": float(np.percentile(lat_sk, 50)) / 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--lake", type=Path, help="lake with the sample traces (default: build)")
    parser.add_argument("--batch", type=int, default=100_000, help="rows per batch call")
    parser.add_argument("--singles", type=int, default=5000, help="single-row calls timed")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        lake = args.lake
        if lake is None:
            from ingest.pipeline import ingest_paths

            lake = Path(tmp) / "lake"
            report = ingest_paths([path for _, path, _ in RUNS.values()], lake)
            if report.failures:
                raise SystemExit(f"Ingest failed: {report.failures}")
        for kind, (traces, _, opts) in RUNS.items():
            out = Path(tmp) / kind
            result = api.train(kind, lake, traces, out, **opts)
            results[kind] = bench(out, result, args.batch, args.singles)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'predictor':<14} {'outputs':>7} {'ONNX pred/s':>12} {'sklearn pred/s':>15} "
        f"{'ONNX p50 us':>12} {'ONNX p99 us':>12} {'load().predict p50 us':>22} "
        f"{'sklearn p50 us':>15}"
    )
    for kind, r in results.items():
        print(
            f"{kind:<14} {r['outputs']:>7} {r['onnx_pred_per_s']:>12,.0f} "
            f"{r['sklearn_pred_per_s']:>15,.0f} {r['onnx_p50_us']:>12.1f} "
            f"{r['onnx_p99_us']:>12.1f} {r['load_predict_dict_p50_us']:>22.1f} "
            f"{r['sklearn_p50_us']:>15.1f}"
        )
    print("pred/s counts rows (one prediction = all outputs of a row); targets: 1M/s, 50 us p50")


if __name__ == "__main__":
    main()
