"""The ONNX graph of a predictor: every pipeline's trees fused into one tree ensemble.

A predictor's parts (one per output, e.g. p10/p50/p90) are scikit-learn pipelines of the same
pattern: `ColumnTransformer(OneHotEncoder(categories), passthrough numbers)` then a
`HistGradientBoostingRegressor`, possibly blended by a `VotingRegressor`. Converted one by one
and placed side by side, the output-length graph ran 6 one-hot encodings and 6 tree ensembles
for 3 numbers (64 nodes): in onnxruntime each node costs a kernel launch and an allocation,
which dominated a one-row call. `build` writes instead:

    feature inputs [N, 1]  ->  one shared encoding: a OneHotEncoder per categorical feature
                               (only the categories some tree tests) and the numeric columns
                               some tree tests, concatenated  ->  X [N, D]
    X  ->  per part, one TreeEnsembleRegressor of every tree of the part's pipelines,
           converted by skl2onnx, with their feature ids remapped onto X's columns, leaf
           weights and base values scaled by the blend weights (VotingRegressor averages
           with normalized weights)  ->  Y [N, T], one column per part (ENSEMBLES = "one":
           a single ensemble with one target per part, measured slower)
    Y  ->  the output arithmetic on all columns at once where the outputs share it (offset
           folded into the base values, exp / expm1, scale by a feature), then one [N, 1]
           output per Output, named as the output, with at_most / at_least ordering.

Remapping is exact: with `handle_unknown="ignore"` an unseen category is a row of zeros in
every pipeline's encoding, and it is a row of zeros in the shared one, whose categories are
the union of the tested ones. A tree's split on column j of its pipeline's ColumnTransformer
output becomes a split on the shared column of the same (feature, category) or feature.

An encoder's bucket of infrequent categories (`max_categories`, `min_frequency`) is one more
shared column: a LabelEncoder giving 1.0 for the bucket's categories and 0.0 for any other.
A blend branch of weight 0 adds nothing and is left out. Columns no tree tests are left out of
the encoding (the inputs stay: the interface is the same).

Pipelines of another shape (another estimator, an encoder that drops a category, a transformer
that is not passthrough) are assembled as separate subgraphs, the way every part was before:
correct, only slower. The model's metadata says which was written and why (`layout(model)`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from predictors.common import Feature, Output

GRAPH_NAME = "workload_traces_predictor"
LAYOUT_KEY = "workload_traces.graph"  # model metadata: "fused" or "separate (why)"
# "per_part": one single-target tree ensemble per part, all reading the one shared encoding;
# "one": a single ensemble with a target per part. onnxruntime keeps a single target's leaf
# value inside the tree node, but reads several targets' leaves through a weights table:
# measured on the 3-quantile output-length graph, per_part ran a row 10-15% faster, in batch
# and alone.
ENSEMBLES = "per_part"
TREES = "TreeEnsembleRegressor"
ML = "ai.onnx.ml"
# Per-node attributes of TreeEnsembleRegressor (ai.onnx.ml opset 3) and per-leaf ones.
NODE_ATTRS = (
    "nodes_treeids",
    "nodes_nodeids",
    "nodes_featureids",
    "nodes_modes",
    "nodes_values",
    "nodes_truenodeids",
    "nodes_falsenodeids",
    "nodes_missing_value_tracks_true",
)
LEAF_ATTRS = ("target_treeids", "target_nodeids", "target_ids", "target_weights")


class Unfusable(Exception):
    """A pipeline is not of the pattern the fused graph handles; the message says why."""


# A column of the shared encoding: ("num", feature), ("cat", feature, category), or
# ("bucket", feature, category, category, ...) for a bucket of infrequent categories.
Column = tuple[str, ...]


@dataclass
class Branch:
    """One HistGradientBoosting model of a part, its weight in the part's blend and what each
    column of its input is."""

    part: str
    weight: float
    columns: list[Column]
    model: Any


# --- reading the fitted pipelines ------------------------------------------------------------


def _branches(part: str, estimator: Any) -> list[Branch]:
    """The weighted (ColumnTransformer -> HGB) branches whose weighted sum the part predicts."""
    from sklearn.ensemble import VotingRegressor
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, VotingRegressor):
        kept = [e for _, e in estimator.estimators if e != "drop"]
        weights = (
            [1.0] * len(kept)
            if estimator.weights is None
            else [
                float(w)
                for (_, e), w in zip(estimator.estimators, estimator.weights, strict=True)
                if e != "drop"
            ]
        )
        total = sum(weights)
        if not total > 0 or len(estimator.estimators_) != len(kept):
            raise Unfusable(f"part {part!r}: VotingRegressor weights sum to {total}")
        out = []
        for w, fitted in zip(weights, estimator.estimators_, strict=True):
            for b in _branches(part, fitted):
                out.append(Branch(part, b.weight * w / total, b.columns, b.model))
        return out
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 2:
        prep, model = estimator.steps[0][1], estimator.steps[1][1]
        _check_model(part, model)
        return [Branch(part, 1.0, _columns(part, prep), model)]
    raise Unfusable(f"part {part!r}: {type(estimator).__name__} is not a supported pipeline")


def _check_model(part: str, model: Any) -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    if not isinstance(model, HistGradientBoostingRegressor):
        raise Unfusable(f"part {part!r}: {type(model).__name__} is not HistGradientBoosting")
    if model.loss not in ("squared_error", "absolute_error", "quantile"):
        raise Unfusable(f"part {part!r}: loss {model.loss!r} has a link function")
    if model.is_categorical_ is not None and np.any(model.is_categorical_):
        raise Unfusable(f"part {part!r}: native categorical features")


def _columns(part: str, prep: Any) -> list[Column]:
    """What each output column of a fitted ColumnTransformer is, from its transformers'
    fitted categories and column lists, checked against get_feature_names_out."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    if not isinstance(prep, ColumnTransformer):
        raise Unfusable(f"part {part!r}: {type(prep).__name__} is not a ColumnTransformer")
    n_out = len(prep.get_feature_names_out())
    cols: list[Column | None] = [None] * n_out
    for name, trans, names in prep.transformers_:
        where = prep.output_indices_[name]
        width = where.stop - where.start
        if trans == "drop" or width == 0:
            continue
        names = [names] if isinstance(names, str) else list(names)
        if not all(isinstance(n, str) for n in names):
            raise Unfusable(f"part {part!r}: columns of {name!r} are not selected by name")
        if trans == "passthrough" or (
            isinstance(trans, FunctionTransformer)
            and trans.func is None
            and trans.inverse_func is None
        ):
            here: list[Column] = [("num", n) for n in names]
        elif isinstance(trans, OneHotEncoder):
            if trans.handle_unknown != "ignore" or trans.drop_idx_ is not None:
                raise Unfusable(f"part {part!r}: {name!r} drops or refuses categories")
            here = _onehot_columns(part, trans, names)
        else:
            raise Unfusable(f"part {part!r}: transformer {name!r} ({type(trans).__name__})")
        if len(here) != width:
            raise Unfusable(f"part {part!r}: {name!r} makes {width} columns, not {len(here)}")
        cols[where] = here
    if any(c is None for c in cols):
        raise Unfusable(f"part {part!r}: some ColumnTransformer outputs are not accounted for")
    return [c for c in cols if c is not None]


