"""Per-client rates of the ServeGen samples, against a plain loop over the raw chunk files.

`chunk-<client>-trace.csv` (no header): window start (s), rate (req/s), inter-arrival CV,
fitted law (Gamma, Weibull or empty when the window had no traffic), its two parameters.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest

from analysis import clients, clients_report
from analysis.db import LakeDB

FOLDER = "llm_serving/alibaba_servegen"
TRACES = {
    "servegen_reason_deepseek_r1": "reason/deepseek-r1",
    "servegen_multimodal_mm_image": "multimodal/mm-image",
    "servegen_language_m_large": "language/m-large",
}


def quantile(values: list[float], q: float) -> float:
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def raw(shared: Path, folder: str) -> dict[str, list[list[str]]]:
    out = {}
    for f in (shared / FOLDER / folder).glob("chunk-*-trace.csv"):
        client = "client-" + f.name.split("-")[1]
        with f.open(newline="") as fh:
            out[client] = [r for r in csv.reader(fh) if r]
    return out


@pytest.mark.parametrize("trace", sorted(TRACES))
def test_rates_skew_and_burstiness(db: LakeDB, shared: Path, trace: str) -> None:
    data = raw(shared, TRACES[trace])
    r = clients.compute(db, trace)
    assert r is not None
    requests = {c: round(sum(float(row[1]) * 600 for row in rows)) for c, rows in data.items()}
    total = sum(requests.values())
    ranked = sorted(requests.items(), key=lambda kv: (-kv[1], kv[0]))
    top = max(1, math.ceil(0.1 * len(data)))
    assert (r.clients, r.requests, r.window_s) == (len(data), total, 600.0)
    assert r.top_client == ranked[0][0]
    assert r.top_client_share == pytest.approx(ranked[0][1] / total)
    assert r.top_clients_share == pytest.approx(sum(n for _, n in ranked[:top]) / total)
    windows = sum(len(rows) for rows in data.values())
    active = sum(float(row[1]) > 0 for rows in data.values() for row in rows)
    assert r.active_share == pytest.approx(active / windows)
    cvs = [float(row[2]) for rows in data.values() for row in rows if row[3]]
    assert r.iat_cv_p50 == pytest.approx(quantile(cvs, 0.5))
    assert r.iat_cv_p90 == pytest.approx(quantile(cvs, 0.9))
    assert r.bursty_window_share == pytest.approx(sum(c > 1 for c in cvs) / len(cvs))
    laws = [row[3] for rows in data.values() for row in rows]
    assert (r.gamma_windows, r.weibull_windows) == (laws.count("Gamma"), laws.count("Weibull"))
    rate_cv = []
    for rows in data.values():
        rates = [float(row[1]) for row in rows]
        rate_cv.append(statistics.pstdev(rates) / statistics.mean(rates))
    assert r.rate_cv_p50 == pytest.approx(statistics.median(rate_cv), rel=1e-8)
    per_window: dict[str, float] = {}
    for rows in data.values():
        for row in rows:
            per_window[row[0]] = per_window.get(row[0], 0.0) + float(row[1])
    peak = max(per_window.values()) / statistics.mean(per_window.values())
    assert r.peak_to_mean == pytest.approx(peak, rel=1e-8)


def test_the_deepseek_numbers(db: LakeDB) -> None:
    r = clients.compute(db, "servegen_reason_deepseek_r1")
    assert r is not None
    assert (r.clients, r.requests, r.top_client, r.bursty_clients) == (
        73, 1_383_669, "client-35", 51,
    )  # fmt: skip
    s = clients_report.section(r)
    assert "73 clients sent 1,383,669 requests; the busiest (client-35) sent 28.6%" in s.findings[0]
    skew, scatter, over_time = s.figures
    assert skew.data[0].name == "clients (n=73)" and skew.data[0].y[-1] == pytest.approx(1.0)
    assert scatter.layout.xaxis.type == "log"
    assert over_time.layout.xaxis.title.text == "hours since the trace's start"
    assert max(over_time.data[0].x) == pytest.approx(23 + 5 / 6)  # one day of 10-min windows


def test_only_per_client_rate_series(db: LakeDB) -> None:
    assert clients.compute(db, "azure_functions_2019") is None
    assert clients.compute(db, "alibaba_2018_machine_usage") is None
