"""Every dashboard page, run headless by Streamlit's AppTest over the sample lake.

Each page must run without an exception and show the widgets and charts a reader needs; an
empty or missing lake must say how to ingest something instead of failing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.lake import Lake

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
PAGES = (
    "overview",
    "arrivals",
    "tokens",
    "failures",
    "coldstarts",
    "predictors",
    "compare",
    "generate",
)
TIMEOUT = 120  # a page's first run computes its analyses; the sample lake needs a few seconds


@pytest.fixture
def lake_env(monkeypatch: pytest.MonkeyPatch, sample_lake: Path, models: Path) -> Path:
    monkeypatch.setenv("TRACES_LAKE", str(sample_lake))
    monkeypatch.setenv("TRACES_MODELS", str(models))
    return sample_lake


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    return ok(at)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> list[dict]:
    """The plotly figures on the page, as the JSON the browser receives."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def titles(at: AppTest) -> list[str]:
    return [f["layout"].get("title", {}).get("text", "") for f in charts(at)]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table_with(at: AppTest, column: str):
    """The first table on the page with this column (pandas, as AppTest returns it)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.info, *at.warning, *at.success)]
    return "\n".join(str(p) for p in parts)


def test_overview_lists_every_trace_and_its_data_quality(lake_env: Path) -> None:
    at = open_page("overview")
    assert at.title[0].value == "Traces in the lake"
    traces = table_with(at, "time resolution")
    names = {m["trace"] for m in Lake.open(lake_env).manifests()}
    assert set(traces["trace"]) == names
    assert {"family", "span", "time resolution", "rejected"} <= set(traces.columns)
    assert traces.set_index("trace").loc["azure_functions_2019", "time resolution"] == "1 min"
    problems = table_with(at, "problem")
    assert "duplicate-key" in set(problems["problem"])  # vidur_profiling's repeated keys
    assert metrics(at)["traces"] == f"{len(names):,}"
    assert titles(at) == ["Rows per trace"]


def test_overview_counts_rejected_rows_by_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.pipeline import ingest_paths

    trace = tmp_path / "BurstGPT_3.csv"
    trace.write_text(
        "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,"
        "Log Type\n"
        "5.0,s1,2,ChatGPT,472,18,490,Conversation log\n"
        "6.0,s1,-3,ChatGPT,100,18,118,Conversation log\n"
    )
    lake = tmp_path / "lake"
    assert not ingest_paths([trace], lake, max_rejected=1).failures
    monkeypatch.setenv("TRACES_LAKE", str(lake))
    at = open_page("overview")
    assert metrics(at)["rejected rows"] == "1"
    problems = table_with(at, "problem")
    assert problems.to_dict("records") == [
        {
            "trace": "burstgpt_3",
            "kind": "rejected rows",
            "table": "",
            "problem": "negative-duration",
            "rows": 1,
            "detail": "",
        }
    ]


def test_arrivals_for_a_trace_and_for_one_tenant(lake_env: Path) -> None:
    at = open_page("arrivals")
    at.selectbox(key="arrivals-trace").select("google_2011_jobs").run()
    ok(at)
    found = titles(at)
    assert any("arrival rate" in t for t in found)
    assert any("index of dispersion" in t for t in found)
    assert any("inter-arrival times against fitted models" in t for t in found)
    assert charts(at)[0]["layout"]["xaxis"]["rangeslider"]["visible"] is True  # zoom in time
    assert {"arrivals", "inter-arrival CV"} <= set(metrics(at))
    assert at.expander  # the section's tables

    scope = at.selectbox(key="arrivals-scope-google_2011_jobs")
    assert len(scope.options) > 2 and scope.options[1].startswith("tenant: ")
    scope.select_index(1).run()
    ok(at)
    assert any(h.value.startswith("Arrivals and burstiness of tenant ") for h in at.subheader)
    assert any("index of dispersion" in t for t in titles(at))


def test_token_lengths_show_the_published_medians(lake_env: Path) -> None:
    at = open_page("tokens")
    at.selectbox(key="tokens-trace").select("azure_llm_2023_conv").run()
    ok(at)
    m = metrics(at)
    # Splitwise (ISCA'24): conversation medians of 1,020 input and 129 output tokens.
    assert (m["median input (tokens)"], m["median output (tokens)"]) == ("1,020", "129")
    found = titles(at)
    assert "Token length CDFs with the best-fitting model" in found
    assert any(t.startswith("Output length by input length") for t in found)


def test_failures_by_status_and_by_a_chosen_column(lake_env: Path) -> None:
    at = open_page("failures")
    at.selectbox(key="failures-trace").select("google_2011_jobs").run()
    ok(at)
    assert "unsuccessful" in metrics(at)
    # Only columns that split the trace are offered: every job here has job type "job".
    assert at.selectbox(key="failures-dim-google_2011_jobs").options == ["tenant / user"]
    assert titles(at)[0] == "Final status by tenant / user"

    trace = "swf_kth_sp2_1996_2_1_cln"  # absolute time: hour of day applies
    at.selectbox(key="failures-trace").select(trace).run()
    ok(at)
    dim = at.selectbox(key=f"failures-dim-{trace}")
    assert "hour of day (UTC)" in dim.options
    dim.select("hour").run()
    ok(at)
    by_hour = charts(at)[0]
    assert by_hour["layout"]["title"]["text"] == "Final status by hour of day (UTC)"
    # each bar is labelled with its hour and its number of jobs: 27,992 in all (SOURCE.md)
    labels = by_hour["data"][0]["x"]
    assert [x.split(" (n=")[0] for x in labels] == [str(h) for h in range(24)]
    assert sum(int(x.split(" (n=")[1].rstrip(")").replace(",", "")) for x in labels) == 27992
    assert len(charts(at)) >= 3  # and the section's own figures


def test_cold_start_what_if_follows_the_slider(lake_env: Path) -> None:
    at = open_page("coldstarts")
    at.selectbox(key="coldstarts-trace").select("azure_functions_2019").run()
    ok(at)
    assert "Modelled, not measured" in text(at)
    at10 = metrics(at)["cold-start rate (modelled)"]
    at.slider(key="coldstarts-window").set_value(60).run()
    ok(at)
    at60 = metrics(at)["cold-start rate (modelled)"]
    assert float(at60.rstrip("%")) < float(at10.rstrip("%"))  # longer keep-alive, fewer colds
    what_if = [f for f in charts(at) if f["layout"]["title"]["text"].startswith("What if")]
    assert len(what_if) == 2
    marked = [t for t in what_if[0]["data"] if t.get("marker", {}).get("symbol") == "diamond"]
    assert marked and marked[0]["x"] == [60.0]
    assert any("trade-off" in t for t in titles(at))  # adaptive vs fixed, from the section


def test_recorded_cold_starts_break_down_by_phase(lake_env: Path) -> None:
    at = open_page("coldstarts")
    at.selectbox(key="coldstarts-trace").select("huawei_2025_cold_starts").run()
    ok(at)
    assert "cold starts" in metrics(at)
    at.selectbox(key="coldstarts-dim-huawei_2025_cold_starts").select("runtime").run()
    ok(at)
    assert "Mean recorded cold start by phase, per runtime" in titles(at)
    assert not at.slider  # nothing is modelled for a trace that records its cold starts


def test_predictors_card_metrics_and_a_prediction(lake_env: Path, models: Path) -> None:
    at = open_page("predictors")
    assert at.selectbox(key="predictors-model").value == str(models / "output-length")
    assert "output-length" in text(at)
    table = table_with(at, "global_median")
    assert {"metric", "model", "global_median"} <= set(table.columns)
    assert "mae" in set(table["metric"])
    assert titles(at) == ["Held-out mae: model and baselines"]

    at.number_input(key="feat-input_tokens").set_value(1000.0)
    at.text_input(key="feat-service").input("conversation")
    at.button[0].click().run()
    # a count the card does not let be missing is refused, naming it, not predicted as NaN
    assert any("input_repeat_count" in e.value for e in at.error)
    at.number_input(key="feat-input_repeat_count").set_value(0.0)
    at.button[0].click().run()
    ok(at)
    out = table_with(at, "p50 (tokens)")
    row = out.iloc[0]
    assert list(out.columns) == ["p10 (tokens)", "p50 (tokens)", "p90 (tokens)"]
    assert 0 <= row["p10 (tokens)"] <= row["p50 (tokens)"] <= row["p90 (tokens)"]


def test_compare_puts_traces_on_the_same_figures(lake_env: Path) -> None:
    at = open_page("compare")
    picked = at.multiselect(key="compare-traces").value
    assert len(picked) == 2
    head = table_with(at, "iat_cv")
    assert list(head["trace"]) == sorted(picked)
    figs = {f["layout"]["title"]["text"]: f for f in charts(at)}
    idc = figs["Index of dispersion of counts"]
    assert {t["name"] for t in idc["data"]} >= set(picked)
    cdf = figs["Token length CDFs (solid: input, dashed: output)"]
    assert {t["name"] for t in cdf["data"]} >= {f"{t} input" for t in picked}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_without_a_lake_every_page_says_how_to_ingest(
    page: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    if kind == "empty":
        Lake.open(lake, create=True)
    monkeypatch.setenv("TRACES_LAKE", str(lake))
    monkeypatch.setenv("TRACES_MODELS", str(tmp_path / "no-models"))
    at = open_page(page)
    commands = "\n".join(c.value for c in at.code)
    if page == "predictors":  # needs models, not a lake
        assert "No model folder" in text(at)
        assert "traces train output-length" in commands
    else:
        assert f"traces ingest ../shared/traces --lake {lake}" in commands
        assert ("No lake at" if kind == "missing" else "holds no traces yet") in text(at)
    assert not at.get("plotly_chart")
