"""Effect chains that mix pedalboard's native plugins with neuralfx's offline effects.

pedalboard's own ``Pedalboard``/``Chain``/``Mix`` hold native plugins only (a Python subclass
of a native plugin is silently run as the native plugin), so neuralfx has its own containers
with the same surface. Runs of consecutive native items execute as ONE native
``pedalboard.Pedalboard`` (their speed and latency compensation are kept); neural effects run on
the whole signal between those segments.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pedalboard

from .effect import NeuralStyle
from .layout import (
    StreamingError,
    check_buffer_size,
    check_sample_rate,
    from_channels_first,
    to_channels_first,
)
from .options import RenderOptions
from .presets import Preset, load_preset

_PROCESS_NAMES = ("process", "__call__")


def _is_python_override(plugin: pedalboard.Plugin) -> bool:
    """True for a Python subclass of a native plugin that overrides ``process``/``__call__``:
    pedalboard would run the native code and silently skip the override."""
    for cls in type(plugin).__mro__:
        if cls.__module__.startswith("pedalboard"):
            return False
        if any(name in vars(cls) for name in _PROCESS_NAMES):
            return True
    return False


def _check_item(item: Any, owner: _Container) -> Any:
    if isinstance(item, _Container):
        if item is owner or item._contains_container(owner):
            raise ValueError("a neuralfx chain cannot contain itself")
        return item
    if isinstance(item, NeuralStyle):
        return item
    if isinstance(item, pedalboard.Plugin):
        if _is_python_override(item):
            raise TypeError(
                f"{type(item).__qualname__} is a Python subclass of a native pedalboard plugin "
                "that overrides process(); pedalboard would silently run the native plugin "
                "instead. Put Python effects in a neuralfx chain as their own objects.")
        return item
    raise TypeError(
        f"neuralfx.{type(owner).__name__} cannot hold an object of type "
        f"{type(item).__module__}.{type(item).__qualname__}: expected a "
        "pedalboard plugin (or pedalboard Chain/Mix/Pedalboard), a neuralfx.NeuralStyle, or a "
        "neuralfx Pedalboard/Mix")


def _is_native(item: Any) -> bool:
    """Can ``item`` run inside a native pedalboard container?"""
    if isinstance(item, _Container):
        return all(_is_native(i) for i in item._items)
    return isinstance(item, pedalboard.Plugin)


def _as_native(item: Any) -> pedalboard.Plugin:
    """A native plugin equivalent to a native-only ``item`` (containers become native ones)."""
    if isinstance(item, Mix):
        return pedalboard.Mix([_as_native(i) for i in item._items])
    if isinstance(item, Pedalboard):
        return pedalboard.Chain([_as_native(i) for i in item._items])
    return item


def _run_native(plugins: list[pedalboard.Plugin], x: np.ndarray, sample_rate: float,
                buffer_size: int, reset: bool) -> np.ndarray:
    """Run ``x (channels, samples)`` through one native Pedalboard of ``plugins``."""
    channels, n = x.shape
    if n == 0:
        return x.copy()
    board = pedalboard.Pedalboard(plugins)
    if n > channels:
        return board(x, sample_rate, buffer_size=buffer_size, reset=reset)
    # pedalboard would read a signal no longer than its channel count as (samples, channels)
    if not reset:
        raise RuntimeError(
            f"a block of {n} samples with {channels} channels is too short to stream through "
            "native plugins (pedalboard cannot tell its layout); use blocks longer than the "
            "channel count")
    padded = np.pad(x, ((0, 0), (0, channels + 1 - n)))
    return board(padded, sample_rate, buffer_size=buffer_size, reset=True)[:, :n]


class _Container:
    """A list of effects with pedalboard's container surface (integer index, no slices)."""

    def __init__(self, plugins: Iterable[Any] | None = None) -> None:
        self._lock = threading.RLock()
        self._items: list[Any] = []
        self._last_layout: str | None = None
        for p in plugins or []:
            self.append(p)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # --- list surface ------------------------------------------------------------------------

    def _index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices must be integers, not "
                            f"{type(index).__name__} (slices are not supported)")
        i = int(index) + (len(self._items) if index < 0 else 0)
        if not 0 <= i < len(self._items):
            raise IndexError("index out of range")
        return i

    def __getitem__(self, index: int) -> Any:
        return self._items[self._index(index)]

    def __setitem__(self, index: int, plugin: Any) -> None:
        with self._lock:
            self._items[self._index(index)] = _check_item(plugin, self)

    def __delitem__(self, index: int) -> None:
        with self._lock:
            del self._items[self._index(index)]

    def append(self, plugin: Any) -> None:
        with self._lock:
            self._items.append(_check_item(plugin, self))

    def insert(self, index: int, plugin: Any) -> None:
        with self._lock:
            self._items.insert(index, _check_item(plugin, self))

    def remove(self, plugin: Any) -> None:
        with self._lock:
            for i, p in enumerate(self._items):
                if p is plugin:
                    del self._items[i]
                    return
        raise ValueError("remove(x): x not in list")

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._items))

    def __contains__(self, plugin: Any) -> bool:
        return any(p is plugin for p in self._items)

    def __repr__(self) -> str:
        n = len(self._items)
        return (f"<neuralfx.{type(self).__name__} with {n} plugin{'' if n == 1 else 's'}: "
                f"[{', '.join(repr(p) for p in self._items)}]>")

    def _contains_container(self, other: _Container) -> bool:
        return any(i is other or (isinstance(i, _Container) and i._contains_container(other))
                   for i in self._items)

    is_effect = True
    is_instrument = False

    def reset(self) -> None:
        """Reset every plugin (pedalboard's ``reset``) and forget the detected layout."""
        with self._lock:
            self._last_layout = None
            for p in self._items:
                p.reset()

    # --- processing --------------------------------------------------------------------------

    def process(self, input_array: np.ndarray, sample_rate: float, buffer_size: int = 8192,
                reset: bool = True, *, options: RenderOptions | None = None) -> np.ndarray:
        """Process like a pedalboard plugin: 1-D or 2-D float arrays in either layout (the
        smaller dimension is the channels), float32 out in the same layout. ``options`` go to
        every neural effect of the chain, nested containers included.

        ``reset=False`` (block-by-block streaming) works when every item is native or a neural
        effect with a trained style (``.nfxstyle``) in a serial chain; otherwise it raises
        :class:`neuralfx.layout.StreamingError`.
        """
        with self._lock:
            x, layout = to_channels_first(input_array, self._last_layout)
            if layout != "1d":
                self._last_layout = layout
            return from_channels_first(self.process_channels_first(
                x, sample_rate, buffer_size, reset, options=options), layout)

    __call__ = process

    def process_channels_first(self, x: np.ndarray, sample_rate: float,
                               buffer_size: int = 8192, reset: bool = True, *,
                               options: RenderOptions | None = None) -> np.ndarray:
        """:meth:`process` for a validated ``(channels, samples)`` float32 array."""
        sample_rate = check_sample_rate(sample_rate)
        buffer_size = check_buffer_size(buffer_size)
        with self._lock:
            if not reset and not _is_native(self):
                if not _streams(self):
                    raise StreamingError(
                        f"this neuralfx.{type(self).__name__} contains an offline neural "
                        "effect (or a Mix around one), which cannot process audio block by "
                        "block (reset=False): use trained styles (.nfxstyle) in a serial "
                        "Pedalboard, or pass the whole signal in one call")
                return _stream_block(self, x, sample_rate, buffer_size)
            if _is_native(self):
                return _run_native([_as_native(self)], x, sample_rate, buffer_size, reset)
            return self._process_mixed([np.asarray(x, np.float32)], [sample_rate],
                                       buffer_size, options)[0]

    def process_many(self, signals: list[np.ndarray], sample_rates: list[float],
                     buffer_size: int = 8192, *, options: RenderOptions | None = None
                     ) -> list[np.ndarray]:
        """Several whole signals, each at its own rate and in :meth:`process`'s layouts: the
        same results as one :meth:`process` call each, but the neural effects render the
        chunks of all signals in shared groups (what fills a GPU with a folder of files)."""
        if len(signals) != len(sample_rates):
            raise ValueError(f"{len(signals)} signals but {len(sample_rates)} sample rates")
        checked = [to_channels_first(s) for s in signals]
        out = self.process_many_channels_first([x for x, _ in checked], sample_rates,
                                               buffer_size, options=options)
        return [from_channels_first(y, layout) for y, (_, layout) in zip(out, checked)]

    def process_many_channels_first(self, signals: list[np.ndarray],
                                    sample_rates: list[float], buffer_size: int = 8192, *,
                                    options: RenderOptions | None = None
                                    ) -> list[np.ndarray]:
        """:meth:`process_many` for validated ``(channels, samples)`` float32 arrays."""
        rates = [check_sample_rate(r) for r in sample_rates]
        buffer_size = check_buffer_size(buffer_size)
        with self._lock:
            if _is_native(self):
                return [_run_native([_as_native(self)], x, r, buffer_size, True)
                        for x, r in zip(signals, rates)]
            return self._process_mixed([np.asarray(x, np.float32) for x in signals], rates,
                                       buffer_size, options)

    def _process_mixed(self, signals: list[np.ndarray], rates: list[float], buffer_size: int,
                       options: RenderOptions | None) -> list[np.ndarray]:
        raise NotImplementedError