def _onehot_columns(part: str, encoder: Any, names: Sequence[str]) -> list[Column]:
    """A fitted OneHotEncoder's output columns: per feature its frequent categories in fitted
    order, then its bucket of infrequent ones if it has one (sklearn's order, checked against
    the encoder's own column names)."""
    infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(names)
    here: list[Column] = []
    expected: list[str] = []
    for n, cats, rare in zip(names, encoder.categories_, infrequent, strict=True):
        if not all(isinstance(c, str) for c in cats):
            raise Unfusable(f"part {part!r}: categories of {n!r} are not all strings")
        bucket = [] if rare is None else [str(c) for c in rare]
        here.extend(("cat", n, c) for c in cats if c not in bucket)
        expected.extend(f"{n}_{c}" for c in cats if c not in bucket)
        if bucket:
            here.append(("bucket", n, *bucket))
            expected.append(f"{n}_infrequent_sklearn")
    if list(encoder.get_feature_names_out(list(names))) != expected:
        raise Unfusable(f"part {part!r}: one-hot columns are not in the expected order")
    return here


def _tree_attrs(model: Any, n_in: int, opset: Mapping[str, int]) -> dict[str, Any]:
    """The TreeEnsembleRegressor attributes skl2onnx writes for a fitted HGB model."""
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    with warnings.catch_warnings():
        # skl2onnx 1.20 writes HistGradientBoosting's missing-value flags as booleans, which
        # onnx 1.2x accepts with a DeprecationWarning.
        warnings.simplefilter("ignore", DeprecationWarning)
        m = convert_sklearn(
            model, initial_types=[("X", FloatTensorType([None, n_in]))], target_opset=dict(opset)
        )
    trees = [n for n in m.graph.node if n.op_type == TREES]
    others = [n for n in m.graph.node if n.op_type not in (TREES, "Identity")]
    if len(trees) != 1 or others:
        raise Unfusable(f"skl2onnx wrote {[n.op_type for n in m.graph.node]} for {model!r}")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in trees[0].attribute}
    if attrs.get("post_transform", b"NONE") not in (b"NONE", "NONE"):
        raise Unfusable(f"post_transform {attrs['post_transform']!r}")
    if attrs.get("n_targets", 1) != 1 or len(attrs.get("base_values", [0.0])) != 1:
        raise Unfusable("a tree ensemble with several targets")
    missing = [k for k in (*NODE_ATTRS, *LEAF_ATTRS) if k not in attrs]
    if missing:
        raise Unfusable(f"tree attributes {missing} missing")
    return attrs


