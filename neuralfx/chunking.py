"""Chunk plan and crossfade weights, in spectrogram frames and in samples.

A long spectrogram is cut into chunks of equal length that overlap; the last chunk is moved back
to end at the last frame, so every chunk of a render has the same shape and chunks batch
together. Optimised chunks are joined in the magnitude domain, before any phase exists, so the
join cannot cancel energy the way a crossfade of independently phased audio can. Waveform
segments refined from one reconstructed signal stay coherent where they overlap, so they are
joined by an amplitude crossfade (:class:`WaveformJoiner`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ChunkPlan:
    """``starts[i]`` is the first frame of chunk ``i``; every chunk has ``length`` frames.
    ``total`` is the number of real frames; ``length`` may exceed it when the signal is shorter
    than the network's receptive field (the extra frames are padding, cropped afterwards)."""

    starts: tuple[int, ...]
    length: int
    total: int

    def __len__(self) -> int:
        return len(self.starts)

    def stop(self, i: int) -> int:
        return self.starts[i] + self.length


def plan_chunks(total: int, chunk_frames: int, overlap_frames: int,
                min_frames: int = 1) -> ChunkPlan:
    """Chunks of ``chunk_frames`` (at least ``min_frames``) overlapping by at least
    ``overlap_frames``, covering ``[0, total)``."""
    if total <= 0:
        raise ValueError(f"cannot plan chunks for {total} frames")
    length = max(chunk_frames, min_frames)
    if total <= length:
        return ChunkPlan((0,), max(total, min_frames), total)
    overlap = min(overlap_frames, length // 2)
    step = length - overlap
    count = 1 + math.ceil((total - length) / step)
    starts = [min(i * step, total - length) for i in range(count)]
    return ChunkPlan(tuple(starts), length, total)


def crossfade_weights(plan: ChunkPlan, i: int) -> torch.Tensor:
    """Weights ``(length,)`` of chunk ``i``: 1 inside, raised-cosine ramps over its overlaps with
    its neighbours. The ramps of two neighbours are power-complementary (``w_a^2 + w_b^2 = 1``),
    and :func:`join` sums weighted powers."""
    w = torch.ones(plan.length, dtype=torch.float64)
    if i > 0:
        n = plan.stop(i - 1) - plan.starts[i]
        w[:n] *= _ramp(n)
    if i < len(plan) - 1:
        n = plan.stop(i) - plan.starts[i + 1]
        w[plan.length - n:] *= _ramp(n).flip(0)
    return w.float()


def _ramp(n: int) -> torch.Tensor:
    # sin^2 rising ramp in power = sin rising ramp in amplitude; excludes the end points so no
    # frame gets zero weight from both sides
    t = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return torch.sin(0.5 * math.pi * t)


class MagnitudeJoiner:
    """Joins chunk magnitudes into one spectrogram, frames in order, without holding the whole
    spectrogram: frames before the next unfinished chunk are handed out as soon as they are
    complete.

    ``add(i, magnitude (channels, bins, length))`` for each chunk in any order; ``pop_ready()``
    returns the next completed frames ``(channels, bins, n)`` (or None).
    """

    def __init__(self, plan: ChunkPlan, channels: int, bins: int,
                 device: torch.device | str = "cpu") -> None:
        self.plan = plan
        self.shape = (channels, bins)
        self.done = [False] * len(plan)
        self.pending = torch.zeros(*self.shape, 0, device=device)
        self.pending_start = 0

    def add(self, i: int, magnitude: torch.Tensor) -> None:
        plan = self.plan
        w = crossfade_weights(plan, i).to(magnitude.device)
        weighted = magnitude.pow(2) * w.pow(2)
        start, stop = plan.starts[i], plan.stop(i)
        self._accumulate(start, stop, weighted)
        self.done[i] = True

    def _accumulate(self, start: int, stop: int, weighted: torch.Tensor) -> None:
        # pending covers frames [pending_start, pending_start + pending.shape[-1])
        end = self.pending_start + self.pending.shape[-1]
        if stop > end:
            grow = torch.zeros(*self.shape, stop - end, device=weighted.device)
            self.pending = torch.cat([self.pending.to(weighted.device), grow], dim=-1)
        lo = start - self.pending_start
        self.pending[..., lo:lo + (stop - start)] += weighted

    def pop_ready(self) -> torch.Tensor | None:
        """Frames up to the first chunk not yet added (or the end) are complete."""
        try:
            first_missing = self.done.index(False)
            ready_until = self.plan.starts[first_missing]
        except ValueError:
            ready_until = self.plan.total
        n = min(ready_until, self.plan.total) - self.pending_start
        if n <= 0:
            return None
        out = self.pending[..., :n].sqrt()
        self.pending = self.pending[..., n:].clone()
        self.pending_start += n
        return out


def coherent_fade(n: int) -> torch.Tensor:
    """Rising amplitude fade of ``n`` samples (``sin^2``); with its mirror it sums to 1, which
    keeps the level of coherent signals (the same waveform, or nearly)."""
    t = (torch.arange(n, dtype=torch.float64) + 0.5) / max(n, 1)
    return torch.sin(0.5 * math.pi * t).pow(2)


class WaveformJoiner:
    """Overlap-adds waveform segments of one signal into ``(channels, n_samples)``.

    ``spans[i] = (lo, hi)`` are the samples of segment ``i`` in order (they may reach beyond the
    signal: that part is dropped). Each segment fades in over its overlap with the previous one
    and out over its overlap with the next; the sum is divided by the summed weights, so every
    sample is a weighted mean of the segments that cover it.
    """

    def __init__(self, spans: list[tuple[int, int]], channels: int, n_samples: int) -> None:
        self.spans = spans
        self.sum = torch.zeros(channels, n_samples, dtype=torch.float64)
        self.weight = torch.zeros(channels, n_samples, dtype=torch.float64)

    def weights(self, i: int) -> torch.Tensor:
        """Amplitude weights ``(hi - lo,)`` of segment ``i``."""
        lo, hi = self.spans[i]
        w = torch.ones(hi - lo, dtype=torch.float64)
        if i > 0 and self.spans[i - 1][1] > lo:
            n = min(self.spans[i - 1][1], hi) - lo
            w[:n] *= coherent_fade(n)
        if i + 1 < len(self.spans) and self.spans[i + 1][0] < hi:
            n = hi - max(self.spans[i + 1][0], lo)
            w[hi - lo - n:] *= coherent_fade(n).flip(0)
        return w

    def add(self, i: int, channel: int, segment: torch.Tensor) -> None:
        """Segment ``i`` of ``channel``: ``(hi - lo,)`` samples."""
        lo, hi = self.spans[i]
        a, b = max(lo, 0), min(hi, self.sum.shape[-1])
        if b <= a:
            return
        w = self.weights(i)[a - lo:b - lo]
        self.sum[channel, a:b] += segment[a - lo:b - lo].double().cpu() * w
        self.weight[channel, a:b] += w

    @property
    def out(self) -> torch.Tensor:
        return (self.sum / self.weight.clamp_min(1e-12)).float()
