"""The registry: every source the toolkit knows, in one readable list.

Adding a trace format costs one module in this folder, one line here and one test.
"""

from __future__ import annotations

from ingest.errors import UnknownSource
from ingest.sources import (
    alibaba_pai_minibatch_2020,
    azure_functions_2019,
    azure_functions_2021,
    azure_llm_inference,
    azure_vm_noise_2024,
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
        azure_vm_noise_2024.SOURCE,
        alibaba_pai_minibatch_2020.SOURCE,
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