# --- the fused graph ---------------------------------------------------------------------------


@dataclass
class _Graph:
    nodes: list[Any]
    inits: list[Any]
    n: int = 0

    def name(self, stem: str) -> str:
        self.n += 1
        return f"graph__{stem}_{self.n}"  # apart from feature and output names

    def node(self, op: str, inputs: Sequence[str], stem: str, **attrs: Any) -> str:
        from onnx import helper

        out = self.name(stem)
        domain = ML if op in (TREES, "OneHotEncoder", "LabelEncoder") else ""
        self.nodes.append(
            helper.make_node(op, list(inputs), [out], name=out, domain=domain, **attrs)
        )
        return out

    def const(self, stem: str, values: Sequence[float] | float, shape: Sequence[int]) -> str:
        from onnx import TensorProto, helper

        name = self.name(stem)
        vals = [float(v) for v in np.ravel(values)]
        self.inits.append(helper.make_tensor(name, TensorProto.FLOAT, list(shape), vals))
        return name


def _layout(
    branches: Sequence[Branch], trees: Sequence[dict[str, Any]], features: Sequence[Feature]
) -> list[Column]:
    """The shared encoding's columns: those some tree splits on, one-hot columns first (in
    feature order, then by category), then infrequent buckets, then numeric features in
    feature order."""
    used: set[Column] = set()
    for b, t in zip(branches, trees, strict=True):
        for mode, fid in zip(t["nodes_modes"], t["nodes_featureids"], strict=True):
            if mode not in (b"LEAF", "LEAF"):
                used.add(b.columns[fid])
    dtype = {f.name: f.dtype for f in features}
    for col in used:
        want = "float" if col[0] == "num" else "string"
        if dtype.get(col[1]) != want:
            raise Unfusable(f"column {col} is not a declared {want} feature")
    order = {f.name: i for i, f in enumerate(features)}
    cats = sorted((c for c in used if c[0] == "cat"), key=lambda c: (order[c[1]], c))
    buckets = sorted((c for c in used if c[0] == "bucket"), key=lambda c: (order[c[1]], c))
    nums = sorted((c for c in used if c[0] == "num"), key=lambda c: order[c[1]])
    layout = cats + buckets + nums
    if not layout:  # every tree is a single leaf: the ensemble still needs an input
        first = next((f for f in features if f.dtype == "float"), None)
        layout = [("num", first.name)] if first else [("cat", features[0].name, "")]
    return layout


