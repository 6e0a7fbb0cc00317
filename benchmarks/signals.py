"""Synthesised, deterministic, copyright-free test clips for benchmarks and quality checks.

Every function returns a mono float32 numpy array of shape (round(seconds * sr),) in [-1, 1],
and is deterministic given ``seed``. The clips are music-like on purpose: the style-transfer
method is judged on harmonic, rhythmic and noisy material, not on pure tones.
"""

from __future__ import annotations

import numpy as np

__all__ = ["melody", "rhythmic_noise", "drone", "chords", "CLIPS", "clip"]

# A minor pentatonic over two octaves (MIDI note numbers), so random melodies sound musical.
_SCALE = np.array([57, 60, 62, 64, 67, 69, 72, 74, 76, 79, 81])


def _midi_hz(note: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69.0) / 12.0)


def _n(seconds: float, sr: int) -> int:
    if seconds <= 0 or sr <= 0:
        raise ValueError(f"seconds = {seconds!r} and sr = {sr!r} must both be > 0")
    return max(1, int(round(seconds * sr)))


def _normalise(x: np.ndarray, peak: float = 0.7) -> np.ndarray:
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (peak / m) if m > 0 else x).astype(np.float32)


def _adsr(n: int, sr: int, attack: float, decay: float, sustain: float, release: float):
    """Envelope of length n samples: attack/decay/release in seconds, sustain level 0..1."""
    t = np.arange(n) / sr
    dur = n / sr
    env = np.full(n, sustain, dtype=np.float64)
    a = t < attack
    env[a] = t[a] / max(attack, 1e-9)
    d = (t >= attack) & (t < attack + decay)
    env[d] = 1.0 - (1.0 - sustain) * (t[d] - attack) / max(decay, 1e-9)
    r = t > dur - release
    env[r] *= np.clip((dur - t[r]) / max(release, 1e-9), 0.0, 1.0)
    return env


def melody(seconds: float = 10.0, sr: int = 22050, seed: int = 0, tempo: float = 110.0):
    """A plucked/bowed melody with harmonics, vibrato and note envelopes (eighth notes + rests).

    Shape (N,). Notes walk a pentatonic scale; each note has 8 decaying harmonics with slight
    inharmonicity and a 5 Hz vibrato, so the spectrogram has clear harmonic stacks that move.
    """
    rng = np.random.default_rng(seed)
    n = _n(seconds, sr)
    out = np.zeros(n)
    step = 60.0 / tempo / 2.0  # eighth notes
    pos, idx = 0.0, int(rng.integers(3, 8))
    while pos < seconds:
        length = step * int(rng.choice([1, 1, 2, 2, 3, 4]))
        idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(_SCALE) - 1))
        start = int(pos * sr)
        m = min(int(length * sr), n - start)
        rest = rng.random() < 0.12  # some rests, never the first note
        if m > 0 and (not rest or pos == 0):
            t = np.arange(m) / sr
            f0 = _midi_hz(_SCALE[idx])
            vib = 1.0 + 0.004 * np.sin(2 * np.pi * 5.0 * t)
            note = np.zeros(m)
            for h in range(1, 9):
                fh = f0 * h * (1.0 + 0.0005 * h * h)
                if fh >= sr / 2 * 0.95:
                    break
                amp = (0.8 ** (h - 1)) * np.exp(-t * (1.0 + 0.6 * h))
                phase = 2 * np.pi * np.cumsum(fh * vib) / sr
                note += amp * np.sin(phase + rng.uniform(0, 2 * np.pi))
            note *= _adsr(m, sr, 0.01, 0.08, 0.6, min(0.05, m / sr / 2))
            out[start:start + m] += rng.uniform(0.6, 1.0) * note
        pos += length
    return _normalise(out)


