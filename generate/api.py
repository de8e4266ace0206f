"""`generate()`: a benchmark workload fitted to a trace of the lake, written in a tool's format,
with its fidelity to the source measured. `traces generate` is a thin shell over it.

    from generate.api import generate
    result = generate("lake", "azure_llm_2023_conv", "out.csv", "azure-llm", rate_scale=2)
    print(result.arrivals, result.fidelity.passed)

Steps: read what the trace holds (generate/source.py), fit arrivals (`generate.arrivals`:
per service when the trace has a few busy services, else once, with services or functions
shared out minute by minute as in the source), draw contents (`generate.contents`), write the
file (`generate.formats`), and score the workload against the source
(`generate.fidelity`). Deterministic for a seed: every random step draws from its own child of
`numpy.random.SeedSequence(seed)`.
"""

from __future__ import annotations

import difflib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from analysis import arrival_stats as st
from analysis.db import LakeDB
from generate import source
from generate.arrivals import CANDIDATES, ModulatedArrivals, TooFewArrivals, fit_arrivals
from generate.contents import (
    CONTENT_METHODS,
    JobPool,
    RequestPool,
    SessionPool,
    apportion,
    copula_tokens,
    labels_within_bins,
    prefix_plan,
    small_ints,
)
from generate.fidelity import (
    CONTENT_SAMPLE,
    TOLERANCES,
    FidelityTable,
    Statistic,
    arrival_fidelity,
    content_fidelity,
    fidelity_table,
    statistic,
)
from generate.formats import FORMATS, Format, WriteInfo, writable
from generate.workload import InvocationWorkload, JobWorkload, RequestWorkload
from ingest.errors import DataError, UsageError

PER_SERVICE_MAX = 8  # services fitted one by one at most; more share one model
PER_SERVICE_MIN = 200  # arrivals a service needs for a model of its own
SESSION_SHARE = 0.5  # a trace is a session trace when this share of requests has a session
BIN_S = 60.0  # bins in which services and functions are shared out as in the source
UNFINISHED = ("failed", "cancelled", "timeout", "killed", "evicted")  # as analysis.tokens
# The largest run: generating holds about 1.1 GB per 10 million events (times, contents and
# the fidelity statistics), so 100 million fit a 24 GiB machine with room to spare.
EVENT_CAP = 100_000_000
GB_PER_10M = 1.1
# The longest run: the rate curve, the modulation and azure-functions' per-minute columns
# and per-day files grow with the duration, whatever the rate.
MAX_DURATION_S = 366 * 86400.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GenerateResult:
    """What `generate` wrote and how faithful it is."""

    trace: str
    format: str
    files: list[Path]
    events: int  # requests, jobs or invocations written
    unit: str  # requests | jobs | invocations
    duration_s: float
    rate_scale: float
    seed: int
    services: list[str] | None  # the services kept (None: all)
    arrivals: str  # which arrival model(s), in words
    models: dict[str, dict[str, Any]]  # fitted on (trace or service) -> the model's describe()
    contents: str  # how contents were drawn, in words
    fidelity: FidelityTable
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        from analysis.db import jsonable

        return jsonable(
            {
                "trace": self.trace,
                "format": self.format,
                "files": [str(f) for f in self.files],
                "events": self.events,
                "unit": self.unit,
                "duration_s": self.duration_s,
                "rate_scale": self.rate_scale,
                "seed": self.seed,
                "services": self.services,
                "arrivals": self.arrivals,
                "models": self.models,
                "contents": self.contents,
                "notes": self.notes,
                "seconds": self.seconds,
                "fidelity": self.fidelity.to_json(),
            }
        )


# ---------------------------------------------------------------- checks at the edge