def _encode(g: _Graph, layout: Sequence[Column]) -> str:
    """Nodes computing X [N, len(layout)] from the feature inputs; returns X's name."""
    pieces: list[str] = []
    onehots: list[str] = []
    for feature in dict.fromkeys(c[1] for c in layout if c[0] == "cat"):
        cats = [c[2] for c in layout if c[0] == "cat" and c[1] == feature]
        # [N, 1] strings -> [N, 1, C]; zeros=1: an unseen category is a row of zeros.
        onehots.append(g.node("OneHotEncoder", [feature], "onehot", cats_strings=cats, zeros=1))
    if onehots:
        joined = onehots[0] if len(onehots) == 1 else g.node("Concat", onehots, "cats", axis=2)
        pieces.append(g.node("Flatten", [joined], "cats_2d", axis=1))
    for col in (c for c in layout if c[0] == "bucket"):
        # [N, 1] strings -> [N, 1]: 1.0 for a category of the bucket, 0.0 for any other.
        pieces.append(
            g.node(
                "LabelEncoder",
                [col[1]],
                "bucket",
                keys_strings=list(col[2:]),
                values_floats=[1.0] * (len(col) - 2),
                default_float=0.0,
            )
        )
    pieces.extend(c[1] for c in layout if c[0] == "num")
    # One piece is X as it is (a single numeric input, or the one-hot block alone).
    return pieces[0] if len(pieces) == 1 else g.node("Concat", pieces, "x", axis=1)


def _ensemble(
    branches: Sequence[Branch],
    trees: Sequence[dict[str, Any]],
    layout: Sequence[Column],
    targets: Sequence[str],
    offsets: Sequence[float],
) -> dict[str, Any]:
    """The attributes of one TreeEnsembleRegressor holding every branch's trees."""
    index = {col: i for i, col in enumerate(layout)}
    target_of = {part: i for i, part in enumerate(targets)}
    nodes: dict[str, list[Any]] = {k: [] for k in NODE_ATTRS}
    leaves: dict[str, list[Any]] = {k: [] for k in LEAF_ATTRS}
    base = np.array(offsets, dtype=np.float64)
    tree_offset = 0
    for b, t in zip(branches, trees, strict=True):
        k = target_of[b.part]
        base[k] += b.weight * float(t["base_values"][0])
        ids = np.asarray(t["nodes_treeids"], dtype=np.int64)
        leaf = np.array([m in (b"LEAF", "LEAF") for m in t["nodes_modes"]])
        fids = [
            0 if is_leaf else index[b.columns[f]]
            for f, is_leaf in zip(t["nodes_featureids"], leaf, strict=True)
        ]
        nodes["nodes_treeids"].extend((ids + tree_offset).tolist())
        nodes["nodes_featureids"].extend(fids)
        for key in NODE_ATTRS:
            if key not in ("nodes_treeids", "nodes_featureids"):
                nodes[key].extend(t[key])
        leaves["target_treeids"].extend(
            (np.asarray(t["target_treeids"], dtype=np.int64) + tree_offset).tolist()
        )
        leaves["target_nodeids"].extend(t["target_nodeids"])
        leaves["target_ids"].extend([k] * len(t["target_ids"]))
        leaves["target_weights"].extend(
            (np.asarray(t["target_weights"], dtype=np.float64) * b.weight).tolist()
        )
        tree_offset += int(ids.max()) + 1 if ids.size else 0
    nodes["nodes_missing_value_tracks_true"] = [
        int(v) for v in nodes["nodes_missing_value_tracks_true"]
    ]
    nodes["nodes_modes"] = [m.decode() if isinstance(m, bytes) else m for m in nodes["nodes_modes"]]
    return {
        **nodes,
        **leaves,
        "n_targets": len(targets),
        "base_values": base.tolist(),
        "post_transform": "NONE",
    }


def _arithmetic(
    g: _Graph,
    y: str,
    outputs: Sequence[Output],
    targets: Sequence[str],
    parts: Mapping[str, str],
    folded: bool,
) -> dict[str, str]:
    """Nodes from Y [N, T] to each output's tensor before ordering: {output: tensor}."""
    same = len({(o.inverse, o.scale_by) for o in outputs}) == 1
    if folded and same:
        # Outputs and targets are one to one, in the same order: one op per step on Y.
        cur = _inverse_and_scale(g, y, outputs[0], "y")
        if len(outputs) == 1:
            return {outputs[0].name: cur}
        from onnx import helper

        names = [g.name(f"{o.name}_pre") for o in outputs]
        g.nodes.append(helper.make_node("Split", [cur], names, name=g.name("split"), axis=1))
        return {o.name: n for o, n in zip(outputs, names, strict=True)}
    pre = {}
    for o in outputs:
        k = targets.index(parts[o.name])
        if len(targets) == 1:
            col = y
        else:
            col = g.node("Gather", [y, _int_const(g, o.name, k)], f"{o.name}_col", axis=1)
        if o.offset and not folded:
            col = g.node("Add", [col, g.const(f"{o.name}_offset", o.offset, [])], o.name)
        pre[o.name] = _inverse_and_scale(g, col, o, o.name)
    return pre