def rhythmic_noise(seconds: float = 10.0, sr: int = 22050, seed: int = 1, tempo: float = 120.0):
    """A noisy drum-like texture with a clear beat: kick on beats, snare on 2 and 4, hats on 8ths.

    Shape (N,). Kick = decaying pitch-swept sine, snare = band-passed noise burst + tone,
    hat = high-passed short noise; plus a quiet noise floor, so the texture is broadband.
    """
    rng = np.random.default_rng(seed)
    n = _n(seconds, sr)
    out = np.zeros(n)
    beat = 60.0 / tempo

    def place(start_s: float, sig: np.ndarray) -> None:
        s = int(start_s * sr)
        m = min(len(sig), n - s)
        if m > 0:
            out[s:s + m] += sig[:m]

    def kick() -> np.ndarray:
        t = np.arange(int(0.35 * sr)) / sr
        f = 45.0 + 90.0 * np.exp(-t * 30.0)
        return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t * 9.0)

    def snare() -> np.ndarray:
        t = np.arange(int(0.25 * sr)) / sr
        noise = rng.standard_normal(len(t))
        noise = np.diff(noise, prepend=0.0)  # tilt towards the highs
        return (0.6 * noise * np.exp(-t * 18.0)
                + 0.4 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-t * 25.0))

    def hat() -> np.ndarray:
        t = np.arange(int(0.06 * sr)) / sr
        noise = np.diff(np.diff(rng.standard_normal(len(t)), prepend=0.0), prepend=0.0)
        return 0.15 * noise * np.exp(-t * 70.0)

    k = 0
    while k * beat < seconds:
        place(k * beat, kick())
        if k % 2 == 1:
            place(k * beat, snare())
        place(k * beat, hat())
        place(k * beat + beat / 2, hat() * rng.uniform(0.5, 1.0))
        k += 1
    out += 0.01 * rng.standard_normal(n)
    return _normalise(out)


def drone(seconds: float = 10.0, sr: int = 22050, seed: int = 2, base_hz: float = 55.0):
    """A slowly evolving, beating drone: detuned saw-like partials with a sweeping brightness.

    Shape (N,). Stationary on the scale of a few seconds, so it is a good texture style and a
    good input for seam checks.
    """
    rng = np.random.default_rng(seed)
    n = _n(seconds, sr)
    t = np.arange(n) / sr
    out = np.zeros(n)
    bright = 0.5 + 0.5 * np.sin(2 * np.pi * 0.07 * t + rng.uniform(0, 2 * np.pi))
    for voice, ratio in enumerate((1.0, 1.5, 2.0)):
        for detune in (-0.15, 0.0, 0.17):
            f0 = base_hz * ratio + detune
            for h in range(1, 24):
                fh = f0 * h
                if fh >= sr / 2 * 0.9:
                    break
                amp = (1.0 / h) * (bright ** (h / 8.0)) / (1 + voice)
                out += amp * np.sin(2 * np.pi * fh * t + rng.uniform(0, 2 * np.pi))
    out += 0.003 * rng.standard_normal(n)
    return _normalise(out)


def chords(seconds: float = 10.0, sr: int = 22050, seed: int = 3, tempo: float = 90.0):
    """Sustained triads changing every bar, with a soft attack: a pad-like harmonic texture.

    Shape (N,).
    """
    rng = np.random.default_rng(seed)
    n = _n(seconds, sr)
    out = np.zeros(n)
    bar = 4 * 60.0 / tempo
    roots = [57, 53, 60, 55]
    pos, i = 0.0, 0
    while pos < seconds:
        start = int(pos * sr)
        m = min(int(bar * sr), n - start)
        t = np.arange(m) / sr
        env = _adsr(m, sr, 0.15, 0.3, 0.7, min(0.2, m / sr / 2))
        root = roots[i % len(roots)]
        for interval in (0, 4 if i % 2 == 0 else 3, 7):
            f0 = _midi_hz(root + interval)
            for h in range(1, 6):
                out[start:start + m] += (env * (0.5 ** h)
                                         * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)))
        pos += bar
        i += 1
    return _normalise(out)


CLIPS = {"melody": melody, "rhythmic_noise": rhythmic_noise, "drone": drone, "chords": chords}


def clip(name: str, seconds: float = 10.0, sr: int = 22050, seed: int | None = None):
    """A named clip from CLIPS; seed None uses the clip's own default seed."""
    if name not in CLIPS:
        raise ValueError(f"unknown clip {name!r}; known clips: {', '.join(CLIPS)}")
    kw = {} if seed is None else {"seed": seed}
    return CLIPS[name](seconds, sr, **kw)
