"""The top octave on a stream (neuralfx.trained.top_octave_stream): the offline band replication's
level, block by block, at a fixed latency; and in a trained style's stream."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
import torch

from neuralfx.settings import Settings
from neuralfx.spectral import log_spectrogram
from neuralfx.top_octave import replicate, style_profile
from neuralfx.trained.model import StyleSource, TrainedStyle
from neuralfx.trained.stream import TrainedStream
from neuralfx.trained.top_octave_stream import TopOctaveStream
from neuralfx.trained.transfer import fit_transfer

SR, ANALYSIS = 44100, 22050


def style_audio(seconds: float = 3.0) -> np.ndarray:
    """Noise tilted down by 6 dB an octave, full band at 44.1 kHz ``(samples,)``."""
    x = np.random.default_rng(0).standard_normal(int(seconds * SR))
    return (0.1 * np.cumsum(x) / 30 + 0.02 * x).astype(np.float32)


@pytest.fixture(scope="module")
def profile():
    return style_profile(style_audio(), SR, ANALYSIS)


def rendered(seconds: float = 4.0, channels: int = 1) -> np.ndarray:
    """What a render gives at 44.1 kHz: noise bursts with nothing above 11 kHz."""
    rng = np.random.default_rng(1)
    n = int(seconds * ANALYSIS)
    gate = (np.arange(n) % (ANALYSIS // 2)) < ANALYSIS // 3
    x = np.stack([0.1 * rng.standard_normal(n) * gate for _ in range(channels)])
    return soxr.resample(x.T, ANALYSIS, SR).T.astype(np.float32)


def streamed(stream: TopOctaveStream, x: np.ndarray, sizes) -> np.ndarray:
    """``x`` then the latency's silence through ``stream`` in blocks of ``sizes`` (cycled),
    advanced by the latency."""
    x = np.pad(x, ((0, 0), (0, stream.latency_samples)))
    out, start, k = [], 0, 0
    while start < x.shape[-1]:
        y = stream.process(x[:, start:start + sizes[k % len(sizes)]])
        out.append(y)
        start, k = start + y.shape[-1], k + 1
    y = np.concatenate(out, axis=-1)
    assert y.shape == x.shape
    assert not y[:, :stream.latency_samples].any()
    return y[:, stream.latency_samples:]


def band_db(x: np.ndarray, lo: float, hi: float) -> float:
    power = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / SR)
    return float(10 * np.log10(power[..., (f >= lo) & (f < hi)].sum() + 1e-20))


def test_the_band_has_the_offline_render_s_level(profile):
    x = rendered()
    stream = TopOctaveStream(profile, SR, ANALYSIS, 1)
    assert 0 < stream.latency_samples < 0.025 * SR
    y = streamed(stream, x, [512])
    offline = replicate(x, SR, ANALYSIS, profile)
    late = slice(SR, None)  # once the running means have settled
    for lo, hi in ((11500, 14000), (14000, 18000), (18000, 21000)):
        assert band_db(y[:, late], lo, hi) > band_db(x[:, late], lo, hi) + 15
        assert abs(band_db(y[:, late], lo, hi) - band_db(offline[:, late], lo, hi)) < 1.0
    # below the copied band the input comes through untouched
    assert band_db(y - x, 20, 9000) < band_db(x, 20, 9000) - 60


def test_the_output_does_not_depend_on_how_the_input_is_cut(profile):
    x = rendered(2.0, channels=2)
    whole = streamed(TopOctaveStream(profile, SR, ANALYSIS, 2), x, [x.shape[-1]])
    sizes = list(np.random.default_rng(2).integers(1, 3000, 200))
    for cut in ([1, 7, 256, 4095], sizes):
        got = streamed(TopOctaveStream(profile, SR, ANALYSIS, 2), x, cut)
        np.testing.assert_allclose(got, whole, rtol=0, atol=1e-6)


def test_identical_channels_stay_identical_and_silence_stays_silent(profile):
    x = rendered(1.5)
    y = streamed(TopOctaveStream(profile, SR, ANALYSIS, 3), np.stack([x[0], x[0], 0 * x[0]]),
                 [1000])
    np.testing.assert_array_equal(y[0], y[1])
    assert not y[2].any()


def test_nothing_is_added_or_delayed_without_a_top_octave():
    narrow = style_profile(style_audio()[::2].copy(), ANALYSIS, ANALYSIS)  # a 22.05 kHz style
    x = rendered(1.0)
    for profile, rate in ((narrow, SR), (style_profile(style_audio(), SR, ANALYSIS), ANALYSIS)):
        stream = TopOctaveStream(profile, rate, ANALYSIS, 1)
        assert stream.latency_samples == 0
        np.testing.assert_array_equal(stream.process(x), x)


def test_a_trained_stream_rebuilds_the_top_octave_within_its_latency(profile):
    style = style_audio(4.0)
    at_analysis = soxr.resample(style, SR, ANALYSIS).astype(np.float32)
    model = fit_transfer(log_spectrogram(torch.from_numpy(at_analysis), 2048, 512))
    trained = TrainedStyle("transfer", "style 0.01", Settings(), model,
                           StyleSource("0" * 64, 4.0, SR, -20.0, 0.5), profile)
    x = rendered(3.0)
    outputs = {}
    for full_band in (True, False):
        stream = TrainedStream(trained, SR, 1, full_band=full_band)
        assert stream.latency_samples <= 0.25 * SR
        y = stream.process(np.pad(x, ((0, 0), (0, stream.latency_samples))))
        outputs[full_band] = y[:, stream.latency_samples:]
    late = slice(SR, None)
    full, narrow = outputs[True], outputs[False]
    assert band_db(narrow[:, late], 14000, 20000) < band_db(narrow[:, late], 1000, 9000) - 25
    # each band's share of the whole is the style's, as the offline replication makes it
    def share(v, lo, hi):
        return band_db(v, lo, hi) - band_db(v, 0, SR / 2)

    for lo, hi in ((11500, 14000), (14000, 18000), (18000, 21000)):
        assert abs(share(full[:, late], lo, hi) - share(style[None], lo, hi)) < 1.0
        assert abs(share(replicate(narrow, SR, ANALYSIS, profile), lo, hi)
                   - share(style[None], lo, hi)) < 1.0
