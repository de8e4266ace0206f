"""Output length of LLM requests: p10/p50/p90 of the tokens a request will generate.

Public production traces carry no prompt text, so the features are what they do carry, all
known when the request arrives:

- the prompt length, the service (model) and request kind, the UTC hour (absolute traces);
- the request's position in its session, and how much of its prompt reuses KV blocks seen in
  earlier requests (Mooncake's `hash_ids`): both say "this is a follow-up turn";
- exact repeats: how many earlier requests of the stream had exactly this prompt length, and
  the median output of those that arrived at least `history_lag_s` earlier (identical prompt
  lengths recur in real traces, often from the same application template);
- the median and p90 output of the stream's last 64 requests that arrived at least
  `history_lag_s` earlier. The lag stands for "finished, so its length is known": a
  scheduler cannot see the length of a request still running.

A stream is one (service, tenant) of one trace. Each quantile is a stock `VotingRegressor` on
ln(1 + tokens) of two branches: a HistGradientBoosting quantile regressor on the features
(the model) and the per-(service, kind) training quantile (the baseline; a one-iteration
quantile tree on one-hot(service, kind)). The validation window, never used to fit either
branch, picks one weight w (0 = baseline, 1 = model) for all three quantiles by the MAE of the
blended p50, so the model is shrunk toward the per-service median where its features do not
carry over in time; then it calibrates the p10-p90 interval of the blend (split-conformal,
CQR). The blend is inside the pipelines, hence inside the ONNX graph.
Scheduling utility: the test requests replayed through a single-server queue at a given load
under FCFS, shortest-predicted-first, and shortest-true-first (oracle).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.db import LakeDB
from predictors import common as c
from predictors.replay import Replay
from predictors.runtime.output_length import HISTORY_WINDOW, REPEAT_WINDOW, SESSION_CARD

KIND = "output-length"
# 60 trees at 0.15 per quantile: held-out MAE on Azure conv 46.40 (200 at 0.05: 46.51), and
# 3.3x the batch throughput (benchmarks/predict.py).
LEARNING_RATE = 0.15
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
PREFILL_COST = 0.05  # a prompt token costs 1/20 of a generated token in the queue replay
SHRINK_GRID = [i / 20 for i in range(21)]  # blend weights tried on validation, 0 = baseline
MIN_VALIDATION_ROWS = 20  # below this, no weight choice (w = 1) and no interval calibration

FEATURES = [
    c.Feature("input_tokens", "tokens", "float", "Prompt (context) tokens."),
    c.Feature("service", "", "string", "Model or service; 'unknown' when the trace has none."),
    c.Feature("kind", "", "string", "Request kind (conversation, api, code, ...)."),
    c.Feature(
        "hour_of_day",
        "h",
        "float",
        "UTC hour of arrival plus minutes / 60 (seconds ignored); NaN for relative time.",
        missing="nan",
    ),
    c.Feature(
        "session_position",
        "requests",
        "float",
        "1-based position of the request in its session (arrival order over the whole "
        "trace); NaN when the request has no session.",
        missing="nan",
    ),
    c.Feature(
        "prefix_reused_tokens",
        "tokens",
        "float",
        "min(k x hash_block_tokens, input_tokens), k = how many leading hash_ids of the "
        "prompt appeared in any earlier request of the trace (earlier = before it in arrival "
        "order, ties in time in file order; hash_block_tokens 0 when absent); NaN when the "
        "request has no hash_ids.",
        missing="nan",
    ),
    c.Feature(
        "input_repeat_count",
        "requests",
        "float",
        "Earlier requests (before it in arrival order, ties in time in file order; finished "
        "or not) of the same stream with exactly this prompt length. A stream is (service, "
        "tenant), a missing value counting as the empty string.",
    ),
    c.Feature(
        "repeat_output_median",
        "tokens",
        "float",
        f"Median (mean of the two middle values for an even count) output of the last "
        f"{REPEAT_WINDOW} same-stream requests with exactly this prompt length that arrived "
        "strictly more than history_lag_s earlier (ties in arrival: file order); NaN if none "
        "or the trace has no time.",
        missing="nan",
    ),
    c.Feature(
        "history_output_median",
        "tokens",
        "float",
        f"Median (as above) output of the stream's last {HISTORY_WINDOW} requests that "
        "arrived strictly more than history_lag_s earlier; NaN if none or untimed.",
        missing="nan",
    ),
    c.Feature(
        "history_output_p90",
        "tokens",
        "float",
        f"90th percentile output of the same {HISTORY_WINDOW} requests, nearest rank: the "
        "sorted value at index floor((n - 1) x 0.9 + 0.5), 0-based; NaN if none.",
        missing="nan",
    ),
]
CATEGORICAL = [f.name for f in FEATURES if f.dtype == "string"]
NUMERIC = [f.name for f in FEATURES if f.dtype == "float"]


# --- data ---------------------------------------------------------------------------------


def load_requests(db: LakeDB, trace: str) -> pl.DataFrame:
    """Requests of one trace with both token counts, in time order (see the .sql)."""
    if not db.has(trace, "requests"):
        raise c.PredictorDataError(
            f"Trace {trace!r} has no requests table: the output-length predictor needs LLM "
            "requests with input and output tokens (Azure LLM, BurstGPT, Mooncake, Vidur)."
        )
    df = db.sql(c.sql_file("output_length_requests"), trace=trace)
    if df.height == 0:
        raise c.PredictorDataError(
            f"Trace {trace!r} has no requests with both input_tokens and output_tokens."
        )
    return df


def _prefix_reused(df: pl.DataFrame) -> pl.Series:
    """Tokens of each prompt's leading KV blocks already seen in an earlier request."""
    if "hash_ids" not in df.columns or df["hash_ids"].null_count() == df.height:
        return pl.Series("prefix_reused_tokens", [None] * df.height, dtype=pl.Float64)
    seen: set[int] = set()
    out: list[float | None] = []
    block = df["hash_block_tokens"].to_list()
    inputs = df["input_tokens"].to_list()
    for ids, size, n_in in zip(df["hash_ids"].to_list(), block, inputs, strict=True):
        if ids is None:
            out.append(None)
            continue
        k = 0
        for h in ids:
            if h in seen:
                k += 1
            else:
                break
        seen.update(ids)
        out.append(float(min(k * (size or 0), n_in)))
    return pl.Series("prefix_reused_tokens", out, dtype=pl.Float64)


