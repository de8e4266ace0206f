"""Vidur operator profiles, against a plain loop over the raw profiling CSVs.

`compute/<gpu>/<org>/<model>/mlp.csv`: `time_stats.<op>.{min,max,mean,median,std}` in ms per
call, then the configuration with `num_tokens` and `num_tensor_parallel_workers`; repeated
configurations are averaged. `network/<setup>/all_reduce.csv`: the same for the collective
against `size` (bytes) and `num_workers`.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from analysis import profiles, profiles_report
from analysis.db import LakeDB

FOLDER = "llm_serving/vidur_profiling"
TRACE = "vidur_profiling"


def curve(path: Path, op: str, key: str, where: tuple[str, str]) -> list[tuple[int, float, float]]:
    """(x, median s, std/mean) per distinct x of `key`, rows where column where[0] is where[1]."""
    cells: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row[where[0]] != where[1]:
                continue
            stats = [float(row[f"time_stats.{op}.{s}"]) / 1000 for s in ("median", "std", "mean")]
            cells[int(row[key])].append((stats[0], stats[1], stats[2]))
    out = []
    for x in sorted(cells):
        med = statistics.mean(c[0] for c in cells[x])
        cv = statistics.mean(c[1] for c in cells[x]) / statistics.mean(c[2] for c in cells[x])
        out.append((x, med, cv))
    return out


def least_squares(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope, R^2)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / sxx, sxy * sxy / (sxx * syy)


@pytest.fixture
def result(db: LakeDB) -> profiles.ProfilesResult:
    r = profiles.compute(db, TRACE)
    assert r is not None
    return r


@pytest.mark.parametrize(
    ("subject", "tp"),
    [("a100/meta-llama/Llama-2-7b-hf", "1"), ("h100/meta-llama/Llama-2-7b-hf", "4")],
)
@pytest.mark.parametrize("op", ["mlp_up_proj", "attn_rope", "add"])
def test_operator_time_against_tokens(
    result: profiles.ProfilesResult, shared: Path, subject: str, tp: str, op: str
) -> None:
    pts = curve(
        shared / FOLDER / "compute" / subject / "mlp.csv",
        op,
        "num_tokens",
        ("num_tensor_parallel_workers", tp),
    )
    o = result.operator(f"{subject}/tp{tp}", op)
    assert (o.points, o.tokens_min, o.tokens_max) == (len(pts), pts[0][0], pts[-1][0])
    assert o.t_at_min_s == pytest.approx(pts[0][1], rel=1e-9)
    assert o.t_at_max_s == pytest.approx(pts[-1][1], rel=1e-9)
    assert o.flat_until_tokens == max(x for x, t, _ in pts if t <= 1.1 * pts[0][1])
    slope, _ = least_squares([(x, t) for x, t, _ in pts if 2 * x >= pts[-1][0]])
    _, r2 = least_squares([(x, t) for x, t, _ in pts])
    assert o.s_per_token == pytest.approx(slope, rel=1e-6)
    assert o.r2 == pytest.approx(r2, rel=1e-6)
    assert o.timing_cv == pytest.approx(statistics.mean(c for *_, c in pts), rel=1e-6)


def test_shares_at_the_largest_batch(result: profiles.ProfilesResult, shared: Path) -> None:
    path = shared / FOLDER / "compute/a100/meta-llama/Llama-2-7b-hf/mlp.csv"
    with path.open(newline="") as f:
        ops = sorted({c.split(".")[1] for c in next(csv.reader(f)) if c.startswith("time_stats.")})
    at_max = {
        op: curve(path, op, "num_tokens", ("num_tensor_parallel_workers", "1"))[-1][1] for op in ops
    }
    total = sum(at_max.values())
    subject = "a100/meta-llama/Llama-2-7b-hf/tp1"
    for op, t in at_max.items():
        assert result.operator(subject, op).share_at_max == pytest.approx(t / total, rel=1e-8)
    assert max(at_max, key=lambda k: at_max[k]) == "mlp_up_proj"


def test_collectives(result: profiles.ProfilesResult, shared: Path) -> None:
    pts = curve(
        shared / FOLDER / "network/h100_dgx/all_reduce.csv",
        "all_reduce",
        "size",
        ("num_workers", "8"),
    )
    c = next(c for c in result.collectives if c.subject == "h100_dgx/workers8")
    assert (c.points, c.size_min_bytes, c.size_max_bytes) == (len(pts), 2048, 67_108_864)
    assert c.t_at_min_s == pytest.approx(pts[0][1], rel=1e-9)
    assert c.gb_per_s_at_max == pytest.approx(pts[-1][0] / pts[-1][1] / 1e9, rel=1e-9)
    slope, _ = least_squares([(x, t) for x, t, _ in pts if 2 * x >= pts[-1][0]])
    assert c.gb_per_s_slope == pytest.approx(1 / slope / 1e9, rel=1e-6)


def test_section(result: profiles.ProfilesResult) -> None:
    s = profiles_report.section(result)
    assert s.key == "profiles" and result.subjects == 13
    assert any("mlp_up_proj takes the largest share" in f for f in s.findings)
    assert any(
        f.startswith("a100/meta-llama/Llama-2-7b-hf: per-GPU operator time") for f in s.findings
    )
    curves = s.figures[0]
    assert curves.layout.xaxis.type == "log" and curves.layout.yaxis.type == "log"
    assert {t.name for t in curves.data} >= {"mlp_up_proj", "mlp_down_proj", "add"}


def test_only_profiles(db: LakeDB) -> None:
    assert profiles.compute(db, "azure_vm_noise_2024") is None
    assert profiles.compute(db, "alibaba_pai_minibatch_2020") is None
