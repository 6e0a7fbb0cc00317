"""Audio arrays and files: reading, atomic writing, layouts, resampling and level.

Arrays are numpy ``float32`` with time on the last axis, ``(channels, samples)``, unless a
function says otherwise. File I/O goes through ``pedalboard.io.AudioFile``, resampling through
``soxr`` and loudness through ``pyloudnorm`` (ITU-R BS.1770 integrated loudness).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

import numpy as np
import pyloudnorm
import soxr
from pedalboard.io import AudioFile
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import sosfilt

from .atomic import atomic_path
from .layout import check_sample_rate, to_channels_first

PathLike = Union[str, "os.PathLike[str]"]

# BS.1770 gating needs at least one 400 ms block
MIN_LOUDNESS_SECONDS = 0.4
# integer PCM depths pedalboard writes; 32 means 32-bit float where the format has it (WAV)
BIT_DEPTHS = (8, 16, 24, 32)
DEFAULT_BIT_DEPTH = 24


class AudioFileError(ValueError):
    """An audio file cannot be read or written; the message names the file."""


# --- files -----------------------------------------------------------------------------------

def read_audio(path: PathLike) -> tuple[np.ndarray, float]:
    """Decode a whole file.

    Returns:
        ``(audio (channels, samples) float32, sample_rate)``.

    Raises:
        FileNotFoundError: the file does not exist (the message gives the path).
        AudioFileError: the file exists but is not audio pedalboard can decode.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(2, "audio file not found", str(path))
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    try:
        with AudioFile(str(path)) as f:
            # pedalboard refuses read(0): an empty file is an empty array
            audio = f.read(f.frames) if f.frames else np.zeros((f.num_channels, 0), np.float32)
            sample_rate = float(f.samplerate)
    except Exception as e:  # pedalboard raises ValueError/RuntimeError with its own wording
        raise AudioFileError(f"{path}: cannot decode this file as audio ({e})") from e
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.all(np.isfinite(audio)):
        raise AudioFileError(f"{path}: the file contains NaN or infinite samples")
    return audio, sample_rate


def write_audio(path: PathLike, audio: np.ndarray, sample_rate: float, *,
                bit_depth: int | None = None, quality: str | float | None = None) -> Path:
    """Write ``audio (channels, samples)`` (or ``(samples,)``) atomically: the file is written
    to a temporary name in the same folder and renamed over ``path`` only when complete, so a
    failed or interrupted write never leaves a truncated file behind.

    The format follows the extension (``.wav``, ``.flac``, ``.aiff``, ``.ogg``, ``.mp3``, ...).
    ``bit_depth`` (8, 16, 24 or 32; 32 is float in WAV) applies to PCM formats; the default is
    24-bit. ``quality`` is passed to lossy encoders (e.g. ``"V2"`` or a bitrate for MP3).
    Integer formats clip samples beyond full scale.
    """
    path = Path(os.fspath(path))
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ValueError(f"{path}: expected audio of shape (channels, samples), got {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"{path}: refusing to write NaN or infinite samples")
    if not (isinstance(sample_rate, (int, float)) and math.isfinite(sample_rate)
            and sample_rate > 0):
        raise ValueError(f"{path}: sample_rate = {sample_rate!r}; expected a number > 0")
    if bit_depth is None:
        bit_depth = DEFAULT_BIT_DEPTH
    if bit_depth not in BIT_DEPTHS:
        raise ValueError(f"{path}: bit_depth = {bit_depth!r}; expected one of {BIT_DEPTHS}")
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "output folder does not exist", str(path.parent))
    suffix = path.suffix.lower()
    lossy = suffix in (".mp3", ".ogg", ".opus")
    # the temporary keeps the extension: pedalboard picks the encoder from it
    with atomic_path(path, suffix=f".tmp{suffix}") as tmp:
        try:
            kwargs = {"quality": quality} if quality is not None else {}
            if not lossy:
                kwargs["bit_depth"] = bit_depth
            with AudioFile(str(tmp), "w", sample_rate, audio.shape[0], **kwargs) as f:
                f.write(audio)
        except Exception as e:
            raise AudioFileError(f"{path}: cannot write this file ({e})") from e
    return path