def _run_segment(native: list[pedalboard.Plugin], signals: list[np.ndarray],
                 rates: list[float], buffer_size: int) -> list[np.ndarray]:
    """A native segment, signal by signal."""
    return [_run_native(native, x, r, buffer_size, True) for x, r in zip(signals, rates)]


def _run_item(item: Any, signals: list[np.ndarray], rates: list[float], buffer_size: int,
              options: RenderOptions | None) -> list[np.ndarray]:
    """One chain item over several signals: native items signal by signal, neural effects
    and neuralfx containers on all signals at once (shared groups of chunks)."""
    if _is_native(item):
        return _run_segment([_as_native(item)], signals, rates, buffer_size)
    return item.process_many_channels_first(signals, rates, options=options)


def _streams(item: Any) -> bool:
    """Whether ``item`` can process a stream block by block: native plugins, neural effects
    with a trained style-transfer model, and serial chains of them (a Mix's branches would
    have to be delay-compensated against each other, which pedalboard does for its own only)."""
    if _is_native(item):
        return True
    if isinstance(item, NeuralStyle):
        return item.trained is not None and not item.trained.is_texture
    return isinstance(item, Pedalboard) and all(_streams(i) for i in item._items)


def _stream_block(board: Pedalboard, x: np.ndarray, sample_rate: float,
                  buffer_size: int) -> np.ndarray:
    """The next block of a stream through a serial chain, item by item (``reset=False``)."""
    for item in board._items:
        if _is_native(item):
            x = _run_native([_as_native(item)], x, sample_rate, buffer_size, False)
        else:
            x = item.process_channels_first(x, sample_rate, buffer_size, reset=False)
    return x


