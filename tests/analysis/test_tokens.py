"""Token lengths: hand-computed tiny lakes, properties of the statistics, real samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import tokens
from analysis.db import LakeDB, dumps
from ingest.pipeline import ingest_paths
from tests.analysis.conftest import section_of
from tests.conftest import SHARED

MOONCAKE_RAW = SHARED / "llm_serving" / "mooncake_fast25" / "conversation_trace.jsonl"

# BurstGPT release-3 layout: a zero-token response is a failed request.
TINY_CSV = """\
Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type
0,s1,1,A,100,10,110,Conversation log
5,s2,1,B,400,0,400,Conversation log
10,s1,1,A,200,40,240,Conversation log
30,s1,1,A,300,30,330,Conversation log
50,s2,1,B,500,100,600,Conversation log
60,,1,A,1000,50,1050,API log
"""


def _jsonl(path: Path, rows: list[tuple[int, int, int, list[int]]]) -> Path:
    path.write_text(
        "\n".join(
            json.dumps({"timestamp": t, "input_length": i, "output_length": o, "hash_ids": ids})
            for t, i, o, ids in rows
        )
        + "\n"
    )
    return path


def _lake(tmp_path: Path, *files: Path) -> LakeDB:
    report = ingest_paths(list(files), tmp_path / "lake")
    assert not report.failures, report.failures
    return LakeDB(tmp_path / "lake")


@pytest.fixture
def tiny(tmp_path: Path):
    csv = tmp_path / "burstgpt_tiny.csv"
    csv.write_text(TINY_CSV)
    db = _lake(tmp_path, csv)
    yield db, "burstgpt_tiny"
    db.close()


# ---------------------------------------------------------------- hand-computed tiny lake


def test_tiny_lake_quantiles_ratio_and_correlation(tiny) -> None:
    db, trace = tiny
    sec = section_of("tokens", db, trace)
    assert sec is not None and sec.key == "tokens"
    n = sec.numbers
    # Inputs 100, 200, 300, 400, 500, 1000: the failed request's prompt still counts.
    assert n["input"]["n"] == 6
    assert n["input_p50"] == 350  # halfway between 300 and 400
    assert n["input"]["p10"] == 150 and n["input"]["p90"] == 750
    assert n["input"]["mean"] == pytest.approx(2500 / 6)
    # Outputs 10, 30, 40, 50, 100: the zero-token (failed) response is left out.
    assert n["excluded_from_output"] == {"failed": 1}
    assert n["output"]["n"] == 5 and n["output_p50"] == 40
    assert n["output"]["p25"] == 30 and n["output"]["p75"] == 50 and n["output"]["mean"] == 46
    assert any("1 failed" in note for note in sec.notes)
    # Ratios 0.1, 0.2, 0.1, 0.2, 0.05.
    assert n["ratio"]["n"] == 5
    assert n["ratio"]["p50"] == pytest.approx(0.1)
    assert n["ratio"]["mean"] == pytest.approx(0.13)
    assert n["ratio"]["p25"] == pytest.approx(0.1) and n["ratio"]["p75"] == pytest.approx(0.2)
    # Output ranks 1, 3, 2, 5, 4 against input ranks 1..5: rho = 1 - 6 * 4 / (5 * 24).
    assert n["spearman"] == pytest.approx(0.8)


def test_tiny_lake_services_and_sessions(tiny) -> None:
    db, trace = tiny
    n = section_of("tokens", db, trace).numbers
    svc = n["by_service"]
    assert set(svc) == {"A", "B"}
    assert svc["A"]["input"]["p50"] == 250 and svc["A"]["output"]["p50"] == 35
    assert svc["B"]["input"]["n"] == 2 and svc["B"]["output"]["n"] == 1
    s = n["sessions"]
    # s1 at 0, 10, 30 s; s2 at 5, 50 s.
    assert s["sessions"] == 2 and s["requests"] == 5 and s["single_turn_share"] == 0
    assert s["turns"]["p50"] == 2.5 and s["turns"]["max"] == 3
    assert s["gap_s"]["n"] == 3 and s["gap_s"]["p50"] == 20 and s["gap_s"]["mean"] == 25
    assert "prefix_reuse" not in n


def test_prefix_reuse_by_hand(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "tiny_trace.jsonl",
        [
            (0, 1500, 10, [1, 2, 3]),
            (0, 1500, 10, [1, 2, 4]),  # same instant: 1 and 2 count as seen once, not twice
            (1000, 1000, 10, [1, 5]),
            (61000, 2000, 10, [1, 2, 3, 6]),
            (62000, 500, 10, [7]),
        ],
    )
    db = _lake(tmp_path, path)
    try:
        r = tokens.prefix_reuse(db, "mooncake_tiny", bucket_s=60)
        assert r is not None
        assert (r.blocks, r.new_blocks, r.reused) == (13, 7, 6)
        assert r.share == pytest.approx(6 / 13)
        assert r.over_time["t_s"].to_list() == [0.0, 60.0]
        assert r.over_time["blocks"].to_list() == [8, 5]
        assert r.over_time["share"].to_list() == pytest.approx([3 / 8, 3 / 5])
        sec = section_of("tokens", db, "mooncake_tiny")
        reuse = sec.numbers["prefix_reuse"]
        assert reuse["share"] == pytest.approx(6 / 13) and reuse["block_tokens"] == 512
        assert reuse["bucket_s"] == 5  # 62 s of trace in round buckets, at most 60 of them
        assert sum(b["blocks"] for b in reuse["over_time"]) == 13
    finally:
        db.close()


def test_sql_matches_plain_python_on_random_requests(tmp_path: Path) -> None:
    """Spearman (with many ties) against scipy; reuse against a loop in arrival order."""
    rng = np.random.default_rng(7)
    rows = []
    for k in range(300):
        ids = [int(h) for h in rng.integers(0, 60, rng.integers(1, 6))]
        rows.append((int(k // 3) * 500, int(rng.integers(1, 20)), int(rng.integers(1, 8)), ids))
    db = _lake(tmp_path, _jsonl(tmp_path / "random_trace.jsonl", rows))
    try:
        x = np.array([r[1] for r in rows])
        y = np.array([r[2] for r in rows])
        assert tokens.spearman(db, "mooncake_random") == pytest.approx(
            stats.spearmanr(x, y).statistic, abs=1e-12
        )
        seen: set[int] = set()
        hits = total = 0
        for _, _, _, ids in rows:
            for h in ids:
                total += 1
                hits += h in seen
                seen.add(h)
        r = tokens.prefix_reuse(db, "mooncake_random")
        assert (r.blocks, r.reused) == (total, hits)
        n = section_of("tokens", db, "mooncake_random").numbers
        assert n["input"]["p90"] == pytest.approx(np.quantile(x, 0.9))
        assert n["ratio"]["p99"] == pytest.approx(np.quantile(y / x, 0.99))
        # grouped quantiles (value counts + running sums per bin) against numpy per bin
        bins = tokens.output_by_input(db, "mooncake_random")
        which = np.floor(2 * np.log(x) / np.log(2) + 1e-9)
        assert bins["bin"].to_list() == sorted(set(which.tolist()))
        for row in bins.iter_rows(named=True):
            out = y[which == row["bin"]]
            assert row["n"] == len(out) and row["output_mean"] == pytest.approx(out.mean())
            assert row["output_p50"] == pytest.approx(np.quantile(out, 0.5))
            assert row["output_p90"] == pytest.approx(np.quantile(out, 0.9))
    finally:
        db.close()


# ---------------------------------------------------------------- pure statistics

value_counts = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(1, 50)), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(value_counts)
def test_weighted_quantiles_equal_numpy_on_expanded_data(pairs) -> None:
    v = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    expanded = np.repeat(v, c)
    got = tokens.weighted_quantiles(v, c, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1])
    assert got == pytest.approx(np.quantile(expanded, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]))
    s = tokens.summarize(v, c)
    assert s.mean == pytest.approx(expanded.mean()) and s.n == expanded.size
    assert (s.min, s.max) == (expanded.min(), expanded.max())
    assert s.p50 == pytest.approx(np.quantile(expanded, 0.5)) == s.quantile(0.5)


@settings(max_examples=40, deadline=None)
@given(value_counts, st.integers(3, 50))
def test_cdf_points_are_exact_and_bounded(pairs, max_points) -> None:
    v = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    expanded = np.repeat(v, c)
    x, f = tokens.cdf_points(v, c, max_points)
    assert len(x) <= max_points + 2 and f[-1] == pytest.approx(1)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(f) > 0)
    for xi, fi in zip(x, f, strict=True):
        assert fi == pytest.approx(np.mean(expanded <= xi))


def test_cdf_points_small_case() -> None:
    x, f = tokens.cdf_points(np.array([3, 1, 2]), np.array([2, 1, 1]))
    assert x.tolist() == [1, 2, 3] and f.tolist() == [0.25, 0.5, 1.0]


def test_sample_is_seeded_and_without_replacement() -> None:
    v = np.arange(1, 1001)
    c = np.full(1000, 500)  # 500,000 values
    a = tokens.sample_from_counts(v, c, size=10_000)
    b = tokens.sample_from_counts(v, c, size=10_000)
    assert a.size == 10_000 and np.array_equal(a, b)
    assert np.bincount(a).max() <= 500
    assert np.array_equal(
        tokens.sample_from_counts(v[:3], c[:3], size=10_000), np.repeat(v[:3], 500)
    )


@pytest.mark.parametrize(
    ("model", "draw", "params"),
    [
        ("lognormal", lambda r: r.lognormal(6.5, 1.2, 20_000), {"mu": 6.5, "sigma": 1.2}),
        ("weibull", lambda r: 300 * r.weibull(2.5, 20_000), {"shape": 2.5, "scale": 300}),
        ("gamma", lambda r: r.gamma(4.0, 50.0, 20_000), {"shape": 4.0, "scale": 50.0}),
    ],
)
def test_fits_recover_the_generating_model(model, draw, params) -> None:
    x = draw(np.random.default_rng(3))
    fits = tokens.fit_lengths(x)
    assert set(fits) == {"exponential", "gamma", "weibull", "lognormal"}
    assert tokens.best_fit(fits) == model
    assert fits[model].ks < 0.02
    for k, want in params.items():
        assert fits[model].params[k] == pytest.approx(want, rel=0.05)
    assert fits["exponential"].params["scale"] == pytest.approx(x.mean())


def test_fits_need_two_distinct_positive_values() -> None:
    assert tokens.fit_lengths(np.array([0, 0, 300, 300])) == {}
    assert tokens.best_fit({}) is None


def test_bucket_width() -> None:
    assert tokens.bucket_width(3537, 1e-3) == 60  # Mooncake's hour in minutes
    assert tokens.bucket_width(59, 1e-3) == 1
    assert tokens.bucket_width(3000, 600) == 600  # never finer than the time resolution
    assert tokens.bucket_width(400 * 86400, 1) == 7 * 86400


# ---------------------------------------------------------------- real samples


def test_azure_llm_2023_conversation_medians(db: LakeDB) -> None:
    """Splitwise (ISCA'24): conversation medians 1,020 input and 129 output tokens."""
    sec = section_of("tokens", db, "azure_llm_2023_conv")
    n = sec.numbers
    assert n["input_p50"] == 1020 and n["output_p50"] == 129
    assert n["input"]["n"] == n["output"]["n"] == 19366
    assert set(n["best_fit"]) == {"input", "output"}
    assert "excluded_from_output" not in n and "sessions" not in n and "prefix_reuse" not in n
    assert 1 <= len(sec.findings) <= 4 and "1,020" in sec.findings[0]
    json.loads(dumps(n))


def test_mooncake_conversation_means_and_prefix_reuse(db: LakeDB) -> None:
    """FAST'25 README: 12,031 requests, mean input 12,035, mean output 343."""
    n = section_of("tokens", db, "mooncake_conversation").numbers
    assert n["requests"] == 12031
    assert round(n["input"]["mean"]) == 12035 and round(n["output"]["mean"]) == 343
    # Independently of the SQL: a plain loop over the raw JSONL in file (arrival) order.
    seen: set[int] = set()
    hits = total = 0
    with MOONCAKE_RAW.open() as f:
        for line in f:
            for h in json.loads(line)["hash_ids"]:
                total += 1
                hits += h in seen
                seen.add(h)
    reuse = n["prefix_reuse"]
    assert (reuse["blocks"], reuse["reused_blocks"]) == (total, hits)
    assert reuse["share"] == pytest.approx(hits / total)
    assert reuse["bucket_s"] == 60 and len(reuse["over_time"]) == 59
    assert sum(b["blocks"] for b in reuse["over_time"]) == total


def test_burstgpt_fixture_excludes_failed_outputs(db: LakeDB) -> None:
    sec = section_of("tokens", db, "burstgpt_schema_fixture")
    n = sec.numbers
    assert n["excluded_from_output"] == {"failed": 2}
    assert n["input"]["n"] == 10 and n["output"]["n"] == 8 and n["output"]["min"] > 0
    assert n["output_p50"] == 221  # (212 + 230) / 2
    assert set(n["by_service"]) == {"ChatGPT", "GPT-4"}
    assert n["sessions"]["sessions"] == 3 and n["sessions"]["gap_s"]["p50"] == 76


def test_section_applies_only_to_token_traces(db: LakeDB) -> None:
    for trace in ("google_2011_jobs", "alibaba_genai_2026", "azure_functions_2021"):
        assert section_of("tokens", db, trace) is None
    # untimed, still lengths
    assert section_of("tokens", db, "vidur_arxiv_summarization") is not None


def test_figures_are_bounded_and_output_deterministic(db: LakeDB) -> None:
    for trace in ("mooncake_conversation", "burstgpt_schema_fixture"):
        one, two = section_of("tokens", db, trace), section_of("tokens", db, trace)
        assert dumps(one.numbers) == dumps(two.numbers) and one.findings == two.findings
        assert 1 <= len(one.figures) <= 4
        for fig in one.figures:
            assert fig.layout.title.text and fig.layout.xaxis.title.text
            assert sum(len(t.x) for t in fig.data) <= 3000


def test_sql_filters_spell_out_the_unfinished_statuses() -> None:
    listed = "(" + ", ".join(f"'{s}'" for s in tokens.UNFINISHED) + ")"
    queries = Path(tokens.__file__).parent / "queries"
    for path in sorted(queries.glob("tokens_*.sql")):
        sql = path.read_text()
        if "status" in sql:
            assert listed in sql, path.name
