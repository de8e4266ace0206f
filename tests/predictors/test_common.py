"""Splits, metrics, baselines and row handling, with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from predictors import common as c
from predictors.output_length import simulate_queue


def test_time_split_is_by_span_of_time_and_never_leaks():
    rng = np.random.default_rng(1)
    ts = np.sort(rng.integers(0, 1_000_000, 5000))
    labels, bounds = c.time_split(ts)
    train, val, test = ts[labels == "train"], ts[labels == "validation"], ts[labels == "test"]
    assert train.max() < val.min() <= val.max() < test.min()
    span = ts.max() - ts.min()
    assert bounds["test_start"] == ts.min() + math.floor(span * 0.70)
    assert bounds["validation_start"] == ts.min() + math.floor(span * 0.55)
    assert (test >= bounds["test_start"]).all() and (val < bounds["test_start"]).all()
    # Unsorted input gets the same labels row by row.
    perm = rng.permutation(ts.size)
    assert (c.time_split(ts[perm])[0] == labels[perm]).all()
    assert (c.labels_from_bounds(ts, bounds) == labels).all()


def test_time_split_fractions_are_of_time_not_rows():
    # 90 rows in the first 10 s, 10 rows in the last 90 s: the test set is the late 10 rows.
    ts = np.concatenate([np.linspace(0, 10, 90), np.linspace(71, 100, 10)]) * 1e6
    labels, _ = c.time_split(ts)
    assert (labels == "test").sum() == 10
    assert (labels[:90] == "train").all()


def test_time_split_accepts_polars_datetimes():
    s = pl.Series("ts", [0, 30, 55, 56, 70, 100]).cast(pl.Datetime("us", "UTC"))
    labels, _ = c.time_split(s)
    assert labels.tolist() == ["train", "train", "validation", "validation", "test", "test"]


def test_row_order_split():
    labels = c.row_order_split(20)
    assert labels.tolist() == ["train"] * 11 + ["validation"] * 3 + ["test"] * 6


def test_grouped_split_keeps_groups_whole():
    groups = np.array(["a", "b", "a", "c", "b", "c", "a"])
    labels = c.grouped_split(groups, ["b"], ["c"])
    for g in set(groups):
        assert len(set(labels[groups == g])) == 1
    assert set(labels[groups == "b"]) == {"test"}
    assert set(labels[groups == "c"]) == {"validation"}
    assert set(labels[groups == "a"]) == {"train"}


def test_grouped_split_names_missing_groups():
    with pytest.raises(c.PredictorUsageError, match=r"No rows for group\(s\) z\. Groups present"):
        c.grouped_split(["a", "b"], ["z"])
    with pytest.raises(c.PredictorUsageError, match="both in test and validation"):
        c.grouped_split(["a", "b"], ["a"], ["a"])


def test_point_metrics_by_hand():
    y, p = [10, 20, 0, 40], [12, 15, 1, 40]
    assert c.mae(y, p) == pytest.approx((2 + 5 + 1 + 0) / 4)
    # y == 0 is left out of MAPE: (0.2 + 0.25 + 0) / 3
    assert c.mape(y, p) == pytest.approx(0.15)


def test_pinball_and_coverage_by_hand():
    y = [10.0, 20.0]
    # alpha 0.9: under-prediction by 2 costs 0.9*2; over-prediction by 5 costs 0.1*5
    assert c.pinball(y, [8.0, 25.0], 0.9) == pytest.approx((1.8 + 0.5) / 2)
    assert c.pinball(y, [8.0, 25.0], 0.1) == pytest.approx((0.2 + 4.5) / 2)
    assert c.pinball(y, [8.0, 25.0], 0.5) == pytest.approx(c.mae(y, [8.0, 25.0]) / 2)
    assert c.coverage([1, 5, 9, 10], [0, 6, 0, 10], [2, 7, 8, 10]) == pytest.approx(0.5)
    q = c.quantile_metrics(y, [5, 15], [10, 20], [15, 25])
    assert q["mae"] == 0 and q["coverage_80"] == 1.0 and q["kendall_tau"] == pytest.approx(1.0)


def test_kendall_tau_by_hand():
    # pairs: (1,2,3) vs (1,3,2): concordant 2, discordant 1 -> tau = 1/3
    assert c.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert math.isnan(c.kendall_tau([1, 2, 3], [5, 5, 5]))


def test_precision_recall_by_hand():
    pr = c.precision_recall([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
    assert pr["precision"] == pytest.approx(2 / 3)
    assert pr["recall"] == pytest.approx(2 / 3)
    assert pr["f1"] == pytest.approx(2 / 3)
    assert math.isnan(c.precision_recall([1, 0], [0, 0])["precision"])


def test_group_quantile_baselines_fall_back_to_all_rows():
    table = c.group_quantiles(["a", "a", "b", "b", "b"], [1, 3, 10, 20, 30], [0.5])
    assert table == {"*": [10.0], "a": [2.0], "b": [20.0]}
    assert c.lookup(table, ["a", "b", "unseen", None], 0).tolist() == [2.0, 20.0, 10.0, 10.0]


def test_queue_simulation_by_hand():
    # Job 0 arrives at 0 (service 10); jobs 1 (service 5) and 2 (service 1) wait behind it.
    arrival, service = [0.0, 1.0, 2.0], [10.0, 5.0, 1.0]
    fcfs = simulate_queue(arrival, service, [0, 0, 0])
    assert fcfs.tolist() == [10.0, 14.0, 14.0]  # done at 10, 15, 16
    sjf = simulate_queue(arrival, service, service)
    assert sjf.tolist() == [10.0, 15.0, 9.0]  # job 2 jumps ahead: done at 10, 16, 11


@pytest.mark.parametrize("kind", ["dicts", "polars", "pyarrow", "columns"])
def test_onnx_feeds_from_every_row_shape(kind):
    # "x" may be missing (NaN = none); a feature that may not is refused (next test)
    features = [c.Feature("x", "s", "float", "", missing="nan"), c.Feature("k", "", "string", "")]
    dicts = [{"x": 1.5, "k": "a"}, {"x": None, "k": None}]
    rows = {
        "dicts": dicts,
        "polars": pl.DataFrame(dicts),
        "pyarrow": pa.Table.from_pylist(dicts),
        "columns": {"x": [1.5, None], "k": ["a", None]},
    }[kind]
    feeds = c.onnx_feeds(rows, features)
    assert feeds["x"].dtype == np.float32 and feeds["x"].shape == (2, 1)
    assert feeds["x"][0, 0] == 1.5 and np.isnan(feeds["x"][1, 0])
    assert feeds["k"][:, 0].tolist() == ["a", c.MISSING]


@pytest.mark.parametrize("value", [None, float("nan"), float("inf")])
def test_a_required_number_that_is_missing_or_not_finite_is_refused(value):
    features = [c.Feature("x", "s", "float", "")]  # missing="error", the default
    with pytest.raises(c.FeatureError, match=r"Feature 'x' is (nan|inf) at row 1"):
        c.onnx_feeds(pl.DataFrame({"x": [1.0, value]}, strict=False), features)


def test_missing_feature_is_named():
    with pytest.raises(c.PredictorUsageError, match=r"Rows lack feature\(s\) k\. The model needs"):
        c.onnx_feeds(
            [{"x": 1.0}], [c.Feature("x", "", "float", ""), c.Feature("k", "", "string", "")]
        )
