"""Stragglers of the PAI 2020 mini-batch sample, against a plain loop over the raw CSVs.

`job_<N>_norm.csv`: `,worker,gpu,time,batch_time_norm` (time = iteration);
`coefficient_variation.csv`: one row per job, one column per iteration, empty when the job
had ended.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from analysis import stragglers, stragglers_report
from analysis.db import LakeDB

FOLDER = "vm_interference/alibaba_pai_minibatch_time_2020"
TRACE = "alibaba_pai_minibatch_2020"


def quantile(values: list[float], q: float) -> float:
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def iterations(shared: Path, job: int) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = defaultdict(dict)
    with (shared / FOLDER / f"job_{job}_norm.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            out[int(row["time"])][f"worker_{row['worker']}"] = float(row["batch_time_norm"])
    return out


@pytest.fixture
def result(db: LakeDB) -> stragglers.StragglersResult:
    r = stragglers.compute(db, TRACE)
    assert r is not None
    return r


@pytest.mark.parametrize("job", [1, 2, 3, 4])
def test_straggler_share_per_job(
    result: stragglers.StragglersResult, shared: Path, job: int
) -> None:
    its = {i: w for i, w in iterations(shared, job).items() if len(w) > 1}
    size = max(len(w) for w in its.values())
    cells = straggling = with_one = 0
    ratios, lost, slowest, cvs = [], 0.0, 0.0, []
    per_worker: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for w in its.values():
        med = statistics.median(w.values())
        late = [k for k, v in w.items() if v > 1.2 * med]
        cells += len(w)
        straggling += len(late)
        with_one += bool(late)
        ratios.append(max(w.values()) / med)
        lost += max(w.values()) - med
        slowest += max(w.values())
        cvs.append(statistics.pstdev(w.values()) / statistics.mean(w.values()))
        for k in w:
            per_worker[k][0] += k in late
            per_worker[k][1] += 1
    j = next(j for j in result.jobs if j.job == f"job_{job}")
    assert (j.workers, j.iterations, j.worker_iterations) == (size, len(its), cells)
    assert j.partial_iterations == sum(len(w) < size for w in its.values())
    assert j.straggler_share == pytest.approx(straggling / cells)
    assert j.iterations_with_straggler == pytest.approx(with_one / len(its))
    assert j.slowest_over_median == pytest.approx(statistics.mean(ratios), rel=1e-8)
    assert j.lost_share == pytest.approx(lost / slowest, rel=1e-8)
    assert j.cv_p50 == pytest.approx(quantile(cvs, 0.5), rel=1e-8)
    steady = sorted(f"job_{job}/{k}" for k, (s, n) in per_worker.items() if s >= 0.5 * n)
    assert list(j.persistent) == steady


def test_job_4_has_persistent_stragglers(result: stragglers.StragglersResult) -> None:
    j4 = next(j for j in result.jobs if j.job == "job_4")
    assert len(j4.persistent) == 5 and j4.iterations_with_straggler == 1.0
    assert all(not j.persistent for j in result.jobs if j.job != "job_4")


def test_published_cov_table(result: stragglers.StragglersResult, shared: Path) -> None:
    per_job: dict[str, list[float]] = {}
    with (shared / FOLDER / "coefficient_variation.csv").open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            per_job[row[0]] = [float(v) for v in row[1:] if v != ""]
    pooled = [v for vs in per_job.values() for v in vs]
    assert (result.published_jobs, result.published_iterations) == (len(per_job), len(pooled))
    assert result.published_cv_p50 == pytest.approx(quantile(pooled, 0.5))
    assert result.published_cv_p90 == pytest.approx(quantile(pooled, 0.9))
    assert result.published_high_jobs == sum(quantile(v, 0.5) > 0.2 for v in per_job.values())


def test_section(result: stragglers.StragglersResult) -> None:
    s = stragglers_report.section(result)
    assert s.key == "stragglers" and len(s.figures) == 3
    job4 = next(f for f in s.findings if f.startswith("job_4:"))
    assert "5 of 10 workers straggle" in job4 and "persistent" in job4
    assert [b.name for b in s.figures[0].data] == [
        "straggling worker-iterations",
        "iteration time lost",
    ]
    assert all("(n=" in x for x in s.figures[0].data[0].x)  # iterations behind each bar


def test_only_per_worker_iterations(db: LakeDB) -> None:
    assert stragglers.compute(db, "azure_vm_noise_2024") is None
    assert stragglers.compute(db, "vidur_profiling") is None
