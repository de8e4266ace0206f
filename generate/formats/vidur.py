"""`vidur`: Vidur's request trace CSV (MLSys'24, `data/processed_traces/splitwise_*.csv`).

`arrived_at,num_prefill_tokens,num_decode_tokens`: arrival in seconds from the start of the
workload (six decimals, µs, as Vidur's own files), prompt and generated tokens. Vidur's trace
request generator reads exactly these columns. Read back by the `vidur_trace` adapter.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from generate.formats import Format, WriteInfo, write_csv_chunks
from generate.workload import RequestWorkload

HEADER = ("arrived_at", "num_prefill_tokens", "num_decode_tokens")


def write(w: RequestWorkload, out: Path, info: WriteInfo) -> list[Path]:
    assert w.input_tokens is not None and w.output_tokens is not None
    inp, outp = w.input_tokens, w.output_tokens

    def frame(part: slice) -> pl.DataFrame:
        return pl.DataFrame(
            {HEADER[0]: w.t_s[part].round(6), HEADER[1]: inp[part], HEADER[2]: outp[part]}
        )

    return write_csv_chunks(out, HEADER, len(w), frame, float_precision=6)


FORMAT = Format(
    name="vidur",
    shape="requests",
    needs_tokens=True,
    reader="vidur_trace",
    summary="Vidur trace CSV: arrived_at (s), num_prefill_tokens, num_decode_tokens",
    write=write,
)
