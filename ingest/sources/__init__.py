"""The registry: every source the toolkit knows, in one readable list.

Adding a trace format costs one module in this folder, one line here and one test.
"""

from __future__ import annotations

from ingest.errors import UnknownSource
from ingest.sources import (
    acme,
    alibaba_2017,
    alibaba_2018,
    alibaba_dlrm_2025,
    alibaba_genai_2026,
    alibaba_gpu_2023,
    alibaba_pai_2020,
    alibaba_pai_minibatch_2020,
    alibaba_spot_gpu_2026,
    azure_functions_2019,
    azure_functions_2021,
    azure_llm_inference,
    azure_vm_noise_2024,
    burstgpt,
    google_2011,
    helios,
    huawei_serverless,
    mooncake,
    philly,
    servegen,
    swf,
    vidur_profiling,
    vidur_trace,
)
from ingest.sources.base import Source

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        azure_llm_inference.SOURCE_2023,
        azure_llm_inference.SOURCE_2024,
        mooncake.SOURCE,
        burstgpt.SOURCE,
        vidur_trace.SOURCE,
        vidur_trace.SOURCE_UNTIMED,
        alibaba_genai_2026.SOURCE,
        alibaba_genai_2026.SOURCE_METRICS,
        servegen.SOURCE,
        vidur_profiling.SOURCE,
        azure_functions_2019.SOURCE,
        azure_functions_2021.SOURCE,
        huawei_serverless.SOURCE_2023,
        huawei_serverless.SOURCE_2025,
        azure_vm_noise_2024.SOURCE,
        alibaba_pai_minibatch_2020.SOURCE,
        alibaba_pai_2020.SOURCE_JOBS,
        alibaba_pai_2020.SOURCE_TASKS,
        alibaba_pai_2020.SOURCE_INSTANCES,
        alibaba_pai_2020.SOURCE_MACHINE_SPEC,
        alibaba_gpu_2023.SOURCE_PODS,
        alibaba_gpu_2023.SOURCE_NODES,
        alibaba_dlrm_2025.SOURCE,
        alibaba_spot_gpu_2026.SOURCE,
        acme.SOURCE_SUMMARY,
        acme.SOURCE_JOBS,
        philly.SOURCE,
        helios.SOURCE,
        google_2011.SOURCE_JOBS,
        google_2011.SOURCE_TASKS,
        alibaba_2017.SOURCE,
        alibaba_2018.SOURCE_USAGE,
        alibaba_2018.SOURCE_META,
        swf.SOURCE,
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
