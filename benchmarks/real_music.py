"""Real recordings: the literal notebook pipeline and the presets side by side.

Synthetic signals hid real problems, so this runs on real files. No audio is committed: the
files live outside the repository (default ``/work/realmusic/files``) and are made by::

    apt-get download wesnoth-1.16-music      # GPL-2 orchestral soundtrack, OGG 44.1 kHz stereo
    dpkg-deb -x wesnoth-1.16-music*.deb /work/realmusic/wes
    apt-get install espeak-ng fluidsynth fluid-soundfont-gm   # speech and General MIDI synth
    python -m benchmarks.real_music --make-data /work/realmusic/files --wesnoth /work/realmusic/wes

``--make-data`` copies two soundtrack files unchanged (``elvish-theme.ogg``: strings and
woodwinds, 205 s; ``northerners.ogg``: brass and drums, the most percussive track, 207 s) and
makes three 70.0 s files at 44.1 kHz, peak-normalised to -1 dBFS: ``speech.wav`` (mono;
espeak-ng, voice en-us, 150 words/min, reading :data:`SPEECH_TEXT`, written for this
benchmark), ``piano_strings.wav`` and ``drums.wav`` (stereo; MIDI files written here, see
:func:`piano_strings_midi` and :func:`drums_midi`, rendered by ``fluidsynth -ni -F out.wav -r
44100 FluidR3_GM.sf2 file.mid`` and cut to 70 s). Everything is deterministic.

Run (every pair, length and preset: several hours on a 2-core CPU)::

    python -m benchmarks.real_music --figure all
    python -m benchmarks.real_music --table benchmarks/results/real_music.json

For each pair (content file, style file; ``-`` as content = a texture row, which uses only the
style) and each length in ``--seconds``: the content clip starts at ``--content-offset`` (0 s)
and the style clip, of the same length (or ``--style-seconds``), at ``--style-offset`` (20 s),
each moved past the file's leading silence and back where the file is too short for the clip.
Then, one after the other in this process, for each render seed: the literal baseline
(``benchmarks/baseline.py``, mono 22050 Hz, ``--no-baseline`` to skip) and every preset as a
user gets it,
``neuralfx.NeuralStyle(style=(style_clip, sr), preset=name, seed=seed)(content_clip, sr)`` at
the file's own rate and channels (texture rows: ``.texture(seconds, sr, channels)``). Texture
presets run on texture rows only and the other presets on content pairs only (a texture preset
ignores the content). The style statistics are not cached (``NEURALFX_CACHE_DIR=off``), so the
time is what a first render costs.

Measures on every output (``benchmarks/measures.py``): the held-out style distance (mean over
three evaluation banks no preset uses, and each), the content correlation (content pairs), the
rhythm similarity to the style clip, and listen-level checks: integrated loudness (BS.1770,
pyloudnorm) of the input (the content clip; the style clip for textures) and the output, sample
peak, clipped samples (``|x| >= 1``), a seam score (:func:`seam_score`) and a seam contrast
(:func:`seam_contrast`). Wall and CPU time, and ``x real time`` = audio seconds / wall seconds
(above 1 = faster than real time).

The result file (``benchmarks/results/real_music.json``) is rewritten after every run. Each run
carries the name of the figure it backs (``--figure``); per figure the file keeps the command
lines and the machines. A run without ``--merge`` replaces the file; ``--merge`` adds to it
(a figure made of several commands, or several figures in one file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from benchmarks import measures
from benchmarks.measures import machine, parse_sets, result_path, write_result

RESULT = result_path(__file__)

DATA_DIR = Path("/work/realmusic/files")
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
WESNOTH_MUSIC = "usr/share/games/wesnoth/1.16/data/core/music"
WESNOTH_FILES = ("elvish-theme.ogg", "northerners.ogg")
MADE_SECONDS = 70.0
MADE_RATE = 44100

# (content, style); "-" = texture row (the style only)
DEFAULT_PAIRS = (
    ("elvish-theme.ogg", "northerners.ogg"),  # orchestral strings -> brass and drums
    ("speech.wav", "elvish-theme.ogg"),  # speech -> orchestral
    ("piano_strings.wav", "drums.wav"),  # piano and strings -> drum kit
    ("-", "drums.wav"),  # texture of a drum groove
    ("-", "northerners.ogg"),  # texture of an orchestra
)
DEFAULT_SECONDS = (10.0, 20.0, 60.0)
SILENCE_DBFS = -40.0  # leading samples below this (all channels) are skipped

# seam score: frame-to-frame spectral flux, windows around the chunk overlaps
SEAM_MARGIN_SECONDS = 0.5
BASELINE_CHUNK = (10.0, 1.0)  # chunk and overlap seconds the baseline's seam windows use

SPEECH_TEXT = """\
The harbour was quiet in the early morning. A few boats rocked against the wooden pier, and \
the gulls walked along the railing as if they owned it. An old man sat on a crate, mending a \
net with quick and patient hands. He had done this work for fifty years, and he could tell \
the weather from the colour of the water before anyone else in the village was awake.

