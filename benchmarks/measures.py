"""The measuring code every benchmark shares: quality measures, the machine, result files.

Quality, independent of the optimisation (no preset's optimiser uses these networks):

- :func:`style_distance`: relative Frobenius distance of Gram matrices of output and style under a
  bank of random networks whose seed and widths no preset uses (lower is better).
- :func:`held_out_style_distance`: its mean over three such banks (seeds ``EVAL_SEED``,
  ``+1``, ``+2``), with the per-seed values; :func:`best_gain_style_distance` the same at the
  gain that brings the output closest to the style.
- :func:`content_similarity`: Pearson correlation of the log-mel spectrograms of output and
  content (higher is better, 1 = same).
- :func:`rhythm_similarity`: Pearson correlation of the autocorrelation curves (lags up to 4 s)
  of the onset-strength envelopes of output and style (higher is better).
- :func:`reconstruction_quality`: spectral convergence between the optimised magnitude and the
  STFT magnitude of the final audio (lower is better).
- :func:`top_band_levels` and :func:`top_envelope`: the top octave (11 kHz up), which the
  measures above cannot see (they analyse at 22050 Hz): its level per band, and how its level
  moves over time and with the 1-11 kHz band.

Signals are numpy arrays or tensors, ``(samples,)`` or ``(channels, samples)`` (channels are
averaged), at ``sr`` Hz; they are resampled to the analysis rate 22050 Hz when needed.

Runs: :func:`machine` (the facts a figure needs beside it), :func:`write_result` and
:func:`update_result` (each script's one file, ``benchmarks/results/<script>.json``, written
atomically), :func:`timer` (wall and process-CPU seconds), :func:`parse_sets` (``--set``).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import platform
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from neuralfx.network import RandomNetwork, gram, random_network
from neuralfx.spectral import log_spectrogram

# every script writes its one result file here, named after the script
RESULTS = Path(__file__).resolve().parent / "results"

ANALYSIS_RATE = 22050
N_FFT = 2048
HOP = 512

# The evaluation network bank: odd widths and a seed no preset uses (presets use seed 0 and
# widths 11 or powers of two), 512 filters each. Fixed forever so figures stay comparable.
EVAL_SEED = 20190512
EVAL_WIDTHS = (5, 17, 53)
EVAL_FILTERS = 512

# the held-out banks of held_out_style_distance: EVAL_SEED first, so its first value is the
# figure style_distance always gave
HELD_OUT_SEEDS = (EVAL_SEED, EVAL_SEED + 1, EVAL_SEED + 2)

RHYTHM_MAX_LAG_SECONDS = 4.0


def _mono(audio, sr: int, rate: int = ANALYSIS_RATE) -> np.ndarray:
    """``(samples,)`` or ``(channels, samples)`` -> float64 mono ``(samples,)`` at ``rate``."""
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    a = np.asarray(audio, dtype=np.float64)
    if a.ndim == 2:
        a = a.mean(axis=0)
    if a.ndim != 1:
        raise ValueError(f"expected (samples,) or (channels, samples) audio, got shape {a.shape}")
    if sr != rate:
        import soxr

        a = soxr.resample(a, sr, rate, quality="HQ")
    return a


@functools.cache
def _eval_network(widths: tuple[int, ...], seed: int) -> RandomNetwork:
    # kept here, not in random_network's small cache (which the renders being measured share),
    # so each bank's FFT kernels are built once per process, not once per signal
    return random_network(N_FFT // 2 + 1, EVAL_FILTERS, widths, seed)


def _grams(audio: np.ndarray, widths: tuple[int, ...], seed: int = EVAL_SEED
           ) -> list[torch.Tensor]:
    """Per width the Gram ``F F^T / T'`` of the whole signal (benchmark clips fit in memory:
    the same statistics :func:`neuralfx.style.compute_style_statistics` gathers in pieces)."""
    spec = log_spectrogram(torch.from_numpy(audio).float(), N_FFT, HOP)
    with torch.no_grad():
        features = _eval_network(tuple(widths), seed).features(spec[None])
    return [gram(f)[0].double() for f in features]


def _usable_widths(out: np.ndarray, sty: np.ndarray, widths: tuple[int, ...]
                   ) -> tuple[int, ...]:
    """The evaluation widths both signals (mono, at the analysis rate) are long enough for."""
    frames = min(len(out), len(sty)) // HOP + 1
    usable = tuple(w for w in widths if w <= frames)
    if not usable:
        raise ValueError(f"signals of {frames} frames are shorter than every evaluation width "
                         f"{list(widths)}")
    return usable


def _relative_distance(grams: list[torch.Tensor], targets: list[torch.Tensor]) -> float:
    """Mean over widths of ``||G - G_target||_F / ||G_target||_F``."""
    return float(np.mean([(a - b).norm().item() / max(b.norm().item(), 1e-30)
                          for a, b in zip(grams, targets)]))


def style_distance(output, style, sr: int, widths: tuple[int, ...] = EVAL_WIDTHS,
                   seed: int = EVAL_SEED) -> float:
    """Mean over the evaluation widths of ``||G_out - G_style||_F / ||G_style||_F``.

    Widths longer than either signal (in frames) are skipped; at least one must fit.
    0 means the same texture statistics; a silent output scores 1. ``seed`` picks the
    evaluation bank (the default is the one every recorded figure used).
    """
    out, sty = _mono(output, sr), _mono(style, sr)
    usable = _usable_widths(out, sty, widths)
    return _relative_distance(_grams(out, usable, seed), _grams(sty, usable, seed))


def held_out_style_distance(output, style, sr: int, widths: tuple[int, ...] = EVAL_WIDTHS,
                            seeds: tuple[int, ...] = HELD_OUT_SEEDS
                            ) -> tuple[float, list[float]]:
    """:func:`style_distance` under several held-out evaluation banks (seeds no preset's
    optimiser uses): ``(mean, [value per seed])``. One random bank can favour or penalise an
    output by chance; the mean of three is steadier, the spread shows how much."""
    out, sty = _mono(output, sr), _mono(style, sr)  # resampled once for all the seeds
    values = [style_distance(out, sty, ANALYSIS_RATE, widths, seed) for seed in seeds]
    return float(np.mean(values)), values


def best_gain_style_distance(output, style, sr: int, widths: tuple[int, ...] = EVAL_WIDTHS,
                             seeds: tuple[int, ...] = HELD_OUT_SEEDS, span_db: float = 18.0
                             ) -> tuple[float, list[float], float]:
    """:func:`held_out_style_distance` of ``output`` at the gain that brings it closest to the
    style: ``(mean, [value per seed], gain in dB)``.

    The distance depends on level (log1p magnitudes): on sparse signals such as drums 2 dB can
    move it from 0.3 to 0.9, and loudness (LUFS) matching is not the level the statistics
    agree best at. Methods with different level policies (the presets give the output the
    input's loudness, the literal pipeline leaves it where the optimisation ends) are compared
    on the texture alone at each one's best gain: a grid of 3 dB over +-``span_db``, then 1 dB
    around the best.
    """
    out, sty = _mono(output, sr), _mono(style, sr)
    usable = _usable_widths(out, sty, widths)
    targets = {seed: _grams(sty, usable, seed) for seed in seeds}
    memo: dict[float, list[float]] = {}

    def per_seed(gain_db: float) -> list[float]:
        if gain_db not in memo:
            scaled = out * 10 ** (gain_db / 20)
            memo[gain_db] = [_relative_distance(_grams(scaled, usable, seed), g)
                             for seed, g in targets.items()]
        return memo[gain_db]

    coarse = min(np.arange(-span_db, span_db + 1e-9, 3.0), key=lambda g: np.mean(per_seed(g)))
    best = min(np.arange(coarse - 2.0, coarse + 2.0 + 1e-9, 1.0),
               key=lambda g: np.mean(per_seed(g)))
    values = per_seed(best)
    return float(np.mean(values)), values, float(best)


def _log_mel(audio: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=ANALYSIS_RATE, n_fft=N_FFT, hop_length=HOP,
                                         n_mels=128, power=2.0)
    # dB with an absolute floor (not relative to each signal's peak, so a quiet output is not
    # flattered): -100 dB re full scale is far below anything audible in these tests
    return 10 * np.log10(np.maximum(mel, 1e-10))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def content_similarity(output, content, sr: int) -> float:
    """Pearson correlation of the log-mel spectrograms (128 bands, dB) of output and content,
    frame by frame over their common length. 1 = same spectrogram up to gain and offset."""
    a, b = _log_mel(_mono(output, sr)), _log_mel(_mono(content, sr))
    n = min(a.shape[1], b.shape[1])
    return _pearson(a[:, :n], b[:, :n])


def onset_autocorrelation(audio, sr: int, max_lag_seconds: float = RHYTHM_MAX_LAG_SECONDS
                          ) -> np.ndarray:
    """Autocorrelation of the onset-strength envelope for lags ``1..L`` frames (hop 512 at
    22050 Hz), unbiased (each lag divided by its number of frame pairs) and divided by lag 0,
    so it does not depend on the signal's length or level. ``L`` is ``max_lag_seconds`` or
    half the signal, whichever is shorter (longer lags have too few pairs to mean much)."""
    import librosa

    y = _mono(audio, sr)
    env = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    env = env - env.mean()
    n = len(env)
    max_lag = min(int(round(max_lag_seconds * ANALYSIS_RATE / HOP)), n // 2)
    if max_lag < 2:
        raise ValueError(f"the signal is too short ({len(y) / ANALYSIS_RATE:.2f} s) for an "
                         "onset autocorrelation")
    full = np.correlate(env, env, mode="full")[n - 1:n + max_lag]
    full = full / (n - np.arange(max_lag + 1))
    return full[1:] / full[0] if full[0] > 0 else np.zeros(max_lag)


def rhythm_similarity(output, style, sr: int,
                      max_lag_seconds: float = RHYTHM_MAX_LAG_SECONDS) -> float:
    """Pearson correlation between the onset-envelope autocorrelation curves of output and style
    (lags up to 4 s, or half the shorter signal). 1 = the same periodicities in the same
    proportions; about 0 for unrelated or arhythmic output."""
    a = onset_autocorrelation(output, sr, max_lag_seconds)
    b = onset_autocorrelation(style, sr, max_lag_seconds)
    n = min(len(a), len(b))
    return _pearson(a[:n], b[:n])


def reconstruction_quality(magnitude, audio, sr: int = ANALYSIS_RATE, n_fft: int = N_FFT,
                           hop_length: int = HOP) -> float:
    """Spectral convergence ``|| |STFT(audio)| - M ||_F / ||M||_F`` of the final audio against
    the optimised magnitude ``M (bins, frames)`` or ``(channels, bins, frames)``, all channels
    together. ``audio`` must be at the rate the magnitude was made at (``sr``, for the error
    message only); lower is better, 0 = a consistent spectrogram reached exactly."""
    from neuralfx.spectral import stft

    m = torch.as_tensor(np.asarray(magnitude), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(audio), dtype=torch.float32)
    if m.dim() == 2:
        m = m[None]
    if y.dim() == 1:
        y = y[None]
    if y.shape[0] != m.shape[0] or m.shape[-2] != n_fft // 2 + 1:
        raise ValueError(f"magnitude {tuple(m.shape)} does not fit audio {tuple(y.shape)} at "
                         f"{sr} Hz with n_fft {n_fft}")
    rebuilt = stft(y, n_fft, hop_length).abs().double()
    frames = min(rebuilt.shape[-1], m.shape[-1])
    num = (rebuilt[..., :frames] - m[..., :frames]).norm()
    den = m[..., :frames].norm().clamp_min(1e-30)
    return float(num / den)


# --- the top octave ---------------------------------------------------------------------------

# Bands above the classic analysis's Nyquist (11.025 kHz)
TOP_BANDS_HZ = ((11025, 14000), (14000, 17000), (17000, 22050))
LEVEL_FLOOR_DB = -200.0  # the level of a band with no energy at all

# The top envelope: frames of 2048 samples, hop 1024, at 44.1 kHz; the 11 kHz+ band against the
# 1-11 kHz band, over the frames whose 1-11 kHz energy is within 40 dB of its loudest
ENVELOPE_RATE = 44100
ENVELOPE_FRAME = 2048
ENVELOPE_HOP = 1024
LOW_BAND_HZ = (1000, 11025)
ENVELOPE_RANGE_DB = 40.0


def _db(power) -> np.ndarray:
    return np.maximum(10 * np.log10(np.maximum(power, 1e-300)), LEVEL_FLOOR_DB)


def top_band_levels(audio: np.ndarray, sr: int, n_fft: int = 4096) -> list[float] | None:
    """Energy in each of :data:`TOP_BANDS_HZ` relative to the whole signal's, in dB (-200 for
    none, and for silence), from a Hann-windowed STFT (hop ``n_fft / 4``) of the mono mix at
    the signal's own rate; None below 44.1 kHz or under one frame."""
    x = np.asarray(audio, np.float64)
    x = x.mean(axis=0) if x.ndim == 2 else x  # (channels, samples) -> mono, at its own rate
    if sr < 2 * TOP_BANDS_HZ[-1][1] or len(x) < n_fft:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::n_fft // 4] * np.hanning(n_fft)
    power = (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).sum(0)
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    total = power.sum()
    if total <= 0:
        return [LEVEL_FLOOR_DB] * len(TOP_BANDS_HZ)
    return [float(_db(power[(f >= lo) & (f < hi)].sum() / total)) for lo, hi in TOP_BANDS_HZ]


