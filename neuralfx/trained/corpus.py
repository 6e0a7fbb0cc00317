"""The built-in content corpus: what a style trains on when no content audio is given.

A trained style learns on random crops of content audio. Without ``--content`` it learns on
these clips, synthesised on the fly (nothing is shipped or downloaded) and the same for the same
seed: sustained chords, a struck-string melody over a bass line, a drum groove, speech-like
babble, a bowed string ensemble, noise textures and a small band. Each clip is mono float32 at
its own level (RMS between -30 and -14 dBFS, peak under -1 dBFS), so training sees quiet
material as well as loud, with the silences and dynamics of the real thing.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

CORPUS_SECONDS = 8.0
# semitones above the key's root of the major scale's degrees
MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])
# chord roots as scale degrees: I vi IV V ii iii, the progressions pop and folk music live on
CHORD_DEGREES = np.array([0, 5, 3, 4, 1, 2])
# F1, F2, F3 (Hz) of the vowels /a e i o u/ of an adult voice, with their bandwidths
VOWEL_FORMANTS = np.array(
    [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]]
)
FORMANT_BANDWIDTHS = np.array([80.0, 100.0, 140.0])
# every clip's peak stays under -1 dBFS: no clipping, and headroom for a resampler's overshoot
PEAK_CEILING = 10 ** (-1 / 20)
# RMS of the hiss under every clip (-80 dBFS), as under any recording
NOISE_FLOOR = 1e-4


def _hz(midi) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def _scale_note(key: int, degree) -> np.ndarray:
    """MIDI note of a scale degree (any integer, octaves wrap) in the major key on ``key``."""
    degree = np.asarray(degree)
    return key + 12 * (degree // 7) + MAJOR_SCALE[degree % 7]


def _place(out: np.ndarray, sound: np.ndarray, start: int) -> None:
    """Add ``sound`` into ``out`` from sample ``start`` on, cut at the end of ``out``."""
    m = min(len(sound), len(out) - start)
    if m > 0:
        out[start:start + m] += sound[:m]


def _adsr(n: int, sr: int, attack: float, decay: float, sustain: float, release: float):
    """Envelope (n,): linear attack, exponential decay to ``sustain``, linear release at the end."""
    t = np.arange(n) / sr
    env = np.minimum(t / attack, 1.0)
    env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / decay)
    return env * np.clip((n - np.arange(n)) / max(release * sr, 1.0), 0.0, 1.0)


def _harmonics(phase: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_k weights[k-1] sin(k phase)`` (n,) by the Chebyshev recurrence: one sine in all."""
    two_cos = 2.0 * np.cos(phase)
    prev, cur = np.zeros_like(phase), np.sin(phase)
    out = weights[0] * cur
    for w in weights[1:]:
        prev, cur = cur, two_cos * cur - prev
        out += w * cur
    return out


def _saw(f0: np.ndarray | float, n: int, sr: int, rng) -> np.ndarray:
    """Band-limited sawtooth (n,) (polyBLEP) at a fixed or moving frequency ``f0`` (Hz)."""
    inc = np.broadcast_to(np.asarray(f0, dtype=float) / sr, (n,))
    t = (rng.random() + np.cumsum(inc)) % 1.0
    saw = 2.0 * t - 1.0
    # polyBLEP: smooth the jump over the sample either side of each wrap, against aliasing
    lo, hi = t < inc, t > 1.0 - inc
    x = t[lo] / inc[lo]
    saw[lo] -= x + x - x * x - 1.0
    x = (t[hi] - 1.0) / inc[hi]
    saw[hi] -= x * x + x + x + 1.0
    return saw


def _smooth_curve(rng, n: int, sr: int, every: float, low: float, high: float) -> np.ndarray:
    """Slow random curve (n,) through points in ``[low, high]`` every ``every`` s, eased."""
    points = rng.uniform(low, high, int(n / (every * sr)) + 2)
    pos = np.arange(n) / (every * sr)
    i = pos.astype(int)
    ease = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    return points[i] + (points[i + 1] - points[i]) * ease


