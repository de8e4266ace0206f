"""The fused ONNX graph: one shared encoding, then the trees of each part (p10, p50, ...) in one
tree ensemble, with the outputs of the scikit-learn pipelines it was built from.

Expected values come from the fitted pipelines' own `predict` and the output arithmetic
written out here with numpy (not from predictors.common), on real held-out rows with NaN
features and categories the model never saw."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import polars as pl
import pytest

from predictors import onnx_graph
from predictors.common import OPSET, Feature, Output, TrainResult

UNSEEN = "a-category-never-seen-in-training"


def _session(model: Any) -> Any:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )


def _feeds(rows: pl.DataFrame, features: Sequence[Feature]) -> dict[str, np.ndarray]:
    out = {}
    for f in features:
        col = rows[f.name]
        if f.dtype == "string":
            arr = np.array([("unknown" if v is None else v) for v in col.to_list()], dtype=object)
        else:
            arr = np.array([np.nan if v is None else v for v in col.to_list()], dtype=np.float32)
        out[f.name] = arr.reshape(-1, 1)
    return out


def _expected(
    pipelines: Mapping[str, Any],
    outputs: Sequence[Output],
    parts: Mapping[str, str],
    feeds: Mapping[str, np.ndarray],
) -> np.ndarray:
    """sklearn predict on the same float32 / string columns, then offset, inverse, scale and
    ordering in numpy (float64)."""
    x = pl.DataFrame({k: v.ravel() for k, v in feeds.items()})
    pre = {}
    for o in outputs:
        r = pipelines[parts[o.name]].predict(x).astype(np.float64) + o.offset
        r = {"identity": r, "exp": np.exp(r), "expm1": np.expm1(r)}[o.inverse]
        if o.scale_by:
            r = r * feeds[o.scale_by].ravel().astype(np.float64)
        pre[o.name] = r
    cols = []
    for o in outputs:
        col = pre[o.name]
        if o.at_most:
            col = np.minimum(col, pre[o.at_most])
        if o.at_least:
            col = np.maximum(col, pre[o.at_least])
        cols.append(col)
    return np.column_stack(cols)


def _run(model: Any, outputs: Sequence[Output], feeds: Mapping[str, np.ndarray]) -> np.ndarray:
    res = _session(model).run([o.name for o in outputs], dict(feeds))
    for r in res:
        assert r.shape == (len(next(iter(feeds.values()))), 1)
    return np.column_stack([r.ravel() for r in res]).astype(np.float64)


def _damaged(rows: pl.DataFrame, features: Sequence[Feature], every: int = 5) -> pl.DataFrame:
    """Real rows, and copies of them where each feature in turn is NaN (numbers) or a category
    never seen in training (strings) on every `every`-th row."""
    copies = [rows]
    idx = pl.int_range(0, rows.height, eager=True)
    for i, f in enumerate(features):
        hit = (idx + i) % every == 0
        if f.dtype == "string":
            bad = pl.when(hit).then(pl.lit(UNSEEN)).otherwise(pl.col(f.name).cast(pl.String))
        else:
            bad = pl.when(hit).then(None).otherwise(pl.col(f.name).cast(pl.Float64))
        copies.append(rows.with_columns(bad.alias(f.name)))
    return pl.concat(copies, how="vertical_relaxed")


def _ops(model: Any) -> Counter[str]:
    return Counter(n.op_type for n in model.graph.node)


# --- the three predictors ---------------------------------------------------------------------


@pytest.fixture(params=["output_length", "latency", "interference"])
def trained(request: pytest.FixtureRequest) -> TrainResult:
    result: TrainResult = request.getfixturevalue(request.param)
    return result


def _trees_of(estimator: Any) -> int:
    """Trees of the branches of a part with a weight (a blend's branch of weight 0 adds
    nothing and is left out of the graph)."""
    if hasattr(estimator, "estimators_"):
        fitted = estimator.estimators_
        weights = [1] * len(fitted) if estimator.weights is None else estimator.weights
        return sum(_trees_of(e) for e, w in zip(fitted, weights, strict=True) if w != 0)
    return int(estimator.named_steps["model"].n_iter_)


def test_each_predictor_is_one_encoding_and_one_tree_ensemble_per_part(
    trained: TrainResult,
) -> None:
    card = trained.card
    model = onnx.load(str(trained.out / "model.onnx"))
    features = [Feature(**f) for f in card["features"]]
    ops = _ops(model)
    parts = list(dict.fromkeys(card["parts"][o["name"]] for o in card["outputs"]))
    assert onnx_graph.fused(model)
    assert ops["TreeEnsembleRegressor"] == len(parts), ops
    assert ops["OneHotEncoder"] <= sum(f.dtype == "string" for f in features), ops
    trees = [n for n in model.graph.node if n.op_type == "TreeEnsembleRegressor"]
    # All ensembles read the same encoded matrix, and each holds its part's every tree.
    assert len({n.input[0] for n in trees}) == 1
    for part, tree in zip(parts, trees, strict=True):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in tree.attribute}
        assert attrs["n_targets"] == 1
        assert len(set(attrs["nodes_treeids"])) == _trees_of(trained.pipelines[part])
    # The interface: one [N, 1] input per feature (its name and type), one output per Output.
    kinds = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    assert kinds == {
        f.name: onnx.TensorProto.STRING if f.dtype == "string" else onnx.TensorProto.FLOAT
        for f in features
    }
    assert [o.name for o in model.graph.output] == [o["name"] for o in card["outputs"]]


def test_outputs_equal_the_pipelines_on_real_rows_with_nan_and_unseen_categories(
    trained: TrainResult,
) -> None:
    card = trained.card
    features = [Feature(**f) for f in card["features"]]
    outputs = [Output(**o) for o in card["outputs"]]
    assert trained.test_rows is not None
    rows = _damaged(trained.test_rows.head(400), features)
    feeds = _feeds(rows, features)
    assert any(np.isnan(v).any() for v in feeds.values() if v.dtype == np.float32)
    got = _run(onnx.load(str(trained.out / "model.onnx")), outputs, feeds)
    want = _expected(trained.pipelines, outputs, card["parts"], feeds)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=0, equal_nan=True)
    assert np.isfinite(want[: trained.test_rows.head(400).height]).all()


def test_output_length_quantiles_never_cross(output_length: TrainResult) -> None:
    features = [Feature(**f) for f in output_length.card["features"]]
    outputs = [Output(**o) for o in output_length.card["outputs"]]
    assert [o.name for o in outputs] == ["p10", "p50", "p90"]
    assert output_length.test_rows is not None
    feeds = _feeds(_damaged(output_length.test_rows, features, every=3), features)
    got = _run(onnx.load(str(output_length.out / "model.onnx")), outputs, feeds)
    assert np.isfinite(got).all()
    assert (got[:, 0] <= got[:, 1]).all() and (got[:, 1] <= got[:, 2]).all()
    # Not trivially: the interval has width on most rows.
    assert np.mean(got[:, 2] > got[:, 0]) > 0.9


# --- the patterns, on small synthetic pipelines ------------------------------------------------

SYNTH = [
    Feature("a", "", "string", "six categories, two of them rare"),
    Feature("b", "", "string", "three categories"),
    Feature("x1", "", "float", "number with NaN"),
    Feature("x2", "", "float", "number"),
    Feature("s", "s", "float", "scale"),
]


def _synthetic(n: int = 600, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.choice(
        ["a0", "a1", "a2", "a3", "rare1", "rare2"], n, p=[0.3, 0.3, 0.2, 0.16, 0.02, 0.02]
    )
    b = rng.choice(["b0", "b1", "b2"], n)
    x1 = rng.normal(size=n).astype(np.float32)
    x1[rng.random(n) < 0.1] = np.nan
    x2 = rng.uniform(0, 10, n).astype(np.float32)
    s = rng.uniform(1, 2, n).astype(np.float32)
    y = (
        np.where(np.isin(a, ["rare1", "rare2"]), 1.5, 0.0)
        + (b == "b1") * 0.7
        + np.nan_to_num(x1) * 0.4
        + np.sin(x2)
        + rng.normal(scale=0.2, size=n)
    )
    return pl.DataFrame({"a": a, "b": b, "x1": x1, "x2": x2, "s": s}), y


def _pipe(cats: list[str], nums: list[str], max_iter: int, **onehot: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    steps = [("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False, **onehot), cats)]
    if nums:
        steps.append(("n", "passthrough", nums))
    return Pipeline(
        [
            ("prepare", ColumnTransformer(steps)),
            ("model", HistGradientBoostingRegressor(max_iter=max_iter, max_leaf_nodes=8)),
        ]
    )


def _blend(weights: list[float]) -> Any:
    from sklearn.ensemble import VotingRegressor

    return VotingRegressor(
        [
            # infrequent bucket: rare1 and rare2 share one column
            ("m", _pipe(["a", "b"], ["x1", "x2"], 15, max_categories=4)),
            ("base", _pipe(["b", "a"], [], 3)),  # other column order, no bucket
        ],
        weights=weights,
    )


def _check(
    pipelines: Mapping[str, Any],
    outputs: list[Output],
    parts: dict[str, str],
    rows: pl.DataFrame,
    fused: bool = True,
    ensembles: str = onnx_graph.ENSEMBLES,
) -> Any:
    model = onnx_graph.build(pipelines, SYNTH, outputs, parts, OPSET, ensembles=ensembles)
    assert onnx_graph.fused(model) is fused
    feeds = _feeds(_damaged(rows, SYNTH, every=4), SYNTH)
    got = _run(model, outputs, feeds)
    want = _expected(pipelines, outputs, parts, feeds)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    return model


@pytest.mark.parametrize("ensembles", ["per_part", "one"])
def test_blends_buckets_and_vector_arithmetic_fuse_exactly(ensembles: str) -> None:
    rows, y = _synthetic()
    pipelines = {
        "lo": _blend([3.0, 1.0]).fit(rows, y - 1.0),  # weights normalized: 0.75 / 0.25
        "mid": _blend([1.0, 0.0]).fit(rows, y),  # the baseline's trees are left out
        "hi": _pipe(["b"], ["x2", "x1"], 12).fit(rows, y + 1.0),
    }
    encoder = pipelines["lo"].estimators_[0].named_steps["prepare"].named_transformers_["c"]
    assert encoder.infrequent_categories_[0] is not None  # the bucket is exercised
    outputs = [
        Output("q_lo", "s", "", "expm1", offset=-0.3, scale_by="s", at_most="q_mid"),
        Output("q_mid", "s", "", "expm1", scale_by="s"),
        Output("q_hi", "s", "", "expm1", offset=0.2, scale_by="s", at_least="q_mid"),
    ]
    model = _check(pipelines, outputs, {o.name: o.name[2:] for o in outputs}, rows, True, ensembles)
    ops = _ops(model)
    assert ops["TreeEnsembleRegressor"] == (3 if ensembles == "per_part" else 1), ops
    # One Exp, Sub and Mul for all three outputs; one LabelEncoder for the bucket.
    assert (ops["Exp"], ops["Sub"], ops["Mul"], ops["LabelEncoder"]) == (1, 1, 1, 1), ops
    assert ops["OneHotEncoder"] <= 2, ops


@pytest.mark.parametrize("ensembles", ["per_part", "one"])
def test_outputs_sharing_a_part_and_mixed_arithmetic(ensembles: str) -> None:
    rows, y = _synthetic(seed=1)
    pipelines = {
        "one": _blend([1.0, 2.0]).fit(rows, y),
        "two": _pipe(["a"], ["x1"], 5).fit(rows, y),
    }
    outputs = [
        Output("raw", "", "", "identity", offset=0.5),
        Output("grown", "", "", "exp", scale_by="x2", at_least="raw"),
        Output("other", "", "", "identity", at_most="raw"),
    ]
    parts = {"raw": "one", "grown": "one", "other": "two"}
    _check(pipelines, outputs, parts, rows, True, ensembles)


def test_other_pipelines_are_assembled_separately_and_still_exact() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import VotingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rows, y = _synthetic(seed=2)
    ridge = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["a"]),
                        ("n", SimpleImputer(), ["x1", "x2"]),
                    ]
                ),
            ),
            ("model", Ridge()),
        ]
    )
    # Weights as a list, which skl2onnx's own VotingRegressor converter cannot read.
    blend = VotingRegressor([("linear", ridge), ("trees", _pipe(["b"], ["x2"], 4))], weights=[1, 2])
    outputs = [Output("v", "", "", "identity", offset=1.0)]
    model = _check({"v": blend.fit(rows, y)}, outputs, {"v": "v"}, rows, fused=False)
    assert _ops(model)["LinearRegressor"] == 1