When the baker opened her shop, the smell of warm bread drifted down the hill. Children \
carried baskets to school, and the postman rode his bicycle through every narrow street, \
ringing his bell at each corner. Nobody hurried. The clock on the church tower had been \
wrong for as long as anyone could remember, and nobody minded.

In the afternoon the wind turned, and clouds came in from the sea. The fishermen pulled \
their boats higher onto the stones and tied them twice. Windows were closed, washing was \
taken in, and the cats disappeared under the houses. By evening the rain was falling in long \
grey lines, and the lamps were lit one by one along the harbour wall.

Later that night the storm passed as quickly as it had come. The sky cleared, the stars came \
out over the water, and the whole village slept, except for the old man, who sat by his \
window and listened to the waves, counting them the way other people count sheep.
"""


# --- data -------------------------------------------------------------------------------------

def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, bytes]]) -> bytes:
    """``[(absolute tick, message bytes)]`` -> an ``MTrk`` chunk (sorted, end-of-track added).
    At one tick, note-offs (0x8n) come before note-ons."""
    body = b""
    now = 0
    for tick, msg in sorted(events, key=lambda e: (e[0], (e[1][0] & 0xF0) != 0x80)):
        body += _varlen(tick - now) + msg
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def _midi_file(tracks: list[list[tuple[int, bytes]]], bpm: float, division: int = 480) -> bytes:
    """A format-1 standard MIDI file: a tempo track, then ``tracks``."""
    tempo = int(round(60e6 / bpm))
    meta = [(0, b"\xff\x51\x03" + tempo.to_bytes(3, "big")),
            (0, b"\xff\x58\x04\x04\x02\x18\x08")]  # 4/4
    chunks = [_track(meta)] + [_track(t) for t in tracks]
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), division) + b"".join(chunks)


def _note(events, ch: int, start: int, length: int, key: int, vel: int) -> None:
    events.append((start, bytes([0x90 | ch, key, vel])))
    events.append((start + length, bytes([0x80 | ch, key, 0])))


def piano_strings_midi(seconds: float = MADE_SECONDS, bpm: float = 96.0) -> bytes:
    """Piano melody (eighths and quarters on chord tones and steps, fixed seed) with a bass on
    beats 1 and 3, over sustained string chords (GM 48), C major, I-vi-IV-V and variants."""
    import random

    rng = random.Random(0)
    q = 480
    bar = 4 * q
    bars = int(math.ceil(seconds * bpm / 60 / 4)) + 1
    progression = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62),
                   (60, 64, 67), (52, 55, 59), (53, 57, 60), (55, 59, 62),
                   (57, 60, 64), (53, 57, 60), (60, 64, 67), (55, 59, 62),
                   (53, 57, 60), (55, 59, 62), (60, 64, 67), (60, 64, 67)]
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81]
    piano = [(0, b"\xc0\x00")]
    strings = [(0, b"\xc1\x30")]
    key = 72
    for b in range(bars):
        chord = progression[b % len(progression)]
        t0 = b * bar
        for k in chord:
            _note(strings, 1, t0, bar - 10, k, 58)
        for beat in (0, 2):
            _note(piano, 0, t0 + beat * q, 2 * q - 20, chord[0] - 12, 70)
        t = 0
        while t < bar:
            length = q if rng.random() < 0.4 or t + q // 2 >= bar else q // 2
            tones = [k + 12 for k in chord] + [k + 24 for k in chord]
            if t % q == 0:  # on the beat: the nearest chord tone
                key = min(tones, key=lambda k: (abs(k - key), k))
            else:  # off the beat: a step of the scale
                i = min(range(len(scale)), key=lambda j: abs(scale[j] - key))
                key = scale[max(0, min(len(scale) - 1, i + rng.choice((-1, 1))))]
            _note(piano, 0, t0 + t, length - 15, key, 80 + rng.randrange(-8, 9))
            t += length
    return _midi_file([piano, strings], bpm)


def drums_midi(seconds: float = MADE_SECONDS, bpm: float = 110.0) -> bytes:
    """A GM drum groove on channel 10: kick on 1, 2& and 3, snare on 2 and 4, closed hi-hat
    eighths (accented on the beat), open hi-hat on 4& every second bar, a crash every 8 bars
    and a snare-and-toms fill in the last beat of every 4th bar."""
    q = 480
    e = q // 2
    s = q // 4
    bar = 4 * q
    bars = int(math.ceil(seconds * bpm / 60 / 4)) + 1
    ev = []
    for b in range(bars):
        t0 = b * bar
        fill = b % 4 == 3
        if b % 8 == 0:
            _note(ev, 9, t0, q, 49, 110)
        for t in (0, q + e, 2 * q):
            _note(ev, 9, t0 + t, e, 36, 115)
        for t in (q, 3 * q):
            if not (fill and t == 3 * q):
                _note(ev, 9, t0 + t, e, 38, 105)
        for i in range(8):
            if fill and i >= 6:
                continue
            open_hat = b % 2 == 1 and i == 7
            _note(ev, 9, t0 + i * e, e, 46 if open_hat else 42,
                  (85 if i % 2 == 0 else 60) + (10 if open_hat else 0))
        if fill:
            for i, k in enumerate((38, 50, 47, 45)):
                _note(ev, 9, t0 + 3 * q + i * s, s, k, 100 + 5 * (i % 2))
    return _midi_file([ev], bpm)


def _finish(audio: np.ndarray, path: Path, seconds: float = MADE_SECONDS) -> None:
    """``(samples, channels)`` -> cut to ``seconds``, peak -1 dBFS, 16-bit WAV."""
    audio = audio[: int(round(seconds * MADE_RATE))]
    audio = audio * (10 ** (-1 / 20) / max(float(np.abs(audio).max()), 1e-9))
    sf.write(path, audio, MADE_RATE, subtype="PCM_16")


def make_data(out: Path, wesnoth: Path, soundfont: Path = SOUNDFONT) -> list[Path]:
    """The benchmark's files in ``out`` (see the module docstring). Returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name in WESNOTH_FILES:
        shutil.copyfile(wesnoth / WESNOTH_MUSIC / name, out / name)
        made.append(out / name)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "speech.txt").write_text(SPEECH_TEXT)
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(tmp / "speech.wav"),
                        "-f", str(tmp / "speech.txt")], check=True)
        speech, sr = sf.read(tmp / "speech.wav", dtype="float64")
        _finish(soxr.resample(speech, sr, MADE_RATE, quality="VHQ")[:, None], out / "speech.wav")
        made.append(out / "speech.wav")
        for name, midi in (("piano_strings", piano_strings_midi()), ("drums", drums_midi())):
            (out / f"{name}.mid").write_bytes(midi)
            subprocess.run(["fluidsynth", "-ni", "-F", str(tmp / f"{name}.wav"), "-r",
                            str(MADE_RATE), str(soundfont), str(out / f"{name}.mid")],
                           check=True, stdout=subprocess.DEVNULL)
            audio, sr = sf.read(tmp / f"{name}.wav", dtype="float64", always_2d=True)
            assert sr == MADE_RATE, sr
            _finish(audio, out / f"{name}.wav")
            made.append(out / f"{name}.wav")
    for p in made:
        info = sf.info(p)
        print(f"{p}: {info.duration:.1f} s, {info.samplerate} Hz, {info.channels} channel(s)")
    return made


