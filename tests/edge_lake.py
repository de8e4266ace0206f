"""A lake of degenerate traces beside normal ones: what one odd trace must not break.

- `azure_functions_2021`: one invocation (the first row of the real sample), beside the whole
  sample as `azure_functions_2021_full`;
- `burstgpt_one`: one request; `burstgpt_zerospan`: 50 requests in the same second, one failed;
  `burstgpt_constant`: one request a second for 5 minutes; `burstgpt_periodic`: one request
  every 3 s with no token counts at all (empty fields).

Every file is written in a temporary folder; the real sample is only read.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SHARED

FUNCTIONS_2021 = (
    SHARED
    / "serverless"
    / "azure_functions_2021"
    / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv"
)
BURSTGPT_HEADER = (
    "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type"
)
ONE_REQUEST = "5.0,s1,2,ChatGPT,472,18,490,Conversation log"


def _burstgpt(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([BURSTGPT_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def build(folder: Path) -> Path:
    """Write the files and ingest them into `folder/lake`; the lake's path."""
    from ingest.pipeline import ingest_paths

    folder.mkdir(parents=True, exist_ok=True)
    lake = folder / "lake"
    one_fn = folder / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.csv"
    one_fn.write_text("".join(FUNCTIONS_2021.read_text().splitlines(keepends=True)[:2]))
    files = [
        one_fn,
        _burstgpt(folder / "BurstGPT_one.csv", [ONE_REQUEST]),
        _burstgpt(
            folder / "BurstGPT_zerospan.csv",
            # the first response is empty: a failed request (BurstGPT's zero-token rule)
            [
                f"5.0,s{i % 3},2,ChatGPT,472,{18 if i else 0},490,Conversation log"
                for i in range(50)
            ],
        ),
        _burstgpt(
            folder / "BurstGPT_constant.csv",
            [f"{i}.0,s{i % 3},2,ChatGPT,100,20,120,Conversation log" for i in range(300)],
        ),
        _burstgpt(
            folder / "BurstGPT_periodic.csv",
            [f"{3 * i}.0,s{i % 3},2,ChatGPT,,,,Conversation log" for i in range(100)],
        ),
    ]
    for path in files:
        result = ingest_paths([path], lake)
        assert not result.failures, result.failures
    result = ingest_paths([FUNCTIONS_2021], lake, trace="azure_functions_2021_full")
    assert not result.failures, result.failures
    return lake
