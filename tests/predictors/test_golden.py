"""Golden vectors in the model card (predictors/golden.py): a few held-out rows as model.onnx is
fed them and what it answered. They must be what onnxruntime returns on those inputs when the
card is read back as plain JSON (NaN written as null, never as a bare NaN), be rows of the given
frame that the runtime accepts, and cover NaN and unseen or null categories where the rows hold
them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl
import pytest

from predictors.common import PredictorDataError, TrainResult
from predictors.golden import golden_vectors
from tests.predictors.golden_support import (
    FEATURES,
    OUTPUTS,
    synthetic_model,
    synthetic_test_rows,
    with_golden,
)

KINDS = ["synthetic", "output-length", "latency", "interference"]


def strict_card(model_dir: Path) -> dict[str, Any]:
    """model.json read as strict JSON: a bare NaN or Infinity is an error, not a float."""

    def refuse(token: str) -> None:
        raise ValueError(f"{model_dir / 'model.json'} holds a bare {token}: not JSON")

    return dict(json.loads((model_dir / "model.json").read_text(), parse_constant=refuse))


def golden_feeds(card: dict[str, Any]) -> dict[str, np.ndarray]:
    """The card's golden inputs as a consumer builds them: null -> NaN, floats as float32."""
    feeds = {}
    for f in card["features"]:
        values = card["golden"]["inputs"][f["name"]]
        if f["dtype"] == "string":
            arr = np.array(values, dtype=object)
        else:
            arr = np.array([math.nan if v is None else v for v in values], dtype=np.float32)
        feeds[f["name"]] = arr.reshape(-1, 1)
    return feeds


