"""NeuralStyle, organised by behaviour like pedalboard's own suite: shapes and layouts, dtypes,
sample rates, length, channels, level, bad input, streaming, progress, parameters, threads."""

import threading

import numpy as np
import pytest

try:  # tests/ as a package or as a rootdir of plain modules
    from .conftest import TINY
except ImportError:
    from conftest import TINY

import neuralfx
import neuralfx.effect
import neuralfx.style
from neuralfx import audio as A
from neuralfx.audio import PEAK_CEILING
from neuralfx.effect import StreamingError
from neuralfx.options import RenderOptions

SR = 22050
# TINY with a smaller FFT: the same code paths, a quarter of the work
TINY = dict(TINY, n_fft=512, hop_length=128)


def signal(sr=SR, seconds=0.6, channels=2, seed=0, level=0.2):
    """Decaying tone bursts plus a little noise, different per channel (no copyrighted audio)."""
    rng = np.random.default_rng(seed)
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    env = np.exp(-8 * (t % 0.15))
    out = [level * env * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.01 * rng.standard_normal(n)
           for c in range(channels)]
    return np.stack(out).astype(np.float32)


@pytest.fixture(scope="module")
def style():
    rng = np.random.default_rng(42)
    n = SR
    noise = rng.standard_normal(n) * np.exp(-20 * ((np.arange(n) / SR) % 0.1))
    return (0.3 * noise).astype(np.float32), SR


@pytest.fixture
def fx(style):
    return neuralfx.NeuralStyle(style, **TINY)


# --- shapes, layouts, dtypes ------------------------------------------------------------------

def test_1d_in_1d_out(fx):
    x = signal(channels=1)[0]
    y = fx(x, SR)
    assert y.ndim == 1 and y.shape == x.shape and y.dtype == np.float32


@pytest.mark.parametrize("channels_last", [False, True])
def test_2d_layout_is_kept(fx, channels_last):
    x = signal()
    x = x.T.copy() if channels_last else x
    y = fx.process(x, SR)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.any(y)


def test_float64_in_float32_out_same_as_float32(fx):
    x = signal(channels=1)
    y64 = fx(x.astype(np.float64), SR)
    y32 = fx(x, SR)
    assert y64.dtype == np.float32
    np.testing.assert_array_equal(y64, y32)  # deterministic for a given seed


def test_square_array_uses_last_detected_layout(fx):
    with pytest.raises(RuntimeError, match="channel layout"):
        fx(np.zeros((3, 3), np.float32), SR)
    fx(signal(channels=2), SR)
    assert fx(np.zeros((3, 3), np.float32), SR).shape == (3, 3)
    fx.reset()
    with pytest.raises(RuntimeError, match="channel layout"):
        fx(np.zeros((3, 3), np.float32), SR)


# --- pedalboard's errors --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8, np.complex64, np.bool_])
def test_non_float_arrays_raise_type_error(fx, dtype):
    with pytest.raises(TypeError, match="floating point"):
        fx(np.zeros((2, 100), dtype), SR)


def test_non_arrays_raise_type_error(fx):
    with pytest.raises(TypeError, match="list"):
        fx([0.0, 0.1, 0.2], SR)


def test_3d_arrays_raise_runtime_error(fx):
    with pytest.raises(RuntimeError, match="dimensions must be 1 or 2"):
        fx(np.zeros((2, 3, 4), np.float32), SR)


@pytest.mark.parametrize("sr", [0, -44100, float("nan"), float("inf")])
def test_bad_sample_rates_raise_value_error(fx, sr):
    with pytest.raises(ValueError, match="sample_rate"):
        fx(signal(), sr)


def test_sample_rate_of_wrong_type_raises_type_error(fx):
    with pytest.raises(TypeError, match="sample_rate"):
        fx(signal(), "44100")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_raise_value_error(fx, bad):
    x = signal()
    x[1, 100] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        fx(x, SR)


# --- sample rates and length --------------------------------------------------------------

@pytest.mark.parametrize("sr", [8000, 44100, 48000, 96000, 192000, 11025.5])
def test_any_rate_keeps_length(fx, sr):
    x = signal(sr=sr, seconds=0.3)
    y = fx(x, sr)
    assert y.shape == x.shape and np.all(np.isfinite(y)) and np.any(y)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 511, 4097])
def test_odd_and_very_short_lengths(fx, n):
    x = signal(sr=44100, seconds=0.1)[:, :n]
    for layout in [x[0]] + ([x.T.copy()] if n > 2 else []):  # 1-D, and a non-square 2-D
        y = fx(layout, 44100)
        assert y.shape == layout.shape and np.all(np.isfinite(y))
        assert np.max(np.abs(y)) <= 1.0


