"""The physical side of the latency model, light enough for a scheduler: GPU datasheet peaks,
the FLOPs and bytes of each Vidur operator, and the roofline features the trees read.

One implementation serves both sides: `predictors.batch_latency` calls these functions on
numpy columns of the lake (every row of an operator at once), and the online session
(`predictors.runtime.latency`) on the Python floats of one request. The arithmetic is the same
IEEE double operations in the same order, so a scheduler's features are bit-for-bit the
training features. Standard library and numpy only.

Cost model (dense fp16/bf16, BYTES_PER_ELEMENT = 2, per GPU of a tensor-parallel group):
n tokens in the batch iteration, t tensor-parallel degree, h = n_embd, f = n_expanded_embd,
q = n_head, kv = n_kv_head, d = h / q (head dimension), g = 1 for a gated MLP (SwiGLU: the
up projection computes gate and up, 2f columns) else 0. A GEMM (m x k) @ (k x c) costs
2mkc FLOPs and reads or writes each of its three matrices once. `FORMULAS` spells out every
operator as the model card records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

BYTES_PER_ELEMENT = 2.0  # fp16/bf16 weights and activations

X = TypeVar("X", float, np.ndarray)


@dataclass(frozen=True)
class Gpu:
    name: str
    peak_flops: float  # FLOP/s, dense FP16/BF16 tensor core
    mem_bw: float  # bytes/s, device memory
    memory_gb: float


# Vendor datasheet peaks (dense, no structured sparsity); measured kernels reach a fraction
# of them, which is what the model learns.
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

# Vidur's operators in the order of a layer; the embedding runs once per iteration, the
# others once per layer. Models without a second norm (phi-2: attention and MLP in parallel)
# profile fewer (the card lists each model's).
EMBEDDING = "emb"
LAYER_OPERATORS = (
    "input_layernorm",
    "attn_pre_proj",
    "attn_rope",
    "attn_post_proj",
    "post_attention_layernorm",
    "mlp_up_proj",
    "mlp_act",
    "mlp_down_proj",
    "add",
)
OPERATORS = (EMBEDDING, *LAYER_OPERATORS)
DIMS = ("n_head", "n_kv_head", "n_embd", "n_expanded_embd", "use_gated_mlp")

# What the card records: the same arithmetic as `operator_cost`, as text (B = bytes per element).
FORMULAS: dict[str, dict[str, str]] = {
    "emb": {"flops": "n*h", "bytes": "B*2*n*h"},
    "input_layernorm": {"flops": "5*n*h", "bytes": "B*(2*n*h + h)"},
    "post_attention_layernorm": {"flops": "5*n*h", "bytes": "B*(2*n*h + h)"},
    "attn_pre_proj": {
        "flops": "2*n*h*((q + 2*kv)*d/t)",
        "bytes": "B*(n*h + h*((q + 2*kv)*d/t) + n*((q + 2*kv)*d/t))",
    },
    "attn_rope": {
        "flops": "6*(n*(q + kv)*d/t)",
        "bytes": "B*2*(n*(q + kv)*d/t) + B*2*n*d",
    },
    "attn_post_proj": {
        "flops": "2*n*(q*d/t)*h",
        "bytes": "B*(n*(q*d/t) + (q*d/t)*h + n*h)",
    },
    "mlp_up_proj": {
        "flops": "2*n*h*(f*(1 + g)/t)",
        "bytes": "B*(n*h + h*(f*(1 + g)/t) + n*(f*(1 + g)/t))",
    },
    "mlp_act": {"flops": "5*n*f/t", "bytes": "B*(n*(f*(1 + g)/t) + n*f/t)"},
    "mlp_down_proj": {
        "flops": "2*n*(f/t)*h",
        "bytes": "B*(n*(f/t) + (f/t)*h + n*h)",
    },
    "add": {"flops": "n*h", "bytes": "B*3*n*h"},
}
FORMULA_SYMBOLS = {
    "n": "num_tokens",
    "t": "tensor_parallel",
    "h": "n_embd",
    "f": "n_expanded_embd",
    "q": "n_head",
    "kv": "n_kv_head",
    "d": "n_embd / n_head",
    "g": "1 if use_gated_mlp else 0",
    "B": f"{BYTES_PER_ELEMENT:g} (bytes per fp16/bf16 element)",
}


class UnknownOperator(ValueError):
    """An operator name with no cost formula."""


def _gemm(n: X, k: X, c: X) -> tuple[X, X]:
    return 2.0 * n * k * c, BYTES_PER_ELEMENT * (n * k + k * c + n * c)


def operator_cost(operator: str, n: X, t: X, q: X, kv: X, h: X, f: X, g: X) -> tuple[X, X]:
    """(FLOPs, bytes) per GPU of one call of `operator`; the numbers are floats or numpy
    float64 arrays of one length (then every row is this operator). See FORMULAS."""
    b = BYTES_PER_ELEMENT
    d = h / q
    if operator == "emb":
        return n * h, b * 2.0 * n * h
    if operator in ("input_layernorm", "post_attention_layernorm"):
        return 5.0 * n * h, b * (2.0 * n * h + h)
    if operator == "attn_pre_proj":
        return _gemm(n, h, (q + 2.0 * kv) * d / t)
    if operator == "attn_rope":
        rope = n * (q + kv) * d / t
        return 6.0 * rope, b * 2.0 * rope + b * 2.0 * n * d
    if operator == "attn_post_proj":
        return _gemm(n, q * d / t, h)
    if operator == "mlp_up_proj":
        return _gemm(n, h, f * (1.0 + g) / t)
    if operator == "mlp_act":
        return 5.0 * n * f / t, b * (n * (f * (1.0 + g) / t) + n * f / t)
    if operator == "mlp_down_proj":
        return _gemm(n, f / t, h)
    if operator == "add":
        return n * h, b * 3.0 * n * h
    raise UnknownOperator(
        f"No cost formula for operator {operator!r}; known: {', '.join(OPERATORS)}."
    )


def roofline_features(flops: X, nbytes: X, peak_flops: X, mem_bw: X) -> dict[str, X]:
    """The model's numeric features from an operator's cost and a GPU's peaks:
    compute_s, memory_s, roofline_s = max of the two, compute_memory_ratio = their ratio."""
    compute = flops / peak_flops
    memory = nbytes / mem_bw
    if isinstance(compute, np.ndarray):
        roof: Any = np.maximum(compute, memory)
    else:
        roof = compute if compute >= memory else memory
    return {
        "compute_s": compute,
        "memory_s": memory,
        "roofline_s": roof,
        "compute_memory_ratio": compute / memory,
    }


def gpu_table(card: Mapping[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """GPU name -> {"peak_flops", "mem_bw"}: the card's table when given, else GPUS."""
    if card is not None:
        return {k: dict(v) for k, v in card["roofline"]["gpus"].items()}
    return {k: {"peak_flops": g.peak_flops, "mem_bw": g.mem_bw} for k, g in GPUS.items()}
