"""Where the engine runs and in which precision."""

from __future__ import annotations

import contextlib
import functools
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


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True when the CPU multiplies bf16 natively (AVX512-BF16 or AMX); else bf16 is emulated
    and slower than fp32 (measured: see BENCHMARKS.md)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def compute_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype of the heavy convolutions and Gram products.

    ``auto`` uses bf16 where the hardware runs it natively (CUDA with bf16 support, CPUs with
    AVX512-BF16/AMX) and fp32 elsewhere. Losses, sums and the optimiser state stay fp32.
    ``tf32`` is fp32 storage with TF32 tensor-core products on CUDA (fp32 elsewhere).
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision in ("fp32", "tf32"):
        return torch.float32
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return torch.float32


@contextlib.contextmanager
def matmul_precision(precision: str) -> Iterator[None]:
    """TF32 products on CUDA for ``tf32`` (and ``auto``), exact fp32 otherwise, for the duration
    of the block. torch's flags are process-wide, so the caller's values are put back after
    (a library must not change them behind its user's back)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    allow = precision in ("tf32", "auto")
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def accumulation_dtype(device: torch.device) -> torch.dtype:
    """float64 for sums that cancel (loss values, Gram sums); MPS has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64
