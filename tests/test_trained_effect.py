"""A trained style (``.nfxstyle``) used like any style: ``NeuralStyle(style="x.nfxstyle")`` and
the command line (``neuralfx train``, ``texture`` and ``process`` with one).

The styles are trained once per module on a few seconds of synthetic audio, with a 64-filter
network and the shortest budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from neuralfx import audio as A
from neuralfx.cli import app
from neuralfx.effect import NeuralStyle
from neuralfx.train import train_style
from neuralfx.trained import StyleFileError, TrainedStyle, load_trained_style

SR = 22050
TINY = dict(n_filters=64, minutes=0.01)
TINY_SETS = ["--set", "n_filters=64", "--minutes", "0.01"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def style_audio(seconds: float = 4.0, rate: int = SR, seed: int = 0) -> np.ndarray:
    """A tremolo tone at 660 Hz over noise bursts ``(samples,)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 2.5 * t) > 0.3)
    tone = np.sin(2 * np.pi * 660 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return (0.15 * tone + 0.1 * bursts).astype(np.float32)


def content_audio(seconds: float, rate: int, seed: int = 1) -> np.ndarray:
    """A decaying chord with a little noise ``(samples,)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220, 277, 330)) * np.exp(-0.5 * t)
    return (0.2 * chord + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("trained")


@pytest.fixture(scope="module")
def style_wav(folder) -> Path:
    path = folder / "style.wav"
    sf.write(path, style_audio(), SR)
    return path


@pytest.fixture(scope="module")
def content_wav(folder) -> Path:
    path = folder / "content.wav"
    sf.write(path, content_audio(4.0, SR), SR)
    return path


@pytest.fixture(scope="module")
def transfer_file(folder, style_wav, content_wav) -> Path:
    path = folder / "transfer.nfxstyle"
    train_style(style_wav, content=[content_wav], output=path, **TINY)
    return path


@pytest.fixture(scope="module")
def texture_file(folder, style_wav) -> Path:
    path = folder / "texture.nfxstyle"
    train_style(style_wav, "texture", output=path, **TINY)
    return path


# --- the effect ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fx(transfer_file) -> NeuralStyle:
    return NeuralStyle(style=transfer_file)


def test_the_effect_runs_the_files_model_with_its_settings(fx, transfer_file):
    trained = load_trained_style(transfer_file)
    assert isinstance(fx.trained, TrainedStyle)
    assert fx.trained.kind == "transfer"
    assert fx.settings == trained.settings
    assert fx.settings.n_filters == 64  # the file's, not the default preset's
    assert fx.style_statistics() is None


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("layout", ["1d", "channels_first", "channels_last"])
def test_layouts_and_rates_are_kept(fx, rate, layout):
    mono = content_audio(3.0, rate)
    stereo = np.stack([mono, content_audio(3.0, rate, seed=2)])
    x = {"1d": mono, "channels_first": stereo, "channels_last": stereo.T}[layout]
    out = fx.process(x, rate)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and np.abs(out).max() > 1e-3
    if layout != "1d":
        wet = out if layout == "channels_first" else out.T
        assert not np.allclose(wet[0], wet[1])  # each channel its own


def test_identical_channels_stay_identical_and_a_silent_one_silent(fx):
    mono = content_audio(3.0, 44100)
    out = fx.process(np.stack([mono, mono, np.zeros_like(mono)]), 44100)
    np.testing.assert_array_equal(out[0], out[1])
    assert np.abs(out[0]).max() > 1e-3
    assert not out[2].any()


def test_silence_in_gives_silence_out(fx):
    out = fx.process(np.zeros((2, 44100), np.float32), 44100)
    assert out.shape == (2, 44100) and not out.any()


def test_mix_zero_gives_the_input_back(transfer_file):
    x = np.stack([content_audio(2.0, 48000), content_audio(2.0, 48000, seed=3)])
    out = NeuralStyle(style=transfer_file, mix=0.0).process(x, 48000)
    np.testing.assert_array_equal(out, x)


def test_a_trained_style_object_works_as_the_style(transfer_file):
    trained = load_trained_style(transfer_file)
    x = content_audio(2.0, 44100)
    out = NeuralStyle(style=trained).process(x, 44100)
    np.testing.assert_array_equal(out, NeuralStyle(style=transfer_file).process(x, 44100))


def test_a_texture_has_the_styles_loudness_on_every_channel(texture_file):
    fx = NeuralStyle(style=texture_file)
    assert fx.trained.is_texture
    out = fx.texture(3.0, 44100, 2)
    assert out.shape == (2, 132300) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[0], out[1])
    assert A.loudness(out[:1], 44100) == pytest.approx(A.loudness(style_audio()[None], SR),
                                                       abs=1.0)


def test_a_texture_from_a_transfer_style_asks_for_a_texture_preset(fx):
    with pytest.raises(ValueError, match="texture preset"):
        fx.texture(1.0, 44100)


# --- streaming ------------------------------------------------------------------------------

def _streamed(fx_or_board, x: np.ndarray, rate: int, block: int) -> np.ndarray:
    return np.concatenate([fx_or_board(x[..., i:i + block], rate, reset=False)
                           for i in range(0, x.shape[-1], block)], axis=-1)


def test_a_stream_is_the_same_whatever_the_block_size(transfer_file):
    x = np.stack([content_audio(2.0, 44100), content_audio(2.0, 44100, seed=4)])
    outs = []
    for block in (256, 8192, 1000):
        fx = NeuralStyle(style=transfer_file)
        outs.append(_streamed(fx, x, 44100, block))
    assert outs[0].shape == x.shape
    np.testing.assert_allclose(outs[1], outs[0], atol=1e-5)
    np.testing.assert_allclose(outs[2], outs[0], atol=1e-5)


def test_a_stream_reports_its_latency_and_is_silent_before_it(transfer_file):
    fx = NeuralStyle(style=transfer_file)
    before = fx.latency_samples
    x = content_audio(2.0, 44100)
    out = _streamed(fx, x, 44100, 512)
    assert fx.latency_samples == before
    assert 0 < fx.latency_samples <= 0.25 * 44100
    assert not np.any(out[:fx.latency_samples])
    assert np.any(out[fx.latency_samples:])
    assert NeuralStyle().latency_samples == 0  # whole signals are not delayed


def test_reset_starts_a_new_stream(transfer_file):
    fx = NeuralStyle(style=transfer_file)
    x = content_audio(1.0, 44100)
    first = _streamed(fx, x, 44100, 4096)
    fx.reset()
    np.testing.assert_allclose(_streamed(fx, x, 44100, 4096), first, atol=1e-6)


def test_a_texture_style_does_not_stream(texture_file):
    from neuralfx.layout import StreamingError

    with pytest.raises(StreamingError, match="trained style-transfer"):
        NeuralStyle(style=texture_file)(content_audio(0.5, 44100), 44100, reset=False)


def test_a_serial_chain_with_a_trained_style_streams(transfer_file):
    from pedalboard import Gain

    from neuralfx import Mix, Pedalboard
    from neuralfx.layout import StreamingError

    x = content_audio(1.5, 44100)[None]
    fx = NeuralStyle(style=transfer_file)
    alone = _streamed(fx, x, 44100, 2048)
    board = Pedalboard([Gain(gain_db=0.0), NeuralStyle(style=transfer_file), Gain(gain_db=-6.0)])
    chained = _streamed(board, x, 44100, 2048)
    np.testing.assert_allclose(chained, alone * 10 ** (-6 / 20), atol=1e-5)
    with pytest.raises(StreamingError, match="Mix"):
        Mix([NeuralStyle(style=transfer_file)])(x, 44100, reset=False)


def test_a_missing_style_file_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        NeuralStyle(style=tmp_path / "nowhere.nfxstyle")


def test_a_corrupt_style_file_is_refused(tmp_path, transfer_file):
    bad = tmp_path / "bad.nfxstyle"
    data = bytearray(transfer_file.read_bytes())
    data[-100] ^= 0xFF  # one byte of the weights
    bad.write_bytes(bytes(data))
    with pytest.raises(StyleFileError, match="checksum"):
        NeuralStyle(style=bad)
    bad.write_bytes(b"RIFF not a style at all")
    with pytest.raises(StyleFileError):
        NeuralStyle(style=bad)


# --- the command line ----------------------------------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_train_writes_a_loadable_style(tmp_path, style_wav, content_wav):
    out = tmp_path / "out.nfxstyle"
    result = invoke("train", style_wav, "-o", out, "--content", content_wav, *TINY_SETS,
                    "--json", "-q")
    assert result.exit_code == 0, result.output
    trained = load_trained_style(out)
    assert trained.kind == "transfer" and trained.settings.n_filters == 64
    assert trained.training["content"] == ["content.wav"]
    summary = json.loads(result.stdout)
    assert summary["kind"] == "transfer" and summary["preset"] == "style 0.01"
    assert summary["settings"]["n_filters"] == 64 and summary["output"] == str(out)


def test_train_refuses_a_file_name_without_the_suffix(tmp_path, style_wav):
    result = invoke("train", style_wav, "-o", tmp_path / "out.wav", *TINY_SETS)
    assert result.exit_code == 2 and "--output" in result.output
    assert not (tmp_path / "out.wav").exists()


def test_train_keeps_an_existing_output_without_overwrite(tmp_path, style_wav):
    out = tmp_path / "out.nfxstyle"
    out.write_bytes(b"mine")
    result = invoke("train", style_wav, "-o", out, *TINY_SETS)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert out.read_bytes() == b"mine"


def test_train_refuses_missing_style_and_content(tmp_path, style_wav):
    result = invoke("train", tmp_path / "none.wav", "-o", tmp_path / "a.nfxstyle", *TINY_SETS)
    assert result.exit_code == 2 and "none.wav" in result.output
    result = invoke("train", style_wav, "-o", tmp_path / "a.nfxstyle", "--content",
                    tmp_path / "gone", *TINY_SETS)
    assert result.exit_code == 2 and "--content" in result.output
    assert not (tmp_path / "a.nfxstyle").exists()


def test_texture_command_renders_a_trained_texture(tmp_path, texture_file):
    out = tmp_path / "t.wav"
    result = invoke("texture", texture_file, "-d", 2, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    audio, rate = sf.read(out, always_2d=True)
    assert rate == SR and audio.shape == (2 * SR, 1)  # the style's rate, kept in the file
    assert np.abs(audio).max() > 1e-3


def test_process_command_renders_with_a_trained_style(tmp_path, transfer_file):
    src = tmp_path / "in.wav"
    sf.write(src, np.stack([content_audio(2.0, 44100)] * 2).T, 44100)
    result = invoke("process", src, "--style", transfer_file, "-o", tmp_path / "out", "-q",
                    "--json")
    assert result.exit_code == 0, result.output
    (job,) = json.loads(result.stdout)["files"]
    assert job["status"] == "ok"
    audio, rate = sf.read(job["output"], always_2d=True)
    assert rate == 44100 and audio.shape == (2 * 44100, 2)
    assert np.abs(audio).max() > 1e-3
