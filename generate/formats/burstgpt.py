"""`burstgpt`: the BurstGPT trace CSV (KDD'25, github.com/HPMLL/BurstGPT).

`Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type` as releases 1 and 2
write it; when the workload has sessions, release 3's `Session ID` and `Elapsed time` follow
`Timestamp`. Timestamp is seconds from the start of the workload; the releases count whole
seconds, here they carry milliseconds (BurstGPT's replayer reads them as floats) so sub-second
bursts survive. Model is the request's service, Log Type its kind (`Conversation log`, `API
log`, else the kind as it is). A response of 0 tokens is how BurstGPT marks a failed request,
so failures resampled from the source keep their zero. Elapsed time is the request's duration
where the source records one, else empty. Read back by the `burstgpt` adapter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from generate.formats import Format, WriteInfo, write_csv_chunks
from generate.workload import RequestWorkload

COLUMNS = ("Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens", "Log Type")
SESSION_COLUMNS = ("Session ID", "Elapsed time")
LOG_TYPES = {"conversation": "Conversation log", "api": "API log"}


def _names(codes: np.ndarray, names: list[str | None], mapping: dict[str, str]) -> pl.Series:
    labels = [mapping.get(n, n) if n is not None else None for n in names]
    return pl.Series(labels, dtype=pl.String).gather(codes)


def write(w: RequestWorkload, out: Path, info: WriteInfo) -> list[Path]:
    assert w.input_tokens is not None and w.output_tokens is not None
    inp, outp = w.input_tokens, w.output_tokens
    sessions = w.session is not None
    header = [COLUMNS[0], *(SESSION_COLUMNS if sessions else ()), *COLUMNS[1:]]
    services = [str(s) if s is not None else None for s in w.services]

    def frame(part: slice) -> pl.DataFrame:
        cols: dict[str, pl.Series | np.ndarray] = {COLUMNS[0]: w.t_s[part].round(3)}
        if w.session is not None:
            sid = w.session[part]
            cols[SESSION_COLUMNS[0]] = pl.Series(
                [f"session-{s}" if s >= 0 else None for s in sid.tolist()], dtype=pl.String
            )
            dur = w.duration_s[part] if w.duration_s is not None else np.full(len(sid), np.nan)
            cols[SESSION_COLUMNS[1]] = pl.Series(dur).fill_nan(None)
        cols[COLUMNS[1]] = _names(w.service[part], services, {})
        cols[COLUMNS[2]] = inp[part]
        cols[COLUMNS[3]] = outp[part]
        cols[COLUMNS[4]] = inp[part].astype(np.int64) + outp[part]
        cols[COLUMNS[5]] = _names(w.kind[part], w.kinds, LOG_TYPES)
        return pl.DataFrame(cols)

    return write_csv_chunks(out, header, len(w), frame, float_precision=3)


FORMAT = Format(
    name="burstgpt",
    shape="requests",
    needs_tokens=True,
    reader="burstgpt",
    summary="BurstGPT CSV: Timestamp,[Session ID,Elapsed time,]Model,Request tokens,Response "
    "tokens,Total tokens,Log Type",
    write=write,
)
