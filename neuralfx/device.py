"""Where the engine runs and in which precision."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then the CPU. Other names are checked for availability."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device = {name!r}: CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device = {name!r}: MPS is not available on this machine")
    return device


def compute_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype of the heavy convolutions and Gram products.

    ``auto`` is fp32 on every device: bf16 is only ever chosen by asking for it. On a 2-core
    AVX512-BF16 CPU bf16 made one classic evaluation 1.2x faster at the same held-out quality,
    but whole renders were not faster (an interleaved A/B on real music, three render seeds:
    141 vs 133 s for `style 0.01`, 21.5 vs 19.5 s for `draft`; BENCHMARKS.md, "Precision");
    on AVX2 CPUs it is emulated (0.36x) and on GPUs its quality is not measured. Losses, sums
    and the optimiser state stay fp32 whatever the precision. ``tf32`` is fp32 storage with
    TF32 tensor-core products on CUDA (fp32 elsewhere).
    """
    if precision == "bf16":
        return torch.bfloat16
    return torch.float32


@contextlib.contextmanager
def matmul_precision(precision: str) -> Iterator[None]:
    """TF32 products on CUDA for ``tf32``, exact fp32 otherwise, for the duration of the
    block. torch's flags are process-wide, so the caller's values are put back after
    (a library must not change them behind its user's back)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    allow = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def accumulation_dtype(device: torch.device) -> torch.dtype:
    """float64 for sums that cancel (loss values, Gram sums); MPS has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64
