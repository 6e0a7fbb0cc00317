"""The top octave on a stream: :mod:`neuralfx.top_octave`'s band replication, frame by frame.

Offline, the equaliser that gives the copied band the style's level comes from the whole
output's mean spectrum. A stream has only the past: the equaliser follows running means of the
same figures (an exponential window of half the stream's age, from 0.5 s up to 10 s, as the
stream's loudness match), recomputed every frame. The copy keeps its own envelope (the offline
render may widen it to the style's swing, which needs the whole output's spread).

The STFT is half the offline one's size (1024 points at 44.1/48 kHz, hop 256): the band adds
``n_fft - 1`` samples of latency (23 ms at 44.1 kHz) where the offline size would add 46 ms,
and 1024 points still resolve the style's level over the sixth of an octave it is smoothed on.
Audio is ``(channels, samples)`` float32: time on the last axis.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..spectral import stft_frames
from ..top_octave import (
    TopOctaveProfile,
    band_layout,
    equaliser,
    fft_size,
    has_top_octave,
    split_frequency,
)

# the running means' memory: this share of the stream's age, from the first figure to the last
AGE_SHARE, FIRST_SECONDS, LAST_SECONDS = 0.5, 0.5, 10.0


def stream_fft_size(sample_rate: float) -> int:
    """The streaming STFT's size at ``sample_rate``: half the offline one's."""
    return fft_size(sample_rate) // 2


def top_octave_latency(profile: TopOctaveProfile, sample_rate: float,
                       analysis_rate: float) -> int:
    """The samples :class:`TopOctaveStream` delays its input by: 0 where there is no band to
    add, else ``n_fft - 1`` (a sample is final once every frame that sees it is in)."""
    if not has_top_octave(sample_rate, analysis_rate, profile):
        return 0
    return stream_fft_size(sample_rate) - 1


class TopOctaveStream:
    """``process(block (channels, n)) -> (channels, n)``: the input delayed by
    ``latency_samples``, with the band above the split rebuilt from the octave below at the
    style's level (see the module docstring). Every channel gets the same equaliser (the copied
    band's image is its source band's). Where neither the rate nor the style reach above the
    analysis rate's Nyquist it passes the input through with no delay."""

    def __init__(self, profile: TopOctaveProfile, sample_rate: float, analysis_rate: float,
                 channels: int) -> None:
        self.profile = profile
        self.sample_rate, self.channels = float(sample_rate), int(channels)
        self.latency_samples = top_octave_latency(profile, sample_rate, analysis_rate)
        self.active = self.latency_samples > 0
        n_fft = stream_fft_size(sample_rate)
        self._n_fft, self._hop = n_fft, n_fft // 4
        self._split_bin, sources, self._frequencies = band_layout(sample_rate, analysis_rate,
                                                                  n_fft)
        self._sources = torch.from_numpy(sources)
        self._split_hz = split_frequency(analysis_rate)
        self._top = min(sample_rate / 2, profile.bandwidth)
        window = torch.hann_window(n_fft, dtype=torch.float64)
        # torch.istft's overlap-add divides by the sum of squared windows: constant (1.5 for a
        # Hann window at hop n_fft / 4) once the first frames are past
        norm = sum(window.roll(k * self._hop).square() for k in range(4))[0]
        self._synthesis = (window / norm).float()
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next block starts a new one."""
        c, n_fft = self.channels, self._n_fft
        # samples from the next frame's first on (zeros before sample 0: centred frames)
        self._pending = np.zeros((c, n_fft // 2), np.float32)
        # the input from the next sample to emit on; the band from n_fft // 2 before it, and
        # where in it the next frame starts
        self._signal = np.zeros((c, 0), np.float32)
        self._band = np.zeros((c, 0), np.float32)
        self._band_offset = 0
        self._frames = 0
        self._copied = np.zeros(self._frequencies.size)
        self._total = 0.0
        self._queued = np.zeros((c, self.latency_samples), np.float32)

    def _equalise(self, power: np.ndarray) -> np.ndarray:
        """Update the running means with one frame's ``power (channels, bins)``; the gain per
        target bin."""
        self._frames += 1
        age = self._frames * self._hop / self.sample_rate
        window = min(LAST_SECONDS, max(FIRST_SECONDS, AGE_SHARE * age))
        decay = math.exp(-self._hop / (window * self.sample_rate))
        if self._frames == 1:
            decay = 0.0
        sources = self._sources.numpy()
        self._copied = decay * self._copied + (1 - decay) * power[:, sources].mean(axis=0)
        self._total = decay * self._total + (1 - decay) * float(power.sum(axis=-1).mean())
        if self._total <= 0:
            return np.zeros(self._frequencies.size)
        return equaliser(self._frequencies, self._copied, self._total,
                         self.sample_rate / self._n_fft, self._split_hz, self._top, self.profile)

    def _frame(self, samples: np.ndarray) -> None:
        """One frame's samples ``(channels, n_fft)``: its band overlap-added into ``_band``."""
        spectrum = stft_frames(torch.from_numpy(samples), self._n_fft, self._n_fft)[..., 0]
        power = spectrum.abs().square().double().numpy()
        gain = torch.from_numpy(self._equalise(power).astype(np.float32))
        band = torch.zeros_like(spectrum)
        band[:, self._split_bin:] = spectrum[:, self._sources] * gain
        piece = (torch.fft.irfft(band, self._n_fft) * self._synthesis).numpy()
        need = self._band_offset + self._n_fft - self._band.shape[-1]
        if need > 0:
            self._band = np.concatenate([self._band, np.zeros((self.channels, need),
                                                              np.float32)], axis=-1)
        self._band[:, self._band_offset:self._band_offset + self._n_fft] += piece
        self._band_offset += self._hop

    def process(self, block: np.ndarray) -> np.ndarray:
        """The next block ``(channels, n)`` float32 -> the next ``n`` samples of output."""
        x = np.asarray(block, dtype=np.float32)
        if not self.active:
            return x
        n, hop, n_fft = x.shape[-1], self._hop, self._n_fft
        self._signal = np.concatenate([self._signal, x], axis=-1)
        self._pending = np.concatenate([self._pending, x], axis=-1)
        while self._pending.shape[-1] >= n_fft:
            self._frame(self._pending[:, :n_fft])
            self._pending = self._pending[:, hop:]
        # the band before the next frame's first sample is final
        final = min(self._band_offset - n_fft // 2, self._signal.shape[-1])
        if final > 0:
            done = self._signal[:, :final] + self._band[:, n_fft // 2:n_fft // 2 + final]
            self._queued = np.concatenate([self._queued, done], axis=-1)
            self._signal = self._signal[:, final:]
            self._band = self._band[:, final:]
            self._band_offset -= final
        out, self._queued = self._queued[:, :n], self._queued[:, n:]
        return out
