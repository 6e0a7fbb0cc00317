"""The top octave at the user's rate: band replication from the output's own upper band,
levelled bin by bin to the style's top octave.

The engine analyses at 22050 Hz (the seed method's rate), so a render has nothing above
11 kHz. As in spectral band replication (HE-AAC's SBR), the missing band is rebuilt from the
band below it: the output's last octave below the split, ``[split/2, split)``, is copied up
(shifted by whole STFT bins, as often as it takes to reach the top) and each target bin is
then given the level the style has there, as a share of the signal's energy averaged over
time. The copy keeps the output's own events: its level moves frame by frame with the octave
it came from, so no stationary floor is added. Where the style has no energy (a source cut at
16 kHz, or a style sampled at 22.05 kHz) the gain is zero: nothing is invented that the style
does not have.

A shift by ``m`` bins of an STFT with hop ``n_fft / 4`` is a clean frequency shift when ``m``
is a multiple of 4 (the phase advance ``2 pi m hop / n_fft`` per frame is then a whole turn), so
the copied band keeps its transients where they were in time.

Time is on the last axis; audio is ``(channels, samples)`` float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .spectral import istft, padded_slice, stft, stft_frames

# 2048 points at 44.1/48 kHz (about 45 ms): fine enough in frequency for the style's spectral
# shape, short enough that a copied transient does not smear audibly
REFERENCE_RATE, REFERENCE_FFT = 44100.0, 2048
# the style's per-bin level is smoothed over about a sixth of an octave: a 10 s style's
# spectrum is noisy bin by bin, and a noisy equaliser would colour the copy
SMOOTHING_OCTAVES = 1 / 6
# a bin of the style this far below its loudest top-octave bin counts as empty: nothing is added
EMPTY_DB = 90.0
# never lift the copied band by more than this (a near-silent source would only bring up noise)
MAX_GAIN_DB = 24.0
# the split sits this far below the analysis rate's Nyquist: the resampler's transition band
# (soxr VHQ passes 95% of it flat) is filled by the copy, and the source octave is all passband
SPLIT_OF_NYQUIST = 0.95
# the style's level is read from at most this many frames, spread over the whole style
PROFILE_FRAMES = 4000
# frames transformed at a time (about 12 s at 44.1 kHz): the memory of a long file stays bounded
BLOCK_FRAMES = 1024
# the envelope: frames more than this far below the loudest (1 kHz up to the split) are
# silence, left out of its spread; the copy's swing is the output's own times at most this
QUIET_DB, MAX_EXPANSION = 40.0, 3.0
# the lower band whose envelope drives the copy's level, frame by frame
ENVELOPE_LOW_HZ = 1000.0
# the envelope's gain is smoothed over this many frames (about 35 ms at 44.1 kHz): no zipper
ENVELOPE_SMOOTHING_FRAMES = 3


def split_frequency(analysis_rate: float) -> float:
    """Where the copied band starts for a render analysed at ``analysis_rate``."""
    return SPLIT_OF_NYQUIST * analysis_rate / 2


def fft_size(sample_rate: float) -> int:
    """The STFT size at ``sample_rate``: 2048 at 44.1/48 kHz, doubled per octave above."""
    return REFERENCE_FFT * 2 ** max(0, round(math.log2(sample_rate / REFERENCE_RATE)))


@dataclass(frozen=True)
class TopOctaveProfile:
    """What the top octave takes from the style.

    ``share[k]``: the style's mean power at ``frequencies[k]`` Hz, per Hz, over its mean total
    power (so it does not depend on the STFT size); ``bandwidth``: the highest frequency the
    style has (its Nyquist); ``spread_db``: how far its top octave's level swings over time
    (the standard deviation of that band's level per frame, in dB, over the frames that are
    not silent), 0 without a top octave."""

    frequencies: np.ndarray
    share: np.ndarray
    bandwidth: float
    spread_db: float


def band_level_db(power: torch.Tensor, frequencies: np.ndarray, lo: float, hi: float
                  ) -> np.ndarray:
    """The level per frame, dB, of the bins in ``[lo, hi)`` of ``power (..., bins, frames)``
    (channels, if any, summed)."""
    rows = torch.from_numpy((frequencies >= lo) & (frequencies < hi))
    band = power[..., rows, :].double().sum(dim=-2)
    while band.dim() > 1:
        band = band.sum(dim=0)
    return 10 * np.log10(band.numpy() + 1e-20)


def sounding(level_db: np.ndarray) -> np.ndarray:
    """The frames within :data:`QUIET_DB` of the loudest."""
    return level_db >= level_db.max() - QUIET_DB


def style_profile(style: np.ndarray, sample_rate: float, analysis_rate: float
                  ) -> TopOctaveProfile:
    """The profile of a mono style ``(samples,)`` at its own rate, for renders analysed at
    ``analysis_rate``. Whole frames only: the zero padding of centred edge frames would
    spread a click across the spectrum and read as a floor where the style has none."""
    n_fft = fft_size(sample_rate)
    audio = torch.from_numpy(np.ascontiguousarray(style, dtype=np.float32))
    frames = stft_frames if audio.shape[-1] >= n_fft else stft
    power = frames(audio, n_fft, n_fft // 4).abs().square()  # (bins, frames)
    if power.shape[-1] > PROFILE_FRAMES:
        power = power[:, torch.linspace(0, power.shape[-1] - 1, PROFILE_FRAMES).long()]
    mean = power.double().mean(dim=-1).numpy()
    total = float(mean.sum())
    hz_per_bin = sample_rate / n_fft
    frequencies = np.arange(mean.size) * hz_per_bin
    share = mean / (total * hz_per_bin) if total > 0 else np.zeros_like(mean)
    spread = 0.0
    if sample_rate / 2 > analysis_rate / 2 * 1.01 and total > 0:
        split = analysis_rate / 2
        low = band_level_db(power, frequencies, ENVELOPE_LOW_HZ, split)
        top = band_level_db(power, frequencies, split, sample_rate / 2 + 1)
        spread = float(np.std(top[sounding(low)]))
    return TopOctaveProfile(frequencies, share, sample_rate / 2, spread)


def has_top_octave(sample_rate: float, analysis_rate: float, profile: TopOctaveProfile
                   ) -> bool:
    """Whether both the rate and the style reach above the analysis rate's Nyquist."""
    return min(sample_rate / 2, profile.bandwidth) > analysis_rate / 2 * 1.01