# --- clips and measures -----------------------------------------------------------------------

def load_clip(path: Path, seconds: float, offset: float) -> tuple[np.ndarray, int, float]:
    """``(channels, n) float32``, the rate, and the offset used: ``offset`` or the first
    sample above -40 dBFS if later, moved back so the clip fits (an error if the file is
    shorter than the clip)."""
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    n = int(round(seconds * sr))
    if len(audio) < n:
        raise ValueError(f"{path} is {len(audio) / sr:.1f} s long, shorter than a {seconds:g} s "
                         "clip")
    loud = np.flatnonzero(np.abs(audio).max(axis=1) > 10 ** (SILENCE_DBFS / 20))
    start = max(int(round(offset * sr)), int(loud[0]) if len(loud) else 0)
    start = min(start, len(audio) - n)
    return np.ascontiguousarray(audio[start:start + n].T), sr, start / sr


def load_pair(data: Path, content_name: str, style_name: str, seconds: float,
              content_offset: float | None, style_offset: float,
              style_seconds: float | None = None):
    """``(content or None, style, rate, content offset, style offset)``: the clips of one pair
    (:func:`load_clip`; the style ``style_seconds`` long, by default as long as the content),
    the style at the content's rate."""
    style_seconds = style_seconds or seconds
    style, sr, style_offset = load_clip(data / style_name, style_seconds, style_offset)
    if content_name == "-":
        return None, style, sr, None, style_offset
    content, c_sr, content_offset = load_clip(data / content_name, seconds, content_offset)
    if c_sr != sr:
        style = soxr.resample(style.T, sr, c_sr, quality="HQ").T.astype(np.float32)
        style = np.ascontiguousarray(style[:, :int(round(style_seconds * c_sr))])
        sr = c_sr
    return content, style, sr, content_offset, style_offset