def _lagged(
    df: pl.DataFrame, keys: list[str], lag_us: int, window: int, stats: dict[str, Any]
) -> pl.DataFrame:
    """Rolling statistics of output_tokens over each group's rows that arrived strictly
    before ts - lag: a backward as-of join onto per-group rolling windows."""
    right = df.select(
        *keys,
        pl.col("ts_us").alias("ts_hist"),
        *[expr.over(keys).alias(name) for name, expr in stats.items()],
    )
    left = df.select(*keys, "row", (pl.col("ts_us") - lag_us).alias("ts_hist"))
    joined = left.sort("ts_hist").join_asof(
        right.sort("ts_hist"),
        on="ts_hist",
        by=keys,
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    return joined.sort("row").select(list(stats))


def features(df: pl.DataFrame, absolute_time: bool, history_lag_s: float = 60.0) -> pl.DataFrame:
    """The FEATURES columns (plus the request columns) for requests in time order."""
    n = df.height
    timed = df["ts_us"].null_count() == 0
    out = df.with_columns(
        pl.int_range(0, n).alias("row"),
        (pl.col("service").fill_null("") + "\x1f" + pl.col("tenant").fill_null("")).alias("stream"),
        pl.col("input_tokens").cast(pl.Float64).alias("input_tokens_f"),
    )
    hour = (
        (pl.col("ts").dt.hour().cast(pl.Float64) + pl.col("ts").dt.minute().cast(pl.Float64) / 60.0)
        if absolute_time and timed
        else pl.lit(None, dtype=pl.Float64)
    )
    session_pos = (
        pl.when(pl.col("session").is_not_null())
        .then((pl.col("row").cum_count().over("session")).cast(pl.Float64))
        .otherwise(None)
    )
    out = out.with_columns(
        hour.alias("hour_of_day"),
        session_pos.alias("session_position"),
        (pl.col("row").cum_count().over(["stream", "input_tokens"]) - 1)
        .cast(pl.Float64)
        .alias("input_repeat_count"),
        _prefix_reused(df),
    )
    if timed:
        lag_us = int(history_lag_s * 1e6)
        o = pl.col("output_tokens").cast(pl.Float64)
        hist = _lagged(
            out,
            ["stream"],
            lag_us,
            HISTORY_WINDOW,
            {
                "history_output_median": o.rolling_median(HISTORY_WINDOW, min_samples=1),
                "history_output_p90": o.rolling_quantile(
                    0.9, window_size=HISTORY_WINDOW, min_samples=1
                ),
            },
        )
        rep = _lagged(
            out,
            ["stream", "input_tokens"],
            lag_us,
            REPEAT_WINDOW,
            {"repeat_output_median": o.rolling_median(REPEAT_WINDOW, min_samples=1)},
        )
        out = pl.concat([out, hist, rep], how="horizontal")
    else:  # without time nothing says which earlier requests had finished
        out = out.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(name)
            for name in ("history_output_median", "history_output_p90", "repeat_output_median")
        )
    return out.with_columns(
        pl.col("input_tokens_f").alias("input_tokens"),
        pl.col("service").fill_null(c.MISSING),
        pl.col("kind").fill_null(c.MISSING),
    ).drop("input_tokens_f")


