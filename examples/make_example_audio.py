"""Synthesise the two example clips that neuralfx ships (no recorded or copyrighted audio).

    python examples/make_example_audio.py            # writes neuralfx/examples/*.wav
    python examples/make_example_audio.py --out DIR  # writes them elsewhere

- ``melody.wav``: content. A short original tune, plucked harmonic tones with vibrato and a
  soft bass line, 6 s, mono, 22050 Hz, 16-bit.
- ``texture.wav``: style. A rhythmic noisy texture: shaker-like filtered noise on eighth notes,
  a low thump on the beat, sparse crackle over faint rain-like noise; 6 s, mono, 22050 Hz,
  16-bit.

Only numpy is used for the sound (fixed seed), so the files are reproducible and small
(about 265 KB each). ``neuralfx demo`` renders the melody in the style of the texture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050
SECONDS = 6.0
BPM = 120.0
PACKAGE_DIR = Path(__file__).resolve().parent.parent / "neuralfx" / "examples"

# (MIDI note, start beat, length in beats): an original eight-bar phrase, two beats a bar.
TUNE = [
    (69, 0.0, 0.5), (72, 0.5, 0.5), (76, 1.0, 1.0), (74, 2.0, 0.5), (72, 2.5, 0.5),
    (71, 3.0, 1.0), (72, 4.0, 0.5), (74, 4.5, 0.5), (76, 5.0, 0.75), (79, 5.75, 0.25),
    (77, 6.0, 0.5), (76, 6.5, 0.5), (74, 7.0, 1.0), (72, 8.0, 0.5), (71, 8.5, 0.5),
    (69, 9.0, 1.5), (64, 10.5, 0.5), (67, 11.0, 1.0),
]
BASS = [(45, 0.0, 2.0), (41, 2.0, 2.0), (43, 4.0, 2.0), (40, 6.0, 2.0), (45, 8.0, 2.0),
        (40, 10.0, 2.0)]


def _hz(midi: int) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def _tone(midi: int, seconds: float, harmonics: int, brightness: float, sr: int) -> np.ndarray:
    """A plucked harmonic tone (samples,): partials that decay faster the higher they are."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = _hz(midi)
    vibrato = 1.0 + 0.004 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(t / 0.3, 1.0)
    phase = 2 * np.pi * f0 * np.cumsum(vibrato) / sr
    out = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if k * f0 >= 0.45 * sr:
            break
        out += brightness ** (k - 1) / k * np.sin(k * phase) * np.exp(-t * (2.0 + 1.5 * k))
    attack = np.minimum(t / 0.005, 1.0)
    release = np.clip((seconds - t) / 0.03, 0.0, 1.0)
    return out * attack * release


def melody(sr: int = SAMPLE_RATE, seconds: float = SECONDS) -> np.ndarray:
    """The content clip, float64 (samples,), peak -3 dBFS."""
    out = np.zeros(int(seconds * sr))
    beat = 60.0 / BPM
    for notes, harmonics, brightness, gain in ((TUNE, 12, 0.8, 1.0), (BASS, 6, 0.6, 0.5)):
        for midi, start, length in notes:
            i = int(start * beat * sr)
            tone = gain * _tone(midi, length * beat * 1.2, harmonics, brightness, sr)
            n = min(len(tone), len(out) - i)
            if n > 0:
                out[i:i + n] += tone[:n]
    return _normalise(out)


def _one_pole_lowpass(x: np.ndarray, cutoff_hz: float, sr: int) -> np.ndarray:
    a = np.exp(-2 * np.pi * cutoff_hz / sr)
    y = np.empty_like(x)
    acc = 0.0
    for i, v in enumerate(x):
        acc = (1 - a) * v + a * acc
        y[i] = acc
    return y


def texture(sr: int = SAMPLE_RATE, seconds: float = SECONDS, seed: int = 7) -> np.ndarray:
    """The style clip, float64 (samples,), peak -3 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n)
    beat = 60.0 / BPM
    # shaker: bright noise bursts on eighth notes, accented on the beat, slightly humanised
    for j in range(int(seconds / beat * 2)):
        i = int((j * beat / 2 + rng.normal(0, 0.004)) * sr)
        length = int(0.09 * sr)
        env = np.exp(-np.arange(length) / (0.018 * sr)) * (1.0 if j % 2 == 0 else 0.55)
        burst = rng.normal(0, 1, length)
        burst = burst - _one_pole_lowpass(burst, 3000.0, sr)  # keep the hiss, lose the body
        i = max(i, 0)
        m = min(length, n - i)
        if m > 0:
            out[i:i + m] += 0.6 * env[:m] * burst[:m]
    # thump: a falling sine on every beat
    for j in range(int(seconds / beat)):
        i = int(j * beat * sr)
        t = np.arange(int(0.25 * sr)) / sr
        thump = np.sin(2 * np.pi * (55 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 14)
        m = min(len(t), n - i)
        out[i:i + m] += 0.9 * thump[:m]
    # crackle: sparse clicks through a gentle low-pass, for a dusty bed between the hits
    clicks = np.where(rng.random(n) < 0.002, rng.normal(0, 1, n), 0.0)
    out += 0.5 * _one_pole_lowpass(clicks, 6000.0, sr)
    # a faint rain-like bed, so the clip never drops to digital silence
    out += 0.03 * _one_pole_lowpass(rng.normal(0, 1, n), 2000.0, sr)
    return _normalise(out)


def _normalise(x: np.ndarray, peak_db: float = -3.0) -> np.ndarray:
    return x * (10 ** (peak_db / 20) / np.max(np.abs(x)))


def write_examples(out_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Write melody.wav and texture.wav (mono, 22050 Hz, 16-bit PCM) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, audio in (("melody.wav", melody()), ("texture.wav", texture())):
        path = out_dir / name
        tmp = path.with_name(path.name + ".tmp.wav")
        sf.write(tmp, audio.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        tmp.replace(path)  # atomic: a reader never sees a half-written file
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR,
                        help="output folder (default: the package's neuralfx/examples)")
    for path in write_examples(parser.parse_args().out):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
