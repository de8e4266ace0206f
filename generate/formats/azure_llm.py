"""`azure-llm`: the Azure LLM inference trace layout (Splitwise, ISCA'24).

`TIMESTAMP,ContextTokens,GeneratedTokens`, one request per line, timestamps as the 2023
release writes them: zone-less UTC with seven fractional digits (`2023-11-16 18:15:46.6805900`;
the seventh is always 0, as in the release). Read back by the `azure_llm_2023` adapter. A
workload from a trace with relative time starts at 1970-01-01 00:00:00, as the lake anchors it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from generate.formats import Format, WriteInfo, write_csv_chunks
from generate.workload import RequestWorkload

HEADER = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
# chrono's %.6f writes ".ffffff"; the literal 0 makes the release's seven digits.
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f0"


def timestamps_us(w: RequestWorkload, part: slice) -> np.ndarray:
    """Absolute µs since 1970 of the requests in `part`."""
    return w.origin_us + np.round(w.t_s[part] * 1e6).astype(np.int64)


def write(w: RequestWorkload, out: Path, info: WriteInfo) -> list[Path]:
    assert w.input_tokens is not None and w.output_tokens is not None
    inp, outp = w.input_tokens, w.output_tokens

    def frame(part: slice) -> pl.DataFrame:
        return pl.DataFrame(
            {
                HEADER[0]: pl.Series(timestamps_us(w, part)).cast(pl.Datetime("us")),
                HEADER[1]: inp[part],
                HEADER[2]: outp[part],
            }
        )

    return write_csv_chunks(out, HEADER, len(w), frame, datetime_format=DATETIME_FORMAT)


FORMAT = Format(
    name="azure-llm",
    shape="requests",
    needs_tokens=True,
    reader="azure_llm_2023",
    summary="Azure LLM inference CSV: TIMESTAMP,ContextTokens,GeneratedTokens (Splitwise, "
    "DynamoLLM and the simulators that replay them)",
    write=write,
)
