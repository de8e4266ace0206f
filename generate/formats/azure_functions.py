"""`azure-functions`: the Azure Functions 2019 layout (ATC'20) that invitro
(vhive-serverless/invitro) replays: a folder holding `invocations.csv`, `durations.csv` and
`memory.csv`.

`invocations.csv`: `HashOwner,HashApp,HashFunction,Trigger,<minute>,...`, one row per function,
one column per minute of the day (1..1440) holding that minute's invocations. invitro reads the
minute columns in order after `Trigger`; like its sampler's files, a workload that starts mid-day
has columns from its first minute (480 for a workload starting at 08:00). Every function of the
workload has a row, zeros included.

`durations.csv`: `HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,
percentile_Average_{0,1,25,50,75,99,100}` in ms, one row per function. `memory.csv` (the
sampler's per-function variant): `HashFunction,HashOwner,HashApp,SampleCount,AverageAllocatedMb,
AverageAllocatedMb_pct{1,5,25,50,75,95,99,100}` in MB. invitro (pkg/trace/azure_trace_parser.go)
opens all three files of the folder and stops if one is missing; it looks each function's
duration and memory rows up by HashFunction and dereferences them for every function (initial
scale from `Average`, CPU and memory requests from `AverageAllocatedMb_pct100`), and before
each invocation it refuses a function whose `Count` or `SampleCount` is not positive.

- From Azure Functions 2019 (published statistics, `summaries`): each function's rows are the
  source's, copied (the source day matching the file's day, else the nearest). `Count` is the
  function's generated invocations in the file, not the source's executions: invitro uses it
  only to refuse a function without executions, and so durations.csv agrees with
  invocations.csv (its Counts add up to the file's invocations), while the other columns
  describe one execution and do not depend on how many there are. Memory the release gives
  per app is shared evenly among the app's functions of the workload, as invitro's sampler
  does (`SampleCount` kept).
- From timed requests with durations (Azure Functions 2021, an LLM service): each function's
  statistics of its generated requests' durations, in ms: mean, count, min, max and
  `numpy.percentile` (its default linear interpolation, Hyndman-Fan type 7, as invitro's own
  Azure 2021 converter sampler/preprocess2021.py computes them). A function without a
  generated invocation gets `Count` 0 and zero statistics (invitro issues it no invocation,
  and its initial scale is 0 either way). Such sources record no memory, and invitro needs a
  memory row per function: memory.csv is then a placeholder, every value `DEFAULT_MEMORY_MB`
  (200 MB, the static value preprocess2021.py writes) and `SampleCount` the generated
  invocations; the run's notes say so.
- A source without durations gets no durations.csv nor memory.csv, and a note saying invitro
  needs them.

Files beside `invocations.csv` are `durations.csv` and `memory.csv`; beside another name
`NAME.csv`, `NAME.durations.csv` and `NAME.memory.csv`. A workload of more than one day is
written one set per day, `NAME.dNN.csv` (NN the day number, from the source's), and
`durations.dNN.csv`, `memory.dNN.csv` beside `invocations.dNN.csv`, as the release names its
days; invitro replays one day from a folder, so a day's three files go to a folder of their
own. All files are written under temporary names and renamed together at the end. Read back
by the `azure_functions_2019` adapter (`traces ingest DIR`).

Functions keep the source's hashes. From a trace of timed requests, each service is a function
and its busiest tenant the app; names that are not already 64-digit hashes become their SHA-256
(invitro names functions after the first 18 characters of HashFunction).
"""

from __future__ import annotations

import hashlib
import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl

from generate.formats import Format, WriteInfo, atomic_binary
from generate.workload import InvocationWorkload, RequestWorkload

IDS = ("HashOwner", "HashApp", "HashFunction", "Trigger")
KEYS = ["HashOwner", "HashApp", "HashFunction"]
DURATION_PCTS = (0, 1, 25, 50, 75, 99, 100)
DURATIONS = (
    *KEYS,
    "Average",
    "Count",
    "Minimum",
    "Maximum",
    *(f"percentile_Average_{p}" for p in DURATION_PCTS),
)
MEMORY_PCTS = (1, 5, 25, 50, 75, 95, 99, 100)
MEMORY_MB = ("AverageAllocatedMb", *(f"AverageAllocatedMb_pct{p}" for p in MEMORY_PCTS))
MEMORY = ("HashFunction", "HashOwner", "HashApp", "SampleCount", *MEMORY_MB)
DEFAULT_MEMORY_MB = 200.0  # invitro's sampler/preprocess2021.py, for a trace without memory
MINUTES_PER_DAY = 1440
ROWS_PER_CHUNK = 5_000  # functions densified at a time (x up to 1,440 minutes)
_HASH = re.compile(r"[0-9a-f]{64}")


