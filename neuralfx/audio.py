"""Audio arrays and files: reading, atomic writing, layouts, resampling and level.

Arrays are numpy ``float32`` with time on the last axis, ``(channels, samples)``, unless a
function says otherwise. File I/O goes through ``pedalboard.io.AudioFile``, resampling through
``soxr`` and loudness through ``pyloudnorm`` (ITU-R BS.1770 integrated loudness).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Union

import numpy as np
import pyloudnorm
import soxr
from pedalboard.io import AudioFile
from scipy.ndimage import minimum_filter1d, uniform_filter1d

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{suffix}")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        try:
            kwargs = {"quality": quality} if quality is not None else {}
            if not lossy:
                kwargs["bit_depth"] = bit_depth
            with AudioFile(tmp, "w", sample_rate, audio.shape[0], **kwargs) as f:
                f.write(audio)
        except Exception as e:
            raise AudioFileError(f"{path}: cannot write this file ({e})") from e
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- layouts ---------------------------------------------------------------------------------

def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average of the channels: ``(channels, samples)`` or ``(samples,)`` -> ``(samples,)``."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio if audio.ndim == 1 else audio.mean(axis=0, dtype=np.float64).astype(np.float32)


# --- resampling ------------------------------------------------------------------------------

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


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad the last axis to ``length`` samples."""
    n = audio.shape[-1]
    if n >= length:
        return audio[..., :length]
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, length - n)]
    return np.pad(audio, pad)


# --- level -----------------------------------------------------------------------------------

def loudness(audio: np.ndarray, sample_rate: float) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, via pyloudnorm) of ``(channels, samples)``.

    Fallback, used when BS.1770 has no answer: signals shorter than 0.4 s (one gating block)
    and signals so quiet that every block falls under the -70 LUFS absolute gate are measured as
    the ungated, unweighted mean square over all channels, ``-0.691 + 10 log10(sum_c ms_c)``,
    on the same dB scale. Silence is ``-inf``.
    """
    value, _ = _measure(audio, sample_rate)
    return value


def _measure(audio: np.ndarray, sample_rate: float) -> tuple[float, bool]:
    """``(loudness, measured with BS.1770)``: see :func:`loudness`."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    if not np.any(audio):
        return -math.inf, False
    if audio.shape[-1] >= MIN_LOUDNESS_SECONDS * sample_rate:
        meter = pyloudnorm.Meter(sample_rate)
        with np.errstate(divide="ignore"):
            value = (meter.integrated_loudness(audio.T) if audio.shape[0] <= 5
                     else _gated_loudness(meter, audio, sample_rate))
        if math.isfinite(value):
            return float(value), True
    return rms_loudness(audio), False


def _gated_loudness(meter: pyloudnorm.Meter, audio: np.ndarray, sample_rate: float) -> float:
    """BS.1770 integrated loudness of more than five channels (pyloudnorm stops at five).

    The same K-weighting filters and the same gating as pyloudnorm, every channel weighted 1.0
    (the order of a many-channel array is unknown, so no surround weighting is applied).
    """
    weighted = audio.copy()
    for stage in meter._filters.values():  # pyloudnorm's K-weighting stages
        weighted = np.stack([stage.apply_filter(ch) for ch in weighted])
    block = int(meter.block_size * sample_rate)
    step = meter.block_size * (1 - meter.overlap) * sample_rate
    count = int(round((audio.shape[-1] / sample_rate - meter.block_size)
                      / (meter.block_size * (1 - meter.overlap)))) + 1
    power = weighted**2
    z = np.stack([power[:, int(j * step):int(j * step) + block].sum(-1) / block
                  for j in range(count)], axis=-1)  # (channels, blocks)
    block_power = z.sum(0)
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(block_power)
    gated = lk >= -70.0
    if not gated.any():
        return -math.inf
    relative = -0.691 + 10 * math.log10(block_power[gated].mean()) - 10
    gated &= lk > relative
    return -0.691 + 10 * math.log10(block_power[gated].mean())


def rms_loudness(audio: np.ndarray) -> float:
    """Ungated, unweighted loudness estimate in dB: ``-0.691 + 10 log10(sum_c mean(x_c^2))``."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    power = float(np.sum(np.mean(audio**2, axis=-1))) if audio.shape[-1] else 0.0
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def loudness_match_gain(audio: np.ndarray, reference: np.ndarray, sample_rate: float) -> float:
    """Linear gain that gives ``audio`` the loudness of ``reference``.

    Both are measured the same way: BS.1770 when it measures both, else the RMS fallback of
    :func:`loudness` for both. A silent reference gives 0; a silent ``audio`` gives 1.
    """
    ref, ref_gated = _measure(reference, sample_rate)
    out, out_gated = _measure(audio, sample_rate)
    if not (ref_gated and out_gated):
        ref, out = rms_loudness(reference), rms_loudness(audio)
    if ref == -math.inf:
        return 0.0
    if out == -math.inf:
        return 1.0
    return 10 ** ((ref - out) / 20)


def match_loudness(audio: np.ndarray, reference: np.ndarray, sample_rate: float,
                   ceiling: float | None = None, tolerance: float = 0.05,
                   max_rounds: int = 4) -> np.ndarray:
    """``audio`` gained to the loudness of ``reference`` (both ``(channels, samples)``).

    BS.1770 gating is not scale-invariant near its -70 LUFS absolute gate, so the gain is
    re-measured and refined for up to ``max_rounds`` rounds until within ``tolerance`` LU.
    With ``ceiling``, each round also runs :func:`limit_peaks`, and the next round makes up
    the loudness the limiter took, so the result is both matched and within the ceiling
    (unless the ceiling makes the target unreachable: then as close as the limiter allows).
    """
    out = np.asarray(audio, dtype=np.float32)
    for _ in range(max_rounds):
        gain = loudness_match_gain(out, reference, sample_rate)
        if gain == 0.0:
            return np.zeros_like(out)
        if abs(20 * math.log10(gain)) <= tolerance and (
                ceiling is None or np.max(np.abs(out)) <= ceiling):
            break
        out = (out * np.float32(gain)).astype(np.float32)
        if ceiling is not None:
            out = limit_peaks(out, sample_rate, ceiling)
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