def _chord_track(rng, sr: int, n: int, key: int, lengths, degrees) -> np.ndarray:
    """Sustained chords (n,) of harmonic tones (1/k partials, vibrato, detuned pair, ADSR).

    Chord ``i`` is the seventh or the triad plus octave on scale degree ``degrees[i]`` (cycled),
    ``lengths[i]`` s long."""
    out, start = np.zeros(n), 0
    for i, length in enumerate(lengths):
        m = min(int(length * sr), n - start)
        if m <= 0:
            break
        degree = degrees[i % len(degrees)]
        notes = _scale_note(key, degree + np.array([0, 2, 4, 7 if rng.random() < 0.5 else 6]))
        t, chord = np.arange(m) / sr, np.zeros(m)
        for f0 in _hz(notes):
            k = np.arange(1, 9)
            weights = (k * f0 < 0.45 * sr) / k ** 1.2
            rate = rng.uniform(4.5, 6.0)
            for cents in (-4.0, 4.0):
                f = f0 * 2 ** (cents / 1200)
                phase = 2 * np.pi * f * t - f * 0.004 / rate * np.cos(2 * np.pi * rate * t)
                chord += _harmonics(phase + rng.uniform(0, 2 * np.pi), weights)
        # some chords ring into a short rest, some are struck softer: the level moves
        gap = rng.choice([0.0, 0.0, 0.25]) * m
        env = _adsr(m - int(gap), sr, rng.uniform(0.01, 0.15), rng.uniform(0.2, 0.6), 0.45, 0.3)
        _place(out, chord[:len(env)] * env * rng.uniform(0.5, 1.0), start)
        start += m
    return out


def chords(rng, sr: int, n: int) -> np.ndarray:
    """Sustained chords (n,): a progression in a random key, a new chord every 1-2 s."""
    degrees = np.r_[0, rng.choice(CHORD_DEGREES, 63)]
    return _chord_track(rng, sr, n, int(rng.integers(48, 60)), rng.uniform(1.0, 2.0, 64), degrees)


def _struck(f0: float, sr: int, rng, seconds: float) -> np.ndarray:
    """A struck string (samples,): stretched partials, each decaying faster than the one below."""
    t = np.arange(int(seconds * sr)) / sr
    k = np.arange(1, 11)
    freqs = k * f0 * np.sqrt(1.0 + 3e-4 * k ** 2)
    keep = freqs < 0.45 * sr
    tau = np.clip(0.9 * (220.0 / f0) ** 0.5, 0.25, 2.0) / (1.0 + 0.5 * (k[keep] - 1))
    amps = rng.uniform(0.6, 1.0, keep.sum()) / k[keep] ** 1.3
    tone = np.sin(2 * np.pi * freqs[keep, None] * t + rng.uniform(0, 6.3, (keep.sum(), 1)))
    tone = (amps[:, None] * np.exp(-t / tau[:, None]) * tone).sum(0)
    return tone * np.minimum(t / 0.003, 1.0)


def piano(rng, sr: int, n: int) -> np.ndarray:
    """Struck notes (n,): melodic phrases on a scale over a bass line, a breath between them."""
    beat, key = 60.0 / rng.uniform(80, 132), int(rng.integers(55, 67))
    out, t, degree, chord = np.zeros(n), 0.0, int(rng.integers(0, 7)), 0
    while t * sr < n:
        phrase_start, loudness = t, rng.uniform(0.3, 1.0)
        for _ in range(int(rng.integers(5, 11))):
            length = beat * rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0])
            degree = int(np.clip(degree + rng.integers(-3, 4), -2, 11))
            note = _struck(_hz(_scale_note(key, degree)), sr, rng, min(length + 0.4, 1.4))
            _place(out, note * loudness * rng.uniform(0.6, 1.0), int(t * sr))
            t += length
        for start in np.arange(phrase_start, t, 2 * beat):
            root = _scale_note(key - 24, CHORD_DEGREES[chord % len(CHORD_DEGREES)])
            _place(out, 0.7 * loudness * _struck(_hz(root), sr, rng, 2 * beat), int(start * sr))
            chord += 1
        t += beat * rng.choice([1.0, 1.5, 2.0])
    return out


