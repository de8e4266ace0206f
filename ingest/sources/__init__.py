"""The registry: every source the toolkit knows, in one readable list.

Adding a trace format costs one module in this folder, one line here and one test.
"""

from __future__ import annotations

from ingest.errors import UnknownSource
from ingest.sources import azure_llm_inference, burstgpt, mooncake
from ingest.sources.base import Source

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        azure_llm_inference.SOURCE_2023,
        azure_llm_inference.SOURCE_2024,
        mooncake.SOURCE,
        burstgpt.SOURCE,
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
