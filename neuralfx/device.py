"""Where the engine runs and in which precision."""

from __future__ import annotations

import contextlib
import functools
import time
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


def compute_dtype(precision: str, device: torch.device, texture: bool = False) -> torch.dtype:
    """The dtype of the heavy convolutions and Gram products: bf16 where
    :func:`resolve_precision` says ``bf16``, fp32 otherwise. Losses, sums and the optimiser
    state stay fp32 whatever the precision. ``tf32`` is fp32 storage with TF32 tensor-core
    products on CUDA (fp32 elsewhere)."""
    bf16 = resolve_precision(precision, device, texture) == "bf16"
    return torch.bfloat16 if bf16 else torch.float32


def resolve_precision(precision: str, device: torch.device, texture: bool = False,
                      native_bf16: bool | None = None) -> str:
    """``precision`` with ``auto`` decided: ``bf16`` for style transfer on a CPU that multiplies
    bf16 natively, ``fp32`` everywhere else. ``native_bf16``: whether every CPU that will run
    the render has AVX512-BF16 (None: this one, :func:`cpu_has_native_bf16`; a Ray render
    decides once for all its processes).

    On a 2-core AVX512-BF16 CPU, real music, three pairs and three render seeds: `draft`
    1.3-1.5x and `style 0.01` about 1.4x faster at the same held-out quality (BENCHMARKS.md,
    "bf16 products with an exact finish"). A ``texture`` (no content) stays fp32: it goes
    further down its loss, and there bf16's rounding left it further from the style
    (`texture+` 0.087 against 0.053, seed 0). Where bf16 is emulated (AVX2) it is 60x slower,
    and on GPUs its quality is not measured.
    """
    if precision != "auto":
        return precision
    native = cpu_has_native_bf16() if native_bf16 is None else native_bf16
    return "bf16" if native and not texture and device.type == "cpu" else "fp32"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has AVX512-BF16 (AMX CPUs have it too), as torch's CPU feature
    detection reports it. A property of the CPU, not a timing: a timing flipped under load (a
    Ray worker beside others decided fp32 where its driver had decided bf16, and their outputs
    differed), and every process on one machine must decide alike for a render to be
    reproducible. :func:`cpu_bf16_speedup` measures what it buys (``neuralfx info``)."""
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check is not None and check())


@functools.lru_cache(maxsize=1)
def cpu_bf16_speedup(repeats: int = 5) -> float:
    """fp32 time / bf16 time of a matrix product shaped like the network's (a tall matrix
    times a few columns), best of ``repeats`` each, measured once per process (about 10 ms
    where bf16 is native; 1.8-2.9x on the AVX512-BF16 VM of BENCHMARKS.md). Where bf16 is
    emulated the first bf16 product is far slower and the measure stops there. Shown by
    ``neuralfx info``; ``auto`` decides from :func:`cpu_has_native_bf16`, which a busy
    machine cannot sway."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(1024, 512, generator=generator)
    b = torch.randn(512, 64, generator=generator)
    ab, bb = a.bfloat16(), b.bfloat16()

    def best(x: torch.Tensor, y: torch.Tensor, n: int) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            x @ y
            times.append(time.perf_counter() - start)
        return min(times)

    fp32 = best(a, b, repeats + 1)  # the first call also warms the library up
    ab @ bb  # warm-up
    first = best(ab, bb, 1)
    if first > 4 * fp32:  # emulated: do not wait for more
        return fp32 / first
    return fp32 / min(first, best(ab, bb, repeats - 1))


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