def check_format(fmt: str) -> Format:
    if fmt in FORMATS:
        return FORMATS[fmt]
    close = difflib.get_close_matches(fmt, list(FORMATS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"Unknown format {fmt!r} for --format.{hint} Formats: {', '.join(FORMATS)}.")


def fitting_formats(prof: source.Profile) -> list[str]:
    return [f.name for f in FORMATS.values() if f.fits(prof.shape, prof.with_tokens > 0)]


def _what_it_holds(prof: source.Profile) -> str:
    if prof.shape == "requests":
        return f"{prof.requests:,} timed requests" + (
            "" if prof.with_tokens else " without token counts"
        )
    if prof.shape == "jobs":
        return f"{prof.jobs:,} submitted jobs"
    if prof.shape == "invocations":
        return f"invocation counts per minute of {prof.functions:,} functions"
    return "no timed requests, jobs or invocation counts"


NEEDS = {
    "requests": "requests with input and output token counts",
    "jobs": "batch jobs with submission times",
    "invocations": "timed invocations (requests, or per-minute invocation counts)",
}


def check_fits(f: Format, prof: source.Profile) -> None:
    if f.fits(prof.shape, prof.with_tokens > 0):
        return
    fits = fitting_formats(prof)
    choice = (
        f"Formats that fit it: {', '.join(fits)}."
        if fits
        else "No format fits it: generate from a trace with timed requests, jobs or "
        "invocation counts (`traces info` lists what each trace holds)."
    )
    raise DataError(
        f"Trace {prof.trace} holds {_what_it_holds(prof)}; format {f.name} writes "
        f"{NEEDS[f.shape]}. {choice}"
    )


def check_services(
    trace: str, known: Sequence[str | None], wanted: Sequence[str] | None
) -> set[str | None] | None:
    """The services to keep (None: all); a UsageError naming the unknown ones and the known."""
    if not wanted:
        return None
    names = [k for k in known if k is not None]
    if not names:
        raise UsageError(f"Trace {trace} records no services, so --services cannot pick any.")
    unknown = [w for w in wanted if w not in names]
    if unknown:
        shown = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
        hints = [
            f"{u!r} (did you mean {c[0]!r}?)"
            if (c := difflib.get_close_matches(u, names, n=1))
            else repr(u)
            for u in unknown
        ]
        raise UsageError(
            f"Unknown service{'s' if len(unknown) > 1 else ''} {', '.join(hints)} for "
            f"--services in trace {trace}. Services: {shown}."
        )
    return set(wanted)


def output_files(f: Format, out: Path) -> list[Path]:
    """The files a run of format `f` writes at `out`, as far as known before the run: `out`,
    and azure-functions' durations and memory files beside it (a run of more than a day
    writes per-day files instead, checked as they are written)."""
    if f.name != "azure-functions":
        return [out]
    from generate.formats.azure_functions import companion

    return [out, companion(out, "durations"), companion(out, "memory")]


def check_outputs(f: Format, out: Path, json_file: Path | None = None) -> None:
    """Refuse, before any work, outputs that cannot be written (see `formats.writable`: a
    folder, a device, fifo or socket) and a --json file that is one of the workload's files."""
    files = output_files(f, out)
    writable(out, "--out")
    for other in files[1:]:
        try:
            writable(other, "--out")
        except UsageError as e:
            raise UsageError(f"Format {f.name} also writes {other.name} beside {out}: {e}") from e
    if json_file is None:
        return
    writable(json_file, "--json")
    for path in files:
        if _same_file(json_file, path):
            raise UsageError(
                f"--json {json_file} is the workload's own file {path}: writing the JSON there "
                "would overwrite the workload. Pass --json another file name."
            )


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return a.samefile(b)
    return Path(os.path.realpath(a)) == Path(os.path.realpath(b))


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"--seed must be a non-negative integer; got {seed}.")
    return int(seed)


# ---------------------------------------------------------------- the entry point