def remeasure(path: Path, data: Path) -> dict:
    """Measure again every run of the JSON ``path`` that kept its audio (``--save-audio``),
    with today's :func:`measure` and the clips from ``data``; the JSON is rewritten."""
    doc = json.loads(path.read_text())
    for run in doc["runs"]:
        if "audio" not in run:
            continue
        content, style, sr, _, _ = load_pair(data, run["content"], run["style"], run["seconds"],
                                             run["content_offset_s"], run["style_offset_s"],
                                             run.get("style_seconds"))
        audio, out_sr = sf.read(run["audio"], dtype="float32", always_2d=True)
        reference = style if content is None else content
        run.update(measure(audio.T, out_sr, style, content, reference, sr, run["seam_windows_s"]))
        run.pop("style_distance_level_matched", None)
        run.pop("style_distance_level_matched_per_seed", None)
        print(f"{run['pair']}, {run['seconds']:g} s, {_label(run)}: style distance "
              f"{run['style_distance']:.3f}, at its best gain "
              f"{run['style_distance_best_gain']:.3f}", flush=True)
    _write(path, doc)
    return doc


def loudness(audio: np.ndarray, sr: int) -> float | None:
    """Integrated loudness (LUFS, BS.1770) of ``(channels, n)``; None if silent or too short."""
    import pyloudnorm

    a = np.asarray(audio, dtype=np.float64)
    a = a[None] if a.ndim == 1 else a
    if a.shape[1] < int(0.4 * sr):
        return None
    value = pyloudnorm.Meter(sr).integrated_loudness(a.T)
    return float(value) if math.isfinite(value) else None


def seam_windows(seconds: float, settings) -> list[tuple[float, float]]:
    """Where chunk seams may be heard: the overlap of every two neighbouring chunks of the plan
    the engine makes for ``seconds`` of audio with ``settings`` (its analysis rate, hop,
    chunk and overlap lengths and edge frames), widened by half a second either side. Empty
    when the clip is one chunk."""
    from neuralfx.engine import signal_plan
    from neuralfx.spectral import n_frames

    edge = settings.edge_frames
    plan = signal_plan(settings, n_frames(int(round(seconds * settings.sample_rate)),
                                          settings.hop_length))
    frame = settings.hop_length / settings.sample_rate
    return [((plan.starts[i] - edge) * frame - SEAM_MARGIN_SECONDS,
             (plan.stop(i - 1) - edge) * frame + SEAM_MARGIN_SECONDS)
            for i in range(1, len(plan))]


