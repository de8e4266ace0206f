"""VM interference: predict a target benchmark's degradation from cheap probes on the same VM.

Data: Azure VM Noise 2024 (TUNA) measurements. The target is the ratio of a run's value to
the median of its SKU and region, the median taken over training rows only; features are the
latest value of each probe benchmark run on the same VM at most `max_gap_h` before the
target run (a backward as-of join: a scheduler runs the probes, then decides), plus SKU,
region, UTC hour and weekday.

The join is honest only for long-lived VMs. The release numbers VMs per file; long-lived VMs
(three per lifespan/region/SKU, twelve in all) ran every benchmark for the whole study, so
their ids name one VM across benchmarks, while a short-lived id names a different VM in each
benchmark (see ingest/sources/azure_vm_noise_2024.py). Short-lived rows are therefore not
used: the sample size is the long-lived runs of twelve VMs, and the test set is the last 30%
of the study's time on those same twelve VMs (future runs of known VMs, not unseen VMs).
Lifespan is not a feature: every joinable row is long-lived. `with_previous_target=True` adds
the target's own previous run on the VM as a feature (not a probe: the issue's contract is
probes only, so it is off by default; the `previous_run` baseline shows what it carries).

"Degraded" means more than 10% worse than the SKU/region median: value < 0.9 x median for
throughput-like units, value > 1.1 x median for latency-like units (ns, us, ms, s). A point
prediction of the ratio seldom crosses 0.9, so flags use a threshold on the predicted ratio
chosen on the validation window (max F1; `baselines.flag_at` in the card), likewise for the
previous-run baseline; the median baselines use the plain 10% rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.db import LakeDB
from predictors import common as c

KIND = "interference"
DEFAULT_TARGET = "Redis/Test: GET"
LOWER_IS_BETTER = {"ns", "us", "µs", "ms", "s", "seconds", "milliseconds", "microseconds"}
DEGRADED = 0.10


def _match(series: Sequence[str], pattern: str) -> list[str]:
    """Exact name, else names containing the pattern, else names containing all its words
    ("redis get" finds "Redis/Test: GET - Parallel Connections: 50 | requests_per_second")."""
    exact = [s for s in series if s.lower() == pattern.lower()]
    if exact:
        return exact
    contained = [s for s in series if pattern.lower() in s.lower()]
    if contained:
        return contained
    words = pattern.lower().split()
    return [s for s in series if words and all(w in s.lower() for w in words)]


def benchmark_of(series: str) -> str:
    return series.split(" | ", 1)[0]


def pick(series: Sequence[str], target: str, probes: Sequence[str] | None) -> tuple[str, list[str]]:
    """The target series and probe series named by (case-insensitive) substrings.

    Other metrics of the target's own benchmark run (FIO's MiB/s beside its IOPS) are the
    same measurement in another unit, not a probe: they are never probes.
    """
    known = sorted(set(series))
    hits = _match(known, target)
    if len(hits) != 1:
        what = "matches no" if not hits else f"matches {len(hits)}"
        raise c.PredictorUsageError(
            f"Target {target!r} {what} benchmark series. Series: {'; '.join(known)}. Pass a "
            "longer part of one name."
        )
    tgt = hits[0]
    others = [s for s in known if benchmark_of(s) != benchmark_of(tgt)]
    if probes is None:
        return tgt, others
    chosen: list[str] = []
    for p in probes:
        found = _match(others, p)
        if not found:
            raise c.PredictorUsageError(
                f"Probe {p!r} matches no benchmark series other than the target's own "
                f"benchmark. Series: {'; '.join(others)}."
            )
        chosen.extend(s for s in found if s not in chosen)
    return tgt, chosen


def load_runs(db: LakeDB, trace: str) -> pl.DataFrame:
    if not db.has(trace, "measurements"):
        raise c.PredictorDataError(
            f"Trace {trace!r} has no measurements table: the interference predictor needs "
            "repeated benchmark runs per VM (Azure VM Noise 2024)."
        )
    df = db.sql(c.sql_file("vm_benchmarks"), trace=trace)
    if df.height == 0:
        raise c.PredictorDataError(f"Trace {trace!r} has no timed benchmark runs.")
    return df


PREVIOUS = "target_previous"


def joined(
    runs: pl.DataFrame, target: str, probes: Sequence[str], max_gap_h: float
) -> pl.DataFrame:
    """One row per target run on a long-lived VM, with each probe's latest earlier value and
    the target's own previous value on the VM (`target_previous`), within max_gap_h."""
    long = runs.filter(pl.col("lifespan") == "long")
    tgt = (
        long.filter(pl.col("series") == target)
        .select("subject", "sku", "region", "ts", "value", "unit")
        .sort("ts")
    )
    out = tgt
    tol = f"{int(max_gap_h * 3600)}s"
    for i, p in enumerate(probes):
        probe = (
            long.filter(pl.col("series") == p)
            .select("subject", pl.col("ts").alias(f"ts_{i}"), pl.col("value").alias(probe_name(p)))
            .sort(f"ts_{i}")
        )
        out = out.join_asof(
            probe,
            left_on="ts",
            right_on=f"ts_{i}",
            by="subject",
            strategy="backward",
            tolerance=tol,
            check_sortedness=False,
        ).drop(f"ts_{i}")
    previous = (
        pl.when(
            (pl.col("ts") - pl.col("ts").shift(1).over("subject", order_by="ts"))
            <= pl.duration(seconds=int(max_gap_h * 3600))
        )
        .then(pl.col("value").shift(1).over("subject", order_by="ts"))
        .otherwise(None)
    )
    return out.with_columns(
        previous.alias(PREVIOUS),
        (pl.col("ts").dt.hour().cast(pl.Float64) + pl.col("ts").dt.minute() / 60.0).alias(
            "hour_of_day"
        ),
        (pl.col("ts").dt.weekday().cast(pl.Float64)).alias("weekday"),
        c_us(pl.col("ts")).alias("ts_us"),
    )


