"""The light runtime a scheduler embeds: what it imports, what it refuses, what it remembers.

Expected feature values here are worked out by hand or by a plain loop over a list, never by
the code under test."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from predictors.common import TrainResult
from predictors.runtime import FeatureError, PredictorUsageError, load
from tests.conftest import ROOT

HEAVY = ("polars", "pyarrow", "duckdb", "sklearn", "scipy", "pandas", "skl2onnx", "analysis")


def test_load_and_session_import_only_numpy_onnxruntime_and_stdlib(
    output_length: TrainResult,
) -> None:
    script = f"""
import json, sys
from predictors import load
model = load({str(output_length.out)!r})
s = model.session()
r = {{"ts": 1700000000.0, "input_tokens": 812, "service": "chat"}}
out = s.predict(r)
s.observe(r, output_tokens=240)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
print(json.dumps({{"heavy": heavy, "out": sorted(out)}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["heavy"] == []
    assert got["out"] == ["p10", "p50", "p90"]


def test_outputs_are_labelled_with_units(output_length: TrainResult) -> None:
    model = load(output_length.out)
    assert model.output_names == ["p10", "p50", "p90"]
    assert model.units == {"p10": "tokens", "p50": "tokens", "p90": "tokens"}
    s = model.session()
    out = s.predict({"ts": 1700000000.0, "input_tokens": 100, "service": "chat"})
    assert out["p10"] <= out["p50"] <= out["p90"]
    assert all(math.isfinite(v) for v in out.values())


@pytest.mark.parametrize(
    ("request_", "names"),
    [
        ({"ts": 1.0}, "'input_tokens' is missing"),
        ({"ts": 1.0, "input_tokens": float("nan")}, "'input_tokens' is nan"),
        ({"ts": 1.0, "input_tokens": -3}, "'input_tokens' is -3.0, below 0"),
        ({"ts": 1.0, "input_tokens": "812"}, "'input_tokens' must be a number"),
        ({"ts": 1.0, "input_tokens": 12.5}, "'input_tokens' is 12.5, not a whole number"),
        ({"input_tokens": 12}, "time is missing"),
        ({"ts": float("inf"), "input_tokens": 12}, "'ts' is inf"),
        ({"ts": 1.0, "input_tokens": 12, "service": 7}, "'service' must be text"),
        ({"ts": 1.0, "input_tokens": 12, "hash_ids": [1, "x"]}, "'hash_ids' must be a list"),
        ({"ts": 1.0, "input_tokens": 12, "hash_ids": 5}, "'hash_ids' must be a list"),
        ({"ts": 1.0, "input_tokens": 12, "hash_ids": {1: 2}}, "'hash_ids' must be a list"),
        ({"ts": 1.0, "input_tokens": 12, "hash_ids": iter([1])}, "'hash_ids' must be a list"),
        ({"ts": 1.0, "input_tokens": 12, "hash_block_tokens": 2.5}, "not a whole number"),
        ({"ts": 1.0, "input_tokens": 1e300}, "beyond what a float32 model input holds"),
        ({"ts": 1.0, "input_tokens": np.array([812])}, "'input_tokens' must be a number"),
    ],
)
def test_bad_requests_name_the_field_and_leave_the_state(
    output_length: TrainResult, request_: dict, names: str
) -> None:
    s = load(output_length.out).session()
    s.predict({"ts": 0.5, "input_tokens": 12, "session": "a"})
    before = s.state_size()
    with pytest.raises(FeatureError, match=names.replace("(", r"\(")):
        s.predict(request_)
    assert s.state_size() == before


def test_predict_one_refuses_nan_where_the_card_does_not_allow_it(
    output_length: TrainResult,
) -> None:
    model = load(output_length.out)
    row = {f.name: (None if f.dtype == "string" else math.nan) for f in model.features}
    row["input_tokens"] = math.nan
    row["input_repeat_count"] = 0.0
    with pytest.raises(FeatureError, match="'input_tokens' is nan"):
        model.predict_one(row)
    row["input_tokens"] = 10.0
    out = model.predict_one(row)  # history features NaN = "none": allowed
    assert all(math.isfinite(v) for v in out.values())
    del row["history_output_median"]
    with pytest.raises(FeatureError, match="'history_output_median' is missing"):
        model.predict_one(row)
    with pytest.raises(FeatureError, match="'input_tokens' is nan at row 1"):
        model.predict_columns(
            {**{k: [v, v] for k, v in row.items()}, "history_output_median": [1.0, 2.0]}
            | {"input_tokens": [3.0, math.nan]}
        )


def test_an_output_is_visible_only_after_the_lag(output_length: TrainResult) -> None:
    lag = output_length.card["options"]["history_lag_s"]
    s = load(output_length.out).session(clock="relative")
    first = {"ts": 10.0, "input_tokens": 50}
    s.predict(first)
    s.observe(first, output_tokens=123)
    at_lag = s.features({"ts": 10.0 + lag, "input_tokens": 50})
    assert at_lag["history_output_median"] is None  # arrived exactly lag earlier: not yet
    assert at_lag["input_repeat_count"] == 1.0  # the arrival itself counts at once
    after = s.features({"ts": 10.0 + lag + 1e-6, "input_tokens": 50})
    assert after["history_output_median"] == 123.0
    assert after["repeat_output_median"] == 123.0
    assert after["history_output_p90"] == 123.0
    other_length = s.features({"ts": 10.0 + lag + 1, "input_tokens": 51})
    assert other_length["repeat_output_median"] is None
    assert other_length["input_repeat_count"] == 0.0


def test_history_windows_match_a_plain_loop(output_length: TrainResult) -> None:
    """One stream, 300 requests 1 s apart with pseudo-random outputs: the median and nearest-
    rank p90 of the last 64 outputs older than the lag, computed by hand."""
    lag = output_length.card["options"]["history_lag_s"]
    s = load(output_length.out).session(clock="relative")
    rng = np.random.default_rng(7)
    outs = [int(v) for v in rng.integers(1, 2000, 300)]
    for i, o in enumerate(outs):
        req = {"ts": float(i), "input_tokens": 100 + i % 3}
        f = s.features(req)
        visible = [outs[j] for j in range(i) if j < i - lag]  # arrived strictly before t - lag
        window = sorted(visible[-64:])
        if not window:
            assert f["history_output_median"] is None
        else:
            n = len(window)
            median = window[n // 2] if n % 2 else (window[n // 2 - 1] + window[n // 2]) / 2
            assert f["history_output_median"] == median
            assert f["history_output_p90"] == window[int((n - 1) * 0.9 + 0.5)]
        same = sorted([outs[j] for j in range(i) if j < i - lag and j % 3 == i % 3][-16:])
        if same:
            m = len(same)
            expect = same[m // 2] if m % 2 else (same[m // 2 - 1] + same[m // 2]) / 2
            assert f["repeat_output_median"] == expect
        assert f["input_repeat_count"] == float(len([j for j in range(i) if j % 3 == i % 3]))
        s.predict(req)
        s.observe(req, output_tokens=o)
    # only the window is kept per stream and length, not all 300 outputs
    assert s.state_size()["outputs"] <= 64 + lag + 3 * (16 + lag)


def test_sessions_prefixes_and_hours(output_length: TrainResult) -> None:
    s = load(output_length.out).session()  # absolute clock
    t = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    a = {
        "ts": t,
        "input_tokens": 1024,
        "session": "x",
        "hash_ids": [1, 2],
        "hash_block_tokens": 512,
    }
    f = s.features(a)
    assert f["hour_of_day"] == 22 + 13 / 60
    assert f["session_position"] == 1.0
    assert f["prefix_reused_tokens"] == 0.0
    s.predict(a)
    b = {"ts": t + 1, "input_tokens": 700, "session": "x", "hash_ids": [1, 2, 3],
         "hash_block_tokens": 512}  # fmt: skip
    f = s.features(b)
    assert f["session_position"] == 2.0
    assert f["prefix_reused_tokens"] == 700.0  # 2 blocks = 1024 tokens, capped at the prompt
    assert s.features({"ts": t, "input_tokens": 5})["prefix_reused_tokens"] is None
    assert s.features({"ts": t, "input_tokens": 5})["session_position"] is None


def test_state_is_capped_and_evicts_least_recently_used(output_length: TrainResult) -> None:
    s = load(output_length.out).session(streams=2, sessions=3, blocks=4, lengths_per_stream=2)
    for i in range(5):
        s.predict({"ts": float(i), "input_tokens": i, "service": f"svc{i}", "session": f"s{i}",
                   "hash_ids": [10 * i, 10 * i + 1]})  # fmt: skip
    for i in range(4):
        s.predict({"ts": 10.0 + i, "input_tokens": i, "service": "svc4"})
    size = s.state_size()
    assert size["streams"] == 2 and size["evicted_streams"] == 3
    assert size["sessions"] == 3 and size["evicted_sessions"] == 2
    assert size["blocks"] == 4 and size["evicted_blocks"] == 6
    assert size["lengths"] <= 2 * 2
    # the newest stream is still remembered, an evicted one starts again from nothing
    assert s.features({"ts": 20.0, "input_tokens": 3, "service": "svc4"})["input_repeat_count"] == 1
    assert s.features({"ts": 20.0, "input_tokens": 0, "service": "svc0"})["input_repeat_count"] == 0


def test_unknown_limits_and_clocks_are_usage_errors(output_length: TrainResult) -> None:
    model = load(output_length.out)
    with pytest.raises(PredictorUsageError, match="Unknown session limit"):
        model.session(stream=3)
    with pytest.raises(PredictorUsageError, match="whole number >= 1"):
        model.session(streams=0)
    with pytest.raises(PredictorUsageError, match="clock must be one of"):
        model.session(clock="utc")
    with pytest.raises(PredictorUsageError, match="output_tokens"):
        model.session().observe({"ts": 1.0, "input_tokens": 3}, tokens=5)


def test_card_documents_the_session(output_length: TrainResult) -> None:
    card = json.loads((Path(output_length.out) / "model.json").read_text())
    assert card["card_version"] == 2
    session = card["session"]
    assert {"request_fields", "observe_fields", "time", "state"} <= set(session)
    missing = {f["name"]: f["missing"] for f in card["features"]}
    assert missing["input_tokens"] == "error"
    assert missing["history_output_median"] == "nan"


def test_numpy_scalars_are_numbers_and_a_huge_observation_is_refused(
    output_length: TrainResult,
) -> None:
    s = load(output_length.out).session(clock="relative")
    r = {"ts": np.float64(1.0), "input_tokens": np.int64(12)}
    assert set(s.predict(r)) == {"p10", "p50", "p90"}
    with pytest.raises(FeatureError, match="'output_tokens' is 1e\\+300, beyond"):
        s.observe(r, output_tokens=1e300)


def test_a_changed_request_dict_is_read_again(output_length: TrainResult) -> None:
    s = load(output_length.out).session(clock="relative")
    r = {"ts": 1.0, "input_tokens": 12, "service": "chat", "session": "a"}
    s.predict(r)
    r["session"] = "b"
    assert s.features(r)["session_position"] == 1.0  # "b" is new, not "a" read from a cache


def test_an_edited_card_is_refused(output_length: TrainResult, tmp_path: Path) -> None:
    import shutil

    from predictors.runtime import ModelCardError

    copy = tmp_path / "m"
    shutil.copytree(output_length.out, copy)
    card = json.loads((copy / "model.json").read_text())
    card["options"]["history_lag_s"] = 0
    (copy / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelCardError, match="was edited after `traces train` wrote it"):
        load(copy)


def test_predictions_that_are_not_finite_are_refused(output_length: TrainResult) -> None:
    model = load(output_length.out)
    row = {f.name: None for f in model.features}
    row |= {"input_tokens": 10.0, "input_repeat_count": 0.0}
    with pytest.raises(FeatureError, match="float32"):
        model.predict_one(row | {"input_tokens": 1e39})
