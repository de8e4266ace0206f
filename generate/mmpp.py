"""Markov modulation: a hidden state that multiplies the arrival rate, switching at random
times (with a Poisson process in each state, a Markov-modulated Poisson process, MMPP).

Fitted as a hidden Markov model of counts per bin with Poisson emissions (Baum-Welch), where
bin b expects `expected[b]` arrivals in the state of level 1, so the modulation can ride on a
rate curve (`expected` follows the curve) or stand alone (`expected` constant). The per-bin
transition matrix P becomes a continuous-time chain: state i is left at rate -ln(P_ii) / bin,
to state j with probability P_ij / (1 - P_ii). Levels are scaled so that their stationary
mean is 1: the modulation changes when arrivals come, not how many.

The forward-backward passes loop over bins in Python, so the fit takes at most MAX_FIT_BINS
bins (about 0.3 s for 2 states).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_FIT_BINS = 2_000
ITERATIONS = 60
TOLERANCE = 1e-7  # relative change of the log-likelihood that ends the iterations
MIN_STAY = 1e-9  # keeps -ln(P_ii) finite for a state never left


@dataclass(frozen=True)
class MarkovModulation:
    """A continuous-time Markov chain of rate levels (stationary mean level 1)."""

    levels: FloatArray  # rate multiplier in each state
    exit_rate: FloatArray  # per second: how fast each state is left
    jump: FloatArray  # K x K: where the chain goes on leaving a state (zero diagonal)
    stationary: FloatArray  # long-run share of time in each state
    bin_s: float  # width of the counts it was fitted on (s)
    log_likelihood: float

    def path(self, duration_s: float, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        """A random path over [0, duration_s]: edges of the sojourns and each one's level."""
        k = self.levels.size
        p0 = self.stationary / self.stationary.sum()
        start = int(rng.choice(k, p=p0))
        mean_stay = float(self.stationary @ (1.0 / self.exit_rate))
        block = max(64, min(4_000_000, int(1.5 * duration_s / mean_stay) + 64))
        chunks: list[IntArray] = []
        stays: list[FloatArray] = []
        t = 0.0
        while t < duration_s:
            states = self._walk(start, block, rng)
            stay = rng.standard_exponential(block) / self.exit_rate[states]
            chunks.append(states)
            stays.append(stay)
            t += float(stay.sum())
            start = int(rng.choice(k, p=self.jump[states[-1]]))
        state = np.concatenate(chunks)
        ends = np.cumsum(np.concatenate(stays))
        n = int(np.searchsorted(ends, duration_s)) + 1
        edges = np.concatenate(([0.0], np.minimum(ends[:n], duration_s)))
        return edges, self.levels[state[:n]]

    def _walk(self, start: int, n: int, rng: np.random.Generator) -> IntArray:
        """n successive states of the jump chain from `start`. Two states alternate; more
        are walked one step at a time (on Python lists: a step is a bisection)."""
        k = self.levels.size
        if k == 2:
            return ((start + np.arange(n)) % 2).astype(np.int64)
        cum = np.cumsum(self.jump, axis=1).tolist()
        out = [start]
        for u in rng.random(n - 1).tolist():
            row = cum[out[-1]]
            out.append(min(bisect.bisect_left(row, u * row[-1]), k - 1))
        return np.asarray(out, dtype=np.int64)

    def describe(self) -> dict[str, object]:
        return {
            "states": int(self.levels.size),
            "levels": [float(x) for x in self.levels],
            "mean_stay_s": [float(1.0 / r) for r in self.exit_rate],
            "time_share": [float(x) for x in self.stationary],
            "fit_bin_s": self.bin_s,
        }


def _stationary(p: FloatArray) -> FloatArray:
    w, v = np.linalg.eig(p.T)
    vec = np.abs(np.real(v[:, int(np.argmin(np.abs(w - 1.0)))]))
    return np.asarray(vec / vec.sum(), dtype=np.float64)