def _flux(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """``(times, flux)``: frame-to-frame spectral flux, the mean over bins of
    ``|L[t] - L[t-1]|``, ``L = log1p|STFT|`` of the mono signal at 22050 Hz (n_fft 2048,
    hop 512), and the time of each value in seconds."""
    import librosa

    y = measures._mono(audio, sr).astype(np.float32)
    spec = np.log1p(np.abs(librosa.stft(y, n_fft=measures.N_FFT, hop_length=measures.HOP)))
    flux = np.abs(np.diff(spec, axis=1)).mean(axis=0)
    return (np.arange(len(flux)) + 1) * measures.HOP / measures.ANALYSIS_RATE, flux


def seam_score(audio: np.ndarray, sr: int, windows: list[tuple[float, float]]) -> float | None:
    """Largest spectral flux (:func:`_flux`) inside the seam windows over its median outside.

    About 1-3 for music with no seam (an ordinary onset); compare with the same score of the
    input (``seam_score_input``) and of the baseline, which has no chunks. None without
    windows."""
    return _seam_score(*_flux(audio, sr), windows) if windows else None


def _seam_score(t: np.ndarray, flux: np.ndarray, windows: list[tuple[float, float]]
                ) -> float | None:
    inside = np.zeros(len(flux), bool)
    for a, b in windows:
        inside |= (t >= a) & (t <= b)
    if not inside.any() or inside.all():
        return None
    median = float(np.median(flux[~inside]))
    return float(flux[inside].max() / max(median, 1e-12))


def seam_contrast(audio: np.ndarray, sr: int, windows: list[tuple[float, float]],
                  step: float = 0.25) -> float | None:
    """The largest flux peak of the seam windows over the median of the flux peaks of every
    window of the same width in the clip (every ``step`` seconds). About 1 when the seams are
    like the rest of the output, well above 1 when one stands out. ``seam_score`` compares
    with the input, which differs in kind from a styled output (piano styled by drums has
    more onsets anywhere); this compares the output with itself. None without windows."""
    return _seam_contrast(*_flux(audio, sr), windows, step) if windows else None


def _seam_contrast(t: np.ndarray, flux: np.ndarray, windows: list[tuple[float, float]],
                   step: float = 0.25) -> float | None:
    width = max(b - a for a, b in windows)

    def peak(a: float, b: float) -> float:
        inside = flux[(t >= a) & (t <= b)]
        return float(inside.max()) if inside.size else 0.0

    seams = max(peak(a, b) for a, b in windows)
    others = [peak(a, a + width) for a in np.arange(0.0, max(t[-1] - width, 0.0) + 1e-9, step)]
    return float(seams / max(float(np.median(others)), 1e-12))


def measure(output: np.ndarray, out_sr: int, style: np.ndarray, content: np.ndarray | None,
            reference: np.ndarray, sr: int, windows: list[tuple[float, float]]) -> dict:
    """Every figure of one output. ``reference`` is the input for the loudness (content clip,
    or the style clip for textures); clips are at ``sr``, the output at ``out_sr``."""
    # the metrics compare at 22050 Hz; bring the output there once
    out_an = measures._mono(output, out_sr)
    style_an = measures._mono(style, sr)
    mean, per_seed = measures.held_out_style_distance(out_an, style_an, measures.ANALYSIS_RATE,
                                                     widths=measures.EVAL_WIDTHS)
    # The distance depends on level, and the presets give the output the input's loudness
    # while the literal pipeline leaves it where the optimisation ends: methods are compared
    # on the texture alone, each at its best gain (measures.best_gain_style_distance)
    best, best_per_seed, gain_db = measures.best_gain_style_distance(
        out_an, style_an, measures.ANALYSIS_RATE, widths=measures.EVAL_WIDTHS)
    out = np.asarray(output)
    return {
        "style_distance": mean,
        "style_distance_per_seed": per_seed,
        "style_distance_best_gain": best,
        "style_distance_best_gain_per_seed": best_per_seed,
        "best_gain_db": gain_db,
        "content_corr": (None if content is None else
                         measures.content_similarity(out_an, measures._mono(content, sr),
                                                    measures.ANALYSIS_RATE)),
        "rhythm_similarity": measures.rhythm_similarity(out_an, style_an, measures.ANALYSIS_RATE),
        "loudness_in_lufs": loudness(reference, sr),
        "loudness_out_lufs": loudness(out, out_sr),
        "top_band_db": measures.top_band_levels(out, out_sr),
        "top_band_db_style": measures.top_band_levels(style, sr),
        "peak": float(np.abs(out).max()) if out.size else 0.0,
        "clipped_samples": int((np.abs(out) >= 1.0).sum()),
        **seam_measures(out, out_sr, windows),
        **{f"{k}_input": v for k, v in seam_measures(reference, sr, windows).items()},
        "seam_windows_s": windows,
    }


def seam_measures(audio: np.ndarray, sr: int, windows: list[tuple[float, float]]) -> dict:
    """``seam_score`` and ``seam_contrast`` of one clip from one spectral flux."""
    if not windows:
        return {"seam_score": None, "seam_contrast": None}
    t, flux = _flux(audio, sr)
    return {"seam_score": _seam_score(t, flux, windows),
            "seam_contrast": _seam_contrast(t, flux, windows)}


# --- the benchmark ----------------------------------------------------------------------------

def _variant(spec: str, overrides: dict) -> tuple[str, dict]:
    """'style 0.01:precision=bf16' -> ('style 0.01', {**overrides, 'precision': 'bf16'})."""
    name, _, extra = spec.partition(":")
    return name, {**overrides, **parse_sets([x for x in extra.split(",") if x])}


def _write(path: Path | None, doc: dict) -> None:
    if path is not None:
        write_result(path, doc)


def run_baseline(content: np.ndarray | None, style: np.ndarray, sr: int, n_out: int, seed: int,
                 options: dict) -> tuple[np.ndarray, int, dict]:
    from benchmarks import baseline

    rate = baseline_rate = 22050

    def mono(x):
        return measures._mono(x, sr, rate).astype(np.float32)

    t0, c0 = time.perf_counter(), time.process_time()
    result = baseline.run(None if content is None else mono(content), mono(style),
                          n_samples=int(round(n_out * rate / sr)), seed=seed, **options)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return result.audio, baseline_rate, {"wall_s": wall, "cpu_s": cpu, "loss": result.loss,
                                         "evaluations": result.evaluations}


def run_preset(name: str, content: np.ndarray | None, style: np.ndarray, sr: int,
               seconds: float, seed: int, overrides: dict) -> tuple[np.ndarray, dict]:
    import neuralfx

    t0, c0 = time.perf_counter(), time.process_time()
    fx = neuralfx.NeuralStyle(style=(style, sr), preset=name, seed=seed, **overrides)
    out = (fx.texture(seconds, sr, style.shape[0]) if content is None else fx(content, sr))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not np.all(np.isfinite(out)):
        raise RuntimeError(f"preset {name!r} gave non-finite output")
    return out, {"wall_s": wall, "cpu_s": cpu, "device_setting": str(fx.device)}


def save_output(folder: Path, run: dict, audio: np.ndarray, sr: int) -> Path:
    """Keep an output (float WAV) to listen to or measure again without rendering it again."""
    import soundfile

    parts = [str(run[k]) for k in ("content", "style", "seconds", "method", "seed")]
    parts += [f"{k}={v}" for k, v in sorted(run.get("overrides", {}).items())]
    name = "_".join(parts)
    path = folder / (name.replace("/", "_").replace(" ", "_").replace("-_", "") + ".wav")
    folder.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.asarray(audio, dtype=np.float32).reshape(-1, audio.shape[-1]).T,
                    sr, subtype="FLOAT")
    return path