def band_envelopes(audio, sr: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(top, low)``, each ``(frames,)``: the mean-square level in dB (-200 for none) of the
    11 kHz+ band and of the 1-11 kHz band per frame (Hann window, :data:`ENVELOPE_FRAME`
    samples, hop :data:`ENVELOPE_HOP`, the mono mix at 44.1 kHz; other rates are resampled
    first). None where the signal has no top band at all (a rate of 22.05 kHz or less) or is
    under one frame."""
    if sr <= 2 * LOW_BAND_HZ[1]:
        return None
    x = _mono(audio, sr, ENVELOPE_RATE)
    if len(x) < ENVELOPE_FRAME:
        return None
    window = np.hanning(ENVELOPE_FRAME)
    frames = np.lib.stride_tricks.sliding_window_view(x, ENVELOPE_FRAME)[::ENVELOPE_HOP]
    # one-sided power, scaled so white noise of variance s2 gives s2 * (band width / Nyquist)
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2
    power *= 2 / (ENVELOPE_FRAME * (window ** 2).sum())
    f = np.fft.rfftfreq(ENVELOPE_FRAME, 1 / ENVELOPE_RATE)
    top = power[:, f >= LOW_BAND_HZ[1]].sum(axis=1)
    low = power[:, (f >= LOW_BAND_HZ[0]) & (f < LOW_BAND_HZ[1])].sum(axis=1)
    return _db(top), _db(low)


def top_envelope(audio, sr: int) -> dict[str, float] | None:
    """How the top octave moves: ``{"spread_db", "corr"}`` of the 11 kHz+ level per frame
    (:func:`band_envelopes`) over the frames whose 1-11 kHz level is within 40 dB of its
    loudest (the music, not its silences). ``spread_db``: its standard deviation in dB (real
    highs move 7-15 dB; a stationary floor about 1); ``corr``: its Pearson correlation with
    the 1-11 kHz level of the same frames (0 where either is constant, e.g. silence). None
    where there is no top band (:func:`band_envelopes`)."""
    envelopes = band_envelopes(audio, sr)
    if envelopes is None:
        return None
    top, low = envelopes
    music = low >= low.max() - ENVELOPE_RANGE_DB
    return {"spread_db": float(top[music].std()), "corr": _pearson(top[music], low[music])}


# --- runs ---------------------------------------------------------------------------------------

def result_path(script: str) -> Path:
    """A script's one result file: ``.../benchmarks/real_music.py`` (its ``__file__``) ->
    ``benchmarks/results/real_music.json`` (also when it runs as ``__main__``)."""
    return RESULTS / f"{Path(script).stem}.json"


def machine(threads: int | None = None) -> dict:
    """What a figure depends on: CPU model and flags, cores, torch and its threads, load."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    return {"cpu": model, "nproc": os.cpu_count(), "avx512_bf16": "avx512_bf16" in cpuinfo,
            "avx2": "avx2" in cpuinfo, "torch": torch.__version__,
            "threads": torch.get_num_threads() if threads is None else threads,
            "python": platform.python_version(), "cuda": torch.cuda.is_available(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def git_revision() -> str | None:
    """The short commit of the working tree the figures come from, or None outside git."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent)
    except OSError:
        return None
    return out.stdout.strip() or None


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON")


def write_result(path: Path, doc: dict) -> Path:
    """Write ``doc`` as JSON to ``path``, atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=_jsonable) + "\n")
    os.replace(tmp, path)
    return path


def update_result(path: Path, key: str, value) -> dict:
    """Replace the entry ``key`` of the result file ``path`` (the other entries stay): a script
    with several parts or scenarios keeps them in its one file, each from its newest run."""
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc[key] = value
    write_result(path, doc)
    return doc


@contextmanager
def timer(times: dict, name: str):
    """Add the block's wall and process-CPU seconds to ``times[name]`` / ``times[name_cpu]``.
    CPU time is less sensitive than wall time to other jobs on a shared machine."""
    w, c = time.perf_counter(), time.process_time()
    yield
    times[name] = times.get(name, 0.0) + time.perf_counter() - w
    times[name + "_cpu"] = times.get(name + "_cpu", 0.0) + time.process_time() - c


def _value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return tuple(v) if isinstance(v, list) else v


def parse_sets(items: list[str]) -> dict[str, object]:
    """``["iterations=5", "precision=bf16"]`` -> ``{"iterations": 5, "precision": "bf16"}``:
    the ``--set KEY=VALUE`` options of a script (numbers, booleans and tuples as Python
    literals, anything else as text; the preset validates them)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = _value(value.strip())
    return out