def _drum_groove(rng, sr: int, n: int, beat: float) -> np.ndarray:
    """Kick, snare and hi-hats (n,) on a sixteenth-note grid of ``beat`` s per quarter note."""
    noise = rng.standard_normal(sr // 2)
    t = np.arange(sr // 2) / sr
    kick_hz = 45.0 + 110.0 * np.exp(-t / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(kick_hz) / sr) * np.exp(-t / 0.18)
    kick += 0.3 * noise * np.exp(-t / 0.003)  # the beater's click
    band = signal.butter(2, [1000, min(6000, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    snare = signal.sosfilt(band, noise) * np.exp(-t / 0.07)
    snare += 0.6 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    high = signal.butter(2, min(7000, 0.4 * sr), "highpass", fs=sr, output="sos")
    hat = signal.sosfilt(high, noise[::-1]) * np.exp(-t / 0.02)
    out, step = np.zeros(n), beat / 4
    for bar in range(int(n / (16 * step * sr)) + 1):
        extra = {s for s in (3, 6, 10, 14) if rng.random() < 0.25}
        for s in range(16):
            at = int((bar * 16 + s) * step * sr)
            if s in (0, 8) or s in extra:
                _place(out, kick * (1.0 if s in (0, 8) else 0.6), at)
            if s in (4, 12):
                _place(out, snare * rng.uniform(0.8, 1.0), at)
            elif rng.random() < 0.06:  # ghost notes
                _place(out, 0.2 * snare, at)
            if s % 2 == 0 and rng.random() < 0.9:
                _place(out, hat * (0.35 if s % 4 else 0.5) * rng.uniform(0.7, 1.0), at)
    return out


def drums(rng, sr: int, n: int) -> np.ndarray:
    """A drum groove (n,) at 100-120 bpm: kick on 1 and 3, snare on 2 and 4, eighth hi-hats."""
    return _drum_groove(rng, sr, n, 60.0 / rng.uniform(100, 120))


def speech(rng, sr: int, n: int) -> np.ndarray:
    """Speech-like babble (n,): voiced vowels, fricatives, pauses between words and phrases.

    A glottal pulse train (80-220 Hz, falling through each phrase) shaped by formant
    resonators, crossfaded from vowel to vowel every 80-200 ms; noise bursts for consonants."""
    voiced, hiss = np.zeros(n), np.zeros(n)
    vowel_weights = np.zeros((len(VOWEL_FORMANTS), n))
    pitch, base = np.zeros(n), rng.uniform(95, 170)
    t = int(rng.uniform(0.05, 0.3) * sr)
    while t < n:
        phrase_start, words = t, int(rng.integers(2, 6))
        for _ in range(words):
            for _ in range(int(rng.integers(1, 4))):  # syllables
                if rng.random() < 0.5:  # a consonant before the vowel
                    m = int(rng.uniform(0.04, 0.12) * sr)
                    hiss[t:t + m] = rng.uniform(0.1, 0.3)
                    t += m
                m = int(rng.uniform(0.08, 0.2) * sr)
                voiced[t:t + m] = rng.uniform(0.6, 1.0)
                vowel_weights[rng.integers(len(VOWEL_FORMANTS)), t:t + m] = 1.0
                t += m
            t += int(rng.uniform(0.02, 0.12) * sr)  # between words
        # intonation: the phrase falls from a raised start
        end = min(t, n)
        pitch[phrase_start:end] = np.linspace(rng.uniform(1.1, 1.3), 0.85, end - phrase_start)
        t += int(rng.uniform(0.25, 0.6) * sr)  # between phrases
    pitch = base * np.where(pitch > 0, pitch, 1.0)
    # smooth the on/off switches over ~10 ms, as the vocal tract does
    smooth = signal.butter(1, 30, fs=sr, output="sos")
    voiced, hiss, vowel_weights = (np.clip(signal.sosfiltfilt(smooth, x), 0, None)
                                   for x in (voiced, hiss, vowel_weights))
    phase = np.cumsum(pitch * (1 + 0.01 * _smooth_curve(rng, n, sr, 0.1, -1, 1)) / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    # glottal flow: a pulse through two poles near 1 gives the source's -12 dB/octave tilt
    source = signal.lfilter([1.0], np.convolve([1, -0.95], [1, -0.9]), pulses)
    source = np.diff(source, prepend=0.0)  # lip radiation: +6 dB/octave
    voice = np.zeros(n)
    for formants, weight in zip(VOWEL_FORMANTS, vowel_weights):
        tract = np.zeros(n)
        for f, bw in zip(formants, FORMANT_BANDWIDTHS):
            r = np.exp(-np.pi * bw / sr)
            tract += signal.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r],
                                    source) * (f / formants[0]) ** -0.5
        voice += tract * weight
    band = [min(2500, 0.3 * sr), min(8000, 0.45 * sr)]
    fricative = signal.sosfilt(signal.butter(2, band, "bandpass", fs=sr, output="sos"),
                               rng.standard_normal(n))
    return voice / (np.abs(voice).max() + 1e-12) * voiced + 0.4 * fricative * hiss


def strings(rng, sr: int, n: int) -> np.ndarray:
    """A bowed string ensemble (n,): detuned sawtooth voices, low-passed, in slow swells."""
    key, out, start, i = int(rng.integers(45, 57)), np.zeros(n), 0, 0
    while start < n:
        length = int(rng.uniform(2.0, 3.5) * sr)
        degree = CHORD_DEGREES[i % len(CHORD_DEGREES)]
        t = np.arange(length) / sr
        section = np.zeros(length)
        for note in _scale_note(key, degree + np.array([0, 4, 7, 9])):
            for _ in range(3):  # players, each slightly off pitch and with their own vibrato
                f0 = _hz(note) * 2 ** (rng.uniform(-8, 8) / 1200)
                vib = 1 + 0.003 * np.sin(2 * np.pi * rng.uniform(4.5, 6) * t + rng.uniform(0, 6))
                section += _saw(f0 * vib, length, sr, rng)
        swell = np.sin(np.linspace(0.0, np.pi, length)).clip(0.0) ** rng.uniform(1.5, 3.0)
        swell *= rng.uniform(0.4, 1.0)
        _place(out, section * swell, start)
        start, i = start + int(0.8 * length), i + 1
    return signal.sosfilt(signal.butter(2, min(2500, 0.4 * sr), fs=sr, output="sos"), out)


def noise(rng, sr: int, n: int) -> np.ndarray:
    """Noise textures (n,): wind-like swells in a slowly moving band, with rain in places."""
    centres = np.geomspace(150.0, 0.35 * sr, 10)
    centre = _smooth_curve(rng, n, sr, 1.5, np.log(300), np.log(min(6000, 0.35 * sr)))
    white = rng.standard_normal(n)
    wind = np.zeros(n)
    for fc in centres:
        sos = signal.butter(2, [fc / 1.3, fc * 1.3], "bandpass", fs=sr, output="sos")
        wind += signal.sosfilt(sos, white) * np.exp(-0.5 * ((np.log(fc) - centre) / 0.5) ** 2)
    wind *= _smooth_curve(rng, n, sr, 0.7, 0.0, 1.0) ** 2 + 0.02
    drops = (rng.random(n) < 40.0 / sr) * rng.standard_normal(n)
    drops *= _smooth_curve(rng, n, sr, 2.0, -1.0, 1.0) > 0.2  # rain comes and goes
    r = np.exp(-1.0 / (0.004 * sr))
    rain = signal.sosfilt(signal.butter(2, min(3000, 0.4 * sr), "highpass", fs=sr, output="sos"),
                          signal.lfilter([1.0], [1.0, -r], drops))
    return wind / (np.abs(wind).max() + 1e-12) + 0.5 * rain / (np.abs(rain).max() + 1e-12)


def mix(rng, sr: int, n: int) -> np.ndarray:
    """A small band (n,): drums, a plucked bass on the chord roots and chords, balanced."""
    beat, key = 60.0 / rng.uniform(100, 120), int(rng.integers(48, 60))
    drum_part = _drum_groove(rng, sr, n, beat)
    chord_part = _chord_track(rng, sr, n, key, np.full(64, 4 * beat), CHORD_DEGREES[:4])
    bass, t = np.zeros(n), np.arange(int(beat * sr)) / sr
    for i, start in enumerate(np.arange(0.0, n / sr, beat / 2)):
        root = _scale_note(key - 24, CHORD_DEGREES[int(start / (4 * beat)) % 4])
        note = _saw(_hz(root), len(t), sr, rng) * np.exp(-t / 0.25) * np.minimum(t / 0.005, 1.0)
        _place(bass, note * (1.0 if i % 2 == 0 else 0.7), int(start * sr))
    bass = signal.sosfilt(signal.butter(2, 500, fs=sr, output="sos"), bass)
    parts = [(drum_part, 0.0), (bass, -4.0), (chord_part, -9.0)]
    return sum(p / np.sqrt(np.mean(p ** 2) + 1e-20) * 10 ** (db / 20) for p, db in parts)


# each clip's maker and RMS level (dBFS) before a seed's jitter of up to 1.5 dB
CLIPS = {"chords": (chords, -20.0), "piano": (piano, -24.0), "drums": (drums, -17.0),
         "speech": (speech, -22.0), "strings": (strings, -26.0), "noise": (noise, -28.0),
         "mix": (mix, -16.0)}


def synthetic_corpus(
    sample_rate: int = 22050, seconds: float = CORPUS_SECONDS, seed: int = 0
) -> list[tuple[str, np.ndarray]]:
    """``[(name, mono float32 (samples,))]``: the built-in training material, one clip per kind.

    Chords, piano, drums, speech, strings, noise and a band mix, each ``seconds`` long at
    ``sample_rate``, at its own level (RMS -30 to -14 dBFS, peak under -1 dBFS). The same
    ``seed`` gives the same samples; each clip draws from its own stream of it."""
    if int(sample_rate) != sample_rate or not 8000 <= sample_rate <= 384000:
        raise ValueError(f"sample_rate must be an integer from 8000 to 384000 Hz, "
                         f"got {sample_rate!r}")
    if not 1.0 <= seconds <= 600:
        raise ValueError(f"seconds must be from 1 to 600, got {seconds!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    sr, n = int(sample_rate), int(round(seconds * sample_rate))
    corpus = []
    for index, (name, (make, level_db)) in enumerate(CLIPS.items()):
        rng = np.random.default_rng([int(seed), index])
        clip = make(rng, sr, n)
        level_db = np.clip(level_db + rng.uniform(-1.5, 1.5), -29.0, -15.0)
        clip *= 10 ** (level_db / 20) / (np.sqrt(np.mean(clip ** 2)) + 1e-20)
        # a peak over the ceiling turns the whole clip down: its dynamics stay as they were
        clip *= min(1.0, PEAK_CEILING / (np.abs(clip).max() + 1e-20))
        clip += NOISE_FLOOR * rng.standard_normal(n)  # no digital silence: a quiet room's hiss
        corpus.append((name, clip.astype(np.float32)))
    return corpus