def run_onnx(model_dir: Path, card: dict[str, Any], feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(
        str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    names = [o["name"] for o in card["outputs"]]
    return np.column_stack([np.asarray(r).reshape(-1) for r in session.run(names, feeds)])


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "synthetic"
    synthetic_model(out)
    return out


@pytest.fixture(scope="module")
def model_dirs(
    synthetic: Path,
    output_length: TrainResult,
    latency: TrainResult,
    interference: TrainResult,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("golden-kinds")
    return {
        "synthetic": synthetic,
        "output-length": with_golden(output_length, tmp / "output-length"),
        "latency": with_golden(latency, tmp / "latency"),
        "interference": with_golden(interference, tmp / "interference"),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_golden_outputs_are_what_onnxruntime_returns_on_the_golden_inputs(
    model_dirs: dict[str, Path], kind: str
) -> None:
    card = strict_card(model_dirs[kind])
    golden = card["golden"]
    assert 8 <= golden["rows"] <= 16
    for name, values in [*golden["inputs"].items(), *golden["outputs"].items()]:
        assert len(values) == golden["rows"], name
    assert set(golden["inputs"]) == {f["name"] for f in card["features"]}
    got = run_onnx(model_dirs[kind], card, golden_feeds(card))
    for k, out in enumerate(card["outputs"]):
        want = np.array(golden["outputs"][out["name"]], dtype=np.float64)
        # the same runtime on the same float32 inputs: the very same numbers
        assert np.array_equal(got[:, k].astype(np.float64), want), out["name"]
    assert golden["tolerance"]["relative"] == 1e-5


@pytest.mark.parametrize("kind", KINDS)
def test_the_tolerance_never_allows_more_than_a_relative_1e_4(
    model_dirs: dict[str, Path], kind: str
) -> None:
    golden = strict_card(model_dirs[kind])["golden"]
    tol = golden["tolerance"]
    for values in golden["outputs"].values():
        for e in values:
            if e:
                assert tol["absolute"] + tol["relative"] * abs(e) < 1e-4 * abs(e)


def test_nan_inputs_are_null_in_the_card_and_nan_again_in_the_graph(synthetic: Path) -> None:
    card = strict_card(synthetic)  # refuses a bare NaN
    golden = card["golden"]
    nan_rows = [i for i, v in enumerate(golden["inputs"]["load"]) if v is None]
    assert nan_rows, "the synthetic rows hold NaN loads: one must be golden"
    assert "load NaN" in golden["picked_for"]
    # The graph routes NaN unlike any number: the golden output is NaN's, not 0's or 5's.
    feeds = golden_feeds(card)
    got = run_onnx(synthetic, card, feeds)
    for stand_in in (0.0, 5.0):
        feeds["load"][nan_rows, 0] = stand_in
        other = run_onnx(synthetic, card, feeds)
        assert not np.array_equal(other[nan_rows], got[nan_rows]), stand_in


def test_golden_rows_are_rows_of_the_given_frame_the_runtime_accepts(synthetic: Path) -> None:
    golden = strict_card(synthetic)["golden"]
    # the rows as the graph sees them, derived with a plain loop
    source = set()
    for row in synthetic_test_rows().iter_rows(named=True):
        load = None if row["load"] is None or math.isnan(row["load"]) else row["load"]
        size = row["size"]
        source.add(
            (
                None if load is None else float(np.float32(load)),
                None if size is None else float(np.float32(size)),
                "unknown" if row["tier"] is None else row["tier"],
            )
        )
    inputs = golden["inputs"]
    picked = set(zip(inputs["load"], inputs["size"], inputs["tier"], strict=True))
    assert len(picked) == golden["rows"]
    assert picked <= source
    # row 1 has no size, which the feature does not allow: not a valid request
    assert None not in inputs["size"]
    assert any(t[1] is None for t in source)


def test_unseen_and_null_categories_are_golden_rows(synthetic: Path) -> None:
    golden = strict_card(synthetic)["golden"]
    tiers = golden["inputs"]["tier"]
    assert "platinum" in tiers  # never in the training rows (gold, silver, bronze)
    assert "unknown" in tiers  # a null tier, as it is fed
    assert "tier 'platinum' unseen in training" in golden["picked_for"]
    assert "tier null (fed as 'unknown')" in golden["picked_for"]


def test_the_choice_of_rows_is_deterministic_and_small_inputs_are_kept_whole(
    synthetic: Path,
) -> None:
    onnx_bytes = (synthetic / "model.onnx").read_bytes()
    names = [o.name for o in OUTPUTS]
    rows = synthetic_test_rows()
    assert golden_vectors(onnx_bytes, FEATURES, names, rows) == golden_vectors(
        onnx_bytes, FEATURES, names, rows
    )
    few = rows.filter(pl.col("size").is_not_null()).head(5)
    assert golden_vectors(onnx_bytes, FEATURES, names, few)["rows"] == 5
    big = pl.concat([rows] * 20)
    assert golden_vectors(onnx_bytes, FEATURES, names, big)["rows"] <= 16


def test_rows_that_are_all_invalid_requests_are_refused_naming_the_feature(
    synthetic: Path,
) -> None:
    rows = synthetic_test_rows().with_columns(pl.lit(None, pl.Float64).alias("size"))
    with pytest.raises(PredictorDataError, match=r"golden vectors.*\(size\)"):
        golden_vectors((synthetic / "model.onnx").read_bytes(), FEATURES, ["y"], rows)


@pytest.mark.parametrize("kind", ["output-length", "latency", "interference"])
def test_a_feature_that_may_be_nan_is_nan_in_some_golden_row_when_the_rows_hold_one(
    model_dirs: dict[str, Path],
    kind: str,
    output_length: TrainResult,
    latency: TrainResult,
    interference: TrainResult,
) -> None:
    result = {"output-length": output_length, "latency": latency, "interference": interference}
    rows = result[kind].test_rows
    assert rows is not None
    card = strict_card(model_dirs[kind])
    strict = [f["name"] for f in card["features"] if f["dtype"] == "float"]
    strict = [n for n in strict if _missing(card, n) == "error"]
    valid = rows.filter(pl.all_horizontal([pl.col(n).is_finite() for n in strict] or [True]))
    for f in card["features"]:
        if f["dtype"] == "float" and _missing(card, f["name"]) == "nan":
            col = valid[f["name"]].cast(pl.Float64)
            if col.is_null().any() or col.is_nan().any():
                assert None in card["golden"]["inputs"][f["name"]], f["name"]


def _missing(card: dict[str, Any], name: str) -> str:
    return str(next(f.get("missing", "nan") for f in card["features"] if f["name"] == name))


def test_export_without_golden_rows_writes_no_golden_section(tmp_path: Path) -> None:
    synthetic_model(tmp_path / "plain", golden=False)
    assert "golden" not in strict_card(tmp_path / "plain")