# --- layouts ---------------------------------------------------------------------------------

def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average of the channels: ``(channels, samples)`` or ``(samples,)`` -> ``(samples,)``."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio if audio.ndim == 1 else audio.mean(axis=0, dtype=np.float64).astype(np.float32)


# --- resampling ------------------------------------------------------------------------------

def load_style(style: Any) -> tuple[np.ndarray, float] | None:
    """A style as given (an audio file's path, an ``(array, sample_rate)`` tuple, or None) ->
    ``(mono (samples,) float32, sample_rate)``, or None."""
    if style is None:
        return None
    if isinstance(style, (str, os.PathLike)):
        decoded, sample_rate = read_audio(style)
        if decoded.shape[-1] == 0:
            raise AudioFileError(f"{os.fspath(style)}: the style file has no samples")
        return to_mono(decoded), sample_rate
    if not isinstance(style, tuple):
        raise TypeError(f"style must be a path or an (array, sample_rate) tuple, not "
                        f"{type(style).__name__}")
    if len(style) != 2:
        raise TypeError("style must be a path or an (array, sample_rate) tuple")
    array, sample_rate = style
    sample_rate = check_sample_rate(sample_rate)
    try:
        x, _ = to_channels_first(array)
    except (TypeError, RuntimeError, ValueError) as e:
        raise type(e)(f"style array: {e}") from None
    if x.shape[-1] == 0:
        raise ValueError("style array: the style is empty")
    return to_mono(x), sample_rate


def resample(audio: np.ndarray, from_sr: float, to_sr: float, *, quality: str = "HQ",
             length: int | None = None) -> np.ndarray:
    """Resample ``(channels, samples)`` or ``(samples,)`` with soxr.

    ``quality`` is soxr's ``"HQ"`` or ``"VHQ"``. ``length`` trims or zero-pads the result to an
    exact number of samples (soxr rounds the output length).
    """
    if quality not in ("HQ", "VHQ"):
        raise ValueError(f"quality = {quality!r}; expected 'HQ' or 'VHQ'")
    audio = np.asarray(audio, dtype=np.float32)
    if from_sr != to_sr and audio.shape[-1] > 0:
        # soxr wants (frames, channels)
        audio = soxr.resample(audio.T, from_sr, to_sr, quality=quality).T
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if length is not None:
        audio = fit_length(audio, length)
    return audio


def unique_channels(x: np.ndarray) -> tuple[list[int], list[int]]:
    """``(unique, index)`` of ``x (channels, samples)``: ``x[unique]`` holds each distinct
    channel once and ``x[unique][index] == x``."""
    unique: list[int] = []
    index: list[int] = []
    for c in range(x.shape[0]):
        for k, u in enumerate(unique):
            if np.array_equal(x[c], x[u]):
                index.append(k)
                break
        else:
            index.append(len(unique))
            unique.append(c)
    return unique, index


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad the last axis to ``length`` samples."""
    n = audio.shape[-1]
    if n >= length:
        return audio[..., :length]
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, length - n)]
    return np.pad(audio, pad)


# --- level -----------------------------------------------------------------------------------

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
BLOCK_OVERLAP = 0.75


@dataclass(frozen=True)
class LoudnessAnalysis:
    """What loudness needs of a signal, measured once and valid for any per-channel gains
    applied to it (K-weighting is linear, so block powers scale with the gains squared).

    ``blocks``: ``(channels, blocks)`` K-weighted power of each 400 ms BS.1770 gating block,
    times the channel's weight (``None`` for signals shorter than one block); ``power``:
    ``(channels,)`` ungated, unweighted mean squares (the fallback measure).
    """

    blocks: np.ndarray | None
    power: np.ndarray

    def loudness(self) -> float:
        """See :func:`loudness`."""
        total = float(self.power.sum())
        if total <= 0:
            return -math.inf
        if self.blocks is not None:
            value = _gated(self.blocks.sum(0))
            if math.isfinite(value):
                return value
        return -0.691 + 10 * math.log10(total)

    @property
    def gated(self) -> bool:
        """True when :meth:`loudness` is BS.1770's, not the fallback."""
        return self.blocks is not None and math.isfinite(_gated(self.blocks.sum(0)))

    def scaled(self, gain: float | np.ndarray) -> LoudnessAnalysis:
        """The analysis of the signal with every channel (or channel ``c``, for an array)
        multiplied by ``gain`` (``gain[c]``)."""
        g2 = np.broadcast_to(np.asarray(gain, dtype=np.float64) ** 2, self.power.shape)
        blocks = None if self.blocks is None else self.blocks * g2[:, None]
        return LoudnessAnalysis(blocks, self.power * g2)

    def channel(self, c: int) -> LoudnessAnalysis:
        """The analysis of channel ``c`` alone (with its channel weight)."""
        blocks = None if self.blocks is None else self.blocks[c:c + 1]
        return LoudnessAnalysis(blocks, self.power[c:c + 1])


