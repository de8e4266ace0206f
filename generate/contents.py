"""What each generated request or job carries, fitted from the source trace in the lake.

**Token lengths: source pairs resampled jointly, per service** (`method="pairs"`, the
default). Each generated request of a service takes the whole record of a request of that
service, drawn in rounds without replacement (`rounds`): input and output lengths together,
with its kind, outcome and duration. The joint law is the source's own, so the marginals, the
input-output rank correlation, the caps (an output that stopped at max_tokens) and the exact
repeats (95% of Azure 2023 conversation requests share an input length with another) all
carry over. A Gaussian copula over the empirical marginals (`method="copula"`, kept for
comparison, its correlation set from the pair's Spearman rho) keeps the marginals and the
rank correlation and nothing else: on Azure 2023 conversation only 13% of its pairs are
source pairs, and the median output of prompts over 3,000 tokens comes out 152 tokens where
the source has 57 (pairs: 57). The price of pairs is that they never make a pair the source
did not have (`tests/generate/test_contents.py` compares the two).

**Sessions** (a trace whose requests mostly carry a session id, as BurstGPT's third
release): whole sessions are resampled (number of turns, delays between turns, each turn's
tokens), and the arrival model is fitted on session starts; requests without a session are
sessions of one turn.

**Prefix blocks** (Mooncake's `hash_ids`): each source request is described by its block
count, the leading blocks an earlier request already held (`reused`) and how many requests
back the latest holder was (`back`); these are resampled with the token pair, and a generated
request copies that many leading blocks from the request that far back in the generated
stream (or the closest earlier one long enough) and mints new ids for the rest. So the share
of reused blocks, the universal root block and the reuse distance follow the source; block
size comes from the trace (`hash_block_tokens`).

**Jobs** (SWF): size, run time, requested time and memory, outcome, user, group and queue are
resampled together from one source job. **Functions and services** beyond what one arrival
model each can carry: a generated minute's invocations are shared among functions in
proportion to their counts in the matching source minute (`apportion`), so each keeps its
rate and its profile over the day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import special

CONTENT_METHODS = ("pairs", "copula")
DEFAULT_BLOCK_TOKENS = 512  # Mooncake's block size, used when the source has no hash ids
SEARCH_BACK = 256  # requests searched for a parent long enough when the drawn one is not


def small_ints(n: int) -> type[np.signedinteger]:
    """The narrowest signed integer type that holds 0..n (codes of ten million requests in
    one byte each rather than eight)."""
    for kind in (np.int8, np.int16, np.int32):
        if n <= np.iinfo(kind).max:
            return kind
    return np.int64


def codes(values: Sequence[object]) -> tuple[np.ndarray, list[object]]:
    """Integer codes for `values` and the names they stand for (first seen, first coded)."""
    names: dict[object, int] = {}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        out[i] = names.setdefault(v, len(names))
    return out.astype(small_ints(len(names))), list(names)


# ---------------------------------------------------------------- request pools


def rounds(size: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` indices into a pool of `size`, drawn in rounds without replacement: every row once
    (in random order) before any row twice. Each row's chance is uniform, as with replacement,
    but the generated multiset stays as close to the pool as its length allows, so a workload
    as long as its source has the source's distribution, not a noisy copy of it."""
    out = np.empty(n, dtype=small_ints(size))
    for start in range(0, n, size):
        stop = min(start + size, n)
        out[start:stop] = rng.permutation(size)[: stop - start]
    return out