def c_us(ts: pl.Expr) -> pl.Expr:
    return ts.dt.cast_time_unit("us").dt.epoch("us")


def probe_name(series: str) -> str:
    """An ONNX-input-safe feature name for a probe series."""
    keep = "".join(ch.lower() if ch.isalnum() else "_" for ch in series)
    while "__" in keep:
        keep = keep.replace("__", "_")
    return "probe_" + keep.strip("_")


def features_for(
    probes: Sequence[str], units: dict[str, str], target: str, with_previous_target: bool
) -> list[c.Feature]:
    fs = [
        c.Feature(probe_name(p), units.get(p, ""), "float", f"Latest earlier run of {p}.")
        for p in probes
    ]
    if with_previous_target:
        fs.append(
            c.Feature(
                PREVIOUS,
                units.get(target, ""),
                "float",
                f"The previous run of the target ({target}) on the same VM.",
            )
        )
    return [
        *fs,
        c.Feature("sku", "", "string", "VM size."),
        c.Feature("region", "", "string", "Azure region."),
        c.Feature("hour_of_day", "h", "float", "UTC hour of the target run."),
        c.Feature("weekday", "", "float", "ISO weekday of the target run (1 = Monday)."),
    ]


def _pipeline(features: Sequence[c.Feature], seed: int, max_iter: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    cat = [f.name for f in features if f.dtype == "string"]
    num = [f.name for f in features if f.dtype == "float"]
    prep = ColumnTransformer(
        [
            ("groups", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
            ("numbers", "passthrough", num),
        ]
    )
    model = HistGradientBoostingRegressor(
        loss="absolute_error",
        max_iter=max_iter,
        learning_rate=0.05,
        max_leaf_nodes=31,
        min_samples_leaf=50,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("prepare", prep), ("model", model)])


def _medians(df: pl.DataFrame) -> dict[str, float]:
    m = df.group_by("sku", "region").agg(pl.col("value").median())
    return {f"{s}|{r}": float(v) for s, r, v in m.iter_rows()}


def with_ratio(df: pl.DataFrame, medians: dict[str, float]) -> pl.DataFrame:
    key = pl.col("sku") + "|" + pl.col("region")
    med = key.replace_strict(medians, default=None, return_dtype=pl.Float64)
    out = df.with_columns((pl.col("value") / med).alias("ratio"))
    return out.with_columns(
        pl.col("ratio").shift(1).over("subject", order_by="ts").alias("previous_ratio")
    )


def degraded(ratio: Any, lower_is_better: bool, at: float | None = None) -> np.ndarray:
    """True where a ratio is worse than `at` (default: 10% worse than the median)."""
    r = np.asarray(ratio, dtype=np.float64)
    if lower_is_better:
        return r > (1 + DEGRADED if at is None else at)
    return r < (1 - DEGRADED if at is None else at)


def flag_threshold(ratio: np.ndarray, pred: np.ndarray, lower: bool) -> float:
    """The flagging threshold on predicted ratios that maximizes F1 on (validation) rows; the
    plain 10% rule when no threshold flags a true degradation."""
    keep = ~np.isnan(pred)
    r, p = ratio[keep], pred[keep]
    truth = degraded(r, lower)
    best, best_f1 = (1 + DEGRADED if lower else 1 - DEGRADED), 0.0
    if truth.sum() == 0:
        return best
    for q in np.linspace(0.0, 0.2, 81):
        at = float(np.quantile(p, 1 - q if lower else q))
        f1 = c.precision_recall(truth, degraded(p, lower, at))["f1"]
        if f1 == f1 and f1 > best_f1:
            best, best_f1 = at, f1
    return best


def _metrics(
    ratio: np.ndarray, pred: np.ndarray, lower: bool, at: float | None = None
) -> dict[str, float]:
    keep = ~np.isnan(pred)
    r, p = ratio[keep], pred[keep]
    pr = c.precision_recall(degraded(r, lower), degraded(p, lower, at))
    return {
        "mae": c.mae(r, p),
        "mape": c.mape(r, p),
        "kendall_tau": c.kendall_tau(r, p),
        "precision_degraded": pr["precision"],
        "recall_degraded": pr["recall"],
        "f1_degraded": pr["f1"],
        "flagged": float(np.sum(degraded(p, lower, at))),
        "scored": float(keep.sum()),
    }


def score(df: pl.DataFrame, pred: np.ndarray, tables: dict[str, Any]) -> dict[str, Any]:
    ratio = df["ratio"].to_numpy().astype(np.float64)
    lower = bool(tables["lower_is_better"])
    vm = df["subject"].replace_strict(tables["vm_median"], default=None, return_dtype=pl.Float64)
    prev = df["previous_ratio"].to_numpy().astype(np.float64)
    at = tables.get("flag_at", {})
    base = {
        "sku_region_median": _metrics(ratio, np.ones_like(ratio), lower),
        "global_median": _metrics(ratio, np.full_like(ratio, tables["global_median"]), lower),
        "vm_median": _metrics(ratio, vm.fill_null(np.nan).to_numpy().astype(np.float64), lower),
        "previous_run": _metrics(ratio, prev, lower, at.get("previous_run")),
    }
    model = _metrics(ratio, np.asarray(pred, dtype=np.float64), lower, at.get("model"))
    return {
        "model": model,
        "baselines": base,
        "degraded_rate": float(np.mean(degraded(ratio, lower))) if ratio.size else None,
    }


def train(
    lake: Path,
    traces: Sequence[str],
    out: Path,
    target: str = DEFAULT_TARGET,
    probes: Sequence[str] | None = None,
    max_gap_h: float = 4.0,
    with_previous_target: bool = False,
    max_iter: int = 200,
    seed: int = 0,
    skops_file: bool = True,
) -> c.TrainResult:
    """Time-ordered split per trace (last 30% of time = test); medians and the model from the
    first 55%; the validation window is reported, not tuned on."""
    db = c.open_lake(lake)
    try:
        runs = pl.concat([load_runs(db, t).with_columns(pl.lit(t).alias("trace")) for t in traces])
        provenance = c.provenance(db, traces)
    finally:
        db.close()
    tgt, chosen = pick(runs["series"].unique().to_list(), target, probes)
    units = dict(runs.select("series", "unit").unique("series").iter_rows())
    features = features_for(chosen, units, tgt, with_previous_target)
    parts, per_trace = [], []
    for trace in traces:
        j = joined(runs.filter(pl.col("trace") == trace), tgt, chosen, max_gap_h)
        if j.height < 10:
            raise c.PredictorDataError(
                f"Trace {trace!r} has {j.height} runs of {tgt!r} on long-lived VMs; the "
                "per-VM join needs long-lived VMs (short-lived VM ids differ per benchmark)."
            )
        labels, bounds = c.time_split(j["ts_us"].to_numpy())
        parts.append(j.with_columns(pl.Series("split", labels), pl.lit(trace).alias("trace")))
        per_trace.append(
            {
                "trace": trace,
                "rows": {s: int(np.sum(labels == s)) for s in ("train", "validation", "test")},
                "vms": int(j["subject"].n_unique()),
                "split": {
                    "kind": "time",
                    "validation_start": c.us_to_iso(bounds["validation_start"]),
                    "test_start": c.us_to_iso(bounds["test_start"]),
                    "bounds_us": bounds,
                },
            }
        )
    data = pl.concat(parts, how="diagonal_relaxed")
    medians = _medians(data.filter(pl.col("split") == "train"))
    data = with_ratio(data, medians)
    train_df = data.filter(pl.col("split") == "train")
    val_df = data.filter(pl.col("split") == "validation")
    test_df = data.filter(pl.col("split") == "test")
    unit = str(data["unit"][0])
    lower = unit.strip().lower() in LOWER_IS_BETTER
    x = c.model_frame(train_df, features)
    pipeline = _pipeline(features, seed, max_iter).fit(x, np.log(train_df["ratio"].to_numpy()))
    vm_med = train_df.group_by("subject").agg(pl.col("ratio").median())
    tables = {
        "target": tgt,
        "unit": unit,
        "lower_is_better": lower,
        "sku_region_median": medians,
        "global_median": float(np.median(train_df["ratio"].to_numpy())),
        "vm_median": dict(vm_med.iter_rows()),
    }
    outputs = [
        c.Output(
            "ratio",
            "ratio",
            f"Predicted {tgt} / its SKU-region training median",
            inverse="exp",
        )
    ]
    part_of = {"ratio": "ratio"}
    pv = c.sklearn_predict({"ratio": pipeline}, features, outputs, val_df, part_of)[:, 0]
    if val_df.height:  # flag thresholds tuned on validation, for the model and previous_run
        rv = val_df["ratio"].to_numpy().astype(np.float64)
        tables["flag_at"] = {
            "model": flag_threshold(rv, pv, lower),
            "previous_run": flag_threshold(
                rv, val_df["previous_ratio"].to_numpy().astype(np.float64), lower
            ),
        }
    pred = c.sklearn_predict({"ratio": pipeline}, features, outputs, test_df, part_of)[:, 0]
    s = score(test_df, pred, tables)
    sv = score(val_df, pv, tables) if val_df.height else None
    card: dict[str, Any] = {
        "kind": KIND,
        "created_at": c.now_iso(),
        "target": {
            "name": "ratio",
            "unit": "ratio",
            "benchmark": tgt,
            "benchmark_unit": unit,
            "description": "Target run value / median of its SKU and region over training rows; "
            f"degraded when {'above 1.1' if lower else 'below 0.9'}.",
        },
        "training": {
            "traces": provenance,
            "data": per_trace,
            "join": "long-lived VMs only; each probe's latest run on the same VM at most "
            f"{max_gap_h} h before the target run",
            "vms": int(data["subject"].n_unique()),
        },
        "split": {
            "kind": "time, per trace",
            "test_fraction": c.TEST_FRACTION,
            "validation_fraction": c.VALIDATION_FRACTION,
            "validation_use": "flag thresholds (max F1) of the model and previous_run",
            "rows": {"train": train_df.height, "validation": val_df.height, "test": test_df.height},
        },
        "model": {
            "estimator": "HistGradientBoostingRegressor(loss='absolute_error') on ln(ratio), "
            "one-hot(sku, region) + probe values + time of day/week",
            "max_iter": max_iter,
        },
        "options": {
            "target": target,
            "probes": list(probes) if probes is not None else None,
            "max_gap_h": max_gap_h,
            "with_previous_target": with_previous_target,
            "seed": seed,
        },
        "probes": chosen,
        "baselines": tables,
    }
    card["metrics"] = {
        "test": c.evaluation(
            s["model"],
            s["baselines"],
            test_df.height,
            scope="test",
            degraded_rate=s["degraded_rate"],
            vms=int(test_df["subject"].n_unique()),
        ),
        "validation": (
            c.evaluation(sv["model"], sv["baselines"], val_df.height) if sv is not None else None
        ),
    }
    card = c.export(out, card, {"ratio": pipeline}, features, outputs, part_of, skops_file)
    result = c.TrainResult(KIND, Path(out), card, {"ratio": pipeline}, test_df)
    result.card["parity"] = c.parity(c.load(out), {"ratio": pipeline}, test_df)
    c.write_card(out, result.card)
    return result


def evaluate(predictor: c.Predictor, lake: Path, trace: str) -> dict[str, Any]:
    """Score on a trace: its test window if the model was trained on it, else every
    long-lived target run. Ratios use the training medians of the card."""
    card = predictor.card
    tables = card["baselines"]
    db = c.open_lake(lake)
    try:
        runs = load_runs(db, trace)
    finally:
        db.close()
    probes = card["probes"]
    missing = sorted(set([tables["target"], *probes]) - set(runs["series"].unique().to_list()))
    if missing:
        raise c.PredictorDataError(
            f"Trace {trace!r} lacks benchmark series the model needs: {'; '.join(missing)}."
        )
    df = joined(runs, tables["target"], probes, card["options"]["max_gap_h"])
    df = with_ratio(df, tables["sku_region_median"]).filter(pl.col("ratio").is_not_null())
    seen = c.seen_as(card, trace, "")
    if seen is not None:
        df = df.filter(pl.col("ts_us") >= seen["split"]["bounds_us"]["test_start"])
        scope = f"test window of {seen['trace']} (seen in training)"
    else:
        scope = "all long-lived target runs (trace not used in training)"
    if df.height == 0:
        return c.evaluation({}, {}, 0, trace=trace, scope=scope)
    pred = np.asarray(predictor.predict(df), dtype=np.float64)
    s = score(df, pred, tables)
    return c.evaluation(
        s["model"],
        s["baselines"],
        df.height,
        trace=trace,
        scope=scope,
        degraded_rate=s["degraded_rate"],
        vms=int(df["subject"].n_unique()),
    )
