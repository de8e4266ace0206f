"""Model folders with golden vectors for tests/predictors/test_golden.py and
test_node_consumer.py: a small synthetic model whose rows hold every case golden vectors must
carry (NaN, an unseen and a null category, a NaN where the feature must not be missing), and
the session's trained models of each kind with golden vectors from their held-out rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from predictors import common as c
from predictors.common import Feature, Output, TrainResult

FEATURES = [
    Feature("load", "", "float", "Queue length; NaN when unknown.", missing="nan"),
    Feature("size", "tokens", "float", "Request size.", missing="error"),
    Feature("tier", "", "string", "Service tier."),
]
OUTPUTS = [
    Output("y", "s", "point prediction"),
    Output("y_hi", "s", "upper bound", offset=0.5, at_least="y"),
]
PARTS = {"y": "y", "y_hi": "y"}


def synthetic_rows(n: int, seed: int, tiers: list[str | None]) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    load = rng.uniform(0, 10, n)
    load[rng.random(n) < 0.2] = np.nan
    size = rng.uniform(1, 100, n)
    tier = [tiers[i % len(tiers)] for i in range(n)]
    effect = np.array([{"gold": 3.0, "silver": 1.0}.get(t or "", 0.0) for t in tier])
    y = 0.05 * size + np.nan_to_num(load, nan=5.0) + effect
    return pl.DataFrame(
        {"load": load, "size": size, "tier": pl.Series(tier, dtype=pl.String), "y": y}
    )


def synthetic_test_rows() -> pl.DataFrame:
    """Held-out rows: NaN loads, a NaN size (not a valid request), an unseen tier and a null
    one among ordinary rows."""
    rows = synthetic_rows(40, seed=2, tiers=["gold", "silver", "gold", "platinum", None])
    return rows.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("size")).alias("size")
    )


def synthetic_model(out: Path, golden: bool = True) -> dict[str, object]:
    """Train the synthetic model and export it to `out`, with golden vectors from
    `synthetic_test_rows()` unless `golden` is False; returns the card."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = synthetic_rows(400, seed=1, tiers=["gold", "silver", "bronze"])
    prep = ColumnTransformer(
        [
            ("groups", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["tier"]),
            ("numbers", "passthrough", ["load", "size"]),
        ]
    )
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0)
    pipe = Pipeline([("prepare", prep), ("model", model)])
    pipe.fit(c.model_frame(train, FEATURES), train["y"].to_numpy())
    return c.export(
        out,
        {"kind": "synthetic"},
        {"y": pipe},
        FEATURES,
        OUTPUTS,
        PARTS,
        skops_file=False,
        golden_rows=synthetic_test_rows() if golden else None,
    )


def with_golden(result: TrainResult, out: Path) -> Path:
    """The trained model's folder if its card has golden vectors (train passes its held-out
    rows to export), else the same pipelines exported again to `out` with them."""
    if "golden" in result.card:
        return result.out
    assert result.test_rows is not None
    card = c.read_card(result.out)
    c.export(
        out,
        {k: v for k, v in card.items() if k != "golden"},
        result.pipelines,
        [Feature(**f) for f in card["features"]],
        [Output(**o) for o in card["outputs"]],
        card["parts"],
        skops_file=False,
        golden_rows=result.test_rows,
    )
    return out
