"""Griffin-Lim over a long spectrogram that arrives in blocks of frames.

Memory is bounded by the block, not by the signal. Blocks overlap by a few frames: the overlap is
started from the previous block's final phase (and new frames from that phase advanced at each
bin's frequency), so both blocks converge to the same waveform there and the crossfade between
them is coherent: no energy dip or comb filtering at block boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .spectral import bin_frequency_phase, griffin_lim, initial_phase

PhaseSource = Callable[[int, int], torch.Tensor]


class BlockGriffinLim:
    """Reconstructs ``(channels, n_samples)`` audio from magnitudes pushed in frame order.

    All channels share one phase (estimated from their summed magnitude), so their phase
    relation, and with it the stereo image, is stable.

    Args:
        phase_source: for ``phase_init="content"``, ``(start, stop) -> phase (bins, n)`` of
            frames ``start:stop``; used for frames no earlier block has seen.
    """

    def __init__(self, n_samples: int, channels: int, n_fft: int, hop_length: int,
                 iterations: int, momentum: float, phase_init: str, seed: int,
                 device: torch.device | str = "cpu",
                 phase_source: PhaseSource | None = None) -> None:
        self.n_samples = n_samples
        self.n_fft, self.hop = n_fft, hop_length
        self.iterations, self.momentum = iterations, momentum
        self.phase_init, self.phase_source = phase_init, phase_source
        self.generator = torch.Generator().manual_seed(seed)
        self.device = device
        self.out = torch.zeros(channels, n_samples)
        self.overlap = 2 * math.ceil(n_fft / hop_length) + 8
        self.next_frame = 0
        self.tail_mag: torch.Tensor | None = None
        self.tail_phase: torch.Tensor | None = None
        self.fade_in: tuple[int, int] | None = None

    def push(self, magnitude: torch.Tensor, last: bool) -> None:
        """Add the next frames ``(channels, bins, n)``; ``last`` for the final block."""
        magnitude = magnitude.to(self.device)
        n_new = magnitude.shape[-1]
        new_phase = self._new_phase(magnitude.shape[-2], n_new)
        if self.tail_mag is not None:
            block = torch.cat([self.tail_mag, magnitude], dim=-1)
            phase0 = torch.cat([self.tail_phase, new_phase], dim=-1)
            first = self.next_frame - self.tail_mag.shape[-1]
        else:
            block, phase0, first = magnitude, new_phase, self.next_frame
        frames = block.shape[-1]
        lo = first * self.hop
        hi = self.n_samples if last else min((first + frames - 1) * self.hop + 1, self.n_samples)
        audio, phase = griffin_lim(block, self.n_fft, self.hop, hi - lo, self.iterations,
                                   self.momentum, phase0, shared_phase=True)
        weight = torch.ones(hi - lo, dtype=torch.float64)
        if self.fade_in is not None:
            a, b = self.fade_in
            weight[: max(a - lo, 0)] = 0
            weight[a - lo:b - lo] *= _fade(b - a)
        if not last:
            tail = min(self.overlap, frames)
            next_first = first + frames - tail
            a = next_first * self.hop + self.n_fft // 2
            b = (first + frames - 1) * self.hop - self.n_fft // 2
            if b <= a:  # too short to crossfade: switch at the middle of the overlap
                a = b = (next_first + first + frames - 1) // 2 * self.hop
            a, b = min(a, hi), min(b, hi)
            weight[a - lo:b - lo] *= _fade(b - a).flip(0)
            weight[b - lo:] = 0
            self.fade_in = (a, b)
            self.tail_mag = block[..., -tail:]
            self.tail_phase = phase[..., -tail:]
        self.out[:, lo:hi] += (audio.cpu().double() * weight).float()
        self.next_frame += n_new

    def _new_phase(self, bins: int, n: int) -> torch.Tensor:
        if self.tail_phase is not None:
            return bin_frequency_phase(bins, n, self.hop, self.n_fft,
                                       start_phase=self.tail_phase[..., -1],
                                       device=self.device)
        if self.phase_init == "content" and self.phase_source is not None:
            return self.phase_source(self.next_frame, self.next_frame + n).to(self.device)
        return initial_phase(self.phase_init, (1, bins, n), self.hop, self.n_fft,
                             self.generator, self.device)


def _fade(n: int) -> torch.Tensor:
    """Rising amplitude fade of ``n`` samples; with its mirror it sums to 1 (coherent signals)."""
    t = (torch.arange(n, dtype=torch.float64) + 0.5) / max(n, 1)
    return torch.sin(0.5 * math.pi * t).pow(2)
