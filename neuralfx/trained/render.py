"""Rendering with a trained style: one pass of the model, then phase reconstruction.

Mono signals at the analysis rate in and out, ``(samples,)`` float32; nothing here knows about
files, channels or loudness (the effect does that).
"""

from __future__ import annotations

import numpy as np
import torch

from ..settings import Settings
from ..spectral import bin_frequency_phase, griffin_lim, magnitude_from_log, n_frames, stft
from .model import TrainedStyle
from .texture import generate
from .transfer import transfer

# fast Griffin-Lim iterations. Style transfer starts from the input's own phase, which is
# already close: 32 reach the spectral convergence the optimising presets' 100 reach from
# scratch (BENCHMARKS.md)
RECONSTRUCTION_ITERATIONS = 32


def transfer_spectrogram(trained: TrainedStyle, audio: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """``audio (samples,)`` -> the style's log-magnitude ``(bins, frames)`` and the input's
    phase (the reconstruction's start)."""
    s = trained.settings
    spec = stft(audio, s.n_fft, s.hop_length)
    return transfer(trained.model, torch.log1p(spec.abs())), torch.angle(spec)


def render_transfer(trained: TrainedStyle, audio: np.ndarray,
                    iterations: int = RECONSTRUCTION_ITERATIONS) -> np.ndarray:
    """A mono input at the analysis rate ``(samples,)`` -> the style transfer, same length."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    if x.shape[-1] == 0:
        return np.zeros(0, np.float32)
    log_mag, phase = transfer_spectrogram(trained, x)
    return _reconstruct(trained.settings, log_mag, phase, x.shape[-1], iterations)


def render_texture(trained: TrainedStyle, samples: int, seed: int = 0,
                   iterations: int = RECONSTRUCTION_ITERATIONS) -> np.ndarray:
    """A new texture of ``samples`` at the analysis rate ``(samples,)``; the same for a seed."""
    s = trained.settings
    if samples == 0:
        return np.zeros(0, np.float32)
    frames = n_frames(samples, s.hop_length)
    log_mag = generate(trained.model, frames, seed)
    phase = bin_frequency_phase(s.n_bins, frames, s.hop_length, s.n_fft)
    return _reconstruct(s, log_mag, phase, samples, iterations)


def _reconstruct(s: Settings, log_mag: torch.Tensor, phase: torch.Tensor, samples: int,
                 iterations: int) -> np.ndarray:
    magnitude = magnitude_from_log(log_mag).clamp_min(0)
    audio, _ = griffin_lim(magnitude[None], s.n_fft, s.hop_length, samples, iterations,
                           s.griffin_lim_momentum, phase=phase[None])
    out = audio[0].numpy().astype(np.float32, copy=False)
    if not np.isfinite(out).all():
        raise FloatingPointError("the trained style produced non-finite audio")
    return out
