"""Peak dense FP16/BF16 tensor throughput and memory bandwidth of common GPUs.

The table itself lives in the light runtime (`predictors.runtime.roofline.GPUS`), so that a
scheduler's session computes the same roofline features as training without importing this
package's heavy modules; this module keeps the names the batch code and the CLI use and
refuses an unknown GPU with the way to add it.
"""

from __future__ import annotations

from predictors.runtime.errors import PredictorUsageError
from predictors.runtime.roofline import GPUS, Gpu

__all__ = ["GPUS", "Gpu", "gpu"]


def gpu(name: str) -> Gpu:
    """The table row for a GPU name as traces spell it (`a100`, `H100`, ...)."""
    key = name.strip().lower()
    if key not in GPUS:
        raise PredictorUsageError(
            f"No GPU named {name!r} in predictors/runtime/roofline.py (GPUS). Known: "
            f"{', '.join(GPUS)}. Add a row with its datasheet peak dense FP16 FLOP/s and memory "
            "bandwidth."
        )
    return GPUS[key]
