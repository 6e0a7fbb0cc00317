"""The built-in training corpus: the clips, their lengths and levels, the same for the same seed,
and each with the shape in time of what it imitates (dynamics, speech's pauses, a drum tempo)."""

import functools
import time

import numpy as np
import pytest

from neuralfx.trained.corpus import CORPUS_SECONDS, synthetic_corpus

NAMES = ["chords", "piano", "drums", "speech", "strings", "noise", "mix"]
SR = 22050
# p90 / p10 of 50 ms frame RMS: a steady tone gives 1.0, steady white noise about 1.05
DYNAMIC_RATIO = 1.5
# the drum grooves play at 100-120 bpm: a beat of 0.5-0.6 s, give or take a 5 ms envelope hop
BEAT_RANGE = (0.49, 0.61)


@functools.cache
def corpus(seed: int = 0, sample_rate: int = SR, seconds: float = CORPUS_SECONDS) -> dict:
    return dict(synthetic_corpus(sample_rate, seconds, seed))


def frame_rms(x: np.ndarray, sr: int, seconds: float = 0.05) -> np.ndarray:
    f = int(seconds * sr)
    frames = x[: len(x) // f * f].astype(np.float64).reshape(-1, f)
    return np.sqrt((frames ** 2).mean(axis=1)) + 1e-12


def dynamic_ratio(x: np.ndarray, sr: int) -> float:
    rms = frame_rms(x, sr)
    return float(np.percentile(rms, 90) / np.percentile(rms, 10))


def beat_period(x: np.ndarray, sr: int) -> tuple[float, float]:
    """(lag in s, autocorrelation / its value at lag 0) of the strongest periodicity of the
    onset envelope (rise of 5 ms frame RMS) between 0.35 and 0.8 s."""
    onsets = np.maximum(np.diff(frame_rms(x, sr, 0.005)), 0.0)
    onsets -= onsets.mean()
    ac = np.correlate(onsets, onsets, "full")[len(onsets) - 1:]
    lags = np.arange(len(ac)) * 0.005
    window = (lags > 0.35) & (lags < 0.8)
    best = np.argmax(ac[window])
    return float(lags[window][best]), float(ac[window][best] / ac[0])


def test_names_and_count():
    assert [name for name, _ in synthetic_corpus(seconds=1.0)] == NAMES


@pytest.mark.parametrize("sample_rate, seconds", [(SR, CORPUS_SECONDS), (44100, 2.5)])
def test_mono_float32_of_the_asked_length(sample_rate, seconds):
    clips = corpus(0, sample_rate, seconds)
    for name, x in clips.items():
        assert x.dtype == np.float32 and x.shape == (round(seconds * sample_rate),), name
        assert np.isfinite(x).all(), name


def test_same_seed_same_samples_other_seed_other_samples():
    first, again, other = corpus(0), dict(synthetic_corpus(seed=0)), corpus(1)
    for name in NAMES:
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.allclose(first[name], other[name]), name


def test_synthesises_fast():
    start = time.perf_counter()
    synthetic_corpus()
    # about 0.4 s on one core of a 2-core VM; generous for a loaded machine
    assert time.perf_counter() - start < 3.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_levels_are_varied_and_never_clip(seed):
    levels = []
    for name, x in corpus(seed).items():
        rms_db = 10 * np.log10(np.mean(x.astype(np.float64) ** 2))
        assert -30.0 <= rms_db <= -14.0, (name, rms_db)
        assert np.abs(x).max() < 10 ** (-1 / 20) + 1e-3, name
        levels.append(rms_db)
    assert max(levels) - min(levels) > 6.0  # quiet clips as well as loud ones


def test_the_dynamics_bound_refuses_steady_sound():
    t = np.arange(4 * SR) / SR
    assert dynamic_ratio(0.1 * np.sin(2 * np.pi * 440 * t), SR) < DYNAMIC_RATIO
    assert dynamic_ratio(0.1 * np.random.default_rng(0).standard_normal(4 * SR), SR) < DYNAMIC_RATIO


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_clip_has_dynamics(seed):
    for name, x in corpus(seed).items():
        assert dynamic_ratio(x, SR) > DYNAMIC_RATIO, name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_speech_pauses_between_phrases(seed):
    rms_db = 20 * np.log10(frame_rms(corpus(seed)["speech"], SR))
    quiet = rms_db < rms_db.max() - 30.0
    assert 0.1 < quiet.mean() < 0.6
    # a phrase break: 200 ms or more in a row
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, quiet.astype(int), 0])))[::2]
    assert runs.max() >= 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drums_keep_a_tempo(seed):
    lag, strength = beat_period(corpus(seed)["drums"], SR)
    assert BEAT_RANGE[0] <= lag <= BEAT_RANGE[1] and strength > 0.3, (lag, strength)
    # the band's drummer too
    assert BEAT_RANGE[0] <= beat_period(corpus(seed)["mix"], SR)[0] <= BEAT_RANGE[1]


def test_steady_noise_has_no_tempo():
    assert beat_period(np.random.default_rng(0).standard_normal(4 * SR), SR)[1] < 0.3


@pytest.mark.parametrize("kwargs, field", [
    (dict(sample_rate=0), "sample_rate"), (dict(sample_rate=22050.5), "sample_rate"),
    (dict(seconds=0.5), "seconds"), (dict(seed=-1), "seed"),
])
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        synthetic_corpus(**kwargs)
