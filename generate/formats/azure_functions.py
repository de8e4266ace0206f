"""`azure-functions`: the Azure Functions 2019 per-minute invocation layout (ATC'20), which
invitro (vhive-serverless/invitro) replays.

`HashOwner,HashApp,HashFunction,Trigger,<minute>,...`: one row per function, one column per
minute of the day (1..1440) holding that minute's invocations. invitro reads the minute columns
in order after `Trigger`; like its sampler's files, a workload that starts mid-day has columns
from its first minute (480 for a workload starting at 08:00). Every function of the workload
has a row, zeros included. A workload of more than one day is written one file per day,
`<name>.dNN.csv` as the release names its days (NN the day number, from the source's). Read
back by the `azure_functions_2019` adapter.

Functions keep the source's hashes. From a trace of timed requests (Azure Functions 2021, an
LLM service), each service is a function and its busiest tenant the app; names that are not
already 64-digit hashes become their SHA-256 (invitro names functions after the first 18
characters of HashFunction).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import polars as pl

from generate.formats import Format, WriteInfo, atomic_binary
from generate.workload import InvocationWorkload, RequestWorkload

IDS = ("HashOwner", "HashApp", "HashFunction", "Trigger")
MINUTES_PER_DAY = 1440
ROWS_PER_CHUNK = 5_000  # functions densified at a time (x up to 1,440 minutes)
_HASH = re.compile(r"[0-9a-f]{64}")


def hashed(name: str | None) -> str:
    """A 64-digit hex hash: the name itself when it is one, else its SHA-256."""
    text = "" if name is None else str(name)
    return text if _HASH.fullmatch(text) else hashlib.sha256(text.encode()).hexdigest()


def from_requests(w: RequestWorkload) -> InvocationWorkload:
    """Invocations per service (a function) and minute of timed requests: a row for every
    service the workload covers, in the source's order (busiest first)."""
    codes = np.arange(len(w.services)) if w.kept is None else np.asarray(sorted(w.kept))
    first = w.origin_us // 60_000_000
    minute = (w.origin_us + np.round(w.t_s * 1e6).astype(np.int64)) // 60_000_000 - first
    # the minutes the workload covers, from its first minute to the end of its span
    end = int(np.ceil((w.origin_us / 1e6 + w.span_s) / 60)) - first
    span = max(int(minute.max(initial=0)) + 1, end)
    fn = np.searchsorted(codes, w.service)  # row of each request's service
    uniq, n = np.unique(fn.astype(np.int64) * span + minute, return_counts=True)
    # A function's trigger: the kind of its first request (services have one kind in practice).
    seen, at = np.unique(w.service, return_index=True)
    kinds = {int(s): w.kinds[int(w.kind[i])] for s, i in zip(seen, at, strict=True)}
    names = [w.services[c] for c in codes]
    return InvocationWorkload(
        owners=[hashed(w.tenants.get(s) or s) for s in names],
        apps=[hashed(w.tenants.get(s) or s) for s in names],
        functions=[hashed(s) for s in names],
        triggers=[str(kinds.get(int(c)) or "http") for c in codes],
        fn=(uniq // span).astype(np.int64),
        minute=(uniq % span).astype(np.int64),
        n=n.astype(np.int64),
        first_minute=int(first),
        minutes=span,
    )


def day_files(out: Path, first_minute: int, minutes: int) -> list[tuple[Path, int, int]]:
    """(file, first offset, end offset) per day the workload covers (offsets from its first
    minute). One day: `out` itself; more: `<stem>.dNN.csv` beside it."""
    start_day = first_minute // MINUTES_PER_DAY
    last_day = (first_minute + max(minutes, 1) - 1) // MINUTES_PER_DAY
    files = []
    for day in range(start_day, last_day + 1):
        lo = max(first_minute, day * MINUTES_PER_DAY) - first_minute
        hi = min(first_minute + minutes, (day + 1) * MINUTES_PER_DAY) - first_minute
        name = out if start_day == last_day else out.with_name(f"{_stem(out)}.d{day + 1:02d}.csv")
        files.append((name, lo, hi))
    return files


def _stem(out: Path) -> str:
    return out.name[: -len(".csv")] if out.name.lower().endswith(".csv") else out.name


def write(w: InvocationWorkload | RequestWorkload, out: Path, info: WriteInfo) -> list[Path]:
    inv = from_requests(w) if isinstance(w, RequestWorkload) else w
    order = np.lexsort((inv.minute, inv.fn))
    fn, minute, n = inv.fn[order], inv.minute[order], inv.n[order]
    nfun = len(inv.functions)
    written = []
    for path, lo, hi in day_files(out, inv.first_minute, inv.minutes):
        columns = [str((inv.first_minute + k) % MINUTES_PER_DAY + 1) for k in range(lo, hi)]
        in_day = (minute >= lo) & (minute < hi)
        d_fn, d_min, d_n = fn[in_day], minute[in_day] - lo, n[in_day]
        with atomic_binary(path) as f:
            f.write((",".join((*IDS, *columns)) + "\n").encode())
            for start in range(0, nfun, ROWS_PER_CHUNK):
                stop = min(start + ROWS_PER_CHUNK, nfun)
                dense = np.zeros((stop - start, hi - lo), dtype=np.int64)
                sel = (d_fn >= start) & (d_fn < stop)
                dense[d_fn[sel] - start, d_min[sel]] = d_n[sel]
                frame = pl.DataFrame(
                    {
                        IDS[0]: inv.owners[start:stop],
                        IDS[1]: inv.apps[start:stop],
                        IDS[2]: inv.functions[start:stop],
                        IDS[3]: inv.triggers[start:stop],
                    }
                ).hstack(pl.DataFrame(dense, schema=columns, orient="row"))
                frame.write_csv(f, include_header=False)
        written.append(path)
    return written


FORMAT = Format(
    name="azure-functions",
    shape="invocations",
    needs_tokens=False,
    reader="azure_functions_2019",
    summary="Azure Functions 2019 invocation counts per function and minute "
    "(HashOwner,HashApp,HashFunction,Trigger,1..1440), as invitro replays them",
    write=write,
    also_from_requests=True,
)