def _int_const(g: _Graph, stem: str, k: int) -> str:
    from onnx import TensorProto, helper

    name = g.name(f"{stem}_index")
    g.inits.append(helper.make_tensor(name, TensorProto.INT64, [1], [k]))
    return name


def _inverse_and_scale(g: _Graph, cur: str, o: Output, stem: str) -> str:
    if o.inverse in ("exp", "expm1"):
        cur = g.node("Exp", [cur], f"{stem}_exp")
    if o.inverse == "expm1":
        cur = g.node("Sub", [cur, g.const(f"{stem}_one", 1.0, [])], f"{stem}_m1")
    if o.scale_by:
        cur = g.node("Mul", [cur, o.scale_by], f"{stem}_scaled")
    return cur


def _finish(g: _Graph, pre: Mapping[str, str], outputs: Sequence[Output], inputs: set[str]) -> None:
    """Ordering (at_most / at_least, from the values before ordering), then each output's
    last tensor renamed to the output's name."""
    from onnx import helper

    final: dict[str, str] = {}
    for o in outputs:
        cur = pre[o.name]
        if o.at_most:
            cur = g.node("Min", [cur, pre[o.at_most]], f"{o.name}_min")
        if o.at_least:
            cur = g.node("Max", [cur, pre[o.at_least]], f"{o.name}_max")
        final[o.name] = cur
    rename: dict[str, str] = {}
    for o in outputs:
        cur = final[o.name]
        if cur in inputs or cur in rename:
            g.nodes.append(helper.make_node("Identity", [cur], [o.name], name=g.name("id")))
        else:
            rename[cur] = o.name
    for node in g.nodes:
        for seq in (node.input, node.output):
            for i, name in enumerate(seq):
                if name in rename:
                    seq[i] = rename[name]


def _fused(
    pipelines: Mapping[str, Any],
    features: Sequence[Feature],
    outputs: Sequence[Output],
    parts: Mapping[str, str],
    opset: Mapping[str, int],
    ensembles: str = ENSEMBLES,
) -> tuple[list[Any], list[Any]]:
    """(nodes, initializers) of the fused graph, or Unfusable."""
    targets = list(dict.fromkeys(parts[o.name] for o in outputs))
    # A branch of weight 0 (a blend at w = 1 or 0) adds nothing: its trees are left out.
    branches = [b for part in targets for b in _branches(part, pipelines[part]) if b.weight != 0]
    for b in branches:
        if b.model.n_features_in_ != len(b.columns):
            raise Unfusable(f"part {b.part!r}: model inputs do not match its encoding")
    trees = [_tree_attrs(b.model, len(b.columns), opset) for b in branches]
    # Outputs one to one with targets in order: each output's offset joins its target's base.
    folded = [parts[o.name] for o in outputs] == targets
    offsets = [o.offset for o in outputs] if folded else [0.0] * len(targets)
    layout = _layout(branches, trees, features)
    g = _Graph([], [])
    x = _encode(g, layout)
    if ensembles == "one" or len(targets) == 1:
        y = g.node(TREES, [x], "y", **_ensemble(branches, trees, layout, targets, offsets))
    elif ensembles == "per_part":
        ys = []
        for part, offset in zip(targets, offsets, strict=True):
            mine = [i for i, b in enumerate(branches) if b.part == part]
            attrs = _ensemble(
                [branches[i] for i in mine], [trees[i] for i in mine], layout, [part], [offset]
            )
            ys.append(g.node(TREES, [x], f"y_{part}", **attrs))
        y = g.node("Concat", ys, "y", axis=1)
    else:
        raise ValueError(f"ensembles must be 'per_part' or 'one', got {ensembles!r}")
    pre = _arithmetic(g, y, outputs, targets, parts, folded)
    _finish(g, pre, outputs, {f.name for f in features})
    return g.nodes, g.inits


# --- the separate graph (any pipeline skl2onnx converts) ---------------------------------------


