"""Property tests: whatever valid rows go in come out unchanged, once, however often ingested."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.lake import Lake
from ingest.pipeline import Plan, ingest_trace
from ingest.sources import azure_llm_inference, burstgpt
from tests.conftest import lake_sql

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**15),  # µs after 2000-01-01
        st.integers(min_value=0, max_value=2**40),
        st.integers(min_value=0, max_value=2**40),
    ),
    min_size=1,
    max_size=200,
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _azure_csv(path: Path, data: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    base = datetime(2000, 1, 1, tzinfo=UTC)
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    expected = []
    for us, i, o in data:
        t = base + timedelta(microseconds=us)
        # The 2023 format: seven fractional digits, no zone.
        lines.append(f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond:06d}0,{i},{o}")
        expected.append((int((t - EPOCH) / timedelta(microseconds=1)), i, o))
    path.write_text("\n".join(lines) + "\n")
    return expected


@SETTINGS
@given(rows)
def test_round_trip_is_the_identity_and_reingest_is_idempotent(data) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "AzureLLMInferenceTrace_conv.csv"
        expected = _azure_csv(f, data)
        lake = Lake.open(Path(tmp) / "lake", create=True)
        plan = Plan(azure_llm_inference.SOURCE_2023, "t", (f,))
        for _ in range(2):
            result = ingest_trace(lake, plan)
            got = lake_sql(
                lake.root,
                "SELECT epoch_us(ts), input_tokens, output_tokens FROM requests",
            )
            assert sorted(got) == sorted(expected)
            assert result.tables == {"requests": len(data)} and result.rows_rejected == 0


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**8),  # seconds from trace start
            st.integers(min_value=0, max_value=10**6),
            st.integers(min_value=0, max_value=10**6),
            st.integers(min_value=0, max_value=10**4),
        ),
        min_size=1,
        max_size=100,
    )
)
def test_burstgpt_invariants(data) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "BurstGPT_1.csv"
        body = [f"{s},ChatGPT,{i},{o},{i + o},API log,x,{e}" for s, i, o, e in data]
        f.write_text(
            "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type,"
            "Session ID,Elapsed time\n" + "\n".join(body) + "\n"
        )
        lake = Lake.open(Path(tmp) / "lake", create=True)
        ingest_trace(lake, Plan(burstgpt.SOURCE, "b", (f,)))
        got = lake_sql(
            lake.root,
            "SELECT epoch(ts)::BIGINT, input_tokens, output_tokens, duration_s::BIGINT, status "
            "FROM requests",
        )
        want = [(s, i, o, e, "failed" if o == 0 else "ok") for s, i, o, e in data]
        assert sorted(got) == sorted(want)
        assert all(r[3] >= 0 for r in got)