def generate(
    lake: Path | str,
    trace: str,
    out: Path | str,
    fmt: str,
    duration_s: float | None = None,
    rate_scale: float = 1.0,
    services: Sequence[str] | None = None,
    seed: int = 0,
    contents: str = "pairs",
    arrival_models: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> GenerateResult:
    """Generate a workload like `trace` of the lake at `lake`, write it to `out` in format
    `fmt`, and measure its fidelity to the trace.

    `duration_s`: how long the workload lasts (default: the trace's span); `rate_scale`: K times
    the trace's arrival rate, burstiness kept; `services`: only these services (names as in
    the lake); `contents`: `pairs` (resample source requests' token pairs, the default) or
    `copula` (a Gaussian copula over the marginals); `arrival_models`: the candidates compared
    (default: all of `generate.arrivals.CANDIDATES`). Raises UsageError for an unknown format,
    service or bad number (a seed must be a non-negative integer; a run expected to hold more
    than EVENT_CAP events, or fewer than one, or to last over MAX_DURATION_S is refused before
    anything is drawn) and for an output that cannot be written (`check_outputs`),
    UnknownTrace for an unknown trace, DataError when the trace lacks what the format needs."""
    started = time.perf_counter()
    say = progress or (lambda _: None)
    f = check_format(fmt)
    if contents not in CONTENT_METHODS:
        raise UsageError(
            f"Unknown contents method {contents!r}; use {' or '.join(CONTENT_METHODS)}."
        )
    if not (math.isfinite(rate_scale) and rate_scale > 0):
        raise UsageError(f"--rate-scale must be a positive number; got {rate_scale}.")
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
        raise UsageError(f"--duration must be a positive number of seconds; got {duration_s}.")
    if duration_s is not None and duration_s > MAX_DURATION_S:
        raise UsageError(
            f"--duration {duration_s:g} s is longer than the longest workload generated, "
            f"{MAX_DURATION_S:,.0f} s (366 days). Pass a shorter --duration."
        )
    seed = check_seed(seed)
    check_outputs(f, Path(out))
    say("reading the trace")
    db = LakeDB(lake)
    try:
        db.info(trace)  # UnknownTrace, listing the traces
        prof = source.profile(db, trace)
        check_fits(f, prof)
        job = _Job(db, prof, f, Path(out), duration_s, rate_scale, services, seed, contents, say)
        if arrival_models is not None:
            job.candidates = tuple(arrival_models)
        result = job.run()
    finally:
        db.close()
    return replace(result, seconds=time.perf_counter() - started)


# ---------------------------------------------------------------- the work


def _clock(t_s: np.ndarray, declared: float | None) -> float:
    """The clock arrivals are known to: a batched log's period, else the declared resolution."""
    r = float(declared or 0.0)
    if r > 0 and t_s.size > 2:
        tick = st.effective_tick(np.diff(np.sort(t_s)), r)
        if tick:
            return float(tick)
    return r


def _model_words(models: dict[str, ModulatedArrivals]) -> str:
    def one(m: ModulatedArrivals) -> str:
        beaten = [name for name, _, _ in m.selection[1:]]
        return m.name + (
            f" (best of {len(m.selection)}: beat {', '.join(beaten)})" if beaten else ""
        )

    if len(models) == 1:
        return one(next(iter(models.values())))
    return "per service: " + "; ".join(f"{k}: {one(m)}" for k, m in models.items())


class _Job:
    """One generation run: the parameters, the seeds and the steps shared by every shape."""

    def __init__(
        self,
        db: LakeDB,
        prof: source.Profile,
        fmt: Format,
        out: Path,
        duration_s: float | None,
        rate_scale: float,
        services: Sequence[str] | None,
        seed: int,
        contents: str,
        say: Progress,
    ) -> None:
        self.db, self.prof, self.fmt, self.out = db, prof, fmt, out
        self.duration_s, self.rate_scale, self.wanted = duration_s, rate_scale, services
        self.seed, self.method, self.say = seed, contents, say
        arrivals, draws, shares, sessions = np.random.SeedSequence(seed).spawn(4)
        # one stream per arrival model: the trace's, or each service's
        self.arrival_seeds = arrivals.spawn(PER_SERVICE_MAX + 1)
        self.draw_rng = np.random.default_rng(draws)
        self.share_rng = np.random.default_rng(shares)
        self.session_rng = np.random.default_rng(sessions)
        self.notes: list[str] = []
        self.models: dict[str, ModulatedArrivals] = {}
        self.candidates: tuple[str, ...] = CANDIDATES

    # -- arrivals

    def arrival_rows(
        self, src_t: np.ndarray, gen_t: np.ndarray, span: float, duration: float, clock: float
    ) -> list[Statistic]:
        """The arrival rows of the fidelity table: a generated workload follows the source's
        rate curve from its start (`from_start`)."""
        return arrival_fidelity(
            src_t,
            gen_t,
            span,
            duration,
            resolution_s=clock,
            rate_scale=self.rate_scale,
            from_start=True,
        )

    def fit(self, label: str, t_s: np.ndarray, span: float, clock: float) -> ModulatedArrivals:
        try:
            model = fit_arrivals(t_s, span_s=span, resolution_s=clock, candidates=self.candidates)
        except TooFewArrivals as e:
            raise DataError(
                f"Trace {self.prof.trace}{'' if label == self.prof.trace else f', {label}'}: {e} "
                "Generate from a longer trace, or without --services."
            ) from e
        self.models[label] = model
        return model

    def check_size(self, source_events: int, unit: str, span: float, duration: float) -> None:
        """Refuse, before drawing anything, a run expected to write more than EVENT_CAP
        events (it would exhaust the memory) or fewer than one (there is nothing to write)."""
        expected = source_events * self.rate_scale * duration / span
        how = (
            f"{source_events:,} {unit} in the trace's {span:,.1f} s, at {self.rate_scale:g} "
            f"times the rate, over {duration:,.1f} s"
        )
        if expected > EVENT_CAP:
            raise UsageError(
                f"The workload would hold about {expected:,.0f} {unit} ({how}): more than "
                f"the {EVENT_CAP:,} generated at most (about {GB_PER_10M:g} GB of memory per "
                "10 million). Pass a shorter --duration or a lower --rate-scale."
            )
        if expected < 1:
            raise UsageError(
                f"The workload would hold about {expected:.2g} {unit} ({how}): fewer than "
                "one. Pass a longer --duration or a higher --rate-scale."
            )

    def sample(self, model: ModulatedArrivals, duration: float, k: int) -> np.ndarray:
        rng = np.random.default_rng(self.arrival_seeds[k])
        return model.sample(duration, self.rate_scale, rng)

    def result(
        self,
        files: list[Path],
        events: int,
        unit: str,
        duration: float,
        kept: list[str] | None,
        words: str,
        table: FidelityTable,
    ) -> GenerateResult:
        return GenerateResult(
            trace=self.prof.trace,
            format=self.fmt.name,
            files=files,
            events=events,
            unit=unit,
            duration_s=duration,
            rate_scale=self.rate_scale,
            seed=self.seed,
            services=kept,
            arrivals=_model_words(self.models),
            models={k: m.describe() for k, m in self.models.items()},
            contents=words,
            fidelity=table,
            notes=self.notes,
        )

    def table(
        self,
        arrivals: list[Statistic],
        contents: list[Statistic],
        notes: list[str],
    ) -> FidelityTable:
        model: dict[str, Any] = (
            next(iter(self.models.values())).describe()
            if len(self.models) == 1
            else {"per_service": {k: m.describe() for k, m in self.models.items()}}
        )
        return fidelity_table(
            self.prof.trace, self.out.name, arrivals, contents, model, [*notes, *self.notes]
        )

    def info(self) -> WriteInfo:
        return WriteInfo(self.prof.trace, self.seed, _model_words(self.models))

    def run(self) -> GenerateResult:
        shape = self.prof.shape
        if shape == "requests":
            return self.requests()
        if shape == "jobs":
            return self.jobs()
        return self.invocations()

    # -- requests

    def requests(self) -> GenerateResult:
        prof, db, trace = self.prof, self.db, self.prof.trace
        assert prof.first_us is not None
        svc = source.services(db, trace)
        names: list[str | None] = svc["service"].to_list()
        keep = check_services(trace, names, self.wanted)
        kept_codes = [c for c, n in enumerate(names) if keep is None or n in keep]
        t_us, s_code = source.request_arrivals(db, trace)
        t_all = (t_us - prof.first_us) / 1e6
        clock = _clock(t_all, prof.time_resolution_s)
        span = float(t_all[-1]) + (clock or 1e-6)
        duration = float(self.duration_s or span)
        mask = np.isin(s_code, kept_codes)
        src_t = t_all[mask]
        self.check_size(len(src_t), "requests", span, duration)
        need_tokens = self.fmt.needs_tokens
        sessions = prof.with_session >= SESSION_SHARE * prof.requests
        self.say("fitting arrivals")
        rows: np.ndarray
        session_no: np.ndarray | None = None
        plan = None
        if sessions:
            spool = SessionPool.from_frame(
                source.sessions(db, trace, prof.requests, self.seed), need_tokens, prof.first_us
            )
            pool = spool.pool
            in_kept = np.isin(pool.service, kept_codes)
            units = np.flatnonzero(np.add.reduceat(in_kept, spool.starts) > 0)
            model = self.fit(trace, np.sort(spool.start_s[units]), span, clock)
            starts_gen = self.sample(model, duration, 0)
            self.say("drawing contents")
            sub = SessionPool(
                pool,
                spool.offset_s,
                spool.in_session & in_kept,
                spool.starts[units],
                spool.ends[units],
                spool.start_s[units],
            )
            t, rows, session_no = sub.expand(starts_gen, self.session_rng)
            ok = (t < duration) & in_kept[rows]
            order = np.argsort(t[ok], kind="stable")
            t, rows, session_no = t[ok][order], rows[ok][order], session_no[ok][order]
            service = pool.service[rows]
            contents_words = (
                "whole sessions resampled (turns, delays between turns, each turn's tokens); "
                "arrivals fitted on session starts"
            )
        else:
            with_prefix = self.fmt.name == "mooncake" and prof.with_hash_ids > 0
            frame = (
                source.request_prefix(db, trace)
                if with_prefix
                else source.request_pool(db, trace, prof.requests, self.seed, need_tokens)
            )
            pool = RequestPool.from_frame(frame, tokens=need_tokens)
            t, service = self.request_arrivals(
                src_t, s_code[mask], kept_codes, names, span, duration, clock
            )
            self.say("drawing contents")
            present = np.unique(service)
            if len(present) == 1:
                rows = pool.draw(int(present[0]), len(t), self.draw_rng)
            else:
                rows = np.empty(len(t), dtype=np.int64)
                for c in present:
                    where = np.flatnonzero(service == c)
                    rows[where] = pool.draw(int(c), len(where), self.draw_rng)
            contents_words = (
                "invocations counted per service (a function) and minute"
                if self.fmt.shape == "invocations"
                else "token pairs resampled jointly per service from source requests"
                if self.method == "pairs"
                else "token lengths from a Gaussian copula over each service's marginals"
            ) + (" (with their prefix reuse)" if with_prefix else "")
        inputs = pool.input_tokens[rows] if pool.input_tokens is not None else None
        outputs = pool.output_tokens[rows] if pool.output_tokens is not None else None
        if self.method == "copula" and inputs is not None and not sessions:
            inputs, outputs = inputs.copy(), outputs.copy() if outputs is not None else None
            for c in np.unique(service):
                where = np.flatnonzero(service == c)
                src_rows = pool.by_service.get(int(c), np.arange(len(pool)))
                gi, go = copula_tokens(pool, src_rows, len(where), self.draw_rng)
                inputs[where] = gi
                assert outputs is not None
                outputs[where] = go
        if inputs is not None and self.fmt.name == "mooncake":
            if pool.reused is not None and pool.back is not None:
                plan = prefix_plan(
                    inputs, prof.hash_block_tokens, pool.reused[rows], pool.back[rows]
                )
            else:
                plan = prefix_plan(inputs, None)
                self.notes.append(
                    f"the source has no prefix hashes: every block of {plan.block_tokens} tokens "
                    "is new (no reuse was measured to reproduce)"
                )
        tenants = source.request_tenants(db, trace) if self.fmt.shape == "invocations" else {}
        w = RequestWorkload(
            t_s=t,
            origin_us=prof.first_us,
            time_origin=prof.time_origin,
            service=service.astype(small_ints(len(names))),
            services=names,
            kind=pool.kind[rows],
            kinds=pool.kinds,
            status=pool.status[rows],
            statuses=pool.statuses,
            input_tokens=inputs,
            output_tokens=outputs,
            duration_s=pool.duration_s[rows] if prof.with_duration else None,
            session=session_no,
            prefix=plan,
            tenants=tenants,
            span_s=duration,
            kept=None if keep is None else kept_codes,
        )
        self.say(f"writing {self.out.name}")
        files = self.fmt.write(w, self.out, self.info())
        self.notes.extend(w.notes)
        self.say("measuring fidelity")
        content: list[Statistic] = []
        if self.fmt.shape == "invocations":
            content = self.function_rates(s_code[mask], span, w.service, duration)
        elif inputs is not None and outputs is not None:
            content = self.token_rows(pool, kept_codes, inputs, outputs, w.status)
        if len(kept_codes) > 1 and self.fmt.shape != "invocations":
            width = len(names)
            content.append(
                mix_row(
                    "service",
                    np.bincount(s_code[mask], minlength=width),
                    np.bincount(w.service, minlength=width),
                )
            )
        if (
            plan is not None
            and plan.measured
            and pool.reused is not None
            and pool.blocks is not None
        ):
            kept_rows = np.isin(pool.service, kept_codes)
            src_share = float(pool.reused[kept_rows].sum() / max(pool.blocks[kept_rows].sum(), 1))
            gen_share = plan.share
            content.append(
                statistic(
                    "prefix reuse share",
                    src_share,
                    gen_share,
                    abs(gen_share - src_share) if gen_share is not None else None,
                    TOLERANCES["reuse_share"],
                    "|generated - source|, share of prefix blocks seen before",
                )
            )
        events = len(w)
        # The arrival statistics need the times only: the contents go first (ten million
        # requests hold about 0.3 GB of them, and the statistics need as much again).
        del w, rows, inputs, outputs, service, session_no, plan, pool
        arr = self.arrival_rows(src_t, t, span, duration, clock)
        kept = None if keep is None else [str(k) for k in keep]
        notes = [f"clock {clock:g} s", f"source span {span:,.1f} s", f"contents: {contents_words}"]
        unit = "invocations" if self.fmt.shape == "invocations" else "requests"
        return self.result(
            files, events, unit, duration, kept, contents_words, self.table(arr, content, notes)
        )

    def request_arrivals(
        self,
        src_t: np.ndarray,
        src_code: np.ndarray,
        kept: list[int],
        names: list[str | None],
        span: float,
        duration: float,
        clock: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generated arrival times and service codes: one model per service when there are a
        few busy ones, else one model and services shared out per minute as in the source."""
        counts = {c: int((src_code == c).sum()) for c in kept}
        label = {c: str(names[c]) if names[c] is not None else "(no service)" for c in kept}
        if 1 < len(kept) <= PER_SERVICE_MAX and min(counts.values()) >= PER_SERVICE_MIN:
            parts_t, parts_s = [], []
            for k, c in enumerate(kept):
                model = self.fit(label[c], src_t[src_code == c], span, clock)
                gen = self.sample(model, duration, k)
                parts_t.append(gen)
                parts_s.append(np.full(len(gen), c, dtype=np.int32))
            t = np.concatenate(parts_t)
            order = np.argsort(t, kind="stable")
            return t[order], np.concatenate(parts_s)[order]
        fitted_on = (
            self.prof.trace if len(kept) == len(names) else ", ".join(label[c] for c in kept)
        )
        model = self.fit(fitted_on, src_t, span, clock)
        t = self.sample(model, duration, 0)
        if len(kept) == 1:
            return t, np.full(len(t), kept[0], dtype=np.int32)
        self.notes.append(
            f"{len(kept)} services share one arrival model; each generated minute is shared "
            "among them as in the matching minute of the source"
        )
        return t, self._shared_out(t, src_t, src_code, span).astype(np.int32)

    def _shared_out(
        self, t: np.ndarray, src_t: np.ndarray, src_keys: np.ndarray, span: float
    ) -> np.ndarray:
        period = max(1, math.ceil(span / BIN_S))
        sb = np.minimum((src_t // BIN_S).astype(np.int64), period - 1)
        key = sb * (int(src_keys.max(initial=0)) + 1) + src_keys
        uniq, n = np.unique(key, return_counts=True)
        width = int(src_keys.max(initial=0)) + 1
        bins = (t // BIN_S).astype(np.int64)
        totals = np.bincount(bins, minlength=int(bins.max(initial=0)) + 1)
        shared = apportion(totals, uniq // width, uniq % width, n, period, self.share_rng)
        return labels_within_bins(bins, shared, self.share_rng)

    def token_rows(
        self,
        pool: RequestPool,
        kept: list[int],
        inputs: np.ndarray,
        outputs: np.ndarray,
        status: np.ndarray,
    ) -> list[Statistic]:
        """Token quantiles, KS and Spearman of the workload against the source's requests
        (outputs of unfinished requests left out on both sides, as the report does). A
        workload of more than CONTENT_SAMPLE requests is compared on every k-th request: the
        contents are drawn independently of time, so a stride is a random sample, and its
        quantiles are exact to a few parts in a thousand."""
        assert pool.input_tokens is not None and pool.output_tokens is not None
        unfinished = np.array([s in UNFINISHED for s in pool.statuses])
        rows = np.isin(pool.service, kept)
        src_out = np.where(unfinished[pool.status[rows]], np.nan, pool.output_tokens[rows])
        step = max(1, math.ceil(len(inputs) / CONTENT_SAMPLE))
        if step > 1:
            self.notes.append(
                f"generated token lengths compared on every {step}th request "
                f"({math.ceil(len(inputs) / step):,} of {len(inputs):,})"
            )
        gen_in, gen_out = inputs[::step], outputs[::step]
        gen_bad = unfinished[status[::step]]
        gen_outputs = np.where(gen_bad, np.nan, gen_out) if gen_bad.any() else gen_out
        return content_fidelity(
            {"input_tokens": pool.input_tokens[rows], "output_tokens": src_out},
            {"input_tokens": gen_in, "output_tokens": gen_outputs},
        )

    def function_rates(
        self, src_fn: np.ndarray, span: float, gen_fn: np.ndarray, duration: float
    ) -> list[Statistic]:
        """Invocations per function per minute, generated (divided by the rate scale) against
        the source, over the source's functions: the quantiles across functions, and the mix
        (total variation distance of each function's share of all invocations).

        No KS row: its tolerance is for per-request values, and across a hundred functions
        with tied counts a 1% change of the total rate moves it by several hundredths."""
        nfun = int(max(src_fn.max(initial=0), gen_fn.max(initial=0))) + 1
        src_n = np.bincount(src_fn, minlength=nfun)
        gen_n = np.bincount(gen_fn, minlength=nfun)
        present = src_n > 0
        name = "invocations per function (/min)" + (
            "" if self.rate_scale == 1 else f" / {self.rate_scale:g}"
        )
        rows = content_fidelity(
            {name: src_n[present] / (span / 60)},
            {name: gen_n[present] / (duration / 60) / self.rate_scale},
        )
        return [r for r in rows if not r.name.endswith(" KS")] + [mix_row("function", src_n, gen_n)]

    # -- jobs

    def jobs(self) -> GenerateResult:
        prof, db, trace = self.prof, self.db, self.prof.trace
        assert prof.first_us is not None
        check_services(trace, [], self.wanted)
        df = source.jobs(db, trace)
        t_src = (df["t_us"].to_numpy() - prof.first_us) / 1e6
        clock = _clock(t_src, prof.time_resolution_s)
        span = float(t_src[-1]) + (clock or 1e-6)
        duration = float(self.duration_s or span)
        self.check_size(len(t_src), "jobs", span, duration)
        self.say("fitting arrivals")
        model = self.fit(trace, t_src, span, clock)
        t = self.sample(model, duration, 0)
        self.say("drawing contents")
        pool = JobPool.from_frame(df, swf_source=db.info(trace).source == "swf")
        rows = pool.draw(len(t), self.draw_rng)
        computer, capacity = source.capacity(db, trace)
        w = JobWorkload(
            t_s=t,
            origin_us=prof.first_us,
            time_origin=prof.time_origin,
            run_s=pool.run_s[rows],
            procs=pool.procs[rows],
            req_time_s=pool.req_time_s[rows],
            req_mem_kb=pool.req_mem_kb[rows],
            status=pool.status[rows],
            user=pool.user[rows],
            group=pool.group[rows],
            executable=pool.executable[rows],
            queue=pool.queue[rows],
            partition=pool.partition[rows],
            capacity=capacity,
            computer=computer,
            notes=pool.notes,
        )
        self.notes.extend(pool.notes)
        self.say(f"writing {self.out.name}")
        files = self.fmt.write(w, self.out, self.info())
        self.say("measuring fidelity")
        arr = self.arrival_rows(t_src, t, span, duration, clock)
        procs_src = np.where(pool.procs < 0, np.nan, pool.procs.astype(np.float64))
        procs_gen = procs_src[rows]
        content = content_fidelity(
            {"run_s": pool.run_s, "processors": procs_src},
            {"run_s": w.run_s, "processors": procs_gen},
        )
        content.append(
            _spearman_row("Spearman processors ~ run_s", procs_src, pool.run_s, procs_gen, w.run_s)
        )
        words = (
            "job size, run time, requested time and memory, status, user, group and queue "
            "resampled together from source jobs"
        )
        notes = [f"clock {clock:g} s", f"source span {span:,.1f} s", f"contents: {words}"]
        return self.result(
            files, len(w), "jobs", duration, None, words, self.table(arr, content, notes)
        )

    # -- invocations (per-minute counts per function)

    def invocations(self) -> GenerateResult:
        prof, db, trace = self.prof, self.db, self.prof.trace
        assert prof.first_us is not None
        df = source.invocations(db, trace)
        keep = check_services(trace, sorted(set(df["service"].drop_nulls().to_list())), self.wanted)
        if keep is not None:
            df = df.filter(df["service"].is_in(list(keep)))
        ids = df.select("tenant", "service", "entity", "kind")
        fn_keys = ids.unique(maintain_order=True)
        fn = (
            ids.with_row_index("row")
            .join(
                fn_keys.with_row_index("fn"),
                on=["tenant", "service", "entity", "kind"],
                nulls_equal=True,
            )
            .sort("row")["fn"]
            .to_numpy()
            .astype(np.int64)
        )
        first_minute = prof.first_us // 60_000_000
        minute = df["minute"].to_numpy() - first_minute
        n = df["n"].to_numpy().astype(np.int64)
        minutes = round(prof.span_s / 60)
        span = minutes * 60.0
        clock = 60.0
        # Each count stands for that many arrivals within its minute: they are placed at the
        # minute's start and the model de-quantizes them within the tick.
        order = np.argsort(minute, kind="stable")
        src_t = np.repeat(minute[order] * 60.0, n[order])
        duration = float(self.duration_s or span)
        self.check_size(len(src_t), "invocations", span, duration)
        self.say("fitting arrivals")
        model = self.fit(trace, src_t, span, clock)
        t = self.sample(model, duration, 0)
        self.say("sharing invocations among functions")
        gen_minutes = math.ceil(duration / 60 - 1e-9)
        totals = np.bincount(
            np.minimum((t // 60).astype(np.int64), gen_minutes - 1), minlength=gen_minutes
        )
        g_min, g_fn, g_n = apportion(totals, minute, fn, n, minutes, self.share_rng)
        rows = fn_keys.to_dicts()
        w = InvocationWorkload(
            owners=[str(r["tenant"] or "") for r in rows],
            apps=[str(r["service"] or "") for r in rows],
            functions=[str(r["entity"] or "") for r in rows],
            triggers=[str(r["kind"] or "") for r in rows],
            fn=g_fn,
            minute=g_min,
            n=g_n,
            first_minute=int(first_minute),
            minutes=gen_minutes,
        )
        if db.has(trace, "summaries"):  # published duration and memory percentiles, if any
            w.durations = source.query(db, "source_function_durations", trace=trace)
            w.memory = source.query(db, "source_function_memory", trace=trace)
        self.say(f"writing {self.out.name}")
        files = self.fmt.write(w, self.out, self.info())
        self.notes.extend(w.notes)
        self.say("measuring fidelity")
        arr = self.arrival_rows(src_t, t, span, duration, clock)
        content = self.function_rates(np.repeat(fn, n), span, np.repeat(g_fn, g_n), duration)
        words = (
            "each generated minute's invocations shared among functions in proportion to their "
            "counts in the matching source minute (balanced per function, remainders carried)"
        )
        notes = [f"clock {clock:g} s", f"source span {span:,.1f} s", f"contents: {words}"]
        kept = None if keep is None else [str(k) for k in keep]
        return self.result(
            files, len(w), "invocations", duration, kept, words, self.table(arr, content, notes)
        )


def mix_row(what: str, src_n: np.ndarray, gen_n: np.ndarray) -> Statistic:
    """How differently the events are shared among keys (functions, services): the total
    variation distance of the shares, half the sum of |generated share - source share|."""
    src, gen = src_n / max(src_n.sum(), 1), gen_n / max(gen_n.sum(), 1)
    keys = int((src_n > 0).sum())
    return statistic(
        f"{what} mix",
        float(keys),
        float((gen_n > 0).sum()),
        0.5 * float(np.abs(gen - src).sum()),
        TOLERANCES["ks"],
        f"total variation distance of each {what}'s share of all events (source and generated: "
        f"{what}s with events; tolerance as a KS distance)",
    )


def _spearman_row(
    name: str, xs: np.ndarray, ys: np.ndarray, xg: np.ndarray, yg: np.ndarray
) -> Statistic:
    from scipy import stats

    def rho(x: np.ndarray, y: np.ndarray) -> float | None:
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            return None
        return float(stats.spearmanr(x[ok], y[ok]).statistic)

    a, b = rho(xs, ys), rho(xg, yg)
    return statistic(
        name,
        a,
        b,
        abs(b - a) if a is not None and b is not None else None,
        TOLERANCES["spearman"] if a is not None else None,
        "|generated - source|, jobs where both are known",
    )