def test_empty_in_empty_out(fx):
    for x in (np.zeros(0, np.float32), np.zeros((2, 0), np.float32)):
        y = fx(x, SR)
        assert y.shape == x.shape and y.dtype == np.float32


def test_silence_in_silence_out(fx):
    x = np.zeros((2, SR // 2), np.float64)
    y = fx(x, SR)
    assert y.dtype == np.float32 and not np.any(y)


# --- channels -----------------------------------------------------------------------------

def test_identical_channels_stay_identical(fx):
    mono = signal(channels=1)
    y = fx(np.concatenate([mono, mono]), SR)
    np.testing.assert_array_equal(y[0], y[1])
    # and equal to the mono result, level aside: identical channels are processed once
    y1 = fx(mono, SR)
    np.testing.assert_allclose(y[0], y1[0], atol=1e-5)


@pytest.mark.parametrize("channels", [4, 6])
def test_multichannel(fx, channels):
    x = signal(channels=channels, seconds=0.4)
    x[3] = x[0]
    y = fx(x.T.copy(), SR).T  # (samples, channels) in
    assert y.shape == x.shape
    np.testing.assert_array_equal(y[0], y[3])
    assert not np.array_equal(y[0], y[1])


def test_channel_balance_is_kept(fx):
    x = signal(channels=2, seconds=0.6)
    x[1] *= 0.25  # a source panned left stays panned left
    y = fx(x, SR)
    balance_in = A.loudness(x[1:], SR) - A.loudness(x[:1], SR)
    assert A.loudness(y[1:], SR) - A.loudness(y[:1], SR) == pytest.approx(balance_in, abs=0.5)


def test_a_silent_channel_stays_silent(fx):
    x = signal(channels=3, seconds=0.5)
    x[2] = 0
    y = fx(x, SR)
    assert not np.any(y[2]) and np.any(y[0]) and np.any(y[1])


# --- level --------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [0.02, 0.3])
def test_loudness_matches_input_within_1_lu(fx, level):
    x = signal(seconds=0.6, level=level)
    y = fx(x, SR)
    assert abs(A.loudness(y, SR) - A.loudness(x, SR)) < 1.0


def test_never_above_full_scale_unless_input_was(fx):
    x = signal(seconds=0.6, level=0.95)
    y = fx(x, SR)
    assert np.max(np.abs(y)) <= PEAK_CEILING  # -0.1 dBFS
    hot = x * 1.5  # input peaks above full scale: output may reach, not exceed, the input peak
    y = fx(hot, SR)
    assert np.max(np.abs(y)) <= np.max(np.abs(hot)) + 1e-6


def test_mix_zero_is_the_dry_signal(fx):
    x = signal()
    fx.mix = 0.0
    np.testing.assert_array_equal(fx(x, SR), x)


def test_mix_blends_dry_and_wet(fx):
    x = signal(seconds=0.6)
    fx.match_loudness = False
    wet = fx(x, SR)
    fx.mix = 0.5
    half = fx(x, SR)
    np.testing.assert_allclose(half, 0.5 * x + 0.5 * wet, atol=1e-5)
    fx.match_loudness = True
    assert abs(A.loudness(fx(x, SR), SR) - A.loudness(x, SR)) < 1.0


# --- modes --------------------------------------------------------------------------------

def test_style_transfer_without_style_is_a_clear_error():
    fx = neuralfx.NeuralStyle(**TINY)
    with pytest.raises(ValueError, match="needs a style"):
        fx(signal(), SR)


def test_texture_of_the_input_itself():
    fx = neuralfx.NeuralStyle(preset="texture", **TINY)
    assert fx.content_weight == 0
    x = signal(seconds=0.6)
    y = fx(x, SR)
    assert y.shape == x.shape and np.any(y)
    np.testing.assert_array_equal(y[0], y[1])  # one texture, centred image
    assert abs(A.loudness(y, SR) - A.loudness(x, SR)) < 1.0


def test_texture_of_a_style_has_the_input_duration(style):
    fx = neuralfx.NeuralStyle(style, preset="texture", **TINY)
    x = signal(sr=48000, seconds=0.5, channels=1)[0]
    y = fx(x, 48000)
    assert y.shape == x.shape and np.any(y)
    # the texture does not follow the input: a different input of equal length and level
    # gives the same texture
    x2 = signal(sr=48000, seconds=0.5, channels=1, seed=5)[0][::-1].copy()
    y2 = fx(x2, 48000)
    assert np.corrcoef(y, y2 * A.loudness_match_gain(y2, y, 48000))[0, 1] > 0.99


def test_an_envelope_weight_alone_makes_a_style_transfer(style):
    # content weight 0 with an envelope weight still follows the input: not a texture. From
    # faint noise (not texture's start from the style's spectrum) the envelope shapes the
    # output within TINY's few steps
    fx = neuralfx.NeuralStyle(style, preset="texture", envelope_weight=5.0, init="noise", **TINY)
    x = signal(sr=48000, seconds=0.5, channels=1)[0]
    x2 = signal(sr=48000, seconds=0.5, channels=1, seed=5)[0][::-1].copy()
    y, y2 = fx(x, 48000), fx(x2, 48000)
    assert y.shape == x.shape and np.any(y)
    assert np.corrcoef(y, y2 * A.loudness_match_gain(y2, y, 48000))[0, 1] < 0.9
    with pytest.raises(ValueError, match="needs a style"):
        neuralfx.NeuralStyle(preset="texture", envelope_weight=5.0, **TINY)(x, 48000)


def test_texture_of_any_length_from_the_style(style):
    fx = neuralfx.NeuralStyle(style, preset="style 0.01", **TINY)  # content weight ignored
    y = fx.texture(1.3, 44100, channels=2)
    assert y.shape == (2, int(round(1.3 * 44100))) and y.dtype == np.float32
    np.testing.assert_array_equal(y[0], y[1])
    mono, rate = style
    assert abs(A.loudness(y[:1], 44100) - A.loudness(mono[None], rate)) < 1.0  # per channel
    assert np.max(np.abs(y)) <= 1.0
    assert np.array_equal(fx.texture(1.3, 44100, channels=2), y)  # deterministic
    assert fx.texture(0, 44100).shape == (1, 0)
    with pytest.raises(ValueError, match="needs a style"):
        neuralfx.NeuralStyle(preset="texture", **TINY).texture(1.0, SR)
    with pytest.raises(ValueError, match="seconds"):
        fx.texture(float("nan"), SR)


def test_texture_of_a_too_short_input_explains_why():
    fx = neuralfx.NeuralStyle(preset="texture", **TINY)
    with pytest.raises(ValueError, match="texture mode without a style"):
        fx(signal(seconds=0.05), SR)


# --- style --------------------------------------------------------------------------------

def test_style_from_file_equals_style_from_array(tmp_path, style):
    path = tmp_path / "style.wav"
    A.write_audio(path, style[0], style[1], bit_depth=32)
    x = signal()
    y_file = neuralfx.NeuralStyle(str(path), **TINY)(x, SR)
    y_array = neuralfx.NeuralStyle(style, **TINY)(x, SR)
    np.testing.assert_array_equal(y_file, y_array)


def test_missing_style_file(tmp_path):
    path = tmp_path / "no-such-style.wav"
    with pytest.raises(FileNotFoundError, match="no-such-style.wav"):
        neuralfx.NeuralStyle(path, **TINY)


def test_undecodable_style_file(tmp_path):
    path = tmp_path / "broken.flac"
    path.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(A.AudioFileError, match="broken.flac"):
        neuralfx.NeuralStyle(path, **TINY)


def test_style_shorter_than_receptive_field(style):
    fx = neuralfx.NeuralStyle((style[0][:1000], SR), **TINY)
    with pytest.raises(ValueError, match="style array: the style is .* s long"):
        fx(signal(), SR)


def test_bad_style_arguments():
    with pytest.raises(TypeError, match="style must be"):
        neuralfx.NeuralStyle(42)
    with pytest.raises(TypeError, match="style array"):
        neuralfx.NeuralStyle((np.zeros(100, np.int16), SR))
    with pytest.raises(ValueError, match="style array"):
        neuralfx.NeuralStyle((np.full(100, np.nan, np.float32), SR))
    with pytest.raises(ValueError, match="sample_rate"):
        neuralfx.NeuralStyle((np.zeros(100, np.float32), 0))


@pytest.fixture
def analyses(monkeypatch):
    """The styles analysed so far (each call of the statistics through the disk cache)."""
    seen = []
    real = neuralfx.style.style_statistics

    def counting(audio, *args, **kwargs):
        seen.append(audio)
        return real(audio, *args, **kwargs)

    monkeypatch.setattr(neuralfx.style, "style_statistics", counting)
    return seen


def test_statistics_are_kept_until_style_or_their_parameters_change(fx, style, analyses):
    x = signal(seconds=0.3)
    fx(x, SR)
    assert len(analyses) == 1
    fx.iterations = 2  # not a statistics parameter
    fx(x, SR)
    assert len(analyses) == 1
    fx.seed = 1  # the network changes
    fx(x, SR)
    assert len(analyses) == 2
    fx.style = (style[0][::-1].copy(), SR)
    fx(x, SR)
    assert len(analyses) == 3


def test_overlapping_calls_analyse_the_style_once(fx, analyses):
    stats = []
    threads = [threading.Thread(target=lambda: stats.append(fx.style_statistics()))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(analyses) == 1 and all(s is stats[0] for s in stats)


def test_adopted_statistics_skip_the_analysis(fx, analyses):
    import pickle

    x = signal(seconds=0.3)
    stats = fx.style_statistics()
    clone = pickle.loads(pickle.dumps(fx))  # another process's copy: statistics not sent
    clone.use_style_statistics(stats)
    assert len(analyses) == 1
    np.testing.assert_array_equal(clone(x, SR), fx(x, SR))
    assert len(analyses) == 1


# --- streaming ----------------------------------------------------------------------------

def test_streaming_is_refused_with_a_pointer_to_whole_signal_processing(fx):
    x = signal()
    with pytest.raises(StreamingError, match="whole signal"):
        fx(x[:, :1000], SR, reset=False)
    with pytest.raises(StreamingError, match="whole signal"):
        fx.process_channels_first(x, SR, reset=False)


# --- progress -----------------------------------------------------------------------------

def test_progress_reports_optimisation_and_reconstruction(style):
    seen = []
    small_chunks = dict(TINY, chunk_seconds=0.5, overlap_seconds=0.1)
    fx = neuralfx.NeuralStyle(style, progress=seen.append, **small_chunks)
    fx(signal(seconds=1.2, channels=2), SR)
    assert seen and all(isinstance(p, neuralfx.Progress) for p in seen)
    stages = {p.stage for p in seen}
    assert stages == {"optimise", "reconstruct"}
    last = seen[-1]
    assert last.stage == "reconstruct" and last.chunks_done == last.chunks_total >= 2
    its = [p.iteration for p in seen if p.stage == "optimise"]
    assert max(its) <= TINY["iterations"]


# --- parameters and repr ------------------------------------------------------------------

def test_parameters_are_attributes(fx):
    assert fx.iterations == TINY["iterations"] and fx.mix == 1.0
    fx.iterations = 7
    fx.mix = 0.25
    assert fx.iterations == 7 and fx.settings.iterations == 7 and fx.mix == 0.25
    assert fx.parameters["iterations"] == 7


@pytest.mark.parametrize("name,value,match", [("iterations", -1, "iterations"),
                                              ("mix", 1.5, "mix"),
                                              ("n_fft", 3, "n_fft"),
                                              ("match_loudness", "yes", "match_loudness")])
def test_bad_parameter_values_are_rejected_and_state_kept(fx, name, value, match):
    before = getattr(fx, name)
    with pytest.raises(ValueError, match=match):
        setattr(fx, name, value)
    assert getattr(fx, name) == before


def test_set_parameters_validates_them_together(fx):
    with pytest.raises(ValueError, match="hop_length"):
        fx.n_fft = 128  # hop_length 128 > n_fft / 2 on its own
    fx.set_parameters(n_fft=256, hop_length=64, mix=0.5)
    assert (fx.n_fft, fx.hop_length, fx.mix) == (256, 64, 0.5)
    with pytest.raises(ValueError, match="n_fft"):
        fx.set_parameters(n_fft=8, iterations=1)
    assert fx.iterations == TINY["iterations"]


def test_unknown_parameters_are_rejected(style):
    with pytest.raises(ValueError, match="iteratons"):
        neuralfx.NeuralStyle(style, iteratons=3)
    fx = neuralfx.NeuralStyle(style, **TINY)
    with pytest.raises(AttributeError, match="iteratons"):
        fx.iteratons = 3
    with pytest.raises(AttributeError):
        fx.no_such_thing  # noqa: B018


def test_preset_can_be_changed_and_keeps_overrides(style):
    fx = neuralfx.NeuralStyle(style, **TINY)
    fx.preset = "texture"
    assert fx.content_weight == 0 and fx.iterations == TINY["iterations"]
    fx2 = neuralfx.NeuralStyle(style, preset=neuralfx.load_preset("texture"), n_filters=32)
    assert fx2.content_weight == 0 and fx2.n_filters == 32


def test_repr_shows_parameters(fx):
    fx.iterations = 5
    r = repr(fx)
    assert r.startswith("<neuralfx.NeuralStyle")
    for text in ("iterations=5", "content_weight=0.01", "mix=1.0", "n_filters=32",
                 "preset='style 0.01'", "style=<array"):
        assert text in r


# --- threads ------------------------------------------------------------------------------

def test_one_instance_from_two_threads(fx):
    x = signal(seconds=0.4)
    expected = fx(x, SR)
    results, errors = [None, None], []

    def work(i):
        try:
            results[i] = fx(x, SR)
            fx.iterations = TINY["iterations"]  # concurrent parameter writes are safe too
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_a_preset_style_is_used_when_no_style_is_given(tmp_path, style):
    path = tmp_path / "preset-style.wav"
    A.write_audio(path, style[0], style[1], bit_depth=32)
    preset = neuralfx.load_preset("style 0.01")
    import dataclasses
    preset = dataclasses.replace(preset, style=str(path))
    fx = neuralfx.NeuralStyle(preset=preset, **TINY)
    assert str(fx.style) == str(path)
    x = signal(seconds=0.3)
    np.testing.assert_array_equal(fx(x, SR), neuralfx.NeuralStyle(style, **TINY)(x, SR))


def test_pickle_round_trip(fx):
    import pickle

    x = signal(seconds=0.3)
    fx.progress = print  # draws on this process's terminal: not sent to another
    clone = pickle.loads(pickle.dumps(fx))
    assert repr(clone).split(" at ")[0] == repr(fx).split(" at ")[0]
    assert clone.progress is None
    np.testing.assert_array_equal(clone(x, SR), fx(x, SR))


def test_parameters_can_change_during_a_render_and_apply_to_the_next_call(style):
    changed = []

    def on_progress(_p):
        if not changed:  # from another thread, while this render runs
            t = threading.Thread(target=lambda: setattr(fx, "iterations", 1))
            t.start()
            t.join(timeout=10)
            changed.append(not t.is_alive())

    fx = neuralfx.NeuralStyle(style, progress=on_progress, **TINY)
    x = signal(seconds=0.3)
    first = fx(x, SR)
    assert changed == [True] and fx.iterations == 1
    fx.progress = None
    assert not np.array_equal(fx(x, SR), first)  # the next call uses iterations = 1
    fx.iterations = TINY["iterations"]
    np.testing.assert_array_equal(fx(x, SR), first)  # the running call used its snapshot


# --- render options -----------------------------------------------------------------------

def test_the_options_progress_wins_over_the_effects(style):
    mine, theirs = [], []
    fx = neuralfx.NeuralStyle(style, progress=mine.append, **TINY)
    x = signal(seconds=0.3)
    fx(x, SR, options=RenderOptions(progress=theirs.append))
    assert theirs and not mine
    fx.texture(0.3, SR, options=RenderOptions(progress=theirs.append))
    fx.process_many([x], [SR], options=RenderOptions())  # no progress given: the effect's
    assert mine


@pytest.fixture
def engine_settings(monkeypatch):
    """The settings each engine call of the effect got."""
    seen = []
    real = neuralfx.effect.render_signals

    def capture(signals, style, settings, **kwargs):
        seen.append(settings)
        return real(signals, style, settings, **kwargs)

    monkeypatch.setattr(neuralfx.effect, "render_signals", capture)
    return seen


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_options_precision_reaches_the_engine_and_leaves_the_effect(fx, precision,
                                                                         engine_settings,
                                                                         analyses):
    before = fx.parameters
    x = signal(seconds=0.3)
    options = RenderOptions(precision=precision)
    fx(x, SR, options=options)
    fx.process_many([x], [SR], options=options)
    fx.texture(0.3, SR, options=options)
    assert [s.precision for s in engine_settings] == [precision, precision, "fp32"]
    assert fx.precision == "auto" and fx.parameters == before
    # statistics for the settings as run: each precision gets its own (the renders' and the
    # texture's fp32 ones, then auto's)
    precisions = {precision, "fp32"}
    assert len(analyses) == len(precisions)
    fx.style_statistics()
    assert len(analyses) == len(precisions) + 1
    kept = fx.style_statistics(options)  # the last statistics asked for are kept
    assert fx.style_statistics(options) is kept
    assert len(analyses) == len(precisions) + 2


def test_the_options_runner_runs_the_effects_groups(fx):
    from neuralfx.engine import GroupRunner, run_group

    class Local(GroupRunner):
        calls = 0

        def __call__(self, groups, style, settings):
            for group in groups:
                Local.calls += 1
                yield run_group(group, style, settings)

    x = signal(seconds=0.3)
    np.testing.assert_array_equal(fx(x, SR, options=RenderOptions(runner=Local())), fx(x, SR))
    assert Local.calls >= 1
