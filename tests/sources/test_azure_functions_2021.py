"""Golden tests for Azure Functions 2021 on the real 998-row slice.

Expected values were read by hand from the raw file with sed/awk (the line is named in each
comment), not computed by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import azure_functions_2021
from ingest.sources.base import read_head
from tests.conftest import lake_sql

SAMPLE = "serverless/azure_functions_2021/AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv"
SOURCE = azure_functions_2021.SOURCE

OTHER_SAMPLES = (
    "serverless/azure_functions_2019_invitro_sample100/invocations.csv",
    "serverless/azure_functions_2019_invitro_sample100/durations.csv",
    "serverless/azure_functions_2019_invitro_sample100/memory.csv",
    "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
    "llm_serving/mooncake_fast25/conversation_trace.jsonl",
    "llm_serving/alibaba_genai_gentd26/lora_request_trace.csv",
    "datacenter/alibaba_v2017_batch_task/batch_task.csv",
    "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
    "datacenter/alibaba_gpu_v2025_dlrm/disaggregated_DLRM_trace.csv",
)


def test_sample(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(SOURCE, [shared / SAMPLE])
    assert result.trace == "azure_functions_2021"
    assert result.tables == {"requests": 998}  # 999 lines minus the header
    assert result.rows_rejected == 0
    # Line 2: 7b2c43a2..,e3cdb488..,0.07949090003967285,0.078 -> start 0.0014909 s = 1491 µs.
    # Line 3: 1573b95c..,337cd24a..,57.15786004066467,57.154 -> start 3860 µs.
    first = lake_sql(
        lake_dir,
        "SELECT epoch_us(ts), tenant, service, duration_s, status, kind FROM requests "
        "ORDER BY ts LIMIT 2",
    )
    assert first == [
        (
            1491,
            "7b2c43a2bc30f6bb438074df88b603d2cb982d3e7961de05270735055950a568",
            "e3cdb48830f66eb8689cc0223514569a69812b77e6611e3d59814fac0747bd2f",
            0.078,
            "unknown",
            None,
        ),
        (
            3860,
            "1573b95c039e51cc012b543a4af3bc7c3ee9485acbb0033ba5648b74969e0556",
            "337cd24a7d5fd5c92460faee4ebe6a186a0eb322bd17b73da7ffa153025794e1",
            57.154,
            "unknown",
            None,
        ),
    ]
    # Line 817 (first of the README's six example rows): end 5160.142570018768, duration 0.134.
    row = lake_sql(
        lake_dir,
        "SELECT epoch_us(ts), duration_s FROM requests WHERE tenant LIKE '734272c0%' "
        "AND service LIKE '313c03f5%' "
        "AND ts BETWEEN '1970-01-01 01:26:00' AND '1970-01-01 01:26:01'",
    )
    assert row == [(5160008570, 0.134)]
    # awk: 21 apps, 49 (app, func) pairs.
    assert lake_sql(
        lake_dir, "SELECT count(DISTINCT tenant), count(DISTINCT (tenant, service)) FROM requests"
    ) == [(21, 49)]


def test_garbage_row_is_rejected_with_its_line(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    f = tmp_path / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt"
    f.write_text("app,func,end_timestamp,duration\na1,f1,10.5,0.5\na1,f1,soon,0.1\na2,f9,3,1\n")
    result = ingest_one(SOURCE, [f], max_rejected=1.0)
    assert result.tables == {"requests": 2}
    assert result.problems == {"unparsable-value": 1}
    assert f"{f}, line 3" in result.examples[0]
    assert lake_sql(lake_dir, "SELECT epoch_us(ts) FROM requests ORDER BY ts") == [
        (2_000_000,),
        (10_000_000,),
    ]


def test_missing_column(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "trace.csv"
    f.write_text("app,func,end_timestamp\na1,f1,10.5\n")
    with pytest.raises(MissingColumns, match="duration"):
        ingest_one(SOURCE, [f])


def test_sniff_accepts_the_sample(shared: Path) -> None:
    path = shared / SAMPLE
    assert SOURCE.sniff(read_head(path), path.name)


@pytest.mark.parametrize("other", OTHER_SAMPLES)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not SOURCE.sniff(read_head(path), path.name)
