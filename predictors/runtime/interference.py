"""VM-interference features computed online, one run at a time, exactly as training computes
them in batch from the lake (predictors/interference.py; `traces predict --online` and
tests/predictors/test_interference_session.py check that the two agree).

A scheduler calls `predict(request)` before it places work on a VM (the request names the VM,
its SKU and region, and the start time) and gets the target benchmark's predicted ratio to its
SKU/region median; it calls `observe(request, value=...)` with every benchmark run it measures
on a VM, the target's or a probe's (`request["series"]`, default the target, and
`request["runtime_s"]`). A run is visible to the features of a prediction only if it was known
(start + runtime) strictly before that prediction's start, whenever `observe` was called: the
same rule training used.

State (capped; `state_size()` counts entries and evictions): per VM, least recently used
evicted beyond `vms`, the last `runs_per_vm` target runs (known µs, start µs, ratio) and, per
probe series, the last `runs_per_probe` runs (known µs, start µs, deviation). The feature
windows need the last 10 target runs and the latest probe run; a VM evicted and seen again
starts with no history, as a new VM does.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Mapping
from typing import Any, ClassVar

from predictors.runtime.errors import FeatureError, ModelCardError, PredictorUsageError
from predictors.runtime.session import LRU, Session, number, text, timestamp_us

US_PER_H = 3_600_000_000
NAN = math.nan

Run = tuple[int, int, float]  # (known µs, start µs, ratio or deviation)


class _VM:
    __slots__ = ("probes", "runs")

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.probes: dict[str, list[Run]] = {}


def _card(card: Mapping[str, Any], path: str) -> Any:
    value: Any = card
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise ModelCardError(
                f"The interference model card lacks '{path}', which the session needs; "
                "train the model again with `traces train interference`."
            )
        value = value[key]
    return value


def _insert(runs: list[Run], run: Run, cap: int) -> None:
    """Keep `runs` sorted by (known, start) and at most `cap` long (the latest known)."""
    insort(runs, run)
    if len(runs) > cap:
        del runs[: len(runs) - cap]


class InterferenceSession(Session):
    """Features of the interference model from the runs a scheduler measures (module doc)."""

    LIMITS: ClassVar[dict[str, int]] = {"vms": 10_000, "runs_per_vm": 12, "runs_per_probe": 2}

    def __init__(self, model: Any, **limits: Any) -> None:
        super().__init__(model, **limits)
        card = model.card
        self.target: str = _card(card, "baselines.target")
        self.medians: dict[str, float] = dict(_card(card, "baselines.sku_region_median"))
        self.probe_medians: dict[str, dict[str, float]] = dict(
            _card(card, "baselines.probe_medians")
        )
        self.probe_features: dict[str, str] = dict(_card(card, "probe_features"))
        self.gap_us = round(float(_card(card, "options.max_gap_h")) * US_PER_H)
        self.history = int(_card(card, "options.history_runs"))
        self.mean_runs = int(_card(card, "options.mean_runs"))
        self.recent = int(_card(card, "options.recent_runs"))
        self.vms: LRU[str, _VM] = LRU(self.limits["vms"])

    # --- requests -------------------------------------------------------------------------

    def _where(self, request: Mapping[str, Any]) -> tuple[str, str, int]:
        vm = text(request, "vm", "the VM id")
        sku = text(request, "sku", "the VM size, e.g. D8s_v5")
        region = text(request, "region", "the Azure region, e.g. eastus")
        for name, value in (("vm", vm), ("sku", sku), ("region", region)):
            if value is None:
                raise FeatureError(f"Request field {name!r} is missing: the {name} of the run.")
        key = f"{sku}|{region}"
        if key not in self.medians:
            raise FeatureError(
                f"Request fields 'sku' and 'region' are {sku!r} and {region!r}, a pair the "
                f"model has no median for (known: {', '.join(sorted(self.medians))}); its "
                "output is a ratio to that median."
            )
        ts = timestamp_us(request)
        assert ts is not None and vm is not None
        return vm, key, ts

    def features(self, request: Mapping[str, Any]) -> dict[str, Any]:
        vm, _, ts = self._where(request)
        state = self.vms.get(vm)
        out: dict[str, Any] = {"sku": request["sku"], "region": request["region"]}
        runs = [] if state is None else state.runs
        # the runs known strictly before ts are a prefix of the (known, start) order
        k = len(runs)
        while k and runs[k - 1][0] >= ts:
            k -= 1
        recent = runs[max(0, k - self.history) : k][::-1]  # newest first
        n = len(recent)
        if n:
            total = recent[0][2]
            for i in range(1, min(n, self.mean_runs)):
                total = total + recent[i][2]
            mean3 = total / float(min(n, self.mean_runs))
            total = recent[0][2]
            for i in range(1, n):
                total = total + recent[i][2]
            five = sorted(r[2] for r in recent[: self.recent])
            m = len(five)
            median = five[m // 2] if m % 2 == 1 else (five[m // 2 - 1] + five[m // 2]) / 2.0
            out.update(
                target_last=recent[0][2],
                target_mean3=mean3,
                target_min5=five[0],
                target_max5=five[-1],
                target_mean10=total / float(n),
                target_count=float(n),
                target_age_h=(ts - recent[0][0]) / US_PER_H,
                target_anchor=median,
            )
        else:
            out.update(
                target_last=NAN,
                target_mean3=NAN,
                target_min5=NAN,
                target_max5=NAN,
                target_mean10=NAN,
                target_count=0.0,
                target_age_h=NAN,
                target_anchor=1.0,
            )
        probes = {} if state is None else state.probes
        for series, name in self.probe_features.items():
            value = NAN
            for known, _, dev in reversed(probes.get(series, ())):
                if known < ts:
                    if ts - known <= self.gap_us:
                        value = dev
                    break
            out[name] = value
        out["hour_of_day"] = (ts // US_PER_H) % 24 + ((ts // 60_000_000) % 60) / 60.0
        out["weekday"] = float((ts // 86_400_000_000 + 3) % 7 + 1)
        return out

    def _arrived(self, request: Mapping[str, Any], features: Mapping[str, Any]) -> None:
        vm = request["vm"]
        if vm in self.vms:
            self.vms.touch(vm)

    def observe(self, request: Mapping[str, Any], **measured: Any) -> None:
        """Record a measured run of the target or a probe on the request's VM."""
        if set(measured) != {"value"}:
            raise PredictorUsageError(
                "observe(request, value=X) takes the run's measured value only; got "
                f"{', '.join(measured) or 'nothing'}."
            )
        value = number(measured, "value", "the run's measured value, a number >= 0")
        assert value is not None
        vm, key, ts = self._where(request)
        series = text(request, "series", "the benchmark series the run measured") or self.target
        runtime = number(request, "runtime_s", "the run's duration in seconds", required=False)
        known = ts + math.floor((runtime or 0.0) * 1_000_000 + 0.5)
        if series == self.target:
            entry: Run = (known, ts, value / self.medians[key])
        elif series in self.probe_medians:
            median = self.probe_medians[series].get(key)
            if median is None:
                raise FeatureError(
                    f"Probe {series!r} has no training median for {key!r}: its runs there "
                    "cannot be turned into a deviation."
                )
            entry = (known, ts, value / median)
        else:
            raise FeatureError(
                f"Request field 'series' is {series!r}, neither the target ({self.target}) "
                f"nor a probe of this model ({'; '.join(self.probe_medians)})."
            )
        state = self.vms.get(vm)
        if state is None:
            state = _VM()
        self.vms.put(vm, state)
        if series == self.target:
            _insert(state.runs, entry, self.limits["runs_per_vm"])
        else:
            _insert(state.probes.setdefault(series, []), entry, self.limits["runs_per_probe"])

    def state_size(self) -> dict[str, int]:
        return {
            "vms": len(self.vms),
            "target_runs": sum(len(s.runs) for s in self.vms.values()),
            "probe_runs": sum(len(r) for s in self.vms.values() for r in s.probes.values()),
            "evicted_vms": self.vms.evicted,
        }