@dataclass
class RequestPool:
    """Source requests whose contents are resampled, with their service codes."""

    service: np.ndarray  # int32
    kind: np.ndarray  # int32 codes into kinds
    kinds: list[str | None]
    status: np.ndarray  # int32 codes into statuses
    statuses: list[str | None]
    input_tokens: np.ndarray | None  # int64
    output_tokens: np.ndarray | None
    duration_s: np.ndarray  # float64, NaN unknown
    blocks: np.ndarray | None = None  # prefix blocks per request (hash_ids length)
    reused: np.ndarray | None = None
    back: np.ndarray | None = None
    by_service: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = np.argsort(self.service, kind="stable")
        cuts = np.flatnonzero(np.diff(self.service[order])) + 1
        for part in np.split(order, cuts):
            if len(part):
                self.by_service[int(self.service[part[0]])] = part

    def __len__(self) -> int:
        return len(self.service)

    @classmethod
    def from_frame(cls, df: pl.DataFrame, tokens: bool) -> RequestPool:
        kind, kinds = codes(df["kind"].to_list())
        status, statuses = codes(df["status"].to_list())
        has = set(df.columns)
        return cls(
            service=df["service"].to_numpy().astype(np.int32),
            kind=kind,
            kinds=kinds,  # type: ignore[arg-type]
            status=status,
            statuses=statuses,  # type: ignore[arg-type]
            input_tokens=_ints(df, "input_tokens") if tokens else None,
            output_tokens=_ints(df, "output_tokens") if tokens else None,
            duration_s=df["duration_s"].cast(pl.Float64).fill_null(float("nan")).to_numpy(),
            blocks=_ints(df, "blocks") if "blocks" in has else None,
            reused=_ints(df, "reused") if "reused" in has else None,
            back=_ints(df, "back") if "back" in has else None,
        )

    def draw(self, service: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Pool rows for `n` requests of `service` (see `rounds`)."""
        rows = self.by_service.get(service)
        if rows is None or not len(rows):
            rows = np.arange(len(self))  # a service the pool thinned away: any request
        return rows[rounds(len(rows), n, rng)]


def _ints(df: pl.DataFrame, col: str) -> np.ndarray:
    """A whole-number column, as int32 when it fits (token counts do); NULL (no tokens) becomes
    0 only where the pool let it in."""
    values = df[col].fill_null(0).to_numpy()
    wide = len(values) and (values.max() > np.iinfo(np.int32).max or values.min() < 0)
    return values.astype(np.int64 if wide else np.int32)


def copula_tokens(
    pool: RequestPool, rows: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`n` (input, output) pairs from a Gaussian copula over the empirical marginals of the
    pool rows `rows`: the copula's correlation set from the pair's Spearman rho (rho = 2
    sin(pi rho_s / 6), the Gaussian copula's own relation), each side mapped back through its
    own empirical quantiles (so values are ones the source had)."""
    from scipy.stats import spearmanr

    assert pool.input_tokens is not None and pool.output_tokens is not None
    x = pool.input_tokens[rows].astype(np.float64)
    y = pool.output_tokens[rows].astype(np.float64)
    rho_s = 0.0
    if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
        rho_s = float(spearmanr(x, y).statistic)
    rho = 2 * math.sin(math.pi * rho_s / 6)
    z1 = rng.standard_normal(n)
    z2 = rho * z1 + math.sqrt(max(0.0, 1 - rho * rho)) * rng.standard_normal(n)
    u1, u2 = special.ndtr(z1), special.ndtr(z2)
    xs, ys = np.sort(x), np.sort(y)
    # inverted CDF: the smallest value whose empirical CDF reaches u
    gi = xs[np.minimum((u1 * len(xs)).astype(np.int64), len(xs) - 1)]
    go = ys[np.minimum((u2 * len(ys)).astype(np.int64), len(ys) - 1)]
    return gi.astype(np.int64), go.astype(np.int64)


# ---------------------------------------------------------------- prefix blocks


@dataclass
class PrefixPlan:
    """Prefix blocks of each generated request: `blocks` in all, the leading `reused` copied
    from the request `back` places earlier. `measured` is False when the source had no hash
    ids (every block is then new). Ids are minted on demand, in arrival order, by
    `iter_hash_ids`, which also counts the blocks that really were reused."""

    block_tokens: int
    blocks: np.ndarray
    reused: np.ndarray
    back: np.ndarray
    measured: bool
    total_blocks: int = 0
    reused_blocks: int = 0

    @property
    def share(self) -> float | None:
        """Reused blocks over all blocks, as written (None before any was written)."""
        return self.reused_blocks / self.total_blocks if self.total_blocks else None

    def iter_hash_ids(self, chunk: int) -> Iterator[list[list[int]]]:
        """Lists of hash ids, `chunk` requests at a time. Only the last max(back) requests are
        kept, so memory stays flat however long the workload."""
        keep = int(self.back.max(initial=0)) + SEARCH_BACK + 1
        history: list[list[int] | None] = [None] * keep
        minted = 0
        total = reused_total = 0
        n = len(self.blocks)
        blocks = self.blocks.tolist()
        reused = self.reused.tolist()
        back = self.back.tolist()
        for start in range(0, n, chunk):
            out: list[list[int]] = []
            for i in range(start, min(start + chunk, n)):
                nb, r = blocks[i], min(reused[i], blocks[i])
                head: list[int] = []
                if r > 0 and i > 0:
                    parent = history[(i - back[i]) % keep] if 0 < back[i] <= i else None
                    if parent is None or len(parent) < r:
                        parent = _longer(history, i, r, keep)
                    if parent is not None:
                        head = parent[:r]
                ids = head + list(range(minted, minted + nb - len(head)))
                minted += nb - len(head)
                total += nb
                reused_total += len(head)
                history[i % keep] = ids
                out.append(ids)
            yield out
        self.total_blocks, self.reused_blocks = total, reused_total


def _longer(history: list[list[int] | None], i: int, r: int, keep: int) -> list[int] | None:
    """The closest earlier request with at least `r` blocks (within SEARCH_BACK), else the
    longest one seen there, else None."""
    best: list[int] | None = None
    for j in range(i - 1, max(-1, i - SEARCH_BACK - 1), -1):
        ids = history[j % keep]
        if ids is None:
            continue
        if len(ids) >= r:
            return ids
        if best is None or len(ids) > len(best):
            best = ids
    return best


def prefix_plan(
    input_tokens: np.ndarray,
    block_tokens: int | None,
    reused: np.ndarray | None = None,
    back: np.ndarray | None = None,
) -> PrefixPlan:
    """The prefix plan of generated requests with these inputs: `reused` and `back` drawn with
    them from a source with hash ids, or None (a source without: every block is new)."""
    bt = block_tokens or DEFAULT_BLOCK_TOKENS
    blocks = -(-input_tokens // bt)  # ceil: a partial block is a block, as Mooncake counts
    if reused is None or back is None:
        zero = np.zeros(len(input_tokens), dtype=np.int64)
        return PrefixPlan(bt, blocks, zero, zero, measured=False)
    return PrefixPlan(bt, blocks, np.minimum(reused, blocks), back, measured=True)


# ---------------------------------------------------------------- sessions


@dataclass
class SessionPool:
    """Source sessions, each a run of pool rows with turn delays from the session's start."""

    pool: RequestPool
    offset_s: np.ndarray  # per pool row
    in_session: np.ndarray  # bool per pool row
    starts: np.ndarray  # per session: first pool row
    ends: np.ndarray  # per session: one past the last
    start_s: np.ndarray  # per session: first arrival, seconds since the trace's start

    @classmethod
    def from_frame(cls, df: pl.DataFrame, tokens: bool, first_us: int) -> SessionPool:
        unit = df["unit"].to_numpy()
        cuts = np.flatnonzero(np.diff(unit)) + 1
        starts = np.concatenate([[0], cuts]).astype(np.int64)
        ends = np.concatenate([cuts, [len(unit)]]).astype(np.int64)
        start_us = df["start_us"].to_numpy()[starts]
        return cls(
            pool=RequestPool.from_frame(df, tokens),
            offset_s=df["offset_us"].to_numpy() / 1e6,
            in_session=df["in_session"].to_numpy().astype(bool),
            starts=starts,
            ends=ends,
            start_s=(start_us - first_us) / 1e6,
        )

    def __len__(self) -> int:
        return len(self.starts)

    def expand(
        self, session_t: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For sessions starting at `session_t` (seconds): (arrival seconds, pool row, session
        number or -1) of every turn, sessions drawn uniformly with replacement."""
        pick = rounds(len(self), len(session_t), rng)
        lengths = self.ends[pick] - self.starts[pick]
        owner = np.repeat(np.arange(len(pick)), lengths)
        first = np.repeat(self.starts[pick], lengths)
        within = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = first + within
        t = session_t[owner] + self.offset_s[rows]
        session = np.where(self.in_session[rows], owner, -1).astype(np.int64)
        return t, rows, session


# ---------------------------------------------------------------- sharing counts out


MIX = 0.05  # share of a key's weight spread over every bin, so a key is never stranded
DENSE_MAX = 10_000_000  # bins x keys up to which the spreading is done (else source bins only)


def apportion(
    totals: np.ndarray,
    source_bins: np.ndarray,
    source_keys: np.ndarray,
    source_counts: np.ndarray,
    period: int,
    rng: np.random.Generator,
    balance_rounds: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share each generated bin's count among keys (functions, services) as the source shared
    the matching bin (bin `g` matches source bin `g % period`), keeping each key's rate.

    Weights: a key's share of the matching source bin (a bin without events: its share of the
    whole source).
    Balance: a bursty source gives its busy minutes to few keys, and a generated minute busier
    or quieter than its source minute would move those keys' totals. So each key's weights are
    scaled (iterative proportional fitting) until its expected total is its source count over
    the matched bins, scaled to the generated total: each key keeps its rate and, as far as the
    generated minutes allow, its profile over the day. When a key's source minutes are too
    quiet in the generated run for that (it would end over 1% short), MIX of every key's
    weight is spread over all bins (when bins x keys <= DENSE_MAX) and the balance redone, so
    its invocations move to minutes that have some. A generated run whose minutes have the
    source's totals gets each key's source counts back exactly.
    Rounding carries each key's remainder from bin to bin (largest remainders first, ties at
    random), so a bin's counts add up to its total and a key's running total never strays a
    whole invocation from its expected one: a function the source invoked once a minute still
    is, and rare ones keep their counts.

    `source_*` are sparse rows (bin, key, count). Returns sparse (bin, key, count) of the
    generated bins, sorted by bin then key, zeros left out."""
    keys_all, dense = np.unique(source_keys, return_inverse=True)
    gens = np.flatnonzero(totals)
    empty = np.zeros(0, dtype=np.int64)
    if not len(gens) or not len(keys_all):
        return empty, empty, empty
    nk = len(keys_all)
    counts = source_counts.astype(np.float64)
    bins = np.minimum(source_bins, period - 1)
    bin_total = np.bincount(bins, weights=counts, minlength=period)
    overall = np.bincount(dense, weights=counts, minlength=nk)
    overall = overall / overall.sum()
    m = gens % period
    row_total = totals[gens].astype(np.float64)
    if len(gens) * nk <= DENSE_MAX:
        shares = np.zeros((period, nk))
        np.add.at(shares, (bins, dense), counts)
        replay = shares[m].sum(axis=0)
        has = bin_total > 0
        shares[has] /= bin_total[has, None]
        shares[~has] = overall
        row = np.repeat(np.arange(len(gens)), nk)
        key = np.tile(np.arange(nk), len(gens))
        w = shares[m].ravel()
        spread: np.ndarray | None = np.tile(overall, len(gens))
    else:
        order = np.lexsort((dense, bins))
        sb, sk, sc = bins[order], dense[order], counts[order]
        starts = np.searchsorted(sb, m, side="left")
        ends = np.searchsorted(sb, m, side="right")
        quiet = ends == starts  # no source events in the matching bin: the overall shares
        lengths = np.where(quiet, nk, ends - starts)
        row = np.repeat(np.arange(len(gens)), lengths)
        within = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        from_bin = ~quiet[row]
        cell = np.where(from_bin, np.repeat(starts, lengths) + within, 0)
        key = np.where(from_bin, sk[cell], within)
        w = np.where(from_bin, sc[cell], overall[key])
        spread = None
        replay = np.bincount(key[from_bin], weights=w[from_bin], minlength=nk)
    target = replay * row_total.sum() / replay.sum() if replay.sum() > 0 else overall
    expected, short = _balanced(row, key, w, row_total, target, nk, balance_rounds)
    if short and spread is not None:
        # Some key's source minutes are quiet in this run: spread MIX of every key's weight
        # over all bins, so the balance can move its invocations to minutes that have some.
        expected, _ = _balanced(
            row, key, (1 - MIX) * w + MIX * spread, row_total, target, nk, balance_rounds
        )
    n = _carried(row, key, expected, row_total.astype(np.int64), nk, rng)
    keep = n > 0
    return gens[row[keep]].astype(np.int64), keys_all[key[keep]].astype(np.int64), n[keep]


def _balanced(
    row: np.ndarray,
    key: np.ndarray,
    w: np.ndarray,
    row_total: np.ndarray,
    target: np.ndarray,
    nk: int,
    rounds: int,
) -> tuple[np.ndarray, bool]:
    """Expected counts of cells (row, key): each row shares its total in proportion to `w`
    scaled per key, the scales fitted (iterative proportional fitting) so that each key's
    total is its `target`. Also whether some key stays over 1% (and one event) short."""
    factor = np.ones(nk)
    expected = w
    got: np.ndarray = np.zeros(nk)
    for _ in range(rounds):
        fw = w * factor[key]
        expected = row_total[row] * fw / np.bincount(row, weights=fw)[row]
        got = np.bincount(key, weights=expected, minlength=nk)
        ratio = np.divide(target, got, out=np.ones(nk), where=got > 0)
        if np.max(np.abs(ratio - 1)) < 1e-6:
            break
        factor *= ratio
    short = bool(np.any((target - got > 1) & (got < 0.99 * target)))
    return expected, short


def _carried(
    row: np.ndarray,
    key: np.ndarray,
    expected: np.ndarray,
    totals: np.ndarray,
    nk: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Whole counts for cells (row, key) of expected counts, row by row in order: each key's
    remainder is carried to its next cell, and each row's counts add up to its total."""
    carry = np.zeros(nk)
    out = np.zeros(len(row), dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=len(totals)))])
    for r in range(len(totals)):
        lo, hi = bounds[r], bounds[r + 1]
        ks = key[lo:hi]
        want = expected[lo:hi] + carry[ks]
        n = np.maximum(np.floor(want), 0)
        short = int(totals[r] - n.sum())
        # remainders, with a tie-breaking jitter far below any real difference
        frac = want - n + rng.random(len(ks)) * 1e-9
        while short != 0:
            if short > 0:
                take = np.argsort(-frac)[: min(short, len(ks))]
                n[take] += 1
                frac[take] -= 1
                short -= len(take)
            else:
                able = np.flatnonzero(n > 0)
                take = able[np.argsort(frac[able])[: min(-short, len(able))]]
                n[take] -= 1
                frac[take] += 1
                short += len(take)
        out[lo:hi] = n
        carry[ks] = want - n
    return out


def labels_within_bins(
    bins: np.ndarray,
    apportioned: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """A key for each event given its bin (events sorted by bin): the bin's apportioned keys,
    in random order."""
    a_bin, a_key, a_n = apportioned
    labels = np.repeat(a_key, a_n)
    label_bin = np.repeat(a_bin, a_n)
    # shuffle inside each bin: sort by (bin, random)
    order = np.lexsort((rng.random(len(labels)), label_bin))
    labels = labels[order]
    if len(labels) != len(bins):  # pragma: no cover - apportion keeps every bin's total
        raise AssertionError("apportioned labels do not match the events")
    return labels


# ---------------------------------------------------------------- jobs


SWF_STATUS = {"ok": 1, "failed": 0, "cancelled": 5, "killed": 0, "timeout": 0, "evicted": 0}


@dataclass
class JobPool:
    """Source jobs whose fields are resampled together."""

    run_s: np.ndarray
    procs: np.ndarray  # int64, -1 unknown
    req_time_s: np.ndarray
    req_mem_kb: np.ndarray
    status: np.ndarray  # SWF codes
    user: np.ndarray
    group: np.ndarray
    executable: np.ndarray
    queue: np.ndarray
    partition: np.ndarray
    notes: list[str]

    def __len__(self) -> int:
        return len(self.run_s)

    @classmethod
    def from_frame(cls, df: pl.DataFrame, swf_source: bool) -> JobPool:
        notes: list[str] = []
        cpus = df["num_cpus"].cast(pl.Float64).to_numpy()
        gpus = df["num_gpus"].cast(pl.Float64).to_numpy()
        # SWF counts processors: CPUs where the trace has them, else GPUs (GPU job traces).
        size = np.where(np.isnan(cpus), gpus, cpus)
        if np.isnan(cpus).all() and not np.isnan(gpus).all():
            notes.append("processors are the source's GPUs (it records no CPU counts)")
        fractional = ~np.isnan(size) & (size != np.floor(size))
        if fractional.any():
            notes.append(
                f"{int(fractional.sum()):,} source jobs ask for a fraction of a processor; SWF "
                "counts whole processors, so they are rounded up"
            )
        procs = np.where(np.isnan(size), -1, np.ceil(size)).astype(np.int64)
        mem_kb = df["req_mem_kb"].cast(pl.Float64).to_numpy()
        mem_gb = df["mem_gb"].cast(pl.Float64).to_numpy()
        # SWF memory is KB per processor; other traces give a job's total GB.
        derived = np.where(procs > 0, mem_gb * 1024 * 1024 / np.maximum(procs, 1), np.nan)
        mem = np.where(np.isnan(mem_kb), np.round(derived), mem_kb)
        if swf_source:
            raw = df["status_raw"].cast(pl.Float64, strict=False).to_numpy()
            status = np.where(np.isnan(raw), -1, raw).astype(np.int64)
        else:
            status = np.array(
                [SWF_STATUS.get(s, -1) for s in df["status"].to_list()], dtype=np.int64
            )
        return cls(
            run_s=df["run_s"].cast(pl.Float64).to_numpy(),
            procs=procs,
            req_time_s=df["req_time_s"].cast(pl.Float64).to_numpy(),
            req_mem_kb=np.where(np.isnan(mem), -1, mem).astype(np.int64),
            status=status,
            user=_numbered(df["tenant"].to_list()),
            group=_known_ints(df["group_id"]),
            executable=_known_ints(df["executable"]),
            queue=_known_ints(df["queue"]),
            partition=_numbered(df["cluster"].to_list()),
            notes=notes,
        )

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rounds(len(self), n, rng)


def _known_ints(col: pl.Series) -> np.ndarray:
    return col.cast(pl.Int64).fill_null(-1).to_numpy().astype(np.int64)


def _numbered(values: Sequence[str | None]) -> np.ndarray:
    """SWF numbers users, partitions: keep ids that are numbers (an SWF source), number the
    others 1, 2, ... in order of first appearance; unknown is -1."""
    out = np.full(len(values), -1, dtype=np.int64)
    names: dict[str, int] = {}
    numeric = all(v is None or v.lstrip("-").isdigit() for v in values)
    for i, v in enumerate(values):
        if v is None:
            continue
        out[i] = int(v) if numeric else names.setdefault(v, len(names) + 1)
    return out
