"""The top octave: band replication from the output's own upper band at the style's level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, firwin, lfilter, sosfiltfilt

from neuralfx import NeuralStyle
from neuralfx.top_octave import replicate, source_bins, style_profile

SR = 44100
ANALYSIS = 22050  # the rate the engine rendered at


def band_db(audio: np.ndarray, sr: float, lo: float, hi: float) -> float:
    """Energy in ``[lo, hi)`` Hz over all energy, dB."""
    power = np.abs(np.fft.rfft(np.atleast_2d(audio), axis=-1)) ** 2
    f = np.fft.rfftfreq(np.atleast_2d(audio).shape[-1], 1 / sr)
    return float(10 * np.log10(power[:, (f >= lo) & (f < hi)].sum() / power.sum() + 1e-30))


def low_passed(audio: np.ndarray, sr: float, hz: float) -> np.ndarray:
    return sosfiltfilt(butter(12, hz, fs=sr, output="sos"), audio).astype(np.float32)


def noise(seconds: float, seed: int, sr: float = SR) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr))
            ).astype(np.float32)


@pytest.fixture(scope="module")
def render():
    """A render as the engine leaves it at 44.1 kHz: nothing above the analysis Nyquist."""
    return low_passed(noise(4, 1), SR, 10500)[None]


def test_every_target_bin_copies_from_the_octave_below_the_split():
    src = source_bins(1025, 500, 248)
    assert src.size == 1025 - 500
    assert src.min() >= 500 - 248 and src.max() < 500
    assert np.all((np.arange(500, 1025) - src) % 248 == 0)  # whole shifts only


def test_the_top_octave_takes_the_style_level_band_by_band(render):
    style = noise(6, 2)  # white: every band has its share of the energy
    out = replicate(render, SR, ANALYSIS, style_profile(style, SR, ANALYSIS))
    for lo, hi in ((11000, 14000), (14000, 17000), (17000, 22050)):
        assert band_db(out, SR, lo, hi) == pytest.approx(band_db(style, SR, lo, hi), abs=2.0)
    # below the split the render is untouched
    assert band_db(out - render, SR, 0, 10000) < -60


def test_where_the_style_has_no_top_octave_nothing_is_invented(render):
    # an MP3-like source cut at 16 kHz, its stop band 140 dB down
    style = lfilter(firwin(1023, 16000, fs=SR, window=("kaiser", 14)), 1, noise(6, 2))
    out = replicate(render, SR, ANALYSIS, style_profile(style, SR, ANALYSIS))
    assert band_db(out, SR, 11000, 14000) == pytest.approx(band_db(style, SR, 11000, 14000),
                                                           abs=2.0)
    assert band_db(out, SR, 17000, 22050) <= band_db(style, SR, 17000, 22050) + 6
    # a style sampled at 22.05 kHz has no top octave at all: the render stays as it is
    assert np.array_equal(replicate(render, SR, ANALYSIS, style_profile(noise(6, 2, 22050),
                                                                      22050, ANALYSIS)), render)


def test_nothing_to_do_at_the_analysis_rate():
    audio = noise(1, 3, 22050)[None]
    profile = style_profile(noise(2, 4), SR, ANALYSIS)
    assert np.array_equal(replicate(audio, 22050, ANALYSIS, profile), audio)


def test_the_copy_moves_with_the_music_and_keeps_its_transients():
    """Bursts in the upper band come back in the top octave at the same frames."""
    sr, n = SR, 4 * SR
    bursts = np.zeros(n, np.float32)
    for start in (0.5, 1.7, 2.2, 3.4):
        k = int(start * sr)
        bursts[k:k + sr // 10] = 1.0
    audio = (low_passed(noise(4, 5), sr, 10500) * (0.05 + bursts))[None]
    out = replicate(audio, sr, ANALYSIS, style_profile(noise(6, 6), sr, ANALYSIS))
    top = out - audio

    def frame_db(x, lo, hi):
        frames = x[0, : n // 2048 * 2048].reshape(-1, 2048)
        spec = np.abs(np.fft.rfft(frames * np.hanning(2048), axis=-1)) ** 2
        f = np.fft.rfftfreq(2048, 1 / sr)
        return 10 * np.log10(spec[:, (f >= lo) & (f < hi)].sum(axis=-1) + 1e-20)

    high, source = frame_db(top, 11500, 20000), frame_db(audio, 5500, 10000)
    assert np.corrcoef(high, source)[0, 1] > 0.9
    assert high.max() - np.median(high) > 15  # a burst stands out: no stationary floor


def test_the_top_octave_swings_like_the_style_s(render):
    """A render whose upper octave barely moves still gets highs that rise and fall with its
    lower band, as far as the style's do."""
    sr, n = SR, 6 * SR
    swell = (1 + 0.9 * np.sin(2 * np.pi * 0.5 * np.arange(n) / sr)).astype(np.float32)
    style = noise(6, 9) * swell  # highs that swing with the music
    lower = low_passed(noise(6, 10), sr, 4000) * swell  # the render's lower band swings...
    audio = (lower + 0.3 * low_passed(noise(6, 11), sr, 10500))[None]  # ...its upper one not
    profile = style_profile(style, sr, ANALYSIS)
    top = replicate(audio, sr, ANALYSIS, profile) - audio

    def frame_db(x, lo, hi):
        frames = x[0, : n // 2048 * 2048].reshape(-1, 2048)
        spec = np.abs(np.fft.rfft(frames * np.hanning(2048), axis=-1)) ** 2
        f = np.fft.rfftfreq(2048, 1 / sr)
        return 10 * np.log10(spec[:, (f >= lo) & (f < hi)].sum(axis=-1) + 1e-20)

    spread = np.std(frame_db(top, 11500, 20000))
    assert profile.spread_db > 5 and spread >= 0.5 * profile.spread_db
    assert np.corrcoef(frame_db(top, 11500, 20000), frame_db(audio, 1000, 11000))[0, 1] > 0.8


def test_channels_identical_stay_identical_and_silent_stays_silent(render):
    stereo = np.concatenate([render, render, np.zeros_like(render)])
    out = replicate(stereo, SR, ANALYSIS, style_profile(noise(6, 2), SR, ANALYSIS))
    assert np.array_equal(out[0], out[1])
    assert not np.any(out[2])


def test_the_effect_is_full_band_by_default_and_says_so(tiny):
    content = low_passed(noise(2.5, 7), SR, 8000)
    style = (noise(3, 8), SR)
    fx = NeuralStyle(style=style, preset="draft", **tiny)
    assert fx.full_band and fx.parameters["full_band"] is True
    full = fx(content, SR)
    fx.full_band = False
    cut = fx(content, SR)
    assert band_db(cut, SR, 11500, 20000) < -50  # the analysis rate's band only
    assert band_db(full, SR, 11500, 20000) == pytest.approx(band_db(style[0], SR, 11500, 20000),
                                                            abs=4.0)
    texture = fx.texture(2.0, SR)
    fx.full_band = True
    assert band_db(fx.texture(2.0, SR), SR, 11500, 20000) > band_db(texture, SR, 11500, 20000) + 20


def test_full_band_is_a_validated_output_parameter():
    from neuralfx.presets import dump_preset, load_preset, loads_preset
    from neuralfx.settings import SettingsError

    preset = load_preset("draft", full_band=False)
    assert loads_preset(dump_preset(preset)).full_band is False
    with pytest.raises(SettingsError, match="full_band = 'yes'"):
        load_preset("draft", full_band="yes")


def test_blocks_give_the_whole_signal_s_result(render, monkeypatch):
    """A long file goes through in blocks of frames: any block size gives the same audio."""
    import neuralfx.top_octave as T

    audio = np.concatenate([render, 0.5 * render[:, ::-1]])[:, : 3 * SR + 123]
    profile = style_profile(noise(6, 2), SR, ANALYSIS)
    whole = replicate(audio, SR, ANALYSIS, profile)
    monkeypatch.setattr(T, "BLOCK_FRAMES", 7)
    blocked = replicate(audio, SR, ANALYSIS, profile)
    assert blocked.shape == audio.shape
    assert np.max(np.abs(blocked - whole)) < 1e-5 * np.max(np.abs(whole))