def benchmark(args: argparse.Namespace, command: list[str]) -> dict:
    from neuralfx.presets import load_preset

    os.environ["NEURALFX_CACHE_DIR"] = "off"  # measure the statistics too, as a first render
    torch.set_num_threads(args.threads)
    doc = {"figures": {}, "runs": []}
    if args.merge and args.out is not None and args.out.exists():
        doc = json.loads(args.out.read_text())
    figure = doc["figures"].setdefault(args.figure, {"commands": [], "machines": []})
    figure["commands"].append(command)
    figure["machines"].append(machine(args.threads))
    overrides = parse_sets(args.set)
    baseline_options = parse_sets(args.baseline_set)
    # "NAME:key=value,key=value" runs a preset with its own overrides (an A/B in one run)
    variants = {spec: _variant(spec, overrides) for spec in args.presets}
    settings = {spec: load_preset(name, **extra).settings
                for spec, (name, extra) in variants.items()}
    classic = load_preset("style 0.01", **{k: v for k, v in overrides.items()
                                           if k in ("chunk_seconds", "overlap_seconds")})
    pairs = args.pair or [list(p) for p in DEFAULT_PAIRS]
    for content_name, style_name in pairs:
        texture = content_name == "-"
        presets = [p for p in args.presets if settings[p].is_texture == texture]
        for seconds in args.seconds:
            content, style, sr, content_offset, style_offset = load_pair(
                args.data, content_name, style_name, seconds, args.content_offset,
                args.style_offset, args.style_seconds)
            reference = style if texture else content
            common = {"pair": f"{content_name} -> {style_name}", "content": content_name,
                      "style": style_name, "texture": texture, "seconds": seconds,
                      "style_seconds": args.style_seconds or seconds,
                      "sample_rate": sr, "channels": int(reference.shape[0]),
                      "content_offset_s": content_offset, "style_offset_s": style_offset}
            methods = (["literal baseline"] if args.baseline else []) + presets
            # seeds outside, methods inside: on a shared machine, load drifts hit every
            # method alike and the time ratios hold
            for seed in args.seeds:
                for method in methods:
                    print(f"{common['pair']}, {seconds:g} s, {method}, seed {seed} ...",
                          flush=True)
                    if method == "literal baseline":
                        name = method
                        out, out_sr, info = run_baseline(content, style, sr, reference.shape[1],
                                                         seed, baseline_options)
                        windows = seam_windows(seconds, classic.settings)
                        info["options"] = baseline_options
                    else:
                        name, extra = variants[method]
                        out, info = run_preset(name, content, style, sr, seconds, seed, extra)
                        out_sr = sr
                        windows = seam_windows(seconds, settings[method])
                        info["overrides"] = extra
                    run = {**common, "figure": args.figure, "method": name, "seed": seed,
                           **info,
                           "x_real_time": seconds / info["wall_s"],
                           **measure(out, out_sr, style, content, reference, sr, windows)}
                    if args.save_audio is not None:
                        run["audio"] = str(save_output(args.save_audio, run, out, out_sr))
                    doc["runs"].append(run)
                    _write(args.out, doc)
                    print(f"  {info['wall_s']:.1f} s wall ({run['x_real_time']:.2f}x real "
                          f"time), style distance {run['style_distance']:.4f}", flush=True)
    return doc