def band_layout(sample_rate: float, analysis_rate: float, n_fft: int
                ) -> tuple[int, np.ndarray, np.ndarray]:
    """For an STFT of ``n_fft`` points at ``sample_rate``: the first target bin, the bin each
    target bin is copied from (:func:`source_bins`, about an octave down, a multiple of 4
    bins) and the target bins' frequencies."""
    hz_per_bin = sample_rate / n_fft
    split_bin = int(math.ceil(split_frequency(analysis_rate) / hz_per_bin))
    shift = max(4, 4 * int(round(split_bin / 2 / 4)))
    n_bins = n_fft // 2 + 1
    return (split_bin, source_bins(n_bins, split_bin, shift),
            np.arange(split_bin, n_bins) * hz_per_bin)


def source_bins(n_bins: int, split_bin: int, shift: int) -> np.ndarray:
    """For every target bin ``k >= split_bin``, the bin it is copied from: ``k`` shifted down by
    whole multiples of ``shift`` into ``[split_bin - shift, split_bin)``."""
    k = np.arange(split_bin, n_bins)
    return k - shift * ((k - split_bin) // shift + 1)


def _smooth_db(level_db: np.ndarray, frequencies: np.ndarray, octaves: float) -> np.ndarray:
    """``level_db`` averaged over ``octaves`` around each frequency (log-frequency window)."""
    out = level_db.copy()
    half = 2 ** (octaves / 2)
    lo = np.searchsorted(frequencies, frequencies / half)
    hi = np.searchsorted(frequencies, frequencies * half, side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(level_db)])
    valid = hi > lo
    out[valid] = (cumulative[hi[valid]] - cumulative[lo[valid]]) / (hi[valid] - lo[valid])
    return out


