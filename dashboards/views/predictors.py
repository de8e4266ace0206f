"""Predictors: a model folder's card, its held-out metrics beside the baselines, a prediction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analysis import escape
from dashboards import data, ui
from ingest.errors import DataError, UsageError

# The headline metric of each kind: output length and interference (MAE), latency (per layer).
PREFERRED_METRICS = ("mae", "mape_layer", "mape")


def _metrics_table(test: dict[str, Any]) -> pl.DataFrame:
    """Held-out metrics, one row per metric: the model beside every baseline."""
    columns = {"model": test.get("model", {}), **test.get("baselines", {})}
    names = [m for m, v in columns["model"].items() if isinstance(v, int | float) or v is None]
    return pl.DataFrame(
        {"metric": names}
        | {
            who: [values.get(m) if isinstance(values.get(m), int | float) else None for m in names]
            for who, values in columns.items()
        },
        schema={"metric": pl.String} | dict.fromkeys(columns, pl.Float64),
    )


def _metric_figure(table: pl.DataFrame, metric: str) -> go.Figure:
    row = table.filter(pl.col("metric") == metric).row(0, named=True)
    names = [c for c in table.columns if c != "metric" and row[c] is not None]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[row[c] for c in names],
            marker_color=["#1f77b4" if c == "model" else "#9aa5b1" for c in names],
            text=[f"{row[c]:.4g}" for c in names],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=f"Held-out {metric}: model and baselines",
        yaxis={"title": metric},
        template="plotly_white",
    )
    return fig


def _card(card: dict[str, Any]) -> None:
    # The card is a file in the model folder, its trace names come from trace files: every
    # value is escaped (`md`) and only the page's own words are Markdown.
    md = escape.markdown
    target = card.get("target", {})
    split = card.get("split", {})
    trained_on = ", ".join(md(d["trace"]) for d in card.get("training", {}).get("data", []))
    rows = ", ".join(f"{md(k)} {v:,}" for k, v in split.get("rows", {}).items())
    st.markdown(
        f"**{md(card['kind'])}** model predicting **{md(target.get('name', '?'))}** "
        f"({md(target.get('unit', ''))}): {md(target.get('description', ''))}\n\n"
        f"Trained on {trained_on or 'unknown'}; split: {md(split.get('kind', 'unknown'))} "
        f"(rows {rows}); created {md(card.get('created_at', '?'))}.\n\n"
        f"Estimator: {md(card.get('model', {}).get('estimator', '?'))}."
    )
    if card.get("not_covered"):
        st.caption(f"Not covered: {md(card['not_covered'])}.")
    features = pl.DataFrame(
        [
            {k: f.get(k, "") for k in ("name", "dtype", "unit", "description")}
            for f in card["features"]
        ]
    )
    outputs = pl.DataFrame(
        [{k: o.get(k, "") for k in ("name", "unit", "description")} for o in card["outputs"]]
    )
    ui.show_table("Features", features, key="predictors-features", expanded=True)
    ui.show_table("Outputs", outputs, key="predictors-outputs")


def _metrics(card: dict[str, Any], model_dir: str) -> None:
    test = card.get("metrics", {}).get("test")
    st.subheader("Held-out metrics")
    if not test:
        st.info("The card holds no held-out test metrics.")
        return
    st.caption(
        f"Scored on {test.get('rows', 0):,} held-out rows ({test.get('scope', 'test')}), never "
        "on training data, beside simple baselines."
    )
    table = _metrics_table(test)
    if table.is_empty():
        return
    st.dataframe(table, key="predictors-metrics", hide_index=True)
    names = table["metric"].to_list()
    first = next((names.index(m) for m in PREFERRED_METRICS if m in names), 0)
    left, _ = st.columns([2, 1])
    with left:
        metric = st.selectbox(
            "Metric to plot", names, index=first, key=f"predictors-metric-{model_dir}"
        )
        ui.show_figures([_metric_figure(table, metric)], key="predictors-metric", columns=1)
    rest = {k: v for k, v in card.get("metrics", {}).items() if k != "test"}
    if rest:
        with st.expander("More metrics from the card (validation, per trace, cross-validation)"):
            st.json(json.loads(json.dumps(rest)), expanded=False)


def _try(card: dict[str, Any], model_dir: str) -> None:
    st.subheader("Try a prediction")
    st.caption(
        "Runs model.onnx with onnxruntime, as `predictors.load(MODEL_DIR).predict_one(row)` "
        "does. A number whose help says so may be left empty (NaN: none); the others are "
        "required."
    )
    row: dict[str, Any] = {}
    with st.form(key=f"predictors-form-{model_dir}"):
        cols = st.columns(2)
        for i, f in enumerate(card["features"]):
            # Widget labels and help are Markdown: the card's words are escaped.
            label = escape.markdown(f["name"] + (f" ({f['unit']})" if f.get("unit") else ""))
            need = (
                " Empty means none (NaN)."
                if f.get("missing") == "nan"
                else " Required."
                if f["dtype"] != "string"
                else " Empty means unknown."
            )
            hint = escape.markdown(f.get("description", "") + need)
            with cols[i % 2]:
                if f["dtype"] == "string":
                    value = st.text_input(label, help=hint, key=f"feat-{f['name']}")
                    row[f["name"]] = value or None
                else:
                    row[f["name"]] = st.number_input(
                        label, value=None, help=hint, key=f"feat-{f['name']}"
                    )
        submitted = st.form_submit_button("Predict")
    if submitted:
        try:
            out = data.predict(model_dir, row)
        except (DataError, UsageError) as e:
            st.error(escape.markdown(e))
            return
        units = {o["name"]: o.get("unit", "") for o in card["outputs"]}
        st.dataframe(
            out.rename({c: f"{c} ({units[c]})" if units.get(c) else c for c in out.columns}),
            key="predictors-prediction",
            hide_index=True,
        )


st.title("Predictors")
root = st.text_input(
    "Models folder",
    value=str(data.models_root()),
    key="predictors-root",
    help="A model folder (with model.json) or a folder of them; $TRACES_MODELS sets the start.",
)
dirs = data.model_dirs(Path(root))
if not dirs:
    st.info(
        f"No model folder (one with a model.json) in {escape.markdown_code(root)}. "
        "Train one, for example:"
    )
    st.code(
        "traces train output-length --trace azure_llm_2023_conv --out models/ol\n"
        "traces train latency --trace vidur_profiling --out models/lat",
        language="sh",
    )
    st.stop()
model_dir = st.selectbox(
    "Model", dirs, format_func=lambda d: Path(d).name or d, key="predictors-model"
)
assert model_dir is not None
try:
    card = data.card(model_dir)
except DataError as e:
    st.error(escape.markdown(e))
    st.stop()
_card(card)
_metrics(card, model_dir)
_try(card, model_dir)
