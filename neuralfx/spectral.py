"""Spectral front end and reconstruction: STFT, log-magnitude, Griffin-Lim.

Time is on the last axis. Spectrograms are ``(..., bins, frames)`` with ``bins = n_fft // 2 + 1``.
Frames are centred (frame ``t`` is centred on sample ``t * hop``) with zero padding, so a signal
of ``n`` samples has ``n // hop + 1`` frames and any length >= 1 works.
"""

from __future__ import annotations

import math

import torch


def n_frames(n_samples: int, hop_length: int) -> int:
    return n_samples // hop_length + 1


def _window(n_fft: int, ref: torch.Tensor) -> torch.Tensor:
    return torch.hann_window(n_fft, device=ref.device, dtype=torch.float32)


def stft(audio: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """Complex STFT. ``(..., samples) -> (..., bins, frames)``."""
    shape = audio.shape
    flat = audio.reshape(-1, shape[-1]).float()
    spec = torch.stft(flat, n_fft, hop_length, window=_window(n_fft, flat), center=True,
                      pad_mode="constant", return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, n_fft: int, hop_length: int, length: int) -> torch.Tensor:
    """Inverse of :func:`stft`. ``(..., bins, frames) -> (..., length)``."""
    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    audio = torch.istft(flat, n_fft, hop_length, window=_window(n_fft, flat.real), center=True,
                        length=length)
    return audio.reshape(*shape[:-2], length)


def log_magnitude(magnitude: torch.Tensor) -> torch.Tensor:
    """The features of the method: ``log1p(|STFT|)``."""
    return torch.log1p(magnitude)


def magnitude_from_log(log_mag: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`log_magnitude`, clamped at 0 (the optimiser may go slightly negative)."""
    return torch.expm1(log_mag).clamp_min(0.0)


def log_spectrogram(audio: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """``(..., samples) -> (..., bins, frames)`` log1p-magnitude."""
    return log_magnitude(stft(audio, n_fft, hop_length).abs())


def frame_span(start: int, stop: int, n_fft: int, hop_length: int) -> tuple[int, int]:
    """Samples ``[lo, hi)`` that the centred frames ``start:stop`` see (``lo`` may be negative
    and ``hi`` beyond the signal: those samples are the zero padding)."""
    return start * hop_length - n_fft // 2, (stop - 1) * hop_length + n_fft // 2 + 1


def padded_slice(audio: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """``audio[..., lo:hi]`` with zeros where ``[lo, hi)`` lies outside the signal."""
    n = audio.shape[-1]
    piece = audio[..., max(lo, 0):min(hi, n)].float()
    return torch.nn.functional.pad(piece, (max(0, -lo), max(0, hi - n)))


def stft_frames(audio: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """Complex STFT of the frames that lie wholly inside ``audio (..., samples)`` (no centring
    or padding): the frames of a :func:`frame_span`. Differentiable.
    ``(..., samples) -> (..., bins, frames)``."""
    flat = audio.reshape(-1, audio.shape[-1])
    spec = torch.stft(flat, n_fft, hop_length, window=_window(n_fft, flat), center=False,
                      return_complex=True)
    return spec.reshape(*audio.shape[:-1], *spec.shape[-2:])


def frame_slice_spectrogram(audio: torch.Tensor, start: int, stop: int, n_fft: int,
                            hop_length: int, complex_out: bool = False) -> torch.Tensor:
    """Frames ``start:stop`` of the centred STFT of ``audio (..., samples)``, computed from the
    samples those frames see only, so long signals can be analysed piece by piece with the
    same result as one whole-signal STFT."""
    piece = padded_slice(audio, *frame_span(start, stop, n_fft, hop_length))
    spec = stft_frames(piece, n_fft, hop_length)
    return spec if complex_out else log_magnitude(spec.abs())


def spectral_convergence(audio: torch.Tensor, magnitude: torch.Tensor, n_fft: int,
                         hop_length: int) -> torch.Tensor:
    """``||(|STFT(y)| - M)||_F / ||M||_F`` per leading index. ``audio (..., samples)``,
    ``magnitude (..., bins, frames)`` -> ``(...)``."""
    rebuilt = stft(audio, n_fft, hop_length).abs()
    frames = min(rebuilt.shape[-1], magnitude.shape[-1])
    diff = rebuilt[..., :frames] - magnitude[..., :frames]
    num = diff.pow(2).sum(dim=(-2, -1)).sqrt()
    den = magnitude[..., :frames].pow(2).sum(dim=(-2, -1)).sqrt().clamp_min(1e-12)
    return num / den


def bin_frequency_phase(n_bins: int, n_frames_: int, hop_length: int, n_fft: int,
                        start_phase: torch.Tensor | None = None,
                        device: torch.device | str = "cpu") -> torch.Tensor:
    """Phase that advances each bin at its centre frequency: ``phi[k, t] = phi0[k] +
    2 pi k hop t / n_fft``. A better Griffin-Lim start than random phase (coherent partials,
    fewer "phasey" artefacts), and the natural continuation of a known phase. ``(bins, frames)``."""
    k = torch.arange(n_bins, device=device, dtype=torch.float64)
    t = torch.arange(1 if start_phase is not None else 0,
                     n_frames_ + (1 if start_phase is not None else 0),
                     device=device, dtype=torch.float64)
    advance = (2 * math.pi * hop_length / n_fft) * torch.outer(k, t)
    phase = torch.remainder(advance, 2 * math.pi).float()
    if start_phase is not None:
        phase = phase + start_phase.to(phase.device)[..., :, None]
    return phase


def initial_phase(kind: str, shape: tuple[int, ...], hop_length: int, n_fft: int,
                  generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Initial Griffin-Lim phase of ``shape (..., bins, frames)``: ``random`` (uniform, the
    classic start), ``zeros`` or ``bin-frequency`` (see :func:`bin_frequency_phase`)."""
    if kind == "random":
        return (torch.rand(shape, generator=generator) * (2 * math.pi)).to(device)
    if kind == "zeros":
        return torch.zeros(shape, device=device)
    if kind in ("bin-frequency", "content"):
        phase = bin_frequency_phase(shape[-2], shape[-1], hop_length, n_fft, device=device)
        return phase.expand(shape).clone()
    raise ValueError(f"unknown phase initialisation {kind!r}")


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop_length: int, length: int,
                iterations: int, momentum: float = 0.99,
                phase: torch.Tensor | None = None,
                shared_phase: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Fast Griffin-Lim (Perraudin et al. 2013), batched over leading dimensions.

    Args:
        magnitude: ``(..., channels, bins, frames)`` target magnitudes.
        phase: initial phase, broadcastable to ``magnitude``; zeros if None.
        momentum: 0 gives the plain algorithm, 0.99 the usual fast one.
        shared_phase: estimate one phase for all channels (dimension -3) from their summed
            magnitude, so the channels keep their phase relation (stable stereo image).

    Returns:
        ``(audio (..., channels, length), phase (..., channels or 1, bins, frames))``.
    """
    target = magnitude.sum(dim=-3, keepdim=True) if shared_phase else magnitude
    if phase is None:
        phase = torch.zeros_like(target)
    angles = torch.polar(torch.ones_like(target), phase.expand_as(target).float())
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        audio = istft(target * angles, n_fft, hop_length, length)
        rebuilt = stft(audio, n_fft, hop_length)
        accelerated = rebuilt + momentum * (rebuilt - previous) if momentum else rebuilt
        previous = rebuilt
        angles = accelerated / accelerated.abs().clamp_min(1e-16)
        # bins the target says are silent carry no phase information; keep them defined
        angles = torch.where(accelerated.abs() > 0, angles, torch.ones_like(angles))
    audio = istft(magnitude * angles, n_fft, hop_length, length)
    return audio, torch.angle(angles)


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)  # HTK mel scale


def mel_bands(n_bins: int, sample_rate: int, bands: int) -> torch.Tensor:
    """``(bands, bins)`` triangular mel filters, each row normalised to sum to 1, so a band's
    value is the weighted mean of its bins: the spectral envelope at the ear's resolution.

    Bands narrower than the bin spacing (low bands of small FFTs) keep their nearest bin."""
    freqs = torch.linspace(0, sample_rate / 2, n_bins, dtype=torch.float64)
    mel = _hz_to_mel(freqs)
    edges = torch.linspace(0, float(mel[-1]), bands + 2, dtype=torch.float64)
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (mel[None] - lo) / (centre - lo)
    falling = (hi - mel[None]) / (hi - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    empty = weights.sum(1) == 0
    if empty.any():
        nearest = (mel[None] - centre[empty]).abs().argmin(1)
        weights[empty.nonzero().squeeze(1), nearest] = 1.0
    return (weights / weights.sum(1, keepdim=True)).float()


def band_envelope(log_spec: torch.Tensor, bands: torch.Tensor) -> torch.Tensor:
    """``(..., bins, frames) -> (..., bands, frames)``: the log-magnitude averaged in the bands
    of ``bands (bands, bins)`` (see :func:`mel_bands`)."""
    return torch.matmul(bands.to(log_spec), log_spec)
