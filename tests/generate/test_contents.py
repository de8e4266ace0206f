"""Request contents of generated workloads: joint token lengths, prefix reuse, sessions, job
sizes with run times, and the sharing of invocations among functions.

Source numbers are computed here from the raw files (csv/json/gzip and a plain loop), never by
the code under test; generated numbers are read back from the written file."""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats

from generate.api import generate
from generate.contents import PrefixPlan, apportion, rounds
from generate.fidelity import TOLERANCES
from tests.generate.conftest import (
    AZURE,
    AZURE_TRACE,
    FAST,
    KTH,
    KTH_TRACE,
    MOONCAKE,
    MOONCAKE_TRACE,
)


def read_azure(path: Path) -> list[tuple[int, int]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [(int(r["ContextTokens"]), int(r["GeneratedTokens"])) for r in rows]


# ---------------------------------------------------------------- joint token lengths


@pytest.fixture(scope="module")
def azure_generated(gen_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("azure")
    files = {}
    for method in ("pairs", "copula"):
        path = out / f"{method}.csv"
        generate(gen_lake, AZURE_TRACE, path, "azure-llm", contents=method, arrival_models=FAST)
        files[method] = path
    return files


@pytest.mark.parametrize("method", ["pairs", "copula"])
def test_joint_tokens_keep_the_rank_correlation_of_azure_conv(
    azure_generated: dict[str, Path], method: str
) -> None:
    src = np.array(read_azure(AZURE))
    gen = np.array(read_azure(azure_generated[method]))
    rho_src = stats.spearmanr(src[:, 0], src[:, 1]).statistic
    rho_gen = stats.spearmanr(gen[:, 0], gen[:, 1]).statistic
    assert abs(rho_gen - rho_src) <= TOLERANCES["spearman"], (rho_src, rho_gen)
    # the marginals too: medians of the Splitwise paper's trace (1,020 in, 129 out)
    assert abs(np.median(gen[:, 0]) - np.median(src[:, 0])) / np.median(src[:, 0]) < 0.05
    assert abs(np.median(gen[:, 1]) - np.median(src[:, 1])) / np.median(src[:, 1]) < 0.05


def test_pairs_keep_the_joint_law_and_a_copula_does_not(azure_generated: dict[str, Path]) -> None:
    """Why pairs are the default: every generated (input, output) pair is one the source had,
    and a request keeps the source's share of exact repeats; a Gaussian copula keeps the
    marginals and the rank correlation but makes up pairs."""
    src = read_azure(AZURE)
    known = set(src)
    share = {}
    for method, path in azure_generated.items():
        gen = read_azure(path)
        share[method] = sum(p in known for p in gen) / len(gen)
    assert share["pairs"] == 1.0
    assert share["copula"] < 0.5, share


def test_pairs_reproduce_the_source_multiset_at_its_own_length(
    gen_lake: Path, tmp_path: Path
) -> None:
    """Rows are drawn in rounds without replacement: as many requests as the source has use
    each source request once (per service), so the token distribution is the source's, not a
    noisy copy of it."""
    src = Counter(read_azure(AZURE))
    out = tmp_path / "w.csv"
    r = generate(gen_lake, AZURE_TRACE, out, "azure-llm", arrival_models=FAST)
    gen = Counter(read_azure(out))
    n_src, n_gen = sum(src.values()), sum(gen.values())
    assert r.events == n_gen
    # every pair appears floor or ceil of (n_gen / n_src) times its source count
    for pair, count in gen.items():
        assert count <= src[pair] * math.ceil(n_gen / n_src), pair


# ---------------------------------------------------------------- prefix reuse (Mooncake)


def reuse_share(lines: list[dict]) -> float:
    """Share of prefix blocks seen before: 1 - distinct / total, a plain loop."""
    seen: set[int] = set()
    total = reused = 0
    for rec in lines:
        for h in rec["hash_ids"]:
            total += 1
            reused += h in seen
            seen.add(h)
    return reused / total


@pytest.fixture(scope="module")
def mooncake_generated(gen_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("mooncake") / "mc.jsonl"
    generate(gen_lake, MOONCAKE_TRACE, out, "mooncake", arrival_models=FAST)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_mooncake_reuse_share_is_near_the_sources(mooncake_generated: list[dict]) -> None:
    src = [json.loads(line) for line in MOONCAKE.read_text().splitlines()]
    share_src = reuse_share(src)
    assert share_src == pytest.approx(0.3664, abs=1e-4)  # as the README pins it
    share_gen = reuse_share(mooncake_generated)
    assert abs(share_gen - share_src) <= TOLERANCES["reuse_share"], (share_src, share_gen)


def test_mooncake_blocks_follow_the_release_conventions(mooncake_generated: list[dict]) -> None:
    first_use: list[int] = []
    seen: set[int] = set()
    for rec in mooncake_generated:
        # one id per started 512-token block, as in the release
        assert len(rec["hash_ids"]) == math.ceil(rec["input_length"] / 512)
        for h in rec["hash_ids"]:
            if h not in seen:
                seen.add(h)
                first_use.append(h)
    assert first_use == list(range(len(first_use)))  # numbered from 0 in order of first use
    # The source's every request starts with the same block (a shared system prompt); so do
    # the generated ones, but for the first.
    firsts = Counter(rec["hash_ids"][0] for rec in mooncake_generated if rec["hash_ids"])
    assert firsts.most_common(1)[0][1] >= 0.99 * len(mooncake_generated)


def test_a_prefix_plan_copies_leading_blocks_from_the_request_that_far_back() -> None:
    plan = PrefixPlan(
        512, np.array([2, 3, 3]), np.array([0, 2, 1]), np.array([0, 1, 2]), measured=True
    )
    ids = [i for chunk in plan.iter_hash_ids(2) for i in chunk]
    assert ids == [[0, 1], [0, 1, 2], [0, 3, 4]]
    assert (plan.reused_blocks, plan.total_blocks) == (3, 8)


def test_a_parent_too_short_gives_way_to_the_closest_longer_one() -> None:
    plan = PrefixPlan(
        512, np.array([1, 3, 4]), np.array([0, 0, 3]), np.array([0, 0, 2]), measured=True
    )
    ids = [i for chunk in plan.iter_hash_ids(10) for i in chunk]
    assert ids == [[0], [1, 2, 3], [1, 2, 3, 4]]


# ---------------------------------------------------------------- sessions


def write_session_trace(path: Path, sessions: int, seed: int) -> list[list[tuple[float, int, int]]]:
    """A BurstGPT release-3 layout CSV with multi-turn sessions, made up here (labelled as such:
    no real session trace is in ../shared). Returns each session's turns as (offset s, input,
    output)."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.uniform(0, 4 * 3600, sessions)).round(0)
    rows = []
    turns_of = []
    for k, start in enumerate(starts):
        turns = (
            1 + int(rng.geometric(0.4)) - 1 if rng.random() < 0.5 else 1 + int(rng.integers(0, 5))
        )
        offset, context, turns_list = 0.0, int(rng.integers(50, 500)), []
        for _ in range(turns):
            out = int(rng.integers(10, 400))
            turns_list.append((offset, context, out))
            rows.append((start + offset, f"s{k}", context, out))
            context += out + int(rng.integers(20, 200))
            offset += float(rng.integers(20, 300))
        turns_of.append(turns_list)
    rows.sort()
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["Timestamp", "Session ID", "Elapsed time", "Model", "Request tokens",
             "Response tokens", "Total tokens", "Log Type"]
        )  # fmt: skip
        for t, sid, i, o in rows:
            w.writerow([f"{t:.1f}", sid, 3, "ChatGPT", i, o, i + o, "Conversation log"])
    return turns_of


def test_sessions_are_resampled_whole(tmp_path: Path) -> None:
    from ingest.pipeline import ingest_paths

    src_file = tmp_path / "BurstGPT_sessions_synthetic.csv"
    src_sessions = write_session_trace(src_file, 400, seed=3)
    lake = tmp_path / "lake"
    report = ingest_paths([src_file], lake)
    assert not report.failures
    trace = report.results[0].trace
    out = tmp_path / "gen.csv"
    result = generate(lake, trace, out, "burstgpt", arrival_models=FAST, seed=1)
    assert "whole sessions" in result.contents
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "Timestamp", "Session ID", "Elapsed time", "Model", "Request tokens",
        "Response tokens", "Total tokens", "Log Type",
    ]  # fmt: skip
    by_session: dict[str, list[tuple[float, int, int]]] = {}
    for r in rows:
        by_session.setdefault(r["Session ID"], []).append(
            (float(r["Timestamp"]), int(r["Request tokens"]), int(r["Response tokens"]))
        )
    known = {tuple((i, o) for _, i, o in s) for s in src_sessions}
    prefixes = {k[:n] for k in known for n in range(1, len(k) + 1)}
    duration = result.duration_s
    for turns in by_session.values():
        tokens = tuple((i, o) for _, i, o in turns)
        # a whole source session, or its first turns when the workload ended before the rest
        assert tokens in prefixes
        offsets = [round(t - turns[0][0], 1) for t, _, _ in turns]
        source = next(
            s for s in src_sessions if tuple((i, o) for _, i, o in s)[: len(tokens)] == tokens
        )
        assert offsets == pytest.approx(
            [round(off, 1) for off, _, _ in source[: len(tokens)]], abs=0.002
        )
        if turns[0][0] + source[-1][0] < duration - 1:
            assert len(turns) == len(source)  # not cut short: all turns
    mean_src = np.mean([len(s) for s in src_sessions])
    mean_gen = np.mean([len(t) for t in by_session.values()])
    assert abs(mean_gen - mean_src) / mean_src < 0.1, (mean_src, mean_gen)


# ---------------------------------------------------------------- jobs (SWF)


def swf_jobs(lines: list[str]) -> list[list[float]]:
    return [
        [float(x) for x in line.split()]
        for line in lines
        if line.strip() and not line.lstrip().startswith(";")
    ]


def test_swf_jobs_keep_size_run_time_and_user_together(gen_lake: Path, tmp_path: Path) -> None:
    with gzip.open(KTH, "rt") as f:
        src = swf_jobs(f.read().splitlines())
    out = tmp_path / "kth.swf"
    generate(gen_lake, KTH_TRACE, out, "swf", arrival_models=FAST)
    gen = swf_jobs(out.read_text().splitlines())
    # fields 4 run, 8 requested processors, 9 requested time, 11 status, 12 user (1-based)
    triple = {(j[3], j[7], j[8], j[10], j[11]) for j in src}
    assert all((j[3], j[7], j[8], j[10], j[11]) in triple for j in gen)
    rho_src = stats.spearmanr([j[7] for j in src], [j[3] for j in src]).statistic
    rho_gen = stats.spearmanr([j[7] for j in gen], [j[3] for j in gen]).statistic
    assert abs(rho_gen - rho_src) <= TOLERANCES["spearman"], (rho_src, rho_gen)


# ---------------------------------------------------------------- sharing out among keys


@settings(max_examples=60, deadline=None)
@given(hs.integers(1, 50), hs.integers(0, 400), hs.integers(0, 2**32 - 1))
def test_rounds_use_every_row_once_before_any_twice(size: int, n: int, seed: int) -> None:
    idx = rounds(size, n, np.random.default_rng(seed))
    counts = np.bincount(idx, minlength=size)
    assert len(idx) == n
    assert set(np.unique(counts)) <= {n // size, -(-n // size)}


SOURCE = (  # (bin, key, count): key 1 is a timer, once a minute; 2 and 3 come in bursts
    np.array([0, 0, 1, 1, 2, 2, 3, 3, 3]),
    np.array([1, 2, 1, 3, 1, 2, 1, 2, 3]),
    np.array([1, 6, 1, 9, 1, 1, 1, 4, 2]),
)


def source_totals() -> np.ndarray:
    bins, _, counts = SOURCE
    return np.bincount(bins, weights=counts).astype(np.int64)


def per_key(result: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[int, int]:
    _, keys, n = result
    return {int(k): int(n[keys == k].sum()) for k in np.unique(keys)}


def test_apportion_replays_the_source_when_the_minutes_match() -> None:
    got = apportion(source_totals(), *SOURCE, period=4, rng=np.random.default_rng(0))
    order = np.lexsort((SOURCE[1], SOURCE[0]))
    for a, b in zip(got, SOURCE, strict=True):
        assert a.tolist() == b[order].tolist()


def test_apportion_scales_every_key_with_the_rate() -> None:
    got = apportion(3 * source_totals(), *SOURCE, period=4, rng=np.random.default_rng(0))
    assert got[2].tolist() == (3 * SOURCE[2][np.lexsort((SOURCE[1], SOURCE[0]))]).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_apportion_keeps_bin_totals_and_key_rates_when_the_minutes_differ(seed: int) -> None:
    rng = np.random.default_rng(seed)
    totals = rng.poisson(source_totals().mean(), size=40)  # ten periods, minutes unlike the source
    bins, keys, n = apportion(totals, *SOURCE, period=4, rng=rng)
    assert np.bincount(bins, weights=n, minlength=40).astype(int).tolist() == totals.tolist()
    src = per_key((SOURCE[0], SOURCE[1], SOURCE[2]))
    share = {k: v / sum(src.values()) for k, v in src.items()}
    got = per_key((bins, keys, n))
    for k in share:
        assert abs(got.get(k, 0) - share[k] * totals.sum()) <= max(2, 0.02 * totals.sum()), (k, got)