def hashed(name: str | None) -> str:
    """A 64-digit hex hash: the name itself when it is one, else its SHA-256."""
    text = "" if name is None else str(name)
    return text if _HASH.fullmatch(text) else hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Placed:
    """Timed requests placed on the functions and minutes of the layout."""

    codes: np.ndarray  # service code of each function (row), in the source's order
    first: int  # the workload's first minute, since 1970
    span: int  # minutes covered
    fn: np.ndarray  # each request's function (row)
    minute: np.ndarray  # each request's minute offset from `first` (sorted, as the requests)


def place(w: RequestWorkload) -> Placed:
    codes = np.arange(len(w.services)) if w.kept is None else np.asarray(sorted(w.kept))
    first = w.origin_us // 60_000_000
    minute = (w.origin_us + np.round(w.t_s * 1e6).astype(np.int64)) // 60_000_000 - first
    # the minutes the workload covers, from its first minute to the end of its span
    end = int(np.ceil((w.origin_us / 1e6 + w.span_s) / 60)) - first
    span = max(int(minute.max(initial=0)) + 1, end)
    fn = np.searchsorted(codes, w.service).astype(np.int64)  # row of each request's service
    return Placed(codes, int(first), span, fn, minute)


def from_requests(w: RequestWorkload, placed: Placed | None = None) -> InvocationWorkload:
    """Invocations per service (a function) and minute of timed requests: a row for every
    service the workload covers, in the source's order (busiest first)."""
    p = placed or place(w)
    uniq, n = np.unique(p.fn * p.span + p.minute, return_counts=True)
    # A function's trigger: the kind of its first request (services have one kind in practice).
    seen, at = np.unique(w.service, return_index=True)
    kinds = {int(s): w.kinds[int(w.kind[i])] for s, i in zip(seen, at, strict=True)}
    names = [w.services[c] for c in p.codes]
    return InvocationWorkload(
        owners=[hashed(w.tenants.get(s) or s) for s in names],
        apps=[hashed(w.tenants.get(s) or s) for s in names],
        functions=[hashed(s) for s in names],
        triggers=[str(kinds.get(int(c)) or "http") for c in p.codes],
        fn=(uniq // p.span).astype(np.int64),
        minute=(uniq % p.span).astype(np.int64),
        n=n.astype(np.int64),
        first_minute=p.first,
        minutes=p.span,
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


def companion(invocations: Path, kind: str) -> Path:
    """The `durations` or `memory` file beside an invocation file: invitro's names beside
    `invocations[.dNN].csv`, else `<stem>.<kind>[.dNN].csv` (the day's suffix kept last, where
    the adapter reads it)."""
    stem = _stem(invocations)
    m = re.fullmatch(r"(.*?)(\.d\d+)?", stem)
    base, day = (m.group(1), m.group(2) or "") if m else (stem, "")
    name = kind if base == "invocations" else f"{base}.{kind}"
    return invocations.with_name(f"{name}{day}.csv")


def _stem(out: Path) -> str:
    return out.name[: -len(".csv")] if out.name.lower().endswith(".csv") else out.name


# ---------------------------------------------------------------- durations and memory


def duration_stats(fn: np.ndarray, ms: np.ndarray, nfun: int) -> tuple[np.ndarray, np.ndarray]:
    """Per function: (Average, Minimum, Maximum, the DURATION_PCTS percentiles) of its known
    durations `ms` (zeros for a function with none), and whether it had any."""
    ok = np.isfinite(ms)
    fn, ms = fn[ok], ms[ok]
    # a stable sort of 16-bit keys is a radix sort: a few times faster on 10M requests
    order = np.argsort(fn.astype(np.uint16) if nfun <= 1 << 16 else fn, kind="stable")
    fn, ms = fn[order], ms[order]
    bounds = np.searchsorted(fn, np.arange(nfun + 1))
    stats = np.zeros((nfun, 3 + len(DURATION_PCTS)))
    known = np.diff(bounds) > 0
    for f in np.flatnonzero(known):
        x = ms[bounds[f] : bounds[f + 1]]
        stats[f, :3] = x.mean(), x.min(), x.max()
        stats[f, 3:] = np.percentile(x, DURATION_PCTS)  # linear (type 7), as preprocess2021.py
    return np.round(stats, 6), known  # ms to the nanosecond: no float noise in the file


def _nearest_day(rows: pl.DataFrame, on: list[str], day: int) -> pl.DataFrame:
    """Each key's row of the day closest to `day` (the earlier on a tie), without `day`."""
    return (
        rows.with_columns((pl.col("day") - day).abs().alias("_dist"))
        .sort([*on, "_dist", "day"])
        .unique(subset=on, keep="first", maintain_order=True)
        .drop("_dist", "day")
    )


def published_durations(
    keys: pl.DataFrame, rows: pl.DataFrame, day: int, counts: np.ndarray
) -> pl.DataFrame:
    """The source's durations row of each function of `keys` that has one, Count its
    generated invocations `counts`."""
    frame = keys.join(_nearest_day(rows, KEYS, day), on=KEYS, how="inner").sort("fn")
    count = pl.Series("Count", counts[frame["fn"].to_numpy()], dtype=pl.Int64)
    return frame.with_columns(count).select(DURATIONS)


def published_memory(keys: pl.DataFrame, rows: pl.DataFrame, day: int) -> pl.DataFrame:
    """The source's memory row of each function of `keys` that has one: its own, else its
    app's shared evenly among the app's functions of the workload (as invitro's sampler does)."""
    own = rows.filter(pl.col("HashFunction").is_not_null())
    per_fn = keys.join(_nearest_day(own, KEYS, day), on=KEYS, how="inner")
    apps = rows.filter(pl.col("HashFunction").is_null()).drop("HashFunction")
    rest = keys.join(per_fn.select("fn"), on="fn", how="anti")
    share = keys.group_by(["HashOwner", "HashApp"]).agg(pl.len().alias("_n"))
    per_app = (
        rest.join(_nearest_day(apps, ["HashOwner", "HashApp"], day), on=["HashOwner", "HashApp"])
        .join(share, on=["HashOwner", "HashApp"])
        .with_columns([pl.col(c) / pl.col("_n") for c in MEMORY_MB])
    )
    both = pl.concat([per_fn.select("fn", *MEMORY), per_app.select("fn", *MEMORY)])
    return both.sort("fn").select(MEMORY)


def measured_durations(keys: pl.DataFrame, stats: np.ndarray, counts: np.ndarray) -> pl.DataFrame:
    cols = ["Average", "Minimum", "Maximum", *DURATIONS[-len(DURATION_PCTS) :]]
    frame = keys.select(KEYS).hstack(pl.DataFrame(stats, schema=cols, orient="row"))
    return frame.with_columns(pl.Series("Count", counts, dtype=pl.Int64)).select(DURATIONS)


def placeholder_memory(keys: pl.DataFrame, counts: np.ndarray) -> pl.DataFrame:
    return (
        keys.select(KEYS)
        .with_columns(
            pl.Series("SampleCount", counts, dtype=pl.Int64),
            *(pl.lit(DEFAULT_MEMORY_MB).alias(c) for c in MEMORY_MB),
        )
        .select(MEMORY)
    )


def _covered(keys: pl.DataFrame, rows: pl.DataFrame | None, memory: bool = False) -> int:
    """How many functions of `keys` have a row in `rows` (memory: their own or their app's)."""
    if rows is None or rows.is_empty():
        return 0
    own = keys.join(rows.filter(pl.col("HashFunction").is_not_null()), on=KEYS, how="semi")
    if not memory:
        return own.height
    apps = rows.filter(pl.col("HashFunction").is_null())
    rest = keys.join(own, on="fn", how="anti")
    return own.height + rest.join(apps, on=["HashOwner", "HashApp"], how="semi").height


# ---------------------------------------------------------------- the writer


def write(w: InvocationWorkload | RequestWorkload, out: Path, info: WriteInfo) -> list[Path]:
    placed = place(w) if isinstance(w, RequestWorkload) else None
    inv = from_requests(w, placed) if isinstance(w, RequestWorkload) else w
    order = np.lexsort((inv.minute, inv.fn))
    fn, minute, n = inv.fn[order], inv.minute[order], inv.n[order]
    nfun = len(inv.functions)
    keys = pl.DataFrame(
        {"HashOwner": inv.owners, "HashApp": inv.apps, "HashFunction": inv.functions}
    ).with_row_index("fn")
    ms: np.ndarray | None = None
    if isinstance(w, RequestWorkload) and w.duration_s is not None:
        ms = w.duration_s * 1000.0
        if not np.isfinite(ms).any():
            ms = None
    durations = inv.durations if inv.durations is not None and inv.durations.height else None
    memory = inv.memory if inv.memory is not None and inv.memory.height else None
    with_durations = ms is not None or durations is not None
    days = day_files(out, inv.first_minute, inv.minutes)
    written: list[Path] = []
    known = np.zeros(nfun, dtype=bool)
    with ExitStack() as files:  # every file renamed into place together, or none
        for path, lo, hi in days:
            day = (inv.first_minute + lo) // MINUTES_PER_DAY + 1
            in_day = (minute >= lo) & (minute < hi)
            d_fn, d_min, d_n = fn[in_day], minute[in_day] - lo, n[in_day]
            counts = np.bincount(d_fn, weights=d_n, minlength=nfun).astype(np.int64)
            _write_invocations(
                files.enter_context(atomic_binary(path)), inv, lo, hi, d_fn, d_min, d_n
            )
            written.append(path)
            if not with_durations:
                continue
            dur: pl.DataFrame
            mem: pl.DataFrame | None
            if ms is not None and placed is not None:
                a, b = np.searchsorted(placed.minute, [lo, hi])
                stats, day_known = duration_stats(placed.fn[a:b], ms[a:b], nfun)
                known |= day_known
                dur, mem = measured_durations(keys, stats, counts), None
            else:
                assert durations is not None
                dur = published_durations(keys, durations, day, counts)
                mem = None if memory is None else published_memory(keys, memory, day)
            if mem is None:
                mem = placeholder_memory(keys, counts)
            for kind, frame in (("durations", dur), ("memory", mem)):
                target = companion(path, kind)
                frame.write_csv(files.enter_context(atomic_binary(target)))
                written.append(target)
    w.notes.extend(_notes(inv, info, out, len(days), ms, durations, memory, keys, known))
    return written


def _write_invocations(
    out: IO[bytes],
    inv: InvocationWorkload,
    lo: int,
    hi: int,
    d_fn: np.ndarray,
    d_min: np.ndarray,
    d_n: np.ndarray,
) -> None:
    nfun = len(inv.functions)
    columns = [str((inv.first_minute + k) % MINUTES_PER_DAY + 1) for k in range(lo, hi)]
    out.write((",".join((*IDS, *columns)) + "\n").encode())
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
        frame.write_csv(out, include_header=False)


def _notes(
    inv: InvocationWorkload,
    info: WriteInfo,
    out: Path,
    days: int,
    ms: np.ndarray | None,
    durations: pl.DataFrame | None,
    memory: pl.DataFrame | None,
    keys: pl.DataFrame,
    known: np.ndarray,
) -> list[str]:
    """What a user of invitro must know about the files beside the invocations."""
    notes = []
    nfun = len(inv.functions)
    if ms is None and durations is None:
        return [
            f"durations.csv and memory.csv not written: {info.trace} records no execution "
            "durations (nor memory); invitro needs both beside invocations.csv and stops "
            "without them ('Failed to open trace runtime specification file')"
        ]
    if ms is not None:
        total = np.bincount(inv.fn, weights=inv.n, minlength=nfun)
        blind = int(((total > 0) & ~known).sum())
        if blind:
            notes.append(
                f"{blind} of {nfun} functions have generated invocations but no known duration: "
                "their durations rows hold zeros (invitro runs them for its 1 ms minimum)"
            )
    else:
        missing = nfun - _covered(keys, durations)
        if missing:
            notes.append(
                f"{missing} of {nfun} functions have no durations row in {info.trace}: "
                "durations.csv leaves them out, and invitro stops on a function without one"
            )
    if ms is not None or memory is None:
        notes.append(
            f"memory.csv is a placeholder, not a measurement: {info.trace} records no memory, "
            f"and invitro needs a row per function, so each gets {DEFAULT_MEMORY_MB:g} MB in "
            "AverageAllocatedMb and every percentile (the static value of invitro's own Azure "
            "2021 converter, sampler/preprocess2021.py) and SampleCount its generated "
            "invocations"
        )
    else:
        missing = nfun - _covered(keys, memory, memory=True)
        if missing:
            notes.append(
                f"{missing} of {nfun} functions have no memory row in {info.trace}: "
                "memory.csv leaves them out, and invitro stops on a function without one"
            )
    if ms is None:
        notes.append(
            "durations.csv copies each function's row from the source"
            + (", memory.csv too" if memory is not None else "")
            + "; Count is the function's generated invocations"
        )
    if days > 1:
        notes.append(
            "invitro replays one day (at most 1,440 minutes) from a folder's invocations.csv, "
            "durations.csv and memory.csv: to replay day NN, copy invocations.dNN.csv, "
            "durations.dNN.csv and memory.dNN.csv into a folder of their own under those names"
            if _stem(out) == "invocations"
            else "invitro replays one day (at most 1,440 minutes) from a folder's "
            "invocations.csv, durations.csv and memory.csv: copy a day's three files into a "
            "folder of their own under those names"
        )
    elif _stem(out) != "invocations":
        notes.append(
            "invitro reads a folder's invocations.csv, durations.csv and memory.csv: name the "
            "output invocations.csv, in a folder of its own, for that layout"
        )
    return notes


FORMAT = Format(
    name="azure-functions",
    shape="invocations",
    needs_tokens=False,
    reader="azure_functions_2019",
    summary="Azure Functions 2019 layout invitro replays: invocation counts per function and "
    "minute (HashOwner,HashApp,HashFunction,Trigger,1..1440) with durations.csv and memory.csv "
    "beside them",
    write=write,
    also_from_requests=True,
)