@lru_cache(maxsize=16)
def _k_weighting(sample_rate: float) -> np.ndarray:
    stages = []
    for stage in pyloudnorm.Meter(sample_rate)._filters.values():
        b, a = np.asarray(stage.b, np.float64), np.asarray(stage.a, np.float64)
        stages.append(np.concatenate([stage.passband_gain * b / a[0], a / a[0]]))
    return np.stack(stages)


def k_weighting(sample_rate: float) -> np.ndarray:
    """BS.1770's K-weighting filter at ``sample_rate`` (pyloudnorm's two stages, the high shelf
    and the high-pass) as second-order sections ``(2, 6)`` for ``scipy.signal.sosfilt``."""
    # a copy of the cached one: sosfilt takes only writable sections
    return _k_weighting(float(sample_rate)).copy()


def analyse_loudness(audio: np.ndarray, sample_rate: float) -> LoudnessAnalysis:
    """One pass of K-weighting (pyloudnorm's filters) and block powers over ``audio``
    ``(channels, samples)``. Channel weights are BS.1770's (pyloudnorm's order: L, R, C, Ls, Rs,
    surrounds 1.41) up to five channels and 1.0 for every channel of larger layouts, whose
    order is unknown."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    channels, n = audio.shape
    power = np.mean(audio**2, axis=-1) if n else np.zeros(channels)
    if n < MIN_LOUDNESS_SECONDS * sample_rate or not power.any():
        return LoudnessAnalysis(None, power)
    meter = pyloudnorm.Meter(sample_rate)
    weighted = sosfilt(k_weighting(sample_rate), audio, axis=-1)
    weights = np.asarray([1.0, 1.0, 1.0, 1.41, 1.41][:channels] if channels <= 5
                         else [1.0] * channels)
    cumulative = np.zeros((channels, n + 1))
    np.cumsum(weighted**2, axis=-1, out=cumulative[:, 1:])
    # pyloudnorm's block boundaries exactly (eq. 3 of BS.1770-4)
    block, step = meter.block_size, 1.0 - BLOCK_OVERLAP
    count = int(np.round((n / sample_rate - block) / (block * step))) + 1
    j = np.arange(count)
    lo = np.minimum((block * (j * step) * sample_rate).astype(np.int64), n)
    hi = np.minimum((block * (j * step + 1) * sample_rate).astype(np.int64), n)
    blocks = (cumulative[:, hi] - cumulative[:, lo]) / (block * sample_rate)
    return LoudnessAnalysis(blocks * weights[:, None], power)


def _gated(blocks: np.ndarray) -> float:
    """BS.1770 gated loudness from block powers: absolute then relative gate."""
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(np.maximum(blocks, 0.0))
    keep = lk >= ABSOLUTE_GATE
    if not keep.any():
        return -math.inf
    relative = -0.691 + 10 * math.log10(blocks[keep].mean()) + RELATIVE_GATE
    keep &= lk > relative
    return -0.691 + 10 * math.log10(blocks[keep].mean())


def loudness(audio: np.ndarray, sample_rate: float) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, pyloudnorm's K-weighting and gating) of
    ``(channels, samples)``.

    Fallback, used when BS.1770 has no answer: signals shorter than 0.4 s (one gating block)
    and signals so quiet that every block falls under the -70 LUFS absolute gate are measured as
    the ungated, unweighted mean square over all channels, ``-0.691 + 10 log10(sum_c ms_c)``,
    on the same dB scale. Silence is ``-inf``.
    """
    return analyse_loudness(audio, sample_rate).loudness()