def neural_effects(board: Any) -> list[NeuralStyle]:
    """The neural effects of a chain in processing order, nested neuralfx containers
    included (a bare :class:`NeuralStyle` gives ``[board]``; native plugins give none)."""
    if isinstance(board, NeuralStyle):
        return [board]
    if isinstance(board, _Container):
        return [fx for item in board._items for fx in neural_effects(item)]
    return []


class Pedalboard(_Container):
    """A serial chain: ``neuralfx.Pedalboard([Compressor(), NeuralStyle("a.wav"), Reverb()])``.

    Holds native pedalboard plugins (including ``pedalboard.Chain``/``Mix``/``Pedalboard`` and
    loaded VST3/AU plugins), :class:`neuralfx.NeuralStyle` effects and nested neuralfx
    ``Pedalboard``/``Mix`` objects; anything else raises ``TypeError`` naming its type.
    Consecutive native items run as one native ``pedalboard.Pedalboard`` segment (pedalboard's
    speed and latency compensation); neural effects run offline on the whole signal between
    segments. List surface as pedalboard's: ``board[i]`` get/set/del (integers, no slices),
    ``append``, ``insert``, ``remove``, ``len``, iteration, ``in``.

    Threads: calls and changes are serialised by a lock, since native plugins keep state while
    they process (one chain processes one signal at a time).

    :meth:`from_preset` builds the whole chain a preset describes.
    """

    @classmethod
    def from_preset(cls, preset: str | os.PathLike | Preset, style: Any = None, *,
                    effect: NeuralStyle | None = None, **kwargs: Any) -> Pedalboard:
        """The whole chain a preset describes: its ``pre`` plugins, the neural effect, then its
        ``post`` plugins (fresh plugin objects on every call).

        ``preset`` is a :class:`neuralfx.presets.Preset` or anything :func:`load_preset` takes
        (a name such as ``"mastered"``, ``"user:NAME"`` or a ``.toml`` path). The effect is
        ``NeuralStyle(style, preset=preset, **kwargs)``: ``style`` None uses the preset's own
        style file; ``kwargs`` are ``progress`` and parameter overrides for the effect (e.g.
        ``iterations=100``, ``mix=0.5``). Or pass a ready ``effect`` (then no ``style`` and no
        ``kwargs``)::

            board = Pedalboard.from_preset("mastered", style="rain.wav")
            out = board(audio, sample_rate)
        """
        if not isinstance(preset, Preset):
            if not isinstance(preset, (str, os.PathLike)):
                raise TypeError(f"preset must be a preset name, a path or a Preset, not "
                                f"{type(preset).__name__}")
            preset = load_preset(preset)
        if effect is None:
            effect = NeuralStyle(style, preset=preset, **kwargs)
        elif style is not None or kwargs:
            raise TypeError("Pedalboard.from_preset: pass either a ready effect or the style "
                            "and keyword arguments to build one, not both")
        elif not isinstance(effect, NeuralStyle):
            raise TypeError(f"effect must be a neuralfx.NeuralStyle, not "
                            f"{type(effect).__name__}")
        return cls([*preset.pre_plugins(), effect, *preset.post_plugins()])

    def _process_mixed(self, signals: list[np.ndarray], rates: list[float], buffer_size: int,
                       options: RenderOptions | None) -> list[np.ndarray]:
        native: list[pedalboard.Plugin] = []
        for item in self._items:
            if _is_native(item):
                native.append(_as_native(item))
                continue
            if native:
                signals = _run_segment(native, signals, rates, buffer_size)
                native = []
            signals = _run_item(item, signals, rates, buffer_size, options)
        if native:
            signals = _run_segment(native, signals, rates, buffer_size)
        return signals


class Mix(_Container):
    """Parallel branches summed, like ``pedalboard.Mix``: every item processes the same input
    and the outputs are added (no averaging, as in pedalboard). Items are the same kinds a
    :class:`Pedalboard` holds; use a nested ``neuralfx.Pedalboard`` as a multi-effect branch,
    e.g. ``Mix([Pedalboard([]), NeuralStyle("a.wav", mix=1)])`` for a dry + wet sum. A Mix of
    native items only runs as one native ``pedalboard.Mix``."""

    def _process_mixed(self, signals: list[np.ndarray], rates: list[float], buffer_size: int,
                       options: RenderOptions | None) -> list[np.ndarray]:
        out = [np.zeros_like(x) for x in signals]
        for item in self._items:
            for total, y in zip(out, _run_item(item, signals, rates, buffer_size, options)):
                total += y
        return out
