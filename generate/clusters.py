"""Clusters of arrivals: requests or jobs that come together (a job's tasks submitted in the
same microsecond, a batch of instances created in the same second, an app's functions
triggered within a few milliseconds of each other), resampled whole.

A cluster is a run of arrivals each within `gap_s` of the one before. A clustered model
generates cluster *epochs* from an arrival model of its own and puts one of the source's
clusters at each epoch, with its members at their offsets from its anchor: sizes, internal
gaps and their correlation are the source's. The anchor is the cluster's middle arrival (the
lower median), not its first: a cluster that starts just before a bin edge and lies mostly
after it (functions triggered by a timer on the minute) belongs to the bin it mostly lies in,
and is drawn for, and put in, that bin.

Which cluster: one from the same part of the source (the same bin of `local_s` seconds, at the
source time the epoch maps to), taken in turn from a random start, so that each of the bin's
clusters is used once before any is used again. A trace whose arrivals are dominated by a few
huge clusters (a job of thousands of tasks) then keeps them about where they were and keeps
its count, where drawing clusters at random would move the count by a whole cluster at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Arrivals closer than this share of the mean gap to the one before are one cluster (the
# clustered arrival models, and the effective sample size of `effective_arrivals`).
CLUSTER_GAP_SHARE = 0.1


@dataclass(frozen=True)
class ClusterShapes:
    """The source's clusters: how many arrivals each has and when they came after its first."""

    gap_s: float  # arrivals closer than this to the one before belong to its cluster
    sizes: IntArray  # arrivals per cluster
    starts: IntArray  # where each cluster's offsets begin in `offsets`
    offsets: FloatArray  # each arrival's time after its cluster's anchor (s), cluster by cluster
    origins: FloatArray  # each cluster's anchor (middle arrival) in the source (s), ascending
    local_s: float = 0.0  # clusters are drawn from bins of this width (0: from all of them)

    @property
    def mean_size(self) -> float:
        return float(self.sizes.mean())

    def _pick(
        self,
        epochs: FloatArray,
        rng: np.random.Generator,
        source_time: Callable[[FloatArray], FloatArray] | None,
    ) -> IntArray:
        """Which cluster goes at each epoch (see the module docstring)."""
        k = self.sizes.size
        if self.local_s <= 0 or source_time is None:
            return rng.integers(0, k, epochs.size)
        where = np.floor(source_time(epochs) / self.local_s).astype(np.int64)
        home = np.floor(self.origins / self.local_s).astype(np.int64)
        first = np.searchsorted(home, where, side="left")
        count = np.searchsorted(home, where, side="right") - first
        order = np.argsort(where, kind="stable")
        sorted_bins = where[order]
        starts = np.flatnonzero(np.concatenate(([True], np.diff(sorted_bins) != 0)))
        lengths = np.diff(np.append(starts, sorted_bins.size))
        rank = np.empty(epochs.size, dtype=np.int64)
        rank[order] = np.arange(epochs.size) - np.repeat(starts, lengths)
        shift = rng.integers(0, 1 << 30, epochs.size)
        shift[order] = np.repeat(shift[order][starts], lengths)  # one random start per bin
        local = first + (rank + shift) % np.maximum(count, 1)
        return np.where(count > 0, local, rng.integers(0, k, epochs.size))

    def expand(
        self,
        epochs: FloatArray,
        rng: np.random.Generator,
        source_time: Callable[[FloatArray], FloatArray] | None = None,
        compress: float = 1.0,
    ) -> FloatArray:
        """A source cluster at each epoch: every arrival's time, sorted. `source_time` maps a
        generated time to the source time whose clusters it draws from (None: any cluster);
        members are `compress` times their source offsets from the anchor."""
        if epochs.size == 0:
            return np.empty(0, dtype=np.float64)
        pick = self._pick(epochs, rng, source_time)
        size = self.sizes[pick]
        total = int(size.sum())
        # each arrival's index into `offsets`: its cluster's start there, minus the arrivals
        # of the clusters before it, plus its own position (in place: 10M arrivals are 80 MB
        # an array)
        shift = self.starts[pick] - (np.cumsum(size) - size)
        del pick
        index = np.arange(total, dtype=np.int64)
        index += np.repeat(shift, size)
        del shift
        offsets = self.offsets[index]
        del index
        if compress != 1.0:
            offsets *= compress
        t = np.repeat(epochs, size)
        t += offsets
        t.sort(kind="stable")  # timsort: nearly sorted already (clusters are short)
        return t

    def describe(self) -> dict[str, object]:
        return {
            "within_s": self.gap_s,
            "clusters": int(self.sizes.size),
            "mean_size": self.mean_size,
            "largest": int(self.sizes.max()),
            "single_share": float(np.mean(self.sizes == 1)),
            "drawn_from": f"bins of {self.local_s:g} s" if self.local_s > 0 else "all clusters",
        }


def find_clusters(
    ts_s: FloatArray, gap_s: float, local_s: float = 0.0
) -> tuple[IntArray, ClusterShapes]:
    """Split sorted arrivals into clusters: (index of each cluster's anchor, its middle
    arrival, shapes)."""
    t = np.asarray(ts_s, dtype=np.float64)
    new = np.concatenate(([True], np.diff(t) > gap_s))
    first = np.flatnonzero(new).astype(np.int64)
    sizes = np.diff(np.append(first, t.size)).astype(np.int64)
    anchor = first + (sizes - 1) // 2
    offsets = t - np.repeat(t[anchor], sizes)
    shapes = ClusterShapes(float(gap_s), sizes, first.copy(), offsets, t[anchor], float(local_s))
    return anchor, shapes


def effective_arrivals(ts_s: FloatArray) -> float:
    """How many independent arrivals sorted times `ts_s` are worth: Kish's effective sample
    size over their clusters (arrivals within CLUSTER_GAP_SHARE of the mean gap of the one
    before), (sum of sizes)^2 / (sum of squared sizes). The arrivals of one cluster move
    together, so a trace whose 17,425 tasks include one job of 2,000 submitted together is
    worth about 29 independent arrivals, not 17,425."""
    t = np.asarray(ts_s, dtype=np.float64)
    if t.size < 2:
        return float(t.size)
    mean_gap = (t[-1] - t[0]) / (t.size - 1)
    first = np.flatnonzero(np.concatenate(([True], np.diff(t) > CLUSTER_GAP_SHARE * mean_gap)))
    sizes = np.diff(np.append(first, t.size)).astype(np.float64)
    return float(t.size) ** 2 / float(np.dot(sizes, sizes))
