"""Peak dense FP16/BF16 tensor throughput and memory bandwidth of common GPUs.

The batch-latency predictor divides each operator's FLOPs and bytes by these numbers, so a
model of another size on the same GPU, or the same model on another GPU, lands in the same
range of features instead of outside the trees' training range. Numbers are vendor
datasheet peaks (dense, no structured sparsity); measured kernels reach a fraction of them,
which is what the model learns.
"""

from __future__ import annotations

from dataclasses import dataclass

from predictors.common import PredictorUsageError


@dataclass(frozen=True)
class Gpu:
    name: str
    peak_flops: float  # FLOP/s, dense FP16/BF16 tensor core
    mem_bw: float  # bytes/s, device memory
    memory_gb: float


GPUS: dict[str, Gpu] = {
    # NVIDIA A100 Tensor Core GPU datasheet (nvidia.com, 2021): BF16/FP16 tensor 312 TFLOPS
    # dense (624 with sparsity); A100 80GB SXM 2,039 GB/s HBM2e. Vidur profiled A100 80GB.
    "a100": Gpu("NVIDIA A100 80GB SXM", 312e12, 2039e9, 80),
    # Same datasheet: A100 40GB SXM 1,555 GB/s HBM2.
    "a100-40gb": Gpu("NVIDIA A100 40GB SXM", 312e12, 1555e9, 40),
    # NVIDIA H100 Tensor Core GPU datasheet (nvidia.com, 2023): H100 SXM BF16/FP16 tensor
    # 1,979 TFLOPS with sparsity, so 989.5 dense; 3.35 TB/s HBM3.
    "h100": Gpu("NVIDIA H100 80GB SXM", 989.5e12, 3350e9, 80),
    # Same datasheet: H100 PCIe 1,513 TFLOPS with sparsity (756.5 dense); 2 TB/s HBM2e.
    "h100-pcie": Gpu("NVIDIA H100 80GB PCIe", 756.5e12, 2000e9, 80),
    # NVIDIA A40 datasheet (nvidia.com, 2021): FP16 tensor 149.7 TFLOPS dense; 696 GB/s GDDR6.
    "a40": Gpu("NVIDIA A40", 149.7e12, 696e9, 48),
    # NVIDIA L4 datasheet (nvidia.com, 2023): FP16 tensor 242 TFLOPS with sparsity (121
    # dense); 300 GB/s GDDR6.
    "l4": Gpu("NVIDIA L4", 121e12, 300e9, 24),
    # NVIDIA V100 datasheet (nvidia.com, 2020): SXM2 tensor 125 TFLOPS; 900 GB/s HBM2.
    "v100": Gpu("NVIDIA V100 SXM2", 125e12, 900e9, 32),
}


def gpu(name: str) -> Gpu:
    """The table row for a GPU name as traces spell it (`a100`, `H100`, ...)."""
    key = name.strip().lower()
    if key not in GPUS:
        raise PredictorUsageError(
            f"No GPU named {name!r} in predictors/hardware.py. Known: {', '.join(GPUS)}. "
            "Add a row with its datasheet peak FLOP/s and memory bandwidth."
        )
    return GPUS[key]