def _forward_backward(
    pi: FloatArray, p: FloatArray, b: FloatArray, scale: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Scaled forward and backward variables; `scale` receives each step's normaliser.

    Plain Python floats: with a handful of states a step is a few multiplications, where
    numpy's per-call overhead on arrays of three would cost ten times more."""
    n, k = b.shape
    rows = b.tolist()
    pl = p.tolist()
    cols = p.T.tolist()
    states = range(k)
    a = [pi[j] * rows[0][j] for j in states]
    s = sum(a)
    fwd = [[x / s for x in a]]
    scale[0] = s
    for t in range(1, n):
        prev = fwd[-1]
        bt = rows[t]
        a = [sum(x * y for x, y in zip(prev, cols[j], strict=True)) * bt[j] for j in states]
        s = sum(a)
        scale[t] = s
        fwd.append([x / s for x in a])
    bwd = [[1.0] * k for _ in range(n)]
    for t in range(n - 2, -1, -1):
        nxt = bwd[t + 1]
        bt = rows[t + 1]
        w = [bt[j] * nxt[j] for j in states]
        st = scale[t + 1]
        bwd[t] = [sum(x * y for x, y in zip(pl[i], w, strict=True)) / st for i in states]
    return np.asarray(fwd), np.asarray(bwd)


def fit_modulation(
    counts: FloatArray, expected: FloatArray, bin_s: float, states: int = 3
) -> MarkovModulation | None:
    """Baum-Welch for a Poisson HMM of `counts` with state k expecting levels[k] x expected.

    None when the counts cannot support `states` distinct levels (too few bins or no arrivals).
    """
    c = np.asarray(counts, dtype=np.float64)
    e = np.maximum(np.asarray(expected, dtype=np.float64), 1e-12)
    n = c.size
    if n < 4 * states or c.sum() <= 0:
        return None
    ratio = (c + 0.5) / (e + 0.5)
    levels = np.quantile(ratio, (np.arange(states) + 0.5) / states) + 0.1 * np.arange(states)
    stay = 0.9
    p = np.full((states, states), (1 - stay) / max(states - 1, 1))
    np.fill_diagonal(p, stay)
    pi = np.full(states, 1.0 / states)
    scale = np.empty(n)
    last = -math.inf
    loglik = -math.inf
    for _ in range(ITERATIONS):
        lam = levels[None, :] * e[:, None]
        logb = c[:, None] * np.log(lam) - lam
        top = logb.max(axis=1, keepdims=True)
        b = np.exp(logb - top)
        alpha, beta = _forward_backward(pi, p, b, scale)
        loglik = float(np.log(scale).sum() + top.sum())
        gamma = alpha * beta
        gamma /= gamma.sum(axis=1, keepdims=True)
        xi = np.einsum("ti,ij,tj->ij", alpha[:-1], p, b[1:] * beta[1:] / scale[1:, None])
        p = xi / xi.sum(axis=1, keepdims=True)
        pi = gamma[0]
        weight = gamma.T @ e
        levels = np.where(weight > 0, (gamma.T @ c) / np.maximum(weight, 1e-300), 0.0)
        levels = np.maximum(levels, 1e-6)
        if abs(loglik - last) <= TOLERANCE * abs(loglik):
            break
        last = loglik
    order = np.argsort(levels)
    levels, p = levels[order], p[np.ix_(order, order)]
    stay_p = np.clip(np.diag(p), MIN_STAY, 1 - MIN_STAY)
    exit_rate = -np.log(stay_p) / bin_s
    jump = p.copy()
    np.fill_diagonal(jump, 0.0)
    rows = jump.sum(axis=1, keepdims=True)
    jump = np.where(rows > 0, jump / np.where(rows > 0, rows, 1.0), 1.0 / max(states - 1, 1))
    np.fill_diagonal(jump, 0.0)
    # The continuous-time chain's share of time in each state: the jump chain's stationary
    # visits times the mean stay (it differs from P's stationary law when states are left
    # within a bin or two), and the levels average 1 over it.
    share = _stationary(jump) / exit_rate
    share /= share.sum()
    levels = levels / float(share @ levels)
    return MarkovModulation(levels, exit_rate, jump, share, float(bin_s), loglik)