def rms_loudness(audio: np.ndarray) -> float:
    """Ungated, unweighted loudness estimate in dB: ``-0.691 + 10 log10(sum_c mean(x_c^2))``."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    power = np.mean(audio**2, axis=-1) if audio.shape[-1] else np.zeros(audio.shape[0])
    return LoudnessAnalysis(None, power).loudness()


def solve_gain(audio: LoudnessAnalysis, reference: LoudnessAnalysis) -> float:
    """Gain giving the analysed ``audio`` the loudness of ``reference``: BS.1770 when it
    measures both (refined, since the absolute gate makes it not quite scale-invariant), else
    the RMS fallback for both. A silent reference gives 0; a silent ``audio`` gives 1."""
    ref_power, power = float(reference.power.sum()), float(audio.power.sum())
    if ref_power == 0:
        return 0.0
    if power == 0:
        return 1.0
    rms_gain = math.sqrt(ref_power / power)  # the fallback, and a good start
    if audio.blocks is None or not reference.gated:
        return rms_gain
    target, blocks, gain = reference.loudness(), audio.blocks.sum(0), rms_gain
    for _ in range(20):
        current = _gated(blocks * gain * gain)
        if not math.isfinite(current):
            return rms_gain
        gain *= 10 ** ((target - current) / 20)
        if abs(target - current) < 1e-4:
            break
    return gain


def loudness_match_gain(audio: np.ndarray, reference: np.ndarray | LoudnessAnalysis,
                        sample_rate: float) -> float:
    """Linear gain that gives ``audio`` the loudness of ``reference`` (an array or its
    :func:`analyse_loudness`).

    Both are measured the same way: BS.1770 when it measures both, else the RMS fallback of
    :func:`loudness` for both. A silent reference gives 0; a silent ``audio`` gives 1.
    """
    if not isinstance(reference, LoudnessAnalysis):
        reference = analyse_loudness(reference, sample_rate)
    return solve_gain(analyse_loudness(audio, sample_rate), reference)


def match_loudness(audio: np.ndarray, reference: np.ndarray | LoudnessAnalysis,
                   sample_rate: float, ceiling: float | None = None, max_rounds: int = 4,
                   analysis: LoudnessAnalysis | None = None) -> np.ndarray:
    """``audio`` gained to the loudness of ``reference`` (``(channels, samples)``, or its
    :func:`analyse_loudness`); ``analysis`` is ``audio``'s own, if already known.

    With ``ceiling``, :func:`limit_peaks` keeps the result within it, and up to ``max_rounds``
    rounds make up the loudness the limiter took, so the result is both matched and within the
    ceiling (unless the ceiling makes the target unreachable: then as close as it allows).
    """
    if not isinstance(reference, LoudnessAnalysis):
        reference = analyse_loudness(reference, sample_rate)
    out = np.asarray(audio, dtype=np.float32)
    if analysis is None:
        analysis = analyse_loudness(out, sample_rate)
    for round_ in range(max_rounds):
        gain = solve_gain(analysis, reference)
        if gain == 0.0:
            return np.zeros_like(out)
        if round_ and abs(20 * math.log10(gain)) < 0.05:
            return out  # the limiter took less than 0.05 LU
        out = (out * np.float32(gain)).astype(np.float32)
        if ceiling is None or not out.size or np.max(np.abs(out)) <= ceiling:
            return out
        out = limit_peaks(out, sample_rate, ceiling)
        analysis = analyse_loudness(out, sample_rate)
    return out


def limit_peaks(audio: np.ndarray, sample_rate: float, ceiling: float = 1.0,
                window_seconds: float = 0.005) -> np.ndarray:
    """Keep every sample of ``(channels, samples)`` within ``+-ceiling``.

    A linked (all channels together) look-ahead peak limiter: the gain each sample needs is
    spread over ``window_seconds`` either side by a minimum filter and smoothed by a moving
    average no wider than that, so the gain never exceeds what any sample needs and changes
    without clicks. Audio already within the ceiling is returned unchanged. A final clip
    guards against float rounding.
    """
    audio = np.asarray(audio, dtype=np.float32)
    peak = np.max(np.abs(audio)) if audio.size else 0.0
    if peak <= ceiling:
        return audio
    env = np.max(np.abs(np.atleast_2d(audio)), axis=0).astype(np.float64)
    need = np.minimum(1.0, ceiling / np.maximum(env, 1e-30))
    half = max(1, int(round(window_seconds * sample_rate)))
    gain = minimum_filter1d(need, 2 * half + 1, mode="nearest")
    gain = uniform_filter1d(gain, 2 * half + 1, mode="nearest")
    out = (audio * gain.astype(np.float32)).astype(np.float32)
    return np.clip(out, -ceiling, ceiling)


# --- levelling a processed signal ------------------------------------------------------------

# -0.1 dBFS: headroom for lossy encoders and inter-sample peaks
PEAK_CEILING = 10 ** (-0.1 / 20)


def peak_ceiling(reference: np.ndarray) -> float:
    """The peak ceiling of a signal levelled like ``reference``: :data:`PEAK_CEILING`, or the
    reference's own peak where that is higher (nothing goes above full scale unless it did)."""
    return max(PEAK_CEILING, float(np.max(np.abs(reference))))


