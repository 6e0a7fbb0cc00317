"""Trained styles below the effect: the one-pass transfer and texture models, the ``.nfxstyle``
file they live in, and training them with :func:`neuralfx.train_style`.

Signals are a few seconds of synthetic tones and noise; training uses a 64-filter network and
the shortest budget, so the whole file runs in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy import signal

import neuralfx.trained.training as training
from neuralfx.settings import Settings
from neuralfx.spectral import log_spectrogram
from neuralfx.top_octave import style_profile
from neuralfx.train import train_style
from neuralfx.trained import StyleFileError, StyleSource, TrainedStyle, load_trained_style
from neuralfx.trained.stylefile import write_style_file
from neuralfx.trained.texture import TextureModel, fit_texture, generate
from neuralfx.trained.transfer import (
    STREAM_UPDATE_FRAMES,
    STREAM_WINDOW_FRAMES,
    WINDOW_FRAMES,
    TransferModel,
    TransferStream,
    content_statistics,
    fit_transfer,
    soft_limit,
    transfer,
    transform,
)

SR = 22050
N_FFT, HOP = 2048, 512
TINY = dict(n_filters=64, minutes=0.01)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- signals -----------------------------------------------------------------------------------

def style_audio(seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """A tremolo tone at 660 Hz and a band of noise (2-6 kHz) gated at 2.5 Hz ``(samples,)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    b, a = signal.butter(4, [2000, 6000], "bandpass", fs=SR)
    band = signal.lfilter(b, a, rng.standard_normal(t.size)) * (np.sin(2 * np.pi * 2.5 * t) > 0)
    tone = 0.1 * np.sin(2 * np.pi * 660 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return (tone + 0.3 * band + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def content_audio(seconds: float = 5.0, seed: int = 1, level: float = 1.0) -> np.ndarray:
    """Noise whose level and brightness change every 50 ms, as music's do ``(samples,)``: its
    spectrum is nothing like the style's."""
    rng = np.random.default_rng(seed)
    n, step = int(seconds * SR), int(0.05 * SR)
    x = rng.standard_normal(n)
    out = np.zeros(n)
    for start in range(0, n, step):
        b, a = signal.butter(1, rng.uniform(300, 8000), fs=SR)
        out[start:start + step] = signal.lfilter(b, a, x[start:start + step]) * rng.uniform(0.05,
                                                                                            0.5)
    return (level * out).astype(np.float32)


def spectrogram(audio: np.ndarray) -> torch.Tensor:
    return log_spectrogram(torch.from_numpy(audio), N_FFT, HOP)


def covariance(frames: torch.Tensor) -> torch.Tensor:
    z = frames.double() - frames.double().mean(-1, keepdim=True)
    return z @ z.T / frames.shape[-1]


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


@pytest.fixture(scope="module")
def style_spec() -> torch.Tensor:
    return spectrogram(style_audio())


@pytest.fixture(scope="module")
def model(style_spec) -> TransferModel:
    return fit_transfer(style_spec)


@pytest.fixture(scope="module")
def content_spec() -> torch.Tensor:
    spec = spectrogram(content_audio())
    assert spec.shape[-1] < WINDOW_FRAMES  # the whole input's statistics
    return spec


# --- transfer ------------------------------------------------------------------------------------

def test_transfer_keeps_the_shape(model, content_spec):
    assert transfer(model, content_spec).shape == content_spec.shape
    assert transfer(model, content_spec[:, :7]).shape == (content_spec.shape[0], 7)


def test_colouring_gives_the_styles_mean_and_covariance(model, style_spec, content_spec):
    out = transfer(model.with_blend(1.0, 0.0), content_spec)
    assert relative(content_spec.mean(-1), style_spec.mean(-1)) > 0.5  # far apart before
    assert relative(out.mean(-1), style_spec.mean(-1)) < 0.1
    before = relative(covariance(content_spec), covariance(style_spec))
    after = relative(covariance(out), covariance(style_spec))
    assert after < 0.5 and after < 0.6 * before, (before, after)
    assert 0.5 < float(covariance(out).trace() / covariance(style_spec).trace()) < 1.5


def test_scaling_gives_each_bin_the_styles_mean_and_deviation(model, style_spec, content_spec):
    out = transfer(model.with_blend(0.0, 0.0), content_spec).double()
    mean, std = style_spec.double().mean(-1), style_spec.double().std(-1)
    assert float((out.mean(-1) - mean).abs().max()) < 0.1
    ratio = out.std(-1) / std
    assert float(ratio.min()) > 0.75 and float(ratio.max()) < 1.01
    # in the bins the clamp to [0, peak] never touched, the match is exact
    free = (out.amin(-1) > 0) & (out.amax(-1) < model.peak.double())
    assert free.sum() > 50
    assert float((out.mean(-1) - mean)[free].abs().max()) < 1e-4
    assert float((ratio[free] - 1).abs().max()) < 0.01


@pytest.mark.parametrize("blend", [0.0, 0.5, 1.0])
def test_output_stays_between_zero_and_the_styles_peak(model, content_spec, blend):
    # ten times louder content: unclamped, the scaled frames would overshoot the style's peak
    loud = spectrogram(content_audio(level=10.0))
    out = transfer(model.with_blend(blend, 0.5), loud)
    assert float(out.min()) >= 0
    assert bool((out <= model.peak[:, None]).all())
    assert bool((out == model.peak[:, None]).any())  # the clamp was needed


def test_near_silence_is_not_lifted_to_the_styles_level(model, style_spec):
    quiet = spectrogram((1e-6 * np.random.default_rng(5).standard_normal(5 * SR))
                        .astype(np.float32))
    style_variance = float(style_spec.double().var(-1).mean())
    for blend in (0.0, 0.5, 1.0):
        out = transfer(model.with_blend(blend, 0.0), quiet).double()
        swing = float(((out - model.mean.double()[:, None]) ** 2).mean())
        assert swing < 1e-3 * style_variance, (blend, swing)


def test_broadband_content_at_a_normal_level_gets_the_styles_swing(model, style_spec):
    noise = spectrogram((0.1 * np.random.default_rng(3).standard_normal(5 * SR))
                        .astype(np.float32))  # white noise at -20 dBFS RMS
    out = transfer(model.with_blend(1.0, 0.0), noise)
    assert float(covariance(out).trace() / covariance(style_spec).trace()) > 0.5


def test_stream_frames_do_not_depend_on_how_the_input_is_cut(model, content_spec, style_spec):
    x = torch.cat([content_spec, style_spec[:, :200]], dim=1)  # a change of material midway
    whole = TransferStream(model).push(x)
    assert whole.shape == x.shape
    stream = TransferStream(model)
    one_by_one = torch.cat([stream.push(x[:, t:t + 1]) for t in range(x.shape[-1])], dim=1)
    cuts = np.sort(np.random.default_rng(0).choice(np.arange(1, x.shape[-1]), 15,
                                                   replace=False))
    stream = TransferStream(model)
    pieces = torch.cat([stream.push(p) for p in torch.tensor_split(x, cuts.tolist(), dim=1)],
                       dim=1)
    assert stream.push(x[:, :0]).shape == (x.shape[0], 0)
    torch.testing.assert_close(one_by_one, whole, rtol=0, atol=1e-4)
    torch.testing.assert_close(pieces, whole, rtol=0, atol=1e-4)


def test_a_stream_forgets_what_left_its_window(model, content_spec, style_spec):
    # two streams that differ only in frames older than the window (and a refresh) agree later
    middle = spectrogram(content_audio(8, seed=4))[:, :STREAM_WINDOW_FRAMES + STREAM_UPDATE_FRAMES]
    a = TransferStream(model).push(torch.cat([style_spec[:, :100], middle, content_spec], 1))
    b = TransferStream(model).push(torch.cat([content_spec[:, :100], middle, content_spec], 1))
    n = content_spec.shape[-1]
    torch.testing.assert_close(a[:, -n:], b[:, -n:], rtol=0, atol=1e-4)
    assert relative(a[:, :100], b[:, :100]) > 0.05  # while they remember, they differ


def test_a_stream_follows_a_crescendo_instead_of_lagging_behind_it(model, style_spec):
    # steady noise getting louder by the same step every frame, for three windows: a past
    # window's mean trails the present by half a window, and the output would sit above the
    # style's mean all along; carried along the window's trend, it is centred on it
    rng = np.random.default_rng(5)
    bins, n = style_spec.shape[0], 3 * STREAM_WINDOW_FRAMES
    x = (torch.from_numpy(rng.normal(1.0, 0.2, (bins, n)).astype(np.float32))
         + torch.linspace(0.0, 3.0, n)).clamp_min(0)
    out = TransferStream(model.with_blend(0.5, 0.0)).push(x)
    late = out[:, -STREAM_WINDOW_FRAMES:]
    offset = float((late - model.mean[:, None]).mean())
    swing = float(model.std.mean())
    assert abs(offset) < 0.1 * swing, (offset, swing)


def test_soft_limit_keeps_small_deviations_and_bounds_large_ones():
    v = torch.linspace(-100, 100, 2001)
    out = soft_limit(v, 3.0)
    assert float(out.abs().max()) <= 3.0
    assert bool((out.diff() >= 0).all())  # monotone: louder never comes out quieter
    small = v.abs() <= 0.5
    torch.testing.assert_close(out[small], v[small], rtol=0.03, atol=1e-6)
    assert soft_limit(v, None) is v


def test_same_input_same_output_whatever_torchs_generator_holds(model, content_spec):
    torch.manual_seed(1)
    first = transfer(model, content_spec)
    state = torch.random.get_rng_state()
    torch.manual_seed(2)
    assert torch.equal(transfer(model, content_spec), first)
    torch.manual_seed(1)
    transfer(model, content_spec)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's generator is untouched


def test_a_long_input_is_moved_with_the_statistics_around_each_second(model, style_spec):
    # 12 s quiet then 12 s loud: longer than the window, so each half has its own statistics
    x = spectrogram(np.concatenate([content_audio(12, seed=2, level=0.05),
                                    content_audio(12, seed=3, level=2.0)]))
    assert x.shape[-1] > 2 * WINDOW_FRAMES
    out = transfer(model.with_blend(0.5, 0.0), x)
    assert out.shape == x.shape and bool(torch.isfinite(out).all())
    half = x.shape[-1] // 2
    style_mean = style_spec.mean(-1)
    whole = transform(model.with_blend(0.5, 0.0), content_statistics(model, x), x)
    for part in (slice(0, half - WINDOW_FRAMES // 2), slice(half + WINDOW_FRAMES // 2, None)):
        assert relative(out[:, part].mean(-1), style_mean) < 0.1
        # with the whole input's statistics instead, each half keeps its own level
        assert relative(whole[:, part].mean(-1), style_mean) > 0.2
    assert relative(out.mean(-1), style_mean) < 0.1


# --- texture -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def texture_model(style_spec) -> TextureModel:
    return fit_texture(style_spec)


def test_texture_is_the_same_for_a_seed_and_differs_across_seeds(texture_model):
    a = generate(texture_model, 100, seed=3)
    assert a.shape == (texture_model.mean.shape[0], 100)
    assert torch.equal(generate(texture_model, 100, seed=3), a)
    assert not torch.allclose(generate(texture_model, 100, seed=4), a)


def test_texture_has_the_styles_spectrum(texture_model, style_spec):
    out = generate(texture_model, 431, seed=0)
    assert bool(torch.isfinite(out).all())
    assert relative(out.mean(-1), style_spec.mean(-1)) < 0.1
    assert relative(out.std(-1), style_spec.std(-1)) < 0.3


def test_texture_of_too_short_a_style_names_the_length(style_spec):
    with pytest.raises(ValueError, match=r"more than 18 frames.*got 17"):
        fit_texture(style_spec[:, :17])
    fit_texture(style_spec[:, :19])


# --- the file ------------------------------------------------------------------------------------

def trained_style(kind: str, model) -> TrainedStyle:
    audio = style_audio(4.0)
    return TrainedStyle(kind, "style 0.01" if kind == "transfer" else "texture", Settings(),
                        model, StyleSource("ab" * 32, 4.0, SR, -21.5, 0.6),
                        style_profile(audio, SR, SR), {"seconds": 1.5, "crops": 4})


@pytest.fixture(scope="module")
def transfer_style(model) -> TrainedStyle:
    return trained_style("transfer", model.with_blend(0.75, 0.5))


@pytest.fixture(scope="module")
def texture_style(texture_model) -> TrainedStyle:
    return trained_style("texture", texture_model)


@pytest.mark.parametrize("which", ["transfer_style", "texture_style"])
def test_save_and_load_round_trip(tmp_path, request, which):
    trained = request.getfixturevalue(which)
    path = trained.save(tmp_path / "a.nfxstyle")
    loaded = load_trained_style(path)
    assert (loaded.kind, loaded.preset, loaded.settings) == (trained.kind, trained.preset,
                                                             trained.settings)
    assert loaded.source == trained.source and loaded.training == trained.training
    assert type(loaded.model) is type(trained.model)
    for name, tensor in trained.tensors().items():
        assert torch.equal(loaded.tensors()[name], tensor), name
    if trained.is_texture:
        assert loaded.model.block == trained.model.block
        assert loaded.model.order == trained.model.order
    else:
        assert (loaded.model.blend, loaded.model.envelope) == (0.75, 0.5)
        assert loaded.model.variance == pytest.approx(trained.model.variance)
    top, loaded_top = trained.top_octave, loaded.top_octave
    np.testing.assert_allclose(loaded_top.frequencies, top.frequencies, rtol=1e-6)
    np.testing.assert_allclose(loaded_top.share, top.share, rtol=1e-6)
    assert loaded_top.bandwidth == top.bandwidth and loaded_top.spread_db == top.spread_db


def _tampered(transfer_style, tensors=None, **metadata):
    t, meta = transfer_style.tensors(), transfer_style.metadata()
    t.update(tensors or {})
    meta.update(metadata)
    return {k: v for k, v in t.items() if v is not None}, meta


@pytest.mark.parametrize("change, words", [
    (lambda s: _tampered(s, {"mean": torch.zeros(10)}), ["'mean'", "[10]", "[1025]"]),
    (lambda s: _tampered(s, {"colour": None}), ["colour", "missing"]),
    (lambda s: _tampered(s, {"stray": torch.zeros(3)}), ["stray", "not expected"]),
    (lambda s: _tampered(s, kind="reverb"), ["kind", "reverb"]),
    (lambda s: _tampered(s, settings={**s.settings.as_dict(), "n_fft": 3}), ["settings",
                                                                              "n_fft"]),
    (lambda s: _tampered(s, model={"blend": 2, "envelope": 0.0, "variance": 1.0}),
     ["blend", "2"]),
    (lambda s: _tampered(s, model={"blend": 0.5, "envelope": 0.0}), ["variance"]),
    (lambda s: _tampered(s, style={**vars(s.source), "sha256": "xyz"}), ["sha256"]),
    (lambda s: _tampered(s, preset=""), ["preset"]),
])
def test_a_file_that_is_not_a_valid_style_names_the_field(tmp_path, transfer_style, change,
                                                          words):
    path = write_style_file(tmp_path / "bad.nfxstyle", *change(transfer_style))
    with pytest.raises(StyleFileError) as info:
        load_trained_style(path)
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_a_texture_with_a_block_longer_than_its_frames_is_refused(tmp_path, texture_style):
    meta = {**texture_style.metadata(), "model": {"block": 10 ** 6}}
    path = write_style_file(tmp_path / "bad.nfxstyle", texture_style.tensors(), meta)
    with pytest.raises(StyleFileError, match="block"):
        load_trained_style(path)


def test_a_truncated_file_is_refused(tmp_path, transfer_style):
    data = transfer_style.save(tmp_path / "a.nfxstyle").read_bytes()
    for size in (len(data) - 1, len(data) // 2, 100, 3):
        cut = tmp_path / f"cut{size}.nfxstyle"
        cut.write_bytes(data[:size])
        with pytest.raises(StyleFileError, match="truncated"):
            load_trained_style(cut)


# --- training ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def style_pair() -> tuple[np.ndarray, int]:
    return style_audio(4.0), SR


@pytest.fixture(scope="module")
def content_pair() -> tuple[np.ndarray, int]:
    return content_audio(4.0, seed=9), SR


@pytest.fixture(scope="module")
def trained_run(style_pair, content_pair):
    calls = []
    trained = train_style(style_pair, content=[content_pair], progress=calls.append, **TINY)
    return trained, calls


def test_training_chooses_among_the_candidates_and_lists_them(trained_run):
    trained, _ = trained_run
    assert trained.kind == "transfer" and isinstance(trained.model, TransferModel)
    assert trained.preset == "style 0.01" and trained.settings.n_filters == 64
    assert trained.model.blend in training.BLENDS
    assert trained.model.envelope in training.ENVELOPES
    figures = trained.training
    listed = {(c["blend"], c["envelope"]): c["objective"] for c in figures["candidates"]}
    assert set(listed) == {(b, e) for b in training.BLENDS for e in training.ENVELOPES}
    assert all(math.isfinite(v) for v in listed.values())
    # the chosen pair is the one with the lowest objective
    assert listed[(trained.model.blend, trained.model.envelope)] == min(listed.values())
    assert figures["crops"] >= training.MIN_CROPS and figures["interrupted"] is False
    assert figures["content"] == ["array of 4.0 s"]


def test_training_reports_progress(trained_run):
    _, calls = trained_run
    assert calls
    assert all(0 < p.done <= p.total for p in calls)
    assert [p.done for p in calls] == list(range(1, len(calls) + 1))
    assert all(p.remaining >= 0 and p.elapsed > 0 and math.isfinite(p.best) for p in calls)


def test_a_texture_preset_trains_a_texture(style_pair):
    trained = train_style(style_pair, "texture", **TINY)
    assert trained.kind == "texture" and isinstance(trained.model, TextureModel)
    assert trained.settings.content_weight == 0 and trained.settings.n_filters == 64
    assert {c["block"] for c in trained.training["candidates"]} == {
        b for _, _, b in training.TEXTURE_CANDIDATES}


def test_without_content_the_built_in_corpus_is_used(style_pair):
    trained = train_style(style_pair, **TINY)
    names = trained.training["content"]
    assert len(names) > 1 and all(n.startswith("built-in") for n in names)


def test_content_folders_are_read(tmp_path, style_pair):
    folder = tmp_path / "songs"
    (folder / "sub").mkdir(parents=True)
    sf.write(folder / "b.wav", content_audio(3.0, seed=4), SR)
    sf.write(folder / "sub" / "a.wav", content_audio(3.0, seed=5), 44100)
    (folder / "notes.txt").write_text("not audio")
    output = tmp_path / "s.nfxstyle"
    trained = train_style(style_pair, content=[folder], output=output, **TINY)
    assert sorted(trained.training["content"]) == ["a.wav", "b.wav"]
    assert load_trained_style(output).training["content"] == trained.training["content"]


def test_a_silent_style_is_refused(content_pair):
    silence = (np.zeros(4 * SR, np.float32), SR)
    for preset in ("style 0.01", "texture"):
        with pytest.raises(ValueError, match="silent"):
            train_style(silence, preset, content=[content_pair], **TINY)


@pytest.mark.parametrize("minutes", [0, -1, float("nan"), True])
def test_a_budget_of_no_minutes_is_refused(style_pair, minutes):
    with pytest.raises(ValueError, match="minutes"):
        train_style(style_pair, n_filters=64, minutes=minutes)


def test_an_output_that_is_not_a_style_file_is_refused(tmp_path, style_pair):
    with pytest.raises(ValueError, match=r"\.nfxstyle"):
        train_style(style_pair, output=tmp_path / "s.wav", **TINY)
    assert not (tmp_path / "s.wav").exists()


def interrupt_on_call(monkeypatch, n: int) -> None:
    """Ctrl-C during the ``n``-th scoring of a candidate."""
    real, calls = training._loss, [0]

    def loss(objective, x):
        calls[0] += 1
        if calls[0] == n:
            raise KeyboardInterrupt
        return real(objective, x)

    monkeypatch.setattr(training, "_loss", loss)


def test_ctrl_c_keeps_the_best_model_so_far(monkeypatch, style_pair, content_pair):
    candidates = len(training.BLENDS) * len(training.ENVELOPES)
    chosen = []
    for calls in (candidates + 1, candidates + 3):  # a crop fully scored, then part of one
        with monkeypatch.context() as m:
            interrupt_on_call(m, calls)
            trained = train_style(style_pair, content=[content_pair], **TINY)
        assert trained.training["interrupted"] is True and trained.training["crops"] == 1
        chosen.append((trained.model.blend, trained.model.envelope,
                       [c["objective"] for c in trained.training["candidates"]]))
    # a crop half scored when Ctrl-C came counts for no candidate
    assert chosen[0] == chosen[1]


def test_ctrl_c_before_anything_is_scored_propagates(monkeypatch, style_pair, content_pair):
    interrupt_on_call(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train_style(style_pair, content=[content_pair], **TINY)
