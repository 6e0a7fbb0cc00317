"""Random feature network and Gram statistics.

The network is a bank of one-layer 1-D convolutions over time (the spectrogram is a 1 x T image
with ``bins`` channels), random Gaussian weights, no bias, valid padding, ReLU. The classic
network is one width of 11 frames and 4096 filters. On a CPU the convolutions run by FFT blocks
(:mod:`neuralfx.convolution`).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .convolution import SpectralKernel, overlap_save_conv1d, use_fft
from .device import accumulation_dtype


@dataclass(eq=False)
class RandomNetwork:
    """Weights ``(n_filters, bins, width)`` per kernel width, fp32 on the CPU."""

    weights: tuple[torch.Tensor, ...]
    kernel_sizes: tuple[int, ...]
    _copies: dict = field(default_factory=dict, repr=False)
    # renders in parallel threads share a network: each copy is made once
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def features(self, log_spec: torch.Tensor, dtype: torch.dtype = torch.float32,
                 exact: bool = False) -> list[torch.Tensor]:
        """``(batch, bins, frames) -> [(batch, n_filters, frames - width + 1)]`` per width.

        Convolutions run in ``dtype`` (bf16 where that is faster); features come back fp32.
        The FFT convolution takes its input in fp32 whatever ``dtype`` (only its products are
        bf16), so the gradient reaching ``log_spec`` is not rounded to bf16 either. ``exact``
        keeps ``dtype``'s rounded weights but multiplies in fp32: the same network, without
        the rounding of bf16 results.
        """
        out = []
        device = log_spec.device
        exact = exact and dtype == torch.bfloat16
        for i, width in enumerate(self.kernel_sizes):
            if use_fft(width, device, dtype):
                kernel = self.spectral_kernel(i, device, dtype)
                if exact:
                    kernel = self._kept(("fft exact", i, str(device)), kernel.exact)
                y = overlap_save_conv1d(log_spec.float() if dtype == torch.bfloat16
                                        else log_spec.to(dtype), kernel)
            elif exact:
                rounded = self.weights_on(device, dtype)[i]
                y = torch.nn.functional.conv1d(
                    log_spec.float(), self._kept(("exact", i, str(device)), rounded.float))
            else:
                y = torch.nn.functional.conv1d(log_spec.to(dtype),
                                               self.weights_on(device, dtype)[i])
            out.append(torch.relu(y).float())
        return out

    def _kept(self, key: tuple, make: Callable[[], Any]) -> Any:
        """``make()`` once per ``key``, kept (``make`` must not take the lock itself)."""
        with self._lock:
            if key not in self._copies:
                self._copies[key] = make()
            return self._copies[key]

    def weights_on(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """The weights on ``device`` in ``dtype``, moved once and kept (the CPU fp32 copy stays
        the reference)."""
        return self._kept((str(device), dtype), lambda: tuple(
            w.to(device=device, dtype=dtype) for w in self.weights))

    def spectral_kernel(self, index: int, device: torch.device, dtype: torch.dtype
                        ) -> SpectralKernel:
        """Width ``index``'s weights transformed for the FFT convolution, made once and kept.
        A bf16 kernel is transformed from the fp32 weights and packed (rounded once)."""
        packed = dtype == torch.bfloat16
        weights = self.weights_on(device, torch.float32 if packed else dtype)[index]
        return self._kept(("fft", index, str(device), dtype), lambda: SpectralKernel.from_weights(
            weights, dtype=torch.bfloat16 if packed else None))


def classic_std(n_bins: int, n_filters: int, width: int) -> float:
    """He-style scale of the reference implementations: sqrt(2) * sqrt(2 / ((in + out) * width))."""
    return math.sqrt(2) * math.sqrt(2.0 / ((n_bins + n_filters) * width))


# A classic network with its FFT kernel holds about 0.75 GB: keep the two most recent only.
@functools.lru_cache(maxsize=2)
def random_network(n_bins: int, n_filters: int, kernel_sizes: tuple[int, ...],
                   seed: int) -> RandomNetwork:
    """Deterministic weights: drawn on the CPU from an explicit generator so a seed gives the
    same network on every device. Widths are drawn in the order given."""
    generator = torch.Generator().manual_seed(seed)
    weights = []
    for width in kernel_sizes:
        w = torch.randn(n_filters, n_bins, width, generator=generator)
        weights.append(w.mul_(classic_std(n_bins, n_filters, width)))
    return RandomNetwork(tuple(weights), tuple(kernel_sizes))


def gram(features: torch.Tensor) -> torch.Tensor:
    """``(batch, filters, frames) -> (batch, filters, filters)``, normalised by frame count."""
    return features @ features.transpose(1, 2) / max(features.shape[-1], 1)


@dataclass
class GramAccumulator:
    """Sums ``F F^T`` and frame counts over pieces of a long signal, so memory is bounded by the
    piece, not by the signal. ``gram()`` equals the one-shot Gram of the whole signal.

    While a width has at most ``max_factor_frames`` frames in all, its features are kept too:
    ``factors()`` then gives ``L = F / sqrt(T)`` with ``G = L L^T``, a factor of rank ``T`` that
    makes the loss's ``G F`` products cheaper (see :func:`neuralfx.synthesis.style_loss`).
    Beyond that, with ``factor_tolerance`` set, ``factors()`` gives :func:`low_rank_factor`.
    """

    sums: list[torch.Tensor] | None = None
    frames: list[int] | None = None
    max_factor_frames: int = 0
    kept: list[list[torch.Tensor] | None] | None = None
    factor_tolerance: float | None = None

    def add(self, features: list[torch.Tensor]) -> None:
        """``features``: per width ``(batch, filters, frames)``; batch entries are pooled."""
        if self.sums is None:
            self.sums = [None] * len(features)
            self.frames = [0] * len(features)
            self.kept = [[] for _ in features]
        for i, f in enumerate(features):
            flat = f.transpose(0, 1).reshape(f.shape[1], -1)
            # no zeros and no float64 temporary: each N x N float64 array costs about 0.3 s
            # at 4096 filters on a 2-core VM, mostly in first touches of its memory
            if self.sums[i] is None:
                self.sums[i] = (flat @ flat.T).to(accumulation_dtype(f.device))
            else:
                self.sums[i].add_(flat @ flat.T)
            self.frames[i] += flat.shape[1]
            if self.kept[i] is not None:
                if self.frames[i] <= self.max_factor_frames:
                    self.kept[i].append(flat.float())
                else:
                    self.kept[i] = None  # too long: the factor would cost more than it saves

    def grams(self) -> list[torch.Tensor]:
        if self.sums is None or min(self.frames) == 0:
            raise ValueError("no frames were accumulated")
        return [s.float().div_(n) for s, n in zip(self.sums, self.frames)]

    def factors(self) -> list[torch.Tensor | None]:
        """Per width ``(filters, frames) / sqrt(frames)`` where the features were kept, else
        the :func:`low_rank_factor` of the Gram (with ``factor_tolerance``) or None."""
        if self.sums is None:
            raise ValueError("no frames were accumulated")
        factors = []
        for kept, n, total in zip(self.kept, self.frames, self.sums):
            if kept is not None:
                factors.append(torch.cat(kept, dim=1) / math.sqrt(n))
            elif self.factor_tolerance is not None:
                factors.append(low_rank_factor(total / n, self.factor_tolerance))
            else:
                factors.append(None)
        return factors


def low_rank_factor(gram: torch.Tensor, tolerance: float) -> torch.Tensor | None:
    """``L (N, r)`` with ``L L^T`` the Gram's best approximation of the smallest rank ``r``
    whose error is at most ``tolerance`` of the Gram (Frobenius norms): its top eigenpairs.
    None when that needs ``r >= N / 2``, where a factor costs more than it saves.

    A long style's Gram has full rank, but its eigenvalues fall fast: on real music a 60 s
    style needs r = 130-740 for 1e-3, against N = 4096 (BENCHMARKS.md, "Long styles and long
    files")."""
    # float64 (MPS has none: there on the CPU), once per style and width
    values, vectors = torch.linalg.eigh(
        (gram if gram.device.type != "mps" else gram.cpu()).double())
    values, vectors = values.flip(0).clamp_min(0), vectors.flip(1)
    energy = values.pow(2)
    tail = (energy.sum() - energy.cumsum(0)).clamp_min(0).sqrt()
    rank = int((tail > tolerance * energy.sum().sqrt()).sum()) + 1
    if 2 * rank >= gram.shape[0]:
        return None
    return (vectors[:, :rank] * values[:rank].sqrt()).float().to(gram.device)
