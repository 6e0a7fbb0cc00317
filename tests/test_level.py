"""neuralfx.audio level helpers: loudness (BS.1770 and its short-signal fallback), matching,
peak limiting."""

import math

import numpy as np
import pyloudnorm
import pytest

from neuralfx import audio as A


def noise(seconds, sr=44100, channels=2, level=0.1, seed=0):
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((channels, int(sr * seconds)))).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2, 5])
@pytest.mark.parametrize("sr,seconds", [(44100, 1.0), (48000, 2.345), (22050, 0.41),
                                        (96000, 0.7), (11025.5, 1.3)])
def test_loudness_is_pyloudnorms_bs1770(channels, sr, seconds):
    x = noise(seconds, sr=sr, channels=channels)
    x[:, : x.shape[1] // 3] *= 0.01  # a quiet third that the relative gate drops
    assert A.loudness(x, sr) == pytest.approx(
        pyloudnorm.Meter(sr).integrated_loudness(x.T.astype(np.float64)), abs=1e-6)


def test_loudness_analysis_holds_for_any_gain():
    x = noise(1.0)
    analysis = A.analyse_loudness(x, 44100)
    for gain in (1e-3, 0.5, 3.0, np.array([0.2, 1.5])):
        expected = A.loudness(x * np.reshape(gain, (-1, 1)), 44100)
        assert analysis.scaled(gain).loudness() == pytest.approx(expected, abs=1e-6)
    assert analysis.channel(1).loudness() == pytest.approx(A.loudness(x[1:], 44100), abs=1e-6)


def test_solve_gain_reaches_the_target_through_the_absolute_gate():
    ref = noise(1.0, level=0.1)
    quiet = noise(1.0, level=1e-5, seed=4)
    quiet[:, :22050] *= 1e-3  # half of it under the -70 LUFS gate before the gain
    gain = A.solve_gain(A.analyse_loudness(quiet, 44100), A.analyse_loudness(ref, 44100))
    assert A.loudness(quiet * gain, 44100) == pytest.approx(A.loudness(ref, 44100), abs=1e-3)


def test_loudness_short_signal_fallback_is_rms():
    x = noise(0.1, channels=1)
    expected = -0.691 + 10 * math.log10(np.mean(x.astype(np.float64) ** 2))
    assert A.loudness(x, 44100) == pytest.approx(expected)
    assert A.loudness(np.zeros((2, 100), np.float32), 44100) == -math.inf


@pytest.mark.parametrize("seconds", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("level", [1e-5, 0.01, 0.3])
def test_match_loudness_within_a_tenth_of_a_lu(seconds, level):
    ref = noise(seconds, seed=1)
    x = noise(seconds, level=level, seed=2)
    y = A.match_loudness(x, ref, 44100)
    assert abs(A.loudness(y, 44100) - A.loudness(ref, 44100)) < 0.1


def test_match_loudness_to_silence_is_silence():
    y = A.match_loudness(noise(0.5), np.zeros((2, 22050), np.float32), 44100)
    assert not np.any(y)


def test_match_loudness_with_ceiling_keeps_peaks_and_loudness():
    ref = noise(1.0, level=0.2)
    spiky = noise(1.0, level=0.02, seed=3)
    spiky[:, ::4410] = 0.9  # sparse peaks that a plain gain would push far above full scale
    y = A.match_loudness(spiky, ref, 44100, ceiling=1.0)
    assert np.max(np.abs(y)) <= 1.0
    assert abs(A.loudness(y, 44100) - A.loudness(ref, 44100)) < 1.0


def test_limit_peaks_bounds_and_leaves_quiet_audio_alone():
    x = noise(0.5, level=0.6)
    y = A.limit_peaks(x, 44100, 1.0)
    assert np.max(np.abs(y)) <= 1.0 and np.all(np.isfinite(y))
    # samples far from any peak are untouched by the look-ahead window
    quiet = noise(0.5, level=0.1)
    assert A.limit_peaks(quiet, 44100) is quiet or np.array_equal(A.limit_peaks(quiet, 44100),
                                                                  quiet)
    z = np.zeros((1, 44100), np.float32)
    z[0, 22050] = 4.0
    z[0, :100] = 0.5
    y = A.limit_peaks(z, 44100)
    assert y[0, 22050] == pytest.approx(1.0, abs=1e-6)
    assert np.array_equal(y[0, :100], z[0, :100])


def test_limit_peaks_is_linked_across_channels():
    x = noise(0.2, level=0.05)
    x[0, 1000] = 3.0
    y = A.limit_peaks(x, 44100)
    ratio = y[:, 990:1010] / x[:, 990:1010]
    assert np.allclose(ratio[0], ratio[1], atol=1e-5)


def test_loudness_of_more_than_five_channels_matches_bs1770_gating():
    x = noise(1.0, channels=3, level=0.1)
    x[:, 20000:30000] *= 0.001  # a quiet stretch the relative gate removes
    meter = pyloudnorm.Meter(44100)
    # three channels are all weighted 1.0 by pyloudnorm too
    assert A.loudness(x, 44100) == pytest.approx(
        meter.integrated_loudness(x.T.astype(np.float64)), abs=1e-6)
    six = np.concatenate([x, x])  # beyond pyloudnorm's five channels, every weight is 1.0
    assert A.loudness(six, 44100) == pytest.approx(A.loudness(x, 44100) + 10 * math.log10(2),
                                                   abs=1e-6)


# --- levelling an effect's output -------------------------------------------------------------

def panned(seconds=1.0, sr=44100):
    x = noise(seconds, sr, seed=1)
    x[1] *= 0.25
    return x


def test_level_matches_the_input_loudness_and_keeps_the_channel_balance():
    dry, wet = panned(), noise(1.0, level=0.5, seed=2)  # the wet channels at one level
    out = A.level(dry, wet, 44100, mix=1.0, match_loudness=True, balance_channels=True)
    assert out.dtype == np.float32 and out.shape == dry.shape
    assert A.loudness(out, 44100) == pytest.approx(A.loudness(dry, 44100), abs=0.1)
    balance = A.loudness(dry[1:], 44100) - A.loudness(dry[:1], 44100)
    assert A.loudness(out[1:], 44100) - A.loudness(out[:1], 44100) == pytest.approx(balance,
                                                                                    abs=0.1)
    unbalanced = A.level(dry, wet, 44100, mix=1.0, match_loudness=True, balance_channels=False)
    assert A.loudness(unbalanced[1:], 44100) == pytest.approx(A.loudness(unbalanced[:1], 44100),
                                                              abs=0.5)


def test_level_without_matching_keeps_the_wet_loudness():
    dry, wet = panned(), noise(1.0, level=0.05, seed=2)
    out = A.level(dry, wet, 44100, mix=1.0, match_loudness=False, balance_channels=True)
    assert A.loudness(out, 44100) == pytest.approx(A.loudness(wet, 44100), abs=0.1)


def test_level_keeps_a_silent_channel_silent():
    dry, wet = panned(), noise(1.0, level=0.3, seed=2)
    dry[1] = 0
    out = A.level(dry, wet, 44100, mix=1.0, match_loudness=True, balance_channels=True)
    assert not np.any(out[1]) and np.any(out[0])


def test_level_mixes_dry_and_wet_linearly():
    dry, wet = panned(), noise(1.0, level=0.1, seed=2)
    np.testing.assert_array_equal(
        A.level(dry, wet, 44100, mix=0.0, match_loudness=False, balance_channels=True), dry)
    half = A.level(dry, wet, 44100, mix=0.5, match_loudness=False, balance_channels=False)
    np.testing.assert_allclose(half, 0.5 * dry + 0.5 * wet, atol=1e-6)


@pytest.mark.parametrize("dry_peak", [0.5, 1.5])
def test_level_keeps_peaks_within_the_ceiling_of_the_input(dry_peak):
    dry = noise(1.0, seed=1)
    dry *= dry_peak / np.max(np.abs(dry))
    wet = noise(1.0, level=0.9, seed=2)
    out = A.level(dry, wet, 44100, mix=1.0, match_loudness=True, balance_channels=True)
    assert A.peak_ceiling(dry) == max(A.PEAK_CEILING, dry_peak) == pytest.approx(
        max(10 ** (-0.1 / 20), dry_peak), rel=1e-6)
    assert np.max(np.abs(out)) <= A.peak_ceiling(dry) + 1e-7


def test_match_and_limit_reaches_the_reference_within_the_ceiling():
    quiet, loud = noise(1.0, level=0.01, seed=1), noise(1.0, level=0.08, seed=2)
    assert np.max(np.abs(quiet)) * 8 > 0.3  # matched alone it would pass the ceiling
    out = A.match_and_limit(quiet, A.analyse_loudness(loud, 44100), 44100, 0.3)
    assert np.max(np.abs(out)) <= 0.3 and out.dtype == np.float32
    assert A.loudness(out, 44100) == pytest.approx(A.loudness(loud, 44100), abs=0.2)