def match_and_limit(audio: np.ndarray, reference: LoudnessAnalysis, sample_rate: float,
                    ceiling: float, analysis: LoudnessAnalysis | None = None) -> np.ndarray:
    """``audio (channels, samples)`` at the loudness of ``reference`` and within ``ceiling``:
    :func:`match_loudness` (which makes up for the limiter), then a last :func:`limit_peaks`
    for what its rounds left. float32."""
    out = match_loudness(audio, reference, sample_rate, ceiling=ceiling, analysis=analysis)
    return limit_peaks(out.astype(np.float32), sample_rate, ceiling)


def level(dry: np.ndarray, wet: np.ndarray, sample_rate: float, *, mix: float,
          match_loudness: bool, balance_channels: bool) -> np.ndarray:
    """An effect's output from its input ``dry`` and its raw output ``wet``, both
    ``(channels, samples)`` at ``sample_rate``: ``(channels, samples)`` float32.

    - ``balance_channels`` (several channels): each wet channel is gained to its dry channel's
      loudness, so the input's balance (panning, a silent channel) survives an effect that pulls
      every channel to one level; without ``match_loudness`` the wet signal keeps its own
      overall loudness.
    - ``match_loudness``: the wet signal, then the ``mix``, at the input's loudness.
    - ``mix``: linear dry/wet balance (0 the input, 1 all effect).
    - A look-ahead peak limiter keeps every sample within :func:`peak_ceiling` of the input.

    Each signal is K-weighted once: gains are solved on the analyses.
    """
    ceiling = peak_ceiling(dry)
    dry_a = analyse_loudness(dry, sample_rate)
    wet_a = analyse_loudness(wet, sample_rate)
    gains = np.ones(wet.shape[0])
    if dry.shape[0] > 1 and balance_channels:
        gains = np.array([solve_gain(wet_a.channel(c), dry_a.channel(c))
                          for c in range(wet.shape[0])])
        if not match_loudness:
            gains *= solve_gain(wet_a.scaled(gains), wet_a)
    if match_loudness:
        gains *= solve_gain(wet_a.scaled(gains), dry_a)
    wet = (wet * gains[:, None].astype(np.float32)).astype(np.float32)
    wet_a = wet_a.scaled(gains)
    if mix == 1:
        out, out_a = wet, wet_a
    else:
        out, out_a = (1 - mix) * dry + mix * wet, None
    if match_loudness:
        out = match_and_limit(out, dry_a, sample_rate, ceiling, out_a)
    else:
        out = limit_peaks(out.astype(np.float32), sample_rate, ceiling)
    return out.astype(np.float32, copy=False)
