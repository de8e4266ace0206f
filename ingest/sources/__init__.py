"""The registry: every source the toolkit knows, in one readable list.

Adding a trace format costs one module in this folder, one line here and one test.
"""

from __future__ import annotations

from ingest.errors import UnknownSource
from ingest.sources import (
    azure_functions_2019,
    azure_functions_2021,
    azure_llm_inference,
    burstgpt,
    huawei_serverless,
    mooncake,
)
from ingest.sources.base import Source

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        azure_llm_inference.SOURCE_2023,
        azure_llm_inference.SOURCE_2024,
        mooncake.SOURCE,
        burstgpt.SOURCE,
        azure_functions_2019.SOURCE,
        azure_functions_2021.SOURCE,
        huawei_serverless.SOURCE_2023,
        huawei_serverless.SOURCE_2025,
    )
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownSource(
            f"No source named '{name}'. Known sources: {', '.join(SOURCES)}. "
            "Run `traces sources` for what each one reads."
        ) from None