def replicate(audio: np.ndarray, sample_rate: float, analysis_rate: float,
              profile: TopOctaveProfile) -> np.ndarray:
    """``audio (channels, samples)`` at ``sample_rate``, rendered at ``analysis_rate``, with its
    band above the split (:func:`split_frequency`) rebuilt from the octave below at the style's
    level (see the module docstring). Unchanged when neither the rate nor the style reach
    above the analysis rate's Nyquist. Every channel gets the same equaliser, so the stereo
    image of the copied band is the image of its source band (identical channels stay
    identical, a silent channel stays silent). Works through the signal in blocks of
    :data:`BLOCK_FRAMES` frames, so an hour costs no more memory than a minute."""
    if not has_top_octave(sample_rate, analysis_rate, profile) or audio.shape[-1] == 0:
        return audio
    top = min(sample_rate / 2, profile.bandwidth)
    n_fft = fft_size(sample_rate)
    hz_per_bin = sample_rate / n_fft
    split_hz = split_frequency(analysis_rate)
    split_bin, source, frequencies = band_layout(sample_rate, analysis_rate, n_fft)
    n_bins = n_fft // 2 + 1
    sources = torch.from_numpy(source)
    blocks = _Blocks(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), n_fft)

    # 1. the copy's mean power per target bin and a frame's mean power, as the equaliser needs
    copied, total = np.zeros(frequencies.size), 0.0
    for power, _ in blocks.own_frames():
        copied += power[:, sources].sum(dim=(0, -1)).numpy()
        total += float(power.sum())
    count = blocks.n_frames * audio.shape[0]
    copied, total = copied / count, total / count
    if total <= 0:
        return audio
    gain = equaliser(frequencies, copied, total, hz_per_bin, split_hz, top, profile)

    # 2. the envelope: the lower band's level and the equalised copy's, frame by frame
    low, level = [], []
    all_bins = np.arange(n_bins) * hz_per_bin
    power_gain = torch.from_numpy(gain.astype(np.float64) ** 2)[None, :, None]
    for power, _ in blocks.own_frames():
        low.append(band_level_db(power, all_bins, ENVELOPE_LOW_HZ, split_hz))
        level.append(band_level_db(power[:, sources] * power_gain, frequencies, 0, np.inf))
    envelope = envelope_gain(np.concatenate(low), np.concatenate(level), profile.spread_db)

    # 3. the band, block by block, added to the audio
    out = audio.astype(np.float32, copy=True)
    gain_t = torch.from_numpy(gain.astype(np.float32))[None, :, None]
    for a, b, spectrum, frames in blocks.segments():
        band = torch.zeros_like(spectrum)
        scale = torch.from_numpy(envelope[np.clip(frames, 0, blocks.n_frames - 1)])
        band[:, split_bin:] = spectrum[:, sources] * gain_t * scale
        out[:, a:b] += blocks.keep(istft(band, n_fft, n_fft // 4, blocks.length(a, b)), a, b)
    return out


def equaliser(frequencies: np.ndarray, copied: np.ndarray, total: float, hz_per_bin: float,
               split_hz: float, top: float, profile: TopOctaveProfile) -> np.ndarray:
    """The gain per target bin that gives the copy (mean power ``copied`` per bin, a frame's
    being ``total``) the style's share of the energy there; 0 where the style is empty."""
    wanted = np.interp(frequencies, profile.frequencies, profile.share, right=0.0) \
        * hz_per_bin * total
    gain_db = 10 * np.log10(np.maximum(wanted, 1e-30) / np.maximum(copied, 1e-30))
    gain_db = np.minimum(_smooth_db(gain_db, frequencies, SMOOTHING_OCTAVES), MAX_GAIN_DB)
    top_share = profile.share[profile.frequencies >= split_hz]
    loudest = float(top_share.max()) if top_share.size else 0.0
    empty = (wanted <= loudest * hz_per_bin * total * 10 ** (-EMPTY_DB / 10)) \
        | (frequencies > top) | (copied <= 0)
    return np.where(empty, 0.0, 10 ** (gain_db / 20))


class _Blocks:
    """The centred STFT frames of ``audio (channels, samples)`` (hop ``n_fft / 4``), a block
    of :data:`BLOCK_FRAMES` at a time. Each block is computed from its samples with a margin of
    ``n_fft`` on either side (zeros beyond the signal), so its frames and the samples its
    inverse keeps are the same as from the whole signal's transform."""

    def __init__(self, audio: torch.Tensor, n_fft: int) -> None:
        self.audio, self.n_fft, self.hop = audio, n_fft, n_fft // 4
        self.n_frames = audio.shape[-1] // self.hop + 1
        self.step = BLOCK_FRAMES * self.hop

    def _spectrum(self, a: int, b: int) -> tuple[torch.Tensor, np.ndarray]:
        """The frames of the segment ``[a - n_fft, b + n_fft)`` and their global indices."""
        segment = padded_slice(self.audio, a - self.n_fft, b + self.n_fft)
        spectrum = stft(segment, self.n_fft, self.hop)
        first = (a - self.n_fft) // self.hop
        return spectrum, first + np.arange(spectrum.shape[-1])

    def segments(self):
        """``(a, b, spectrum (channels, bins, frames), frame indices)`` per block of samples."""
        n = self.audio.shape[-1]
        for a in range(0, n, self.step):
            b = min(a + self.step, n)
            yield (a, b, *self._spectrum(a, b))

    def own_frames(self):
        """``(power (channels, bins, frames) float64, frame indices)``: every frame of the
        signal exactly once, in order."""
        for a, b, spectrum, frames in self.segments():
            last = b // self.hop if b < self.audio.shape[-1] else self.n_frames
            mine = (frames >= a // self.hop) & (frames < last)
            yield spectrum[..., torch.from_numpy(mine)].abs().square().double(), frames[mine]

    def length(self, a: int, b: int) -> int:
        return b - a + 2 * self.n_fft

    def keep(self, segment: torch.Tensor, a: int, b: int) -> np.ndarray:
        """The samples ``[a, b)`` of a block's inverse transform."""
        return segment[..., self.n_fft:self.n_fft + b - a].numpy()


def envelope_gain(low_db: np.ndarray, copy_db: np.ndarray, style_spread_db: float
                  ) -> np.ndarray:
    """A gain per frame ``(frames,)`` float32 for the copied band (level ``copy_db`` per
    frame): where it swings less than the style's top octave (``style_spread_db``), it gets the
    envelope of the output's lower band (``low_db``, 1 kHz up to the split), its swing scaled
    to the style's (at most :data:`MAX_EXPANSION` times the lower band's own), at the same
    mean power. The copy of one octave can swing far less than the music does (a render's
    upper octave is often texture-like), where real highs rise and fall with every event; a
    copy that swings enough keeps its own envelope."""
    frames = sounding(low_db)
    low_spread = float(np.std(low_db[frames]))
    if low_spread <= 0 or style_spread_db <= float(np.std(copy_db[frames])):
        return np.ones_like(copy_db, dtype=np.float32)  # it swings enough on its own
    scale = min(style_spread_db / low_spread, MAX_EXPANSION)
    target = scale * (low_db - low_db[frames].mean())
    gain_db = np.convolve(target - (copy_db - copy_db[frames].mean()),
                          np.ones(ENVELOPE_SMOOTHING_FRAMES) / ENVELOPE_SMOOTHING_FRAMES,
                          mode="same")
    gain_db = np.clip(gain_db, -60.0, MAX_GAIN_DB)
    power = 10 ** (copy_db / 10)
    # the same mean power (the style's share) with the new envelope
    norm = power.sum() / max((power * 10 ** (gain_db / 10)).sum(), 1e-30)
    return (10 ** (gain_db / 20) * math.sqrt(norm)).astype(np.float32)
