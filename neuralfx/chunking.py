"""Chunk plan and crossfade weights, in spectrogram frames; turns of the waveform pass.

A long spectrogram is cut into the fewest chunks of equal length that fit, spread evenly with
overlaps of the requested length, so every chunk of a render has the same shape (chunks batch
together) and no frame is optimised twice outside an overlap. Optimised chunks are joined in
the magnitude domain, before any phase exists, so the join cannot cancel energy the way a
crossfade of independently phased audio can. The waveform pass needs no crossfade at all:
overlapping segments are refined in turns, each keeping fixed the samples that those before it
own (:func:`refinement_rounds`, :func:`owned_samples`).
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
    """Chunks of equal length, at most ``chunk_frames`` (at least ``min_frames``), covering
    ``[0, total)`` with neighbours that overlap by ``overlap_frames`` and no more.

    The fewest chunks that fit are spread evenly over the signal, so no frame is optimised
    more than once outside an overlap and no frame lies in three chunks. Where the frames do not
    divide evenly, some overlaps are one frame shorter (23 ms at the classic settings) rather
    than any longer: planned frames never exceed ``total + (chunks - 1) * overlap_frames``. A
    signal of at most ``chunk_frames`` is one chunk."""
    if total <= 0:
        raise ValueError(f"cannot plan chunks for {total} frames")
    longest = max(chunk_frames, min_frames)
    if total <= longest:
        return ChunkPlan((0,), max(total, min_frames), total)
    overlap = min(overlap_frames, longest // 2)
    while True:
        count = math.ceil((total - overlap) / (longest - overlap))
        length = (total + (count - 1) * overlap) // count
        # a chunk shorter than two overlaps would share frames with both neighbours' overlaps
        if length >= 2 * overlap:
            break
        overlap = length // 2
    if length < min_frames or (overlap == 0 and count * length < total):
        # the network's window is longer than the even split, or abutting chunks (no overlap)
        # do not divide the frames: equal chunks of the longest length, the last one moved
        # back to end at the last frame
        return _moved_back(total, longest, overlap)
    # `short` overlaps lose one frame so the chunks end exactly at `total`; spread them evenly
    short = total + (count - 1) * overlap - count * length
    starts = [0]
    for j in range(count - 1):
        shortened = (j + 1) * short // (count - 1) - j * short // (count - 1)
        starts.append(starts[-1] + length - overlap + shortened)
    return ChunkPlan(tuple(starts), length, total)


def _moved_back(total: int, length: int, overlap: int) -> ChunkPlan:
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


def refinement_rounds(spans: list[tuple[int, int]]) -> tuple[int, ...]:
    """Round of each waveform segment ``[lo, hi)`` (in signal order) for the waveform pass:
    segments of one round do not overlap, so they are refined together. Neighbours alternate
    (two rounds), or three where a chunk overlaps two others (a plan of moved-back chunks)."""
    rounds: list[int] = []
    for i, (lo, hi) in enumerate(spans):
        taken = {rounds[j] for j in range(i) if spans[j][1] > lo and spans[j][0] < hi}
        rounds.append(min(set(range(len(taken) + 1)) - taken))
    return tuple(rounds)


def owned_samples(spans: list[tuple[int, int]], i: int) -> tuple[int, int]:
    """Samples ``[a, b)`` that segment ``i`` writes to the output: from the middle of its overlap
    with the previous segment to the middle of its overlap with the next. The owned parts
    partition the signal, and each keeps well clear of its segment's ends, whose samples few
    frames see."""
    lo, hi = spans[i]
    a = (spans[i - 1][1] + lo) // 2 if i > 0 else lo
    b = (hi + spans[i + 1][0]) // 2 if i + 1 < len(spans) else hi
    return a, b


def free_samples(spans: list[tuple[int, int]], rounds: tuple[int, ...], i: int,
                 n_samples: int) -> torch.Tensor:
    """``(hi - lo,)`` of segment ``i``: 1 for the samples its round may change; 0 for padding
    outside ``[0, n_samples)`` and for samples that a segment of an earlier round owns (final
    by then: the later segment optimises its own samples around them)."""
    lo, hi = spans[i]
    free = torch.zeros(hi - lo)
    free[max(0, -lo):max(0, min(hi, n_samples) - lo)] = 1
    for j, r in enumerate(rounds):
        a, b = owned_samples(spans, j)
        if r < rounds[i] and b > lo and a < hi:
            free[max(a, lo) - lo:min(b, hi) - lo] = 0
    return free
