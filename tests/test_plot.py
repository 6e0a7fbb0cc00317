"""Spectrogram pictures (neuralfx.plot): the numbers (frequency axis, level, floor, difference),
the sheet, the PNGs of the batch report and the message without matplotlib."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from neuralfx import plot
from neuralfx.audio import resample

SR = 22050


def tone(hz: float, seconds: float = 1.0, sr: int = SR, amplitude: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def noise(seconds: float = 1.0, sr: int = SR, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((channels, int(seconds * sr)))).astype(np.float32)


def needs_matplotlib():
    pytest.importorskip("matplotlib", reason="matplotlib is the optional 'report' extra")


# --- log_spectrogram ---------------------------------------------------------------------------

def test_axes_run_from_20_hz_to_nyquist_on_a_log_scale_and_over_the_whole_duration():
    freqs, times, level = plot.log_spectrogram(tone(440, seconds=2.0), SR)
    assert level.shape == (freqs.size, times.size) and level.dtype == np.float32
    assert freqs[0] == pytest.approx(20) and freqs[-1] == pytest.approx(SR / 2)
    ratios = freqs[1:] / freqs[:-1]
    assert np.allclose(ratios, ratios[0])  # evenly spaced in log frequency
    assert times[0] == 0 and times[-1] == pytest.approx(2.0, abs=0.03)
    assert np.all(np.diff(times) > 0)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 96000])
def test_a_full_scale_1_khz_tone_peaks_at_1_khz_near_0_db(sr):
    freqs, _, level = plot.log_spectrogram(tone(1000, sr=sr), sr)
    peak_bins = level[:, 5:-5].argmax(axis=0)
    assert np.all(np.abs(freqs[peak_bins] / 1000 - 1) < 0.03)
    assert -3 < level.max() <= 0.5
    assert level[freqs < 500].max() < level.max() - 30  # a tone, not a smear


def test_a_quieter_tone_reads_its_level_lower_in_db():
    _, _, loud = plot.log_spectrogram(tone(1000), SR)
    _, _, quiet = plot.log_spectrogram(tone(1000, amplitude=0.1), SR)
    assert loud.max() - quiet.max() == pytest.approx(20, abs=0.1)


@pytest.mark.parametrize("samples", [0, 1, 100, SR])
def test_silence_and_tiny_inputs_give_the_floor_never_nan_or_minus_infinity(samples):
    _, times, level = plot.log_spectrogram(np.zeros((2, samples), np.float32), SR)
    assert times.size >= 1
    assert np.all(level == plot.FLOOR_DB)


def test_channels_are_mixed_to_mono():
    mono = tone(1000)
    _, _, one = plot.log_spectrogram(mono, SR)
    _, _, two = plot.log_spectrogram(np.stack([mono, mono]), SR)
    np.testing.assert_allclose(one, two, atol=1e-4)


def test_a_long_file_is_averaged_into_a_bounded_number_of_columns_that_keep_a_click():
    sr, seconds = 8000, 600
    audio = np.zeros(sr * seconds, np.float32)
    audio[sr * 300: sr * 300 + 64] = 1.0  # a click at 5 minutes
    _, times, level = plot.log_spectrogram(audio, sr)
    assert times.size <= plot.MAX_FRAMES
    assert times[-1] == pytest.approx(seconds, abs=seconds / plot.MAX_FRAMES)
    assert times[level.max(axis=0).argmax()] == pytest.approx(300, abs=1.0)


def test_difference_is_output_minus_input_in_db_and_zero_below_the_scale():
    _, _, loud = plot.log_spectrogram(noise(), SR)
    _, _, half = plot.log_spectrogram(noise() * 0.5, SR)
    difference = plot.difference_db(loud, half, floor=-200)
    assert np.median(difference) == pytest.approx(-6.02, abs=0.05)
    silence = np.full_like(loud, plot.FLOOR_DB)
    assert np.all(plot.difference_db(silence, silence - 10, floor=-100) == 0)


def test_level_range_puts_the_loudest_at_the_top_with_80_db_below():
    quiet, loud = np.full((2, 2), -43.0), np.full((2, 2), -7.0)
    assert plot.level_range(quiet, loud) == (-80.0, 0.0)
    assert plot.level_range(np.full((2, 2), plot.FLOOR_DB))[0] == plot.FLOOR_DB


# --- the sheet ---------------------------------------------------------------------------------

def images_by_kind(fig) -> dict:
    return {ax.texts[0].get_text(): ax.images[0] for ax in fig.axes[:4] if ax.images}


def test_compare_draws_input_style_output_on_one_scale_and_a_centred_difference():
    needs_matplotlib()
    from matplotlib.figure import Figure

    quiet_input = noise() * 0.1
    fig = plot.compare(quiet_input, noise(), tone(300, seconds=0.5), SR)
    assert isinstance(fig, Figure)
    images = images_by_kind(fig)
    assert list(images) == ["input", "style", "output", "difference"]
    scales = {images[kind].get_clim() for kind in ("input", "style", "output")}
    assert len(scales) == 1  # one shared colour scale
    vmin, vmax = scales.pop()
    assert vmax - vmin == plot.LEVEL_RANGE_DB and vmax >= 0  # the full-scale tone is the top
    low, high = images["difference"].get_clim()
    assert low == -high
    assert np.median(np.asarray(images["difference"].get_array())) == pytest.approx(20, abs=0.5)
    assert fig.axes[0].get_ylabel() == "kHz" and fig.axes[3].get_xlabel() == "seconds"


def test_compare_without_style_says_so_in_the_style_panel():
    needs_matplotlib()
    fig = plot.compare(noise(), noise(), None, SR)
    style_panel = fig.axes[1]
    assert not style_panel.images
    assert "no style" in " ".join(t.get_text() for t in style_panel.texts)
    assert len(images_by_kind(fig)) == 3


def test_an_output_at_another_rate_is_compared_on_the_inputs_grid():
    needs_matplotlib()
    audio = noise(channels=1)
    output = resample(audio, SR, 48000)
    fig = plot.compare(audio, output, None, SR, output_rate=48000)
    images = images_by_kind(fig)
    difference = np.asarray(images["difference"].get_array())
    assert difference.shape == images["input"].get_array().shape
    assert abs(np.median(difference)) < 0.5  # the same sound, resampled
    top = images["output"].get_extent()[3]
    assert 2 ** top == pytest.approx(24000)  # the output panel shows its own band


# --- the PNGs ----------------------------------------------------------------------------------

def test_save_spectrograms_writes_small_pngs_that_decode_at_600_by_200(tmp_path):
    needs_matplotlib()
    from matplotlib.image import imread

    written = plot.save_spectrograms(noise(2.0), noise(2.0) * 0.5, noise(1.0), SR,
                                     tmp_path, "take1")
    assert set(written) == {"input", "style", "output", "difference"}
    for kind, path in written.items():
        assert path == tmp_path / f"take1-{kind}.png"
        assert imread(path).shape[:2] == (200, 600)
        assert path.stat().st_size < 100_000
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written.values())


def test_save_spectrograms_without_style_writes_no_style_picture(tmp_path):
    needs_matplotlib()
    written = plot.save_spectrograms(noise(), noise(), None, SR, tmp_path, "t")
    assert set(written) == {"input", "output", "difference"}
    assert not (tmp_path / "t-style.png").exists()


def test_save_png_writes_a_figure_in_at_most_the_colours_asked(tmp_path):
    needs_matplotlib()
    from matplotlib.figure import Figure
    from PIL import Image

    fig = plot.compare(noise(), noise() * 0.5, noise(), SR)
    path = plot.save_png(fig, tmp_path / "sheet.png", colours=64)
    assert path == tmp_path / "sheet.png" and [p.name for p in tmp_path.iterdir()] == [path.name]
    with Image.open(path) as image:
        assert image.size == (800, 800)
        assert len(image.convert("RGB").getcolors(maxcolors=10_000)) <= 64
    plain = Figure(figsize=(2, 1))  # no canvas attached: it gets one
    plain.subplots().plot([0, 1])
    with Image.open(plot.save_png(plain, tmp_path / "plain.png")) as image:
        assert image.size == (200, 100)


def test_pictures_drawn_in_threads_at_the_same_time_are_the_same(tmp_path):
    needs_matplotlib()
    folders = [tmp_path / str(i) for i in range(3)]
    for folder in folders:
        folder.mkdir()
    threads = [threading.Thread(target=plot.save_spectrograms,
                                args=(noise(), noise() * 0.3, None, SR, folder, "t"))
               for folder in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pictures = [(folder / "t-difference.png").read_bytes() for folder in folders]
    assert pictures[0] == pictures[1] == pictures[2]


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    for call in (lambda: plot.compare(noise(), noise(), None, SR),
                 lambda: plot.save_spectrograms(noise(), noise(), None, SR, tmp_path, "t")):
        with pytest.raises(ImportError, match=r"pip install 'neuralfx\[report\]'") as error:
            call()
        assert str(error.value) == plot.MISSING_MATPLOTLIB
    assert not list(tmp_path.iterdir())
    _, _, level = plot.log_spectrogram(noise(), SR)  # the numbers need numpy only
    assert np.isfinite(level).all()
