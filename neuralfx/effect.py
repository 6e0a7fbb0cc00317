"""``NeuralStyle``: the engine as a pedalboard-style audio effect.

A thin facade over rooms of their own: pedalboard's array conventions (:mod:`neuralfx.layout`),
resampling to and from the analysis rate (:mod:`neuralfx.audio`), the style's statistics
(:class:`neuralfx.style.StatisticsCache`), the engine (:func:`neuralfx.engine.render_signals`)
and the level (:func:`neuralfx.audio.level`).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import audio as A
from .engine import Progress, render_signals
from .layout import (
    StreamingError,
    check_buffer_size,
    check_sample_rate,
    from_channels_first,
    to_channels_first,
)
from .options import DEFAULT, RenderOptions, with_progress
from .presets import OUTPUT_KEYS, Preset, load_preset
from .settings import TEXTURE_OVERRIDES, Settings, field_names
from .style import StatisticsCache, StyleStatistics, statistics_for
from .top_octave import replicate, style_profile
from .trained import SUFFIX, TrainedStyle, load_trained_style
from .trained.apply import render_trained, style_ceiling, style_loudness
from .trained.stream import TrainedStream, latency_for

__all__ = ["PARAMETERS", "NeuralStyle", "StreamingError"]

PARAMETERS = field_names() + OUTPUT_KEYS
RESAMPLE_QUALITY = "VHQ"  # soxr's best; its cost is negligible next to the optimisation


def _value(preset: Preset, name: str) -> Any:
    return getattr(preset, name) if name in OUTPUT_KEYS else getattr(preset.settings, name)


class Parameter:
    """A parameter of the effect's preset as an attribute of :class:`NeuralStyle`: read from
    the preset, set through :meth:`NeuralStyle.set_parameters` (validated)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, fx: NeuralStyle | None, owner: type | None = None) -> Any:
        return self if fx is None else _value(fx._preset, self.name)

    def __set__(self, fx: NeuralStyle, value: Any) -> None:
        fx.set_parameters(**{self.name: value})


