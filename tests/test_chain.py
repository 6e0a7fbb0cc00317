"""neuralfx.Pedalboard and neuralfx.Mix: the container surface, native segments, chains that mix
native and neural effects (compared with running the pieces by hand), nesting, streaming."""

import threading

import numpy as np
import pedalboard
import pytest

try:  # tests/ as a package or as a rootdir of plain modules
    from .conftest import TINY
except ImportError:
    from conftest import TINY

import neuralfx
import neuralfx.effect
from neuralfx.chain import neural_effects
from neuralfx.layout import StreamingError
from neuralfx.options import RenderOptions

SR = 22050
TINY = dict(TINY, n_fft=512, hop_length=128)


def signal(sr=SR, seconds=0.5, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    return np.stack([0.2 * np.sin(2 * np.pi * (300 + 200 * c) * t) * np.exp(-6 * (t % 0.2))
                     + 0.01 * rng.standard_normal(t.size) for c in range(channels)]
                    ).astype(np.float32)


@pytest.fixture(scope="module")
def style():
    rng = np.random.default_rng(7)
    return (0.2 * rng.standard_normal(SR)).astype(np.float32), SR


@pytest.fixture
def fx(style):
    return neuralfx.NeuralStyle(style, **TINY)


# --- the container surface --------------------------------------------------------------------

def test_list_surface(fx):
    gain, reverb = pedalboard.Gain(-3), pedalboard.Reverb()
    board = neuralfx.Pedalboard([gain, fx])
    assert len(board) == 2 and board[0] is gain and board[-1] is fx
    assert list(board) == [gain, fx]
    assert fx in board and reverb not in board
    board.append(reverb)
    board.insert(0, pedalboard.Compressor())
    assert [type(p).__name__ for p in board] == ["Compressor", "Gain", "NeuralStyle", "Reverb"]
    board[0] = pedalboard.Limiter()
    assert isinstance(board[0], pedalboard.Limiter)
    del board[0]
    board.remove(gain)
    assert list(board) == [fx, reverb]
    with pytest.raises(ValueError, match="not in list"):
        board.remove(gain)
    with pytest.raises(IndexError):
        board[2]
    with pytest.raises(IndexError):
        del board[-3]
    with pytest.raises(TypeError, match="slices"):
        board[0:1]
    assert len(neuralfx.Pedalboard()) == 0


def test_repr_lists_the_plugins(fx):
    board = neuralfx.Pedalboard([pedalboard.Gain(-3), fx])
    r = repr(board)
    assert r.startswith("<neuralfx.Pedalboard with 2 plugins: [<pedalboard.Gain")
    assert "neuralfx.NeuralStyle" in r and "iterations=3" in r
    assert repr(neuralfx.Mix([pedalboard.Gain()])).startswith("<neuralfx.Mix with 1 plugin: ")


@pytest.mark.parametrize("bad", [object(), "reverb", 3, np.zeros(3), lambda x, sr: x])
def test_rejects_anything_else_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__qualname__):
        neuralfx.Pedalboard([bad])
    board = neuralfx.Pedalboard([pedalboard.Gain()])
    for op in (lambda: board.append(bad), lambda: board.insert(0, bad),
               lambda: board.__setitem__(0, bad)):
        with pytest.raises(TypeError, match="cannot hold"):
            op()
    assert len(board) == 1


def test_rejects_python_subclass_overriding_process():
    class Sneaky(pedalboard.Gain):
        def process(self, *args, **kwargs):  # pedalboard would silently skip this
            return None

    with pytest.raises(TypeError, match="Python subclass"):
        neuralfx.Pedalboard([Sneaky()])


def test_a_chain_cannot_contain_itself():
    outer, inner = neuralfx.Pedalboard(), neuralfx.Pedalboard()
    outer.append(inner)
    with pytest.raises(ValueError, match="itself"):
        inner.append(outer)
    with pytest.raises(ValueError, match="itself"):
        outer.append(outer)


# --- processing: native only ------------------------------------------------------------------

def test_native_only_chain_equals_pedalboard():
    x = signal()
    plugins = [pedalboard.Gain(-6), pedalboard.Chorus(), pedalboard.Reverb(room_size=0.3)]
    expected = pedalboard.Pedalboard(plugins)(x, SR)
    np.testing.assert_array_equal(neuralfx.Pedalboard(plugins)(x, SR), expected)
    np.testing.assert_array_equal(neuralfx.Pedalboard(plugins)(x.T.copy(), SR), expected.T)


def test_native_containers_are_accepted():
    x = signal()
    inner = [pedalboard.Gain(-6), pedalboard.Delay(0.01)]
    for native in (pedalboard.Chain(inner), pedalboard.Pedalboard(inner),
                   pedalboard.Mix(inner)):
        np.testing.assert_array_equal(neuralfx.Pedalboard([native])(x, SR),
                                      pedalboard.Pedalboard([native])(x, SR))