def frame(db: LakeDB, trace: str, history_lag_s: float) -> pl.DataFrame:
    """Requests of a trace with their features, in split order."""
    info = db.info(trace)
    df = load_requests(db, trace)
    return features(df, info.time_origin == "absolute", history_lag_s)


def data_fingerprint(df: pl.DataFrame) -> str:
    return c.fingerprint(df["input_tokens"], df["output_tokens"])


# --- model --------------------------------------------------------------------------------


def usable(frame: pl.DataFrame, names: Sequence[str]) -> list[str]:
    """Numeric features with at least two distinct values in the training rows (an all-NaN
    column would break the binning; a constant one carries nothing)."""
    return [n for n in names if frame[n].drop_nans().drop_nulls().n_unique() >= 2]


def _pipeline(quantile: float, max_iter: int, seed: int, numeric: Sequence[str]) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prep = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=32),
                CATEGORICAL,
            ),
            ("numbers", "passthrough", list(numeric)),
        ]
    )
    model = HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        max_iter=max_iter,
        learning_rate=LEARNING_RATE,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("prepare", prep), ("model", model)])


def _baseline_pipeline(quantile: float) -> Any:
    """The per-(service, kind) training quantile of ln(1 + tokens) as a stock estimator: one
    quantile-loss tree, learning rate 1, one leaf per group (leaf value = the group's
    quantile; groups of a few rows with identical gradients may share a leaf)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prep = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL,
            )
        ]
    )
    model = HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        max_iter=1,
        learning_rate=1.0,
        max_leaf_nodes=None,
        min_samples_leaf=1,
        l2_regularization=0.0,
        early_stopping=False,
    )
    return Pipeline([("prepare", prep), ("model", model)])


def _blend(quantile: float, max_iter: int, seed: int, numeric: Sequence[str]) -> Any:
    """The model and baseline branches of one quantile; `set_weight` sets the blend after
    fitting."""
    from sklearn.ensemble import VotingRegressor

    return VotingRegressor(
        [
            ("model", _pipeline(quantile, max_iter, seed, numeric)),
            ("baseline", _baseline_pipeline(quantile)),
        ]
    )


def set_weight(blend: Any, w: float) -> Any:
    """Predict w * model + (1 - w) * baseline (in ln(1 + tokens)); weights are read at
    prediction and by the ONNX converter, so no refit is needed."""
    return blend.set_params(weights=np.array([w, 1.0 - w]))


def choose_weight(model_log: Any, baseline_log: Any, y: Any) -> tuple[float, dict[str, float]]:
    """The weight of SHRINK_GRID whose blended p50 has the lowest MAE in tokens on the
    validation rows (ties: the smaller weight, nearer the baseline), and the MAE of each."""
    m, b = np.asarray(model_log, np.float64), np.asarray(baseline_log, np.float64)
    curve = {f"{w:g}": c.mae(y, np.expm1(w * m + (1.0 - w) * b)) for w in SHRINK_GRID}
    best = int(np.argmin(list(curve.values())))
    return SHRINK_GRID[best], curve


def simulate_queue(arrival_s: Any, service_s: Any, priority: Any) -> np.ndarray:
    """Latency (wait + service) of each job in a non-preemptive single-server queue that
    always starts the waiting job of lowest priority value (ties: earliest arrival)."""
    a = np.asarray(arrival_s, dtype=np.float64)
    s = np.asarray(service_s, dtype=np.float64)
    p = np.asarray(priority, dtype=np.float64)
    n = a.size
    order = np.argsort(a, kind="stable")
    done = np.empty(n)
    heap: list[tuple[float, float, int]] = []
    t, i = -math.inf, 0
    while i < n or heap:
        if not heap:
            t = max(t, a[order[i]])
        while i < n and a[order[i]] <= t:
            k = int(order[i])
            heapq.heappush(heap, (p[k], a[k], k))
            i += 1
        _, _, k = heapq.heappop(heap)
        t += s[k]
        done[k] = t
    return done - a


def schedule(
    ts_us: Any, input_tokens: Any, output_tokens: Any, predicted: Any, load: float = 0.8
) -> dict[str, float]:
    """Mean and p99 latency of the requests under shortest-predicted-first, with service time
    proportional to PREFILL_COST * input + output and the server sized for `load`."""
    a = (np.asarray(ts_us, dtype=np.float64) - np.nanmin(ts_us)) / 1e6
    work = PREFILL_COST * np.asarray(input_tokens, np.float64) + np.asarray(output_tokens, float)
    span = float(a.max()) if a.size else 0.0
    per_unit = span * load / work.sum() if span > 0 and work.sum() > 0 else 1.0
    svc = work * per_unit
    prio = PREFILL_COST * np.asarray(input_tokens, np.float64) + np.asarray(predicted, float)
    lat = simulate_queue(a, svc, prio)
    return {"sched_mean_s": float(lat.mean()), "sched_p99_s": float(np.quantile(lat, 0.99))}


def _service_key(df: pl.DataFrame) -> list[str]:
    return (df["service"].fill_null(c.MISSING) + "|" + df["kind"].fill_null(c.MISSING)).to_list()


SAME_LENGTH = "recent_same_length_median"
UNTIMED_SPLIT = (
    "fixed pseudo-random order (the trace has no timestamps): rows are ordered by a hash of "
    "each row and the last 30% of that order are the test set"
)


def split_kind(per_trace: Sequence[dict[str, Any]]) -> str:
    """The card's split kind: time-ordered per trace, saying which traces had no time."""
    untimed = [d["trace"] for d in per_trace if d["split"]["kind"] != "time"]
    if not untimed:
        return "time, per trace"
    return f"time per trace where timed; {', '.join(untimed)}: {UNTIMED_SPLIT}"