# --- tables -----------------------------------------------------------------------------------

def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _fmt(v, spec: str = ".3f") -> str:
    return "—" if v is None else format(v, spec)


def _label(run: dict) -> str:
    """The method, with the run's overrides when it had any (a candidate setting)."""
    extra = ", ".join(f"{k}={v}" for k, v in sorted(run.get("overrides", {}).items()))
    return f"{run['method']} [{extra}]" if extra else run["method"]


def _distance(run: dict) -> float:
    # at the best gain where the run has it (runs measured before it was added have not)
    return run.get("style_distance_best_gain", run["style_distance"])


def table(doc: dict) -> str:
    """Markdown: one table per pair and length; rows = the literal baseline and the presets
    (a preset run with overrides is its own row), averaged over render seeds (± half the
    range over seeds). The distance columns: at each output's best gain (the comparison across
    methods, whose level policies differ) and as rendered."""
    lines = [f"{name}: {fig['machines'][-1]}" for name, fig in doc.get("figures", {}).items()]
    lines.append("")
    groups: dict[tuple, dict[str, list]] = {}
    for r in doc["runs"]:
        key = (r["pair"], r["seconds"], r.get("style_seconds", r["seconds"]))
        groups.setdefault(key, {}).setdefault(_label(r), []).append(r)
    for (pair, seconds, style_seconds), methods in groups.items():
        lit = methods.get("literal baseline")
        lit_dist = _mean(_distance(r) for r in lit) if lit else None
        lit_wall = _mean(r["wall_s"] for r in lit) if lit else None
        heading = f"{pair}, {seconds:g} s" + (
            "" if style_seconds == seconds else f" (style {style_seconds:g} s)")
        lines += [f"### {heading}", "",
                  "| method | seeds | style distance, best gain | as rendered "
                  "| content corr | rhythm sim "
                  "| wall (s) | x real time | distance / literal | time / literal "
                  "| LUFS in -> out | peak | clipped | seam (input) | seam contrast (input) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for method, runs in methods.items():
            d = [_distance(r) for r in runs]
            dist, spread = float(np.mean(d)), (max(d) - min(d)) / 2
            wall = _mean(r["wall_s"] for r in runs)
            ratio_d = None if lit_dist is None or method == "literal baseline" else dist / lit_dist
            ratio_t = None if lit_wall is None or method == "literal baseline" else wall / lit_wall
            lines.append(
                f"| {method} | {len(runs)} | {dist:.3f} ± {spread:.3f} "
                f"| {_fmt(_mean(r['style_distance'] for r in runs))} "
                f"| {_fmt(_mean(r['content_corr'] for r in runs))} "
                f"| {_fmt(_mean(r['rhythm_similarity'] for r in runs))} | {wall:.1f} "
                f"| {_fmt(_mean(r['x_real_time'] for r in runs), '.2f')} "
                f"| {_fmt(ratio_d, '.2f')} | {_fmt(ratio_t, '.2f')} "
                f"| {_fmt(_mean(r['loudness_in_lufs'] for r in runs), '.1f')} -> "
                f"{_fmt(_mean(r['loudness_out_lufs'] for r in runs), '.1f')} "
                f"| {max(r['peak'] for r in runs):.3f} "
                f"| {max(r['clipped_samples'] for r in runs)} "
                f"| {_fmt(_mean(r['seam_score'] for r in runs), '.2f')} "
                f"({_fmt(_mean(r['seam_score_input'] for r in runs), '.2f')}) "
                f"| {_fmt(_mean(r.get('seam_contrast') for r in runs), '.2f')} "
                f"({_fmt(_mean(r.get('seam_contrast_input') for r in runs), '.2f')}) |")
        lines.append("")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder of the real files")
    ap.add_argument("--pair", nargs=2, action="append", metavar=("CONTENT", "STYLE"),
                    help="a content file and a style file in --data ('-' as content: a "
                         "texture row); repeat for more. Default: " +
                         "; ".join(f"{c} {s}" for c, s in DEFAULT_PAIRS))
    ap.add_argument("--seconds", type=float, nargs="+", default=list(DEFAULT_SECONDS))
    ap.add_argument("--style-seconds", type=float, default=None,
                    help="length of the style clip (default: as long as the content clip)")
    ap.add_argument("--presets", nargs="+", default=None,
                    help="default: every built-in preset; NAME:KEY=VALUE,... runs a preset "
                         "with its own overrides (e.g. 'style 0.01:precision=bf16')")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="render seeds (the presets' seed and the baseline's)")
    ap.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                    help="run the literal baseline too (default: yes)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override applied to every preset (e.g. iterations=5)")
    ap.add_argument("--baseline-set", action="append", default=[], metavar="KEY=VALUE",
                    help="baseline.run option (n_filters, maxiter, griffin_lim_iterations); "
                         "for tests")
    ap.add_argument("--content-offset", type=float, default=0.0)
    ap.add_argument("--style-offset", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON), rewritten "
                    "after every run")
    ap.add_argument("--figure", default="unnamed",
                    help="the figure these runs back (a key of the result file)")
    ap.add_argument("--merge", action="store_true", help="add to an existing --out")
    ap.add_argument("--save-audio", type=Path, default=None, metavar="DIR",
                    help="keep every output as a float WAV in DIR (never inside the repository)")
    ap.add_argument("--table", type=Path, nargs="+", default=None,
                    help="print markdown tables from these JSON files (runs pooled) and exit")
    ap.add_argument("--remeasure", type=Path, nargs="+", default=None, metavar="JSON",
                    help="measure the kept audio of these runs again (clips from --data) and "
                         "exit")
    ap.add_argument("--make-data", type=Path, default=None, metavar="DIR",
                    help="make the benchmark's files in DIR and exit (see the docstring)")
    ap.add_argument("--wesnoth", type=Path, default=Path("/work/realmusic/wes"),
                    help="with --make-data: the extracted wesnoth-1.16-music package")
    return ap


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from neuralfx.presets import builtin_names

    args = parser().parse_args(argv)
    if args.presets is None:
        args.presets = builtin_names()
    return args


def main(argv: list[str] | None = None) -> dict | str:
    args = parse_args(argv)
    if args.remeasure is not None:
        return {"files": [str(p) for p in args.remeasure
                          if remeasure(p, args.data) is not None]}
    if args.table is not None:
        docs = [json.loads(path.read_text()) for path in args.table]
        text = table({"figures": {k: v for d in docs for k, v in d.get("figures", {}).items()},
                      "runs": [r for d in docs for r in d["runs"]]})
        print(text)
        return text
    if args.make_data is not None:
        return {"files": [str(p) for p in make_data(args.make_data, args.wesnoth)]}
    argv = sys.argv[1:] if argv is None else list(argv)
    return benchmark(args, ["python", "-m", "benchmarks.real_music", *argv])


if __name__ == "__main__":
    main()