def _separate(
    pipelines: Mapping[str, Any],
    features: Sequence[Feature],
    outputs: Sequence[Output],
    parts: Mapping[str, str],
    opset: dict[str, int],
) -> tuple[list[Any], list[Any]]:
    """(nodes, initializers) of each pipeline converted whole by skl2onnx, side by side, then
    each output's arithmetic on its pipeline's output; the converters' opsets join `opset`."""
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [
        (f.name, StringTensorType([None, 1]) if f.dtype == "string" else FloatTensorType([None, 1]))
        for f in features
    ]
    g = _Graph([], [])
    raw: dict[str, str] = {}
    for part in dict.fromkeys(parts[o.name] for o in outputs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            m = convert_sklearn(
                _array_weights(pipelines[part]), initial_types=types, target_opset=dict(opset)
            )
        for op in m.opset_import:
            opset[op.domain] = max(opset.get(op.domain, 0), op.version)
        names = {i.name for i in m.graph.input}

        def rename(name: str, part: str = part, names: set[str] = names) -> str:
            return name if not name or name in names else f"{part}__{name}"

        for node in m.graph.node:
            new = onnx.NodeProto()
            new.CopyFrom(node)
            new.input[:] = [rename(x) for x in node.input]
            new.output[:] = [rename(x) for x in node.output]
            new.name = f"{part}__{node.name}"
            g.nodes.append(new)
        for init in m.graph.initializer:
            new_init = onnx.TensorProto()
            new_init.CopyFrom(init)
            new_init.name = rename(init.name)
            g.inits.append(new_init)
        raw[part] = rename(m.graph.output[0].name)
    pre = {}
    for o in outputs:
        cur = raw[parts[o.name]]
        if o.offset:
            cur = g.node("Add", [cur, g.const(f"{o.name}_offset", o.offset, [])], o.name)
        pre[o.name] = _inverse_and_scale(g, cur, o, o.name)
    _finish(g, pre, outputs, {f.name for f in features})
    return g.nodes, g.inits


def _array_weights(estimator: Any) -> Any:
    """skl2onnx 1.20 reads VotingRegressor weights with `.sum()`: give it an array (a shallow
    copy; the fitted branches are shared)."""
    import copy

    weights = getattr(estimator, "weights", None)
    if isinstance(weights, list | tuple):
        estimator = copy.copy(estimator)
        estimator.weights = np.asarray(weights, dtype=np.float64)
    return estimator


# --- entry points ----------------------------------------------------------------------------


def build(
    pipelines: Mapping[str, Any],
    features: Sequence[Feature],
    outputs: Sequence[Output],
    parts: Mapping[str, str],
    opset: Mapping[str, int],
    doc: str = "",
    fuse: bool = True,
    ensembles: str = ENSEMBLES,
) -> Any:
    """The predictor's ONNX model: one `[N, 1]` input per feature (float32 or string, named as
    the feature) and one float32 `[N, 1]` output per Output, named as the output. Fused (one
    encoding, one tree ensemble) when every part is of the supported pattern, else separate;
    `fuse=False` writes the separate graph anyway (the benchmark's baseline); `ensembles`
    is "per_part" or "one" (see ENSEMBLES)."""
    import onnx
    from onnx import TensorProto, helper

    opset = dict(opset)
    layout = "fused"
    try:
        if not fuse:
            raise Unfusable("asked for the separate graph")
        nodes, inits = _fused(pipelines, features, outputs, parts, opset, ensembles)
    except Unfusable as e:
        layout = f"separate ({e})"
        nodes, inits = _separate(pipelines, features, outputs, parts, opset)
    inputs = [
        helper.make_tensor_value_info(
            f.name, TensorProto.STRING if f.dtype == "string" else TensorProto.FLOAT, [None, 1]
        )
        for f in features
    ]
    graph_outputs = [
        helper.make_tensor_value_info(o.name, TensorProto.FLOAT, [None, 1]) for o in outputs
    ]
    graph = helper.make_graph(nodes, GRAPH_NAME, inputs, graph_outputs, inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opset.items())]
    )
    model.ir_version = 8
    model.producer_name = "workload-traces"
    model.doc_string = doc
    helper.set_model_props(model, {LAYOUT_KEY: layout})
    onnx.checker.check_model(model, full_check=True)
    return model


def layout(model: Any) -> str:
    """How `build` wrote a model: "fused", or "separate (why)"."""
    return str({p.key: p.value for p in model.metadata_props}.get(LAYOUT_KEY, "unknown"))


def fused(model: Any) -> bool:
    """Whether `build` wrote the fused graph (one encoding, one tree ensemble)."""
    return layout(model) == "fused"
