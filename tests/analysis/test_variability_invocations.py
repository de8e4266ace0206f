"""VM performance variability (TUNA) and serverless invocation frequency (ATC'20)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from analysis import invocations, variability
from analysis.db import LakeDB


def test_vm_noise_median_cv_matches_the_sample_notes(db: LakeDB) -> None:
    """SOURCE.md of the sample: median partition CV, long vs short, per benchmark."""
    table = variability.by_lifespan(db, "azure_vm_noise_2024")
    stated = {
        ("Redis/Test: GET", "requests_per_second"): (0.033, 0.102),
        ("Stress-NG/Test: CPU Stress", "bogo_ops_s"): (0.009, 0.042),
        ("Intel Memory Latency Checker/Test: Idle", "ns"): (0.057, 0.101),
        ("Flexible IO Tester/Type: Random Read", "iops"): (0.185, 0.239),
    }
    for (prefix, metric), (long_cv, short_cv) in stated.items():
        row = table.filter(
            pl.col("benchmark").str.starts_with(prefix) & (pl.col("metric") == metric)
        ).row(0, named=True)
        assert row["cv_long"] == pytest.approx(long_cv, abs=5e-4)
        assert row["cv_short"] == pytest.approx(short_cv, abs=5e-4)
        assert row["partitions_long"] == row["partitions_short"] == 4
        assert row["short_over_long"] > 1


def test_cv_by_partition_is_std_over_mean(db: LakeDB) -> None:
    parts = variability.cv_by_partition(db, "azure_vm_noise_2024")
    assert parts.height == 40 and parts["runs"].min() > 1  # type: ignore[operator]
    r = parts.row(0, named=True)
    assert r["cv"] == pytest.approx(r["std"] / r["mean"], rel=1e-9)


def test_variability_is_empty_without_lifespans_or_measurements(db: LakeDB) -> None:
    assert variability.by_lifespan(db, "alibaba_pai_minibatch_2020").is_empty()
    assert variability.cv_by_partition(db, "mooncake_conversation").is_empty()


def test_invocation_frequency_of_the_azure_2019_sample(db: LakeDB) -> None:
    freq = invocations.frequency(db, "azure_functions_2019")
    assert freq.height == 100 and freq["span_s"].unique().to_list() == [28800.0]
    assert freq["invocations"].sum() == 339657
    top = freq.row(0, named=True)
    assert top["invocations"] == 273379 and top["per_minute"] == pytest.approx(273379 / 480)
    s = invocations.summary(freq)
    assert s["at_most_once_per_minute"] == 0.85 and s["at_most_once_per_hour"] == 0.29
    assert s["orders_of_magnitude"] == pytest.approx(math.log10(273379))


def test_invocation_frequency_per_function_from_requests(db: LakeDB) -> None:
    freq = invocations.frequency(db, "azure_functions_2021", level="function")
    assert freq["invocations"].sum() == 998
    assert freq.height == db.scalar(
        "SELECT COUNT(DISTINCT (tenant, service)) FROM requests WHERE trace = $t",
        t="azure_functions_2021",
    )
    assert invocations.frequency(db, "mooncake_conversation").is_empty()
    with pytest.raises(ValueError, match="level"):
        invocations.frequency(db, "azure_functions_2019", level="tenant")