def test_native_only_chain_streams_like_pedalboard():
    x = signal(seconds=1.0)
    delay = pedalboard.Delay(delay_seconds=0.05, feedback=0.3)
    board = neuralfx.Pedalboard([pedalboard.Gain(-3), neuralfx.Pedalboard([delay])])
    whole = board(x, SR)
    board.reset()
    blocks = [board(x[:, i:i + 2000], SR, reset=False) for i in range(0, x.shape[1], 2000)]
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), whole, atol=1e-6)


def test_native_only_mix_is_pedalboards_mix():
    x = signal()
    branches = [pedalboard.Gain(-6), pedalboard.Delay(0.02, mix=1.0)]
    np.testing.assert_allclose(neuralfx.Mix(branches)(x, SR),
                               pedalboard.Mix(branches)(x, SR), atol=1e-6)


def test_very_short_signal_through_native_plugins():
    x = signal(channels=2)[:, :1]  # fewer samples than channels
    y = neuralfx.Pedalboard([pedalboard.Gain(6)])(x, SR)
    np.testing.assert_allclose(y, x * 10 ** (6 / 20), rtol=1e-5)


# --- processing: native and neural together ---------------------------------------------------

def test_mixed_chain_equals_running_the_pieces_by_hand(fx):
    x = signal()
    pre = [pedalboard.Gain(-6), pedalboard.HighpassFilter(100)]
    post = [pedalboard.Reverb(room_size=0.2), pedalboard.Gain(-1)]
    board = neuralfx.Pedalboard([*pre, fx, *post])
    y = board(x, SR)
    by_hand = pedalboard.Pedalboard(post)(fx(pedalboard.Pedalboard(pre)(x, SR), SR), SR)
    np.testing.assert_allclose(y, by_hand, atol=1e-6)
    assert y.shape == x.shape and y.dtype == np.float32


def test_consecutive_native_plugins_run_as_one_native_segment(fx, monkeypatch):
    calls = []
    real = pedalboard.Pedalboard

    class Spy(real):
        def __init__(self, plugins=None):
            calls.append(len(plugins))
            super().__init__(plugins)

    import neuralfx.chain as chain
    monkeypatch.setattr(chain.pedalboard, "Pedalboard", Spy)
    board = neuralfx.Pedalboard([pedalboard.Gain(), pedalboard.Gain(), fx,
                                 pedalboard.Gain(), pedalboard.Gain(), pedalboard.Gain()])
    board(signal(seconds=0.3), SR)
    assert calls == [2, 3]


def test_nested_chains(fx):
    x = signal()
    gain = pedalboard.Gain(-4)
    inner = neuralfx.Pedalboard([gain, fx])
    outer = neuralfx.Pedalboard([pedalboard.Gain(2), inner, pedalboard.Gain(-2)])
    expected = pedalboard.Gain(-2)(fx(gain(pedalboard.Gain(2)(x, SR), SR), SR), SR)
    np.testing.assert_allclose(outer(x, SR), expected, atol=1e-6)
    # a nested chain change is seen by the outer chain at the next call
    inner.remove(fx)
    np.testing.assert_allclose(outer(x, SR), pedalboard.Gain(-4)(x, SR), rtol=1e-5,
                               atol=1e-7)


def test_mix_of_dry_and_neural_branches(fx):
    x = signal()
    mix = neuralfx.Mix([neuralfx.Pedalboard([]), fx])
    np.testing.assert_allclose(mix(x, SR), x + fx(x, SR), atol=1e-6)


def test_chain_keeps_layouts_and_dtypes(fx):
    board = neuralfx.Pedalboard([pedalboard.Gain(-1), fx])
    x = signal(channels=1, seconds=0.3)
    for inp in (x[0].astype(np.float64), x.T.copy(), np.concatenate([x, x])):
        y = board(inp, 44100)
        assert y.shape == inp.shape and y.dtype == np.float32