def same_length_baseline(
    df: pl.DataFrame, service_table: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The heuristic a scheduler could use instead of a model: the median output of the
    stream's last REPEAT_WINDOW finished requests with exactly this prompt length (the
    `repeat_output_median` feature), else the service median. Its p10 / p90 are the
    service's, widened to contain that median."""
    keys = _service_key(df)
    service = [c.lookup(service_table, keys, i) for i in range(3)]
    same = df["repeat_output_median"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    p50 = np.where(np.isnan(same), service[1], same)
    return np.minimum(service[0], p50), p50, np.maximum(service[2], p50)


def score(
    df: pl.DataFrame, pred: np.ndarray, baselines: dict[str, Any], load: float
) -> dict[str, Any]:
    """Model and baseline metrics on scored rows `df` with model predictions (N, 3)."""
    y = df["output_tokens"].to_numpy().astype(np.float64)
    model = c.quantile_metrics(y, pred[:, 0], pred[:, 1], pred[:, 2])
    base: dict[str, dict[str, float]] = {}
    keys = {"global_median": ["*"] * df.height, "service_median": _service_key(df)}
    # The queue replay needs one timeline: not for untimed rows, nor across traces.
    one_trace = "trace" not in df.columns or df["trace"].n_unique() == 1
    timed = df["ts_us"].null_count() == 0 and one_trace and df.height > 1
    for name, k in keys.items():
        table = baselines[name]
        q = [c.lookup(table, k, i) for i in range(3)]
        base[name] = c.quantile_metrics(y, *q)
        if timed:
            base[name].update(schedule(df["ts_us"], df["input_tokens"], y, q[1], load))
    same = same_length_baseline(df, baselines["service_median"])
    base[SAME_LENGTH] = c.quantile_metrics(y, *same)
    if timed:
        base[SAME_LENGTH].update(schedule(df["ts_us"], df["input_tokens"], y, same[1], load))
    if timed:
        model.update(schedule(df["ts_us"], df["input_tokens"], y, pred[:, 1], load))
        fcfs = np.zeros(df.height)  # equal priority: earliest arrival first
        base["fcfs"] = schedule(df["ts_us"], df["input_tokens"], y, fcfs, load)
        base["oracle_sjf"] = schedule(df["ts_us"], df["input_tokens"], y, y, load)
    return {"model": model, "baselines": base}


def train(
    lake: Path,
    traces: Sequence[str],
    out: Path,
    history_lag_s: float = 60.0,
    max_iter: int = 60,
    load: float = 0.8,
    seed: int = 0,
    skops_file: bool = True,
) -> c.TrainResult:
    """Fit on the first 55% of each trace's time, calibrate on the next 15%, score the last
    30%; export MODEL_DIR."""
    db = c.open_lake(lake)
    try:
        parts, per_trace = [], []
        for trace in traces:
            df = frame(db, trace, history_lag_s)
            timed = df["ts_us"].null_count() == 0
            if timed:
                labels, bounds = c.time_split(df["ts_us"].to_numpy())
                split: dict[str, Any] = {
                    "kind": "time",
                    "validation_start": c.us_to_iso(bounds["validation_start"]),
                    "test_start": c.us_to_iso(bounds["test_start"]),
                }
            else:
                labels = c.row_order_split(df.height)
                split = {"kind": UNTIMED_SPLIT}
            split["validation_start_row"] = int(np.argmax(labels != "train"))
            split["test_start_row"] = int(np.argmax(labels == "test"))
            counts = {s: int(np.sum(labels == s)) for s in ("train", "validation", "test")}
            if counts["train"] == 0 or counts["test"] == 0:
                raise c.PredictorDataError(f"Trace {trace!r} is too small to split: {counts}.")
            per_trace.append(
                {
                    "trace": trace,
                    "rows": counts,
                    "fingerprint": data_fingerprint(df),
                    "split": split,
                }
            )
            parts.append(df.with_columns(pl.Series("split", labels), pl.lit(trace).alias("trace")))
        data = pl.concat(parts, how="diagonal_relaxed")
        provenance = c.provenance(db, traces)
    finally:
        db.close()

    train_df = data.filter(pl.col("split") == "train")
    val_df = data.filter(pl.col("split") == "validation")
    test_df = data.filter(pl.col("split") == "test")
    ylog = np.log1p(train_df["output_tokens"].to_numpy().astype(np.float64))
    x_train = c.model_frame(train_df, FEATURES)
    numeric = usable(x_train, NUMERIC)
    pipelines = {
        name: _blend(q, max_iter, seed, numeric).fit(x_train, ylog) for name, q in QUANTILES.items()
    }
    # On the validation window only: one weight toward the baseline, by the MAE of the
    # blended p50, for all three quantiles; then calibrate the blended interval (CQR).
    offset, weight = 0.0, 1.0
    curve: dict[str, float] = {}
    validated = val_df.height >= MIN_VALIDATION_ROWS
    if validated:
        xv = c.model_frame(val_df, FEATURES)
        yv_tokens = val_df["output_tokens"].to_numpy().astype(np.float64)
        branches = pipelines["p50"].named_estimators_
        weight, curve = choose_weight(
            branches["model"].predict(xv), branches["baseline"].predict(xv), yv_tokens
        )
    for blend in pipelines.values():
        set_weight(blend, weight)
    if validated:
        yv = np.log1p(yv_tokens)
        lo, hi = pipelines["p10"].predict(xv), pipelines["p90"].predict(xv)
        err = np.maximum(lo - yv, yv - hi)
        level = min(1.0, math.ceil((yv.size + 1) * 0.8) / yv.size)
        offset = float(np.quantile(err, level))
    outputs = [
        c.Output("p10", "tokens", "10th percentile", "expm1", offset=-offset, at_most="p50"),
        c.Output("p50", "tokens", "median (the point prediction)", "expm1"),
        c.Output("p90", "tokens", "90th percentile", "expm1", offset=offset, at_least="p50"),
    ]
    y_train = train_df["output_tokens"].to_numpy().astype(np.float64)
    qs = list(QUANTILES.values())
    baselines = {
        "global_median": c.group_quantiles(["*"] * train_df.height, y_train, qs),
        "service_median": c.group_quantiles(_service_key(train_df), y_train, qs),
    }
    card: dict[str, Any] = {
        "kind": KIND,
        "created_at": c.now_iso(),
        "target": {
            "name": "output_tokens",
            "unit": "tokens",
            "description": "Tokens the request generates; the pipelines fit ln(1 + tokens).",
        },
        "training": {"traces": provenance, "data": per_trace},
        "split": {
            "kind": split_kind(per_trace),
            "test_fraction": c.TEST_FRACTION,
            "validation_fraction": c.VALIDATION_FRACTION,
            "validation_use": "the weight of the model vs the per-service quantile baseline "
            "(by the MAE of p50), then split-conformal calibration of the blended p10-p90 "
            "interval",
            "rows": {
                "train": train_df.height,
                "validation": val_df.height,
                "test": test_df.height,
            },
        },
        "model": {
            "estimator": "per quantile, VotingRegressor(weights=[w, 1 - w]) of "
            "HistGradientBoostingRegressor(loss='quantile') on one-hot(service, kind) + numeric "
            "features (model) and a one-iteration quantile tree on one-hot(service, kind) "
            "(per-service training quantile: baseline), on ln(1 + tokens)",
            "max_iter": max_iter,
            "features_used": CATEGORICAL + numeric,
            "interval_offset_log": offset,
            "shrinkage": {
                "weight": weight,
                "meaning": "each quantile is w * model + (1 - w) * the per-(service, kind) "
                "training quantile, in ln(1 + tokens): 0 = baseline, 1 = model",
                "chosen_on": "lowest MAE of p50 on the validation window"
                if validated
                else f"nothing: fewer than {MIN_VALIDATION_ROWS} validation rows, so w = 1",
                "validation_rows": val_df.height,
                "validation_mae": {
                    "model (w = 1)": curve["1"],
                    "baseline (w = 0)": curve["0"],
                    "chosen": curve[f"{weight:g}"],
                }
                if validated
                else None,
                "validation_mae_by_weight": curve,
            },
        },
        "options": {"history_lag_s": history_lag_s, "load": load, "seed": seed},
        "session": SESSION_CARD,
        "baselines": baselines,
    }
    part_of = {o.name: o.name for o in outputs}
    pred = c.sklearn_predict(pipelines, FEATURES, outputs, test_df, part_of)
    scored = score(test_df, pred, baselines, load)
    card["metrics"] = {
        "test": c.evaluation(scored["model"], scored["baselines"], test_df.height, scope="test"),
        "per_trace": {},
    }
    for trace in traces:
        sel = (test_df["trace"] == trace).to_numpy()
        if sel.sum() >= 2:
            s = score(test_df.filter(pl.Series(sel)), pred[sel], baselines, load)
            card["metrics"]["per_trace"][trace] = c.evaluation(
                s["model"], s["baselines"], int(sel.sum())
            )
    card = c.export(
        out, card, pipelines, FEATURES, outputs, part_of, skops_file, golden_rows=test_df
    )
    result = c.TrainResult(KIND, Path(out), card, pipelines, test_df)
    result.card["parity"] = c.parity(c.load(out), pipelines, test_df)
    c.write_card(out, result.card)
    return result


def evaluate(predictor: c.Predictor, lake: Path, trace: str) -> dict[str, Any]:
    card = predictor.card
    opts = card["options"]
    db = c.open_lake(lake)
    try:
        df = frame(db, trace, opts["history_lag_s"])
    finally:
        db.close()
    seen = c.seen_as(card, trace, data_fingerprint(df))
    if seen is not None:
        df = df.slice(seen["split"]["test_start_row"])
        scope = f"test window of {seen['trace']} (seen in training)"
    else:
        scope = "all rows (trace not used in training)"
    if df.height == 0:
        return c.evaluation({}, {}, 0, trace=trace, scope=scope)
    pred = predictor.run(c.onnx_feeds(df, predictor.features))
    s = score(df, pred, card["baselines"], opts["load"])
    return c.evaluation(s["model"], s["baselines"], df.height, trace=trace, scope=scope)


def replay(db: LakeDB, trace: str, card: dict[str, Any]) -> Replay:
    """Every request of the trace with both token counts, in the lake's order: the batch
    features and the same requests, as the lake holds them, for a session (observe: the
    output tokens)."""
    raw = load_requests(db, trace)
    info = db.info(trace)
    df = features(raw, info.time_origin == "absolute", card["options"]["history_lag_s"])
    timed = raw["ts_us"].null_count() == 0
    fields = ["service", "tenant", "kind", "session", "hash_ids", "hash_block_tokens"]
    requests = raw.select(
        *(["ts_us"] if timed else []), *fields, pl.col("input_tokens").cast(pl.Int64)
    ).to_dicts()
    observed = [{"output_tokens": int(v)} for v in raw["output_tokens"].to_list()]
    keys = raw.select(
        pl.lit(trace).alias("trace"),
        pl.int_range(0, raw.height, dtype=pl.Int64).alias("row"),
        "ts", "service", "tenant", "session", "kind",
        pl.col("input_tokens").cast(pl.Int64), pl.col("output_tokens").cast(pl.Int64),
    )  # fmt: skip
    clock = info.time_origin if timed else "none"
    return Replay(keys, df.select([f.name for f in FEATURES]), requests, observed, {"clock": clock})