class NeuralStyle:
    """Neural audio style transfer and texture synthesis as an offline audio effect.

    ``NeuralStyle(style=None, preset="style 0.01", *, progress=None, **overrides)``

    - ``style``: an audio file's path or an ``(array, sample_rate)`` tuple, mixed to mono and
      read when set (a missing file raises ``FileNotFoundError``, an undecodable one
      :class:`neuralfx.audio.AudioFileError`). None: the preset's own style file, if any.
    - ``preset``: a preset name or a :class:`neuralfx.presets.Preset`; ``overrides``: any of
      its parameters (``iterations``, ``seed``, ``device``, ``mix``, ``match_loudness``, ...).
      Every parameter is also an attribute (``fx.iterations = 50``), validated when set.
    - ``progress``: called with :class:`neuralfx.engine.Progress` during renders (a render's
      :class:`neuralfx.options.RenderOptions` progress, when given, is called instead).

    ``process(input_array, sample_rate)`` (and ``__call__``) follow pedalboard: 1-D in gives
    1-D out; 2-D is ``(channels, samples)`` or ``(samples, channels)``, the smaller dimension
    being the channels, and the layout is kept; float32 or float64 in, float32 out, same
    length, any sample rate.

    With ``content_weight`` or ``envelope_weight`` > 0 the input is the content, re-synthesised
    with the style's statistics. With both 0 (preset ``"texture"``) the output is a new texture
    as long as the input: of the style, or of the input itself without a style. Identical
    channels stay identical and a silent channel stays silent.

    Full band (``full_band``, on by default): above the analysis rate's Nyquist the output's
    own upper octave is copied up at the style's level (:mod:`neuralfx.top_octave`).

    Level (:func:`neuralfx.audio.level`): each channel keeps its input's balance; with
    ``match_loudness`` the output has the input's integrated loudness; ``mix`` is the linear
    dry/wet balance (0 = the input, 1 = all effect); peaks stay within -0.1 dBFS, or the
    input's own peak. Silence in gives silence out; NaN/Inf in raises ``ValueError``.

    Trained styles (``style="NAME.nfxstyle"``, made by :func:`neuralfx.train.train_style` or
    ``neuralfx train``): one pass of the style's model per render, no optimisation, and block
    by block streaming: ``process(block, sr, reset=False)`` returns each block's output at a
    fixed latency, :attr:`latency_samples` (:class:`neuralfx.trained.stream.TrainedStream`).
    Otherwise the effect is offline: ``reset=False`` raises :class:`StreamingError`. One
    instance may be shared by threads: each call works on the parameters as they were when it
    started.
    """

    is_effect = True
    is_instrument = False

    def __init__(self, style: Any = None, preset: str | Preset = "style 0.01", *,
                 progress: Callable[[Progress], None] | None = None, **overrides: Any) -> None:
        self._lock = threading.RLock()
        self._statistics = StatisticsCache()
        self._last_layout: str | None = None
        self._stream: TrainedStream | None = None
        self._stream_key: tuple | None = None
        self.progress = progress
        self._set_preset(preset, overrides)
        self.style = self._preset.style_path() if style is None else style

    def __setattr__(self, name: str, value: Any) -> None:
        # a misspelt parameter (fx.iteration = 50) must not pass silently as a new attribute
        if not (name.startswith("_") or name == "progress"
                or isinstance(getattr(type(self), name, None), (property, Parameter))):
            raise AttributeError(f"NeuralStyle has no parameter {name!r}; parameters: "
                                 f"{', '.join(PARAMETERS)}, style, preset, progress")
        super().__setattr__(name, value)

    # --- parameters --------------------------------------------------------------------------

    def _set_preset(self, preset: str | Preset, overrides: dict[str, Any]) -> None:
        if isinstance(preset, Preset):
            loaded = preset.with_overrides(**overrides) if overrides else preset
        elif isinstance(preset, (str, os.PathLike)):
            loaded = load_preset(preset, **overrides)
        else:
            raise TypeError(f"preset must be a preset name or a Preset, not "
                            f"{type(preset).__name__}")
        self._base, self._preset, self._overrides = preset, loaded, overrides

    def set_parameters(self, **parameters: Any) -> None:
        """Set several parameters at once, validated together (for pairs that constrain each
        other, e.g. ``n_fft=512, hop_length=128``). Nothing changes if any value is invalid."""
        with self._lock:
            self._preset = self._preset.with_overrides(**parameters)
            self._overrides.update({k: _value(self._preset, k) for k in parameters})

    @property
    def preset(self) -> str | Preset:
        """The preset given (name or object). Setting it reloads the preset and re-applies
        the parameters set so far (constructor overrides and attribute assignments)."""
        return self._base

    @preset.setter
    def preset(self, preset: str | Preset) -> None:
        with self._lock:
            self._set_preset(preset, dict(self._overrides))

    @property
    def settings(self) -> Settings:
        """The engine settings in effect (read-only; set parameters as attributes): a trained
        style's own when there is one."""
        trained = self._trained
        return trained.settings if trained is not None else self._preset.settings

    @property
    def parameters(self) -> dict[str, Any]:
        """Every parameter and its value."""
        p = self._preset
        return {**p.settings.as_dict(), **{k: getattr(p, k) for k in OUTPUT_KEYS}}

    @property
    def style(self) -> Any:
        """The style as given: a path, an ``(array, sample_rate)`` tuple, or None."""
        return self._style

    @style.setter
    def style(self, style: Any) -> None:
        trained, audio = _trained_style(style), None
        if trained is None:
            audio = A.load_style(style)
        with self._lock:
            self._style, self._style_audio, self._trained = style, audio, trained
            self._stream = None
        self._statistics.clear()  # the old style's statistics are of no more use

    @property
    def trained(self) -> TrainedStyle | None:
        """The trained style (a ``.nfxstyle`` file given as the style), or None. With one,
        renders are one pass of its model with the engine settings it was trained for (its
        preset's); this effect's ``mix``, ``match_loudness``, ``full_band`` and ``seed`` apply."""
        return self._trained

    def __repr__(self) -> str:
        style = self._style
        if isinstance(style, tuple):
            style = f"<array {np.shape(style[0])} at {style[1]:g} Hz>"
        elif style is not None:
            style = repr(os.fspath(style))
        preset = self._base.name if isinstance(self._base, Preset) else self._base
        params = " ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        return (f"<neuralfx.NeuralStyle style={style} preset={preset!r} {params} "
                f"at {id(self):#x}>")

    def __getstate__(self) -> dict[str, Any]:
        # picklable (process pools, Ray): not the lock, nor the statistics (recomputed or sent
        # with use_style_statistics), nor progress (it draws on this process's terminal)
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_lock", "_statistics", "progress", "_stream")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock, self._statistics, self.progress = threading.RLock(), StatisticsCache(), None
        self._stream = None

    def reset(self) -> None:
        """Forget the last detected channel layout and end a stream in progress (pedalboard's
        ``reset``): the next ``reset=False`` block starts a new stream."""
        with self._lock:
            self._last_layout, self._stream = None, None

    # --- processing --------------------------------------------------------------------------

    def process(self, input_array: np.ndarray, sample_rate: float, buffer_size: int = 8192,
                reset: bool = True, *, options: RenderOptions | None = None) -> np.ndarray:
        """Process a whole signal; see the class docstring for layouts, level and errors.
        ``buffer_size`` is checked for pedalboard compatibility and otherwise ignored."""
        with self._lock:
            x, layout = to_channels_first(input_array, self._last_layout)
            if layout != "1d":
                self._last_layout = layout
        out = self.process_channels_first(x, sample_rate, buffer_size, reset, options=options)
        return from_channels_first(out, layout)

    __call__ = process

    def process_channels_first(self, x: np.ndarray, sample_rate: float,
                               buffer_size: int = 8192, reset: bool = True, *,
                               options: RenderOptions | None = None) -> np.ndarray:
        """:meth:`process` for a validated ``(channels, samples)`` float32 array (chains call
        this; it skips layout detection, which is ambiguous for very short signals)."""
        sample_rate = check_sample_rate(sample_rate)
        check_buffer_size(buffer_size)
        if not reset:
            return self._stream_block(x, sample_rate)
        with self._lock:
            self._stream = None  # a whole signal: a stream in progress is over
        return self._render_many([x], [sample_rate], options)[0]

    def _stream_block(self, x: np.ndarray, sample_rate: float) -> np.ndarray:
        """The next block of a stream (``reset=False``): a trained style-transfer model only."""
        with self._lock:  # one block at a time, with the style and parameters as they are
            trained, preset = self._trained, self._preset
            if trained is None or trained.is_texture:
                # buffering blocks could return audio only after the last block, and nothing
                # says which block is last: any buffering would silently return wrong audio
                raise StreamingError(
                    "NeuralStyle optimises whole signals and cannot process audio block by "
                    "block (reset=False) unless its style is a trained style-transfer model: "
                    "train one with `neuralfx train STYLE -o NAME.nfxstyle` and use "
                    "NeuralStyle(style='NAME.nfxstyle'); or pass the whole signal in one call, "
                    "e.g. `fx(audio, sr)` with audio = neuralfx.audio.read_audio(path)[0]")
            key = (sample_rate, x.shape[0], preset.mix, preset.match_loudness,
                   preset.full_band)
            if self._stream is None or self._stream_key != key:
                self._stream = TrainedStream(trained, sample_rate, x.shape[0], mix=preset.mix,
                                             match_loudness=preset.match_loudness,
                                             full_band=preset.full_band)
                self._stream_key = key
            return self._stream.process(x)

    @property
    def latency_samples(self) -> int:
        """Samples by which a stream's output (``reset=False``) lags its input, at the stream's
        rate (44100 Hz before the first block); 0 for whole signals, which are not delayed."""
        trained, stream = self._trained, self._stream
        if stream is not None:
            return stream.latency_samples
        if trained is None or trained.is_texture:
            return 0
        return latency_for(trained, 44100, full_band=self._preset.full_band)

    def process_many(self, signals: list[np.ndarray], sample_rates: list[float], *,
                     options: RenderOptions | None = None) -> list[np.ndarray]:
        """Several whole signals, each at its own rate and in :meth:`process`'s layouts: the
        results of one :meth:`process` call each, but the chunks of all signals share the
        engine's groups (what fills a GPU with a folder of files)."""
        if len(signals) != len(sample_rates):
            raise ValueError(f"{len(signals)} signals but {len(sample_rates)} sample rates")
        checked = [to_channels_first(s) for s in signals]
        out = self.process_many_channels_first([x for x, _ in checked], sample_rates,
                                               options=options)
        return [from_channels_first(y, layout) for y, (_, layout) in zip(out, checked)]

    def process_many_channels_first(self, signals: list[np.ndarray], sample_rates: list[float],
                                    *, options: RenderOptions | None = None
                                    ) -> list[np.ndarray]:
        """:meth:`process_many` for validated ``(channels, samples)`` float32 arrays."""
        return self._render_many(signals, [check_sample_rate(r) for r in sample_rates],
                                 options)

    def texture(self, seconds: float, sample_rate: float, channels: int = 1, *,
                options: RenderOptions | None = None) -> np.ndarray:
        """A new texture of the style, of any length: ``(channels, round(seconds *
        sample_rate))`` float32, the same on every channel, at the style's integrated loudness
        and within its peak ceiling. The preset's content weights are ignored; its other
        parameters, ``seed`` included, apply."""
        sample_rate = check_sample_rate(sample_rate)
        if not (isinstance(channels, int) and channels >= 1):
            raise ValueError(f"channels = {channels!r}: expected an integer >= 1")
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds = {seconds!r}: expected a finite number >= 0")
        preset, style_audio, trained, options = self._snapshot(options)
        if trained is not None:
            return self._trained_texture(trained, preset, seconds, sample_rate, channels)
        if style_audio is None:
            raise ValueError("a texture needs a style: NeuralStyle(style='file.wav' or "
                             "(array, sample_rate))")
        settings = options.settings_for(preset.settings.replace(**TEXTURE_OVERRIDES))
        n = int(round(seconds * sample_rate))
        if n == 0:
            return np.zeros((channels, 0), np.float32)
        silence = np.zeros((1, int(round(seconds * settings.sample_rate))), np.float32)
        mono = render_signals([silence], self._style_statistics(settings, style_audio),
                              settings, progress=options.progress, runner=options.runner)[0]
        wet = A.resample(mono, settings.sample_rate, sample_rate, quality=RESAMPLE_QUALITY,
                         length=n)
        style_mono, style_rate = style_audio
        if preset.full_band:
            wet = replicate(wet, sample_rate, settings.sample_rate,
                            style_profile(style_mono, style_rate, settings.sample_rate))
        wet = A.match_and_limit(wet, A.analyse_loudness(style_mono[None], style_rate),
                                sample_rate, A.peak_ceiling(style_mono))
        return np.repeat(wet.astype(np.float32), channels, axis=0)

    def _trained_texture(self, trained: TrainedStyle, preset: Preset, seconds: float,
                         sample_rate: float, channels: int) -> np.ndarray:
        if not trained.is_texture:
            raise ValueError(f"{_name(self._style)} was trained for style transfer "
                             f"({trained.preset!r}); train it with a texture preset "
                             "(`neuralfx train STYLE --preset texture`) to make textures")
        rate = trained.settings.sample_rate
        n = int(round(seconds * sample_rate))
        if n == 0:
            return np.zeros((channels, 0), np.float32)
        mono = render_trained(trained, [np.zeros((1, int(round(seconds * rate))), np.float32)],
                              preset.settings.seed)[0]
        wet = A.resample(mono, rate, sample_rate, quality=RESAMPLE_QUALITY, length=n)
        if preset.full_band:
            wet = replicate(wet, sample_rate, rate, trained.top_octave)
        wet = A.match_and_limit(wet, style_loudness(trained), sample_rate, style_ceiling(trained))
        return np.repeat(wet.astype(np.float32), channels, axis=0)

    def _snapshot(self, options: RenderOptions | None
                  ) -> tuple[Preset, tuple[np.ndarray, float] | None, TrainedStyle | None,
                             RenderOptions]:
        """What one call works on: the preset and the style (audio, or a trained style) as
        they are now (a change during a render applies to the next call), and the options with
        the effect's own progress."""
        with self._lock:
            return (self._preset, self._style_audio, self._trained,
                    with_progress(options, self.progress))

    def _render_many(self, signals: list[np.ndarray], rates: list[float],
                     options: RenderOptions | None) -> list[np.ndarray]:
        preset, style_audio, trained, options = self._snapshot(options)
        settings = trained.settings if trained is not None else options.settings_for(
            preset.settings)
        out = [np.zeros_like(x, dtype=np.float32) if preset.mix > 0
               else x.astype(np.float32, copy=True) for x in signals]
        todo = [k for k, x in enumerate(signals)
                if x.shape[-1] > 0 and np.any(x) and preset.mix > 0]  # silence stays silence
        if not todo:
            return out
        x_an = {k: A.resample(signals[k], rates[k], settings.sample_rate,
                              quality=RESAMPLE_QUALITY) for k in todo}
        run = {"progress": options.progress, "runner": options.runner}
        if trained is not None:
            wet_an = dict(zip(todo, render_trained(trained, [x_an[k] for k in todo],
                                                   preset.settings.seed)))
        elif settings.is_texture and style_audio is None:  # each input is its own style
            wet_an = {k: render_signals([x_an[k]], self._input_statistics(x_an[k], settings),
                                        settings, **run)[0] for k in todo}
        else:
            stats = self._style_statistics(settings, style_audio)
            wet_an = dict(zip(todo, render_signals([x_an[k] for k in todo], stats, settings,
                                                   **run)))
        style_top = trained.top_octave if trained is not None else None
        if style_audio is not None and preset.full_band:
            style_top = style_profile(*style_audio, settings.sample_rate)
        for k in todo:
            wet = A.resample(wet_an[k], settings.sample_rate, rates[k],
                             quality=RESAMPLE_QUALITY, length=signals[k].shape[-1])
            if preset.full_band:  # the top octave the analysis rate cannot hold
                profile = style_top if style_top is not None else style_profile(
                    A.to_mono(signals[k]), rates[k], settings.sample_rate)  # its own style
                wet = replicate(wet, rates[k], settings.sample_rate, profile)
            out[k] = A.level(signals[k], wet, rates[k], mix=preset.mix,
                             match_loudness=preset.match_loudness,
                             balance_channels=not settings.is_texture)
        return out

    # --- style statistics --------------------------------------------------------------------

    def style_statistics(self, options: RenderOptions | None = None) -> StyleStatistics | None:
        """The style's statistics for the settings as a render with ``options`` runs them
        (computed once and kept), or None without a style. With :meth:`use_style_statistics`
        they let another process (a Ray worker) skip the analysis."""
        preset, style_audio, _, options = self._snapshot(options)
        if style_audio is None:  # no style, or a trained one (it has no statistics to send)
            return None
        return self._style_statistics(options.settings_for(preset.settings), style_audio)

    def use_style_statistics(self, stats: StyleStatistics,
                             options: RenderOptions | None = None) -> None:
        """Adopts :meth:`style_statistics` of an equal effect (same style and parameters, e.g.
        this effect pickled to another process) for renders with ``options``; kept until the
        style or a statistics parameter changes."""
        with self._lock:
            settings = (options or DEFAULT).settings_for(self._preset.settings)
            self._statistics.put(self._style_audio, settings, stats)

    def _style_statistics(self, settings: Settings,
                          style_audio: tuple[np.ndarray, float] | None) -> StyleStatistics:
        """Statistics of ``style_audio`` (a call's snapshot of the style) for ``settings``."""
        if style_audio is None:
            raise ValueError(
                "style transfer needs a style: pass NeuralStyle(style='file.wav' or "
                "(array, sample_rate)), or use preset='texture' (content weights 0) to make "
                "a texture of the input itself")

        def compute() -> StyleStatistics:
            mono, sr = style_audio
            audio = A.resample(mono, sr, settings.sample_rate, quality=RESAMPLE_QUALITY)
            try:
                return statistics_for(torch.from_numpy(audio), settings)
            except ValueError as e:
                style = "array" if isinstance(self._style, tuple) else repr(
                    os.fspath(self._style))
                raise ValueError(f"style {style}: {e}") from None

        return self._statistics.get(style_audio, settings, compute)

    @staticmethod
    def _input_statistics(x_an: np.ndarray, settings: Settings) -> StyleStatistics:
        try:
            return statistics_for(torch.from_numpy(A.to_mono(x_an)), settings)
        except ValueError as e:
            raise ValueError(f"texture mode without a style uses the input as the style, and "
                             f"the input is too short: {e}") from None


def _trained_style(style: Any) -> TrainedStyle | None:
    """The trained style ``style`` is (a ``.nfxstyle`` path or a :class:`TrainedStyle`), or
    None for audio."""
    if isinstance(style, TrainedStyle):
        return style
    if isinstance(style, (str, os.PathLike)) and os.fspath(style).lower().endswith(SUFFIX):
        if not os.path.exists(style):
            raise FileNotFoundError(2, "trained style file not found", os.fspath(style))
        return load_trained_style(style)
    return None


def _name(style: Any) -> str:
    return "the trained style" if isinstance(style, TrainedStyle) else repr(os.fspath(style))


for _param in PARAMETERS:
    setattr(NeuralStyle, _param, Parameter(_param))
del _param