def test_chain_rejects_bad_input_like_the_effect(fx):
    board = neuralfx.Pedalboard([pedalboard.Gain(), fx])
    with pytest.raises(TypeError, match="floating point"):
        board(np.zeros((2, 100), np.int16), SR)
    with pytest.raises(RuntimeError, match="dimensions"):
        board(np.zeros((2, 3, 4), np.float32), SR)
    with pytest.raises(ValueError, match="sample_rate"):
        board(signal(), 0)
    x = signal()
    x[0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        board(x, SR)
    assert board(np.zeros((2, 0), np.float32), SR).shape == (2, 0)


def test_streaming_a_chain_with_a_neural_effect_is_refused(fx):
    board = neuralfx.Pedalboard([pedalboard.Gain(), neuralfx.Mix([fx])])
    with pytest.raises(StreamingError, match="whole signal"):
        board(signal()[:, :1000], SR, reset=False)


def test_chain_from_two_threads(fx):
    board = neuralfx.Pedalboard([pedalboard.Gain(-2), fx])
    x = signal(seconds=0.3)
    expected = board(x, SR)
    out, errors = [None, None], []

    def work(i):
        try:
            out[i] = board(x, SR)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    for y in out:
        np.testing.assert_array_equal(y, expected)


# --- several signals at once (shared groups of chunks) -----------------------------------------

def test_process_many_equals_processing_each_signal(fx):
    signals = [signal(seconds=0.5, seed=1), signal(sr=44100, seconds=0.3, channels=1, seed=2)[0],
               signal(seconds=0.4, seed=3).T.copy(), np.zeros((2, 1000), np.float32)]
    rates = [SR, 44100, SR, SR]
    board = neuralfx.Pedalboard([pedalboard.Gain(-3), neuralfx.Mix([neuralfx.Pedalboard([]), fx]),
                                 pedalboard.Gain(1)])
    together = board.process_many(signals, rates)
    for x, r, y in zip(signals, rates, together):
        np.testing.assert_allclose(y, board(x, r), atol=1e-5)
        assert y.shape == x.shape and y.dtype == np.float32
    for x, r, y in zip(signals, rates, fx.process_many(signals, rates)):
        np.testing.assert_allclose(y, fx(x, r), atol=1e-5)
    with pytest.raises(ValueError, match="2 signals but 1 sample rates"):
        board.process_many(signals[:2], [SR])


# --- a chain from a preset -----------------------------------------------------------------------

def test_from_preset_builds_pre_effect_post(style):
    preset = neuralfx.load_preset("mastered")
    board = neuralfx.Pedalboard.from_preset(preset, style=style, progress=None, **TINY)
    kinds = [type(p).__name__ for p in board]
    assert kinds == ["HighpassFilter", "NeuralStyle", "Compressor", "Limiter"]
    assert board[1].iterations == TINY["iterations"] and board[1].preset is preset
    again = neuralfx.Pedalboard.from_preset("mastered", style=style, **TINY)  # by name
    assert [type(p).__name__ for p in again] == kinds and again[1].preset == preset
    assert again[0] is not board[0]  # fresh plugins every time
    x = signal(seconds=0.3)
    np.testing.assert_allclose(board(x, SR), again(x, SR), atol=1e-5)


def test_from_preset_with_a_ready_effect(fx):
    board = neuralfx.Pedalboard.from_preset("mastered", effect=fx)
    assert board[1] is fx and len(board) == 4
    plain = neuralfx.Pedalboard.from_preset("draft", effect=fx)  # no chain: just the effect
    assert list(plain) == [fx]
    with pytest.raises(TypeError, match="not both"):
        neuralfx.Pedalboard.from_preset("mastered", style="x.wav", effect=fx)
    with pytest.raises(TypeError, match="NeuralStyle"):
        neuralfx.Pedalboard.from_preset("mastered", effect=pedalboard.Gain(1))
    with pytest.raises(TypeError, match="preset name"):
        neuralfx.Pedalboard.from_preset(3, effect=fx)
    with pytest.raises(KeyError, match="nope"):
        neuralfx.Pedalboard.from_preset("nope", effect=fx)


# --- render options and the chain's effects ------------------------------------------------------

def test_options_reach_every_neural_effect_nested_ones_included(style, fx, monkeypatch):
    precisions = []
    real = neuralfx.effect.render_signals

    def capture(signals, stats, settings, **kwargs):
        precisions.append(settings.precision)
        return real(signals, stats, settings, **kwargs)

    monkeypatch.setattr(neuralfx.effect, "render_signals", capture)
    inner = neuralfx.NeuralStyle(style, **TINY)
    board = neuralfx.Pedalboard([fx, pedalboard.Gain(-1),
                                 neuralfx.Mix([neuralfx.Pedalboard([]),
                                               neuralfx.Pedalboard([inner])])])
    x = signal(seconds=0.3)
    options = RenderOptions(precision="fp32")
    board(x, SR, options=options)
    board.process_channels_first(x, SR, options=options)
    board.process_many([x, x[0]], [SR, 44100], options=options)
    board.process_many_channels_first([x], [SR], options=options)
    assert precisions == ["fp32"] * 8  # two effects, four calls
    assert fx.precision == inner.precision == "auto"


def test_neural_effects_lists_a_chains_effects_in_order(style, fx):
    other = neuralfx.NeuralStyle(style, **TINY)
    board = neuralfx.Pedalboard([pedalboard.Gain(1), other,
                                 neuralfx.Mix([neuralfx.Pedalboard([fx]), pedalboard.Gain(2)])])
    found = neural_effects(board)
    assert len(found) == 2 and found[0] is other and found[1] is fx
    assert neural_effects(fx)[0] is fx and len(neural_effects(fx)) == 1
    assert neural_effects(neuralfx.Pedalboard([pedalboard.Gain(1)])) == []
