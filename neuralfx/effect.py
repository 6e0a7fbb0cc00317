"""``NeuralStyle``: the engine as a pedalboard-style audio effect.

The facade does everything the engine does not: array validation and layouts (pedalboard's
conventions), resampling to and from the analysis rate, channels, style loading and caching,
level (loudness match, dry/wet, full-scale safety).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from . import audio as A
from .device import compute_dtype, resolve_device
from .engine import GroupRunner, Progress, render_many
from .presets import OUTPUT_KEYS, Preset, load_preset
from .settings import TEXTURE_OVERRIDES, Settings, field_names
from .style import STATISTICS_KEYS, StyleStatistics, style_statistics

PARAMETERS = field_names() + OUTPUT_KEYS
# -0.1 dBFS: headroom for lossy encoders and inter-sample peaks
PEAK_CEILING = 10 ** (-0.1 / 20)
RESAMPLE_QUALITY = "VHQ"  # soxr's best; its cost is negligible next to the optimisation

_LAYOUT_MSG = ("Provide a non-square array first to allow neuralfx to determine which dimension "
               "corresponds with the number of channels and which dimension corresponds with "
               "the number of samples.")


class StreamingError(RuntimeError):
    """``reset=False`` block-by-block processing was asked of an offline (whole-signal) effect."""


# --- pedalboard's input conventions ----------------------------------------------------------

def check_sample_rate(sample_rate: Any) -> float:
    """A finite number > 0, else the error pedalboard's type checks or neuralfx's range check
    raise (pedalboard itself does not check the range: a zero rate crashes some plugins)."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.number)):
        raise TypeError(f"sample_rate must be a number, not {type(sample_rate).__name__}")
    sample_rate = float(sample_rate)
    if not (math.isfinite(sample_rate) and sample_rate > 0):
        raise ValueError(f"sample_rate = {sample_rate!r} is not allowed: expected a number of "
                         "Hz > 0 (8000 to 192000 are supported)")
    return sample_rate


def check_buffer_size(buffer_size: Any) -> int:
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)):
        raise TypeError(f"buffer_size must be an integer, not {type(buffer_size).__name__}")
    if buffer_size < 1:
        raise ValueError(f"buffer_size = {buffer_size} is not allowed: expected an integer >= 1")
    return int(buffer_size)


def to_channels_first(input_array: Any, last_layout: str | None = None
                      ) -> tuple[np.ndarray, str]:
    """Validate like pedalboard and return ``(audio (channels, samples) float32, layout)``.

    ``layout`` is ``"1d"``, ``"channels_first"`` or ``"channels_last"``: the smaller dimension
    is the channels; a square array uses ``last_layout`` (the last one detected), else fails.
    Errors: non-arrays and non-float dtypes raise ``TypeError``, more than 2 dimensions and
    undecidable square arrays ``RuntimeError`` (pedalboard's types), NaN/Inf ``ValueError``.
    """
    if not isinstance(input_array, np.ndarray):
        raise TypeError(f"expected a numpy.ndarray of audio, got {type(input_array).__name__}")
    if input_array.dtype not in (np.float32, np.float64):
        raise TypeError("neuralfx only supports 32-bit and 64-bit floating point audio for "
                        f"processing (got an array of dtype {input_array.dtype})")
    if input_array.ndim == 1:
        x, layout = input_array[None], "1d"
    elif input_array.ndim == 2:
        rows, cols = input_array.shape
        if rows < cols:
            layout = "channels_first"
        elif cols < rows:
            layout = "channels_last"
        elif last_layout in ("channels_first", "channels_last"):
            layout = last_layout
        else:
            raise RuntimeError(
                f"Unable to determine channel layout from shape: {input_array.shape}. "
                + _LAYOUT_MSG)
        x = input_array if layout == "channels_first" else input_array.T
    else:
        raise RuntimeError(f"Number of input dimensions must be 1 or 2 (got "
                           f"{input_array.ndim}). " + _LAYOUT_MSG)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ValueError(f"the input contains NaN or infinite values ({bad} of {x.size} "
                         "samples); neuralfx needs finite audio")
    return x, layout


def from_channels_first(x: np.ndarray, layout: str) -> np.ndarray:
    """Inverse of :func:`to_channels_first` for the output (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if layout == "1d":
        return np.ascontiguousarray(x[0])
    return np.ascontiguousarray(x if layout == "channels_first" else x.T)


def unique_channels(x: np.ndarray) -> tuple[list[int], list[int]]:
    """``(unique, index)``: ``x[unique]`` holds each distinct channel once and
    ``x[unique][index] == x``."""
    unique: list[int] = []
    index: list[int] = []
    for c in range(x.shape[0]):
        for k, u in enumerate(unique):
            if np.array_equal(x[c], x[u]):
                index.append(k)
                break
        else:
            index.append(len(unique))
            unique.append(c)
    return unique, index


def _style_array(style: tuple) -> tuple[np.ndarray, float]:
    """A ``(array, sample_rate)`` style -> ``(mono (samples,) float32, sample_rate)``."""
    if len(style) != 2:
        raise TypeError("style must be a path or an (array, sample_rate) tuple")
    array, sample_rate = style
    sample_rate = check_sample_rate(sample_rate)
    try:
        x, _ = to_channels_first(array)
    except (TypeError, RuntimeError, ValueError) as e:
        raise type(e)(f"style array: {e}") from None
    if x.shape[-1] == 0:
        raise ValueError("style array: the style is empty")
    return A.to_mono(x), sample_rate


# --- the effect ------------------------------------------------------------------------------

class NeuralStyle:
    """Neural audio style transfer and texture synthesis as an offline audio effect.

    ``NeuralStyle(style=None, preset="style 0.01", *, progress=None, **overrides)``

    - ``style``: a path to an audio file, or an ``(array, sample_rate)`` tuple. Read (and
      mixed to mono) when set: a missing file raises ``FileNotFoundError``, an undecodable one
      :class:`neuralfx.audio.AudioFileError` naming it. The style's Gram statistics are
      computed on first use at the analysis rate, cached on disk (``neuralfx.style``) and kept
      on the instance while the style and the statistics' parameters stay the same.
    - ``preset``: a preset name or a :class:`neuralfx.presets.Preset` (when ``style`` is None
      and the preset names a style file, that file is the style); ``overrides`` are any
      engine parameter (``iterations``, ``content_weight``, ``seed``, ``device``, ...) or
      ``mix`` / ``match_loudness``. Every parameter is also an attribute, readable and settable
      (``fx.iterations = 50``), validated on assignment.
    - ``progress``: a callable receiving :class:`neuralfx.engine.Progress` during renders.
    - ``runner`` (attribute, None by default): a :class:`neuralfx.engine.GroupRunner` that
      optimises the engine's batches of chunks elsewhere (``neuralfx.distributed``: one long
      file on several Ray workers); everything else, level included, runs here as usual.

    ``process(input_array, sample_rate, buffer_size=8192, reset=True)`` (and ``__call__``)
    follow pedalboard: 1-D in gives 1-D out; 2-D is ``(channels, samples)`` or
    ``(samples, channels)``, the smaller dimension being the channels, and the layout is kept;
    float32 or float64 in, float32 out, same length, any sample rate (resampled with soxr to
    and from ``sample_rate`` of the settings, the analysis rate).

    Modes: with ``content_weight > 0`` or ``envelope_weight > 0`` the input is the content,
    re-synthesised with the style's statistics (a style is required). With both 0 (preset
    ``"texture"``) the output is a new texture with the input's duration: of the style if one
    is set, else of the input itself.

    Channels: each distinct channel is optimised as its own problem (so the stereo image of the
    content is kept) and all channels are reconstructed by Griffin-Lim with ONE shared phase,
    so there is no channel-to-channel phase smear and the image is stable (a waveform pass,
    ``waveform_iterations > 0``, then refines each channel from that shared-phase signal; it
    barely moves the image, BENCHMARKS.md, Quality). Identical channels
    are processed once and copied: an input with L == R gives an output with L == R exactly
    (mono-compatible). A texture has no content to follow, so all channels get the same
    texture (a centred, mono-compatible image). The optimiser pulls every channel towards the
    style's level, so each wet channel is then gained to its input channel's loudness: the
    balance between channels (panning) is kept and a silent channel stays silent.

    Level: with ``match_loudness`` (default) the wet signal, then the dry/wet mix, is gained to
    the input's integrated loudness (BS.1770; the RMS fallback of
    :func:`neuralfx.audio.loudness` below 0.4 s). ``mix`` is the linear dry/wet balance
    (0 = the input untouched, 1 = all effect). Finally a look-ahead peak limiter keeps every
    sample within -0.1 dBFS, or within the input's own peak if that was higher (so nothing goes
    above full scale unless the input did); the loudness match makes up for the limiter, except
    when the ceiling makes the input's loudness unreachable. Output is never NaN or Inf: the engine
    producing non-finite values is an error, not silent output. Silence in gives silence out,
    empty in gives empty out, NaN/Inf in raises ``ValueError``.

    Streaming: the effect is offline; it needs the whole signal at once (chunking, overlap and
    phase are handled inside). ``reset=False`` (pedalboard's block-by-block streaming) raises
    :class:`StreamingError`, pointing to whole-signal processing: buffering blocks could only
    return audio after the last block, and there is no way to know which block is last, so
    any buffering scheme would silently return wrong or missing audio.

    Threads: one instance may be shared by threads. A lock guards its state; each call works
    on a snapshot of the parameters taken when it starts (a parameter changed during a render
    applies to the next call), and the style is analysed once even when calls overlap.
    """

    is_effect = True
    is_instrument = False

    def __init__(self, style: Any = None, preset: str | Preset = "style 0.01", *,
                 progress: Callable[[Progress], None] | None = None, **overrides: Any) -> None:
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_overrides", {})
        object.__setattr__(self, "_style", None)
        object.__setattr__(self, "_style_audio", None)
        object.__setattr__(self, "_stats", None)
        object.__setattr__(self, "_last_layout", None)
        object.__setattr__(self, "progress", progress)
        object.__setattr__(self, "runner", None)
        self._set_preset(preset, dict(overrides))
        if style is None:
            style = self._preset_style()
        self.style = style

    # --- parameters --------------------------------------------------------------------------

    def _set_preset(self, preset: str | Preset, overrides: dict[str, Any]) -> None:
        if isinstance(preset, Preset):
            loaded = preset.with_overrides(**overrides) if overrides else preset
        elif isinstance(preset, (str, os.PathLike)):
            loaded = load_preset(preset, **overrides)
        else:
            raise TypeError(f"preset must be a preset name or a Preset, not "
                            f"{type(preset).__name__}")
        object.__setattr__(self, "_base", preset)
        object.__setattr__(self, "_preset", loaded)
        object.__setattr__(self, "_overrides", overrides)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: engine and output parameters
        if name in PARAMETERS:
            preset = self.__dict__["_preset"]
            return getattr(preset, name) if name in OUTPUT_KEYS else getattr(preset.settings,
                                                                             name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in PARAMETERS:
            with self._lock:
                preset = self._preset.with_overrides(**{name: value})  # validates
                object.__setattr__(self, "_preset", preset)
                self._overrides[name] = getattr(preset, name) if name in OUTPUT_KEYS \
                    else getattr(preset.settings, name)
            return
        if name.startswith("_") or isinstance(getattr(type(self), name, None), property) \
                or name in ("progress", "runner"):
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"NeuralStyle has no parameter {name!r}; parameters: "
                             f"{', '.join(PARAMETERS)}, style, preset, progress")

    def set_parameters(self, **parameters: Any) -> None:
        """Set several parameters at once, validated together (for pairs that constrain each
        other, e.g. ``n_fft=512, hop_length=128``). Nothing changes if any value is invalid."""
        with self._lock:
            preset = self._preset.with_overrides(**parameters)
            object.__setattr__(self, "_preset", preset)
            for name in parameters:
                self._overrides[name] = getattr(preset, name) if name in OUTPUT_KEYS \
                    else getattr(preset.settings, name)

    @contextlib.contextmanager
    def _pinned(self, **parameters: Any) -> Iterator[None]:
        """These parameters inside the block; after it the preset and the overrides exactly as
        before (``neuralfx.distributed.pinned_precision``: not a user's override)."""
        with self._lock:
            saved = self._preset, dict(self._overrides)
            self.set_parameters(**parameters)
        try:
            yield
        finally:
            with self._lock:
                object.__setattr__(self, "_preset", saved[0])
                object.__setattr__(self, "_overrides", saved[1])

    def _preset_style(self) -> Any:
        """The style file a preset was made with (presets from files may name one), or None."""
        style_path = getattr(self._preset, "style_path", None)
        return style_path() if callable(style_path) else None

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
        """The engine settings in effect (read-only; set parameters as attributes)."""
        return self._preset.settings

    @property
    def parameters(self) -> dict[str, Any]:
        """Every parameter and its value."""
        p = self._preset
        return {**p.settings.as_dict(), "mix": p.mix, "match_loudness": p.match_loudness}

    @property
    def style(self) -> Any:
        """The style as given: a path, an ``(array, sample_rate)`` tuple, or None."""
        return self._style

    @style.setter
    def style(self, style: Any) -> None:
        if style is None:
            audio = None
        elif isinstance(style, (str, os.PathLike)):
            decoded, sr = A.read_audio(style)
            if decoded.shape[-1] == 0:
                raise A.AudioFileError(f"{os.fspath(style)}: the style file has no samples")
            audio = (A.to_mono(decoded), sr)
        elif isinstance(style, tuple):
            audio = _style_array(style)
        else:
            raise TypeError(f"style must be a path or an (array, sample_rate) tuple, not "
                            f"{type(style).__name__}")
        with self._lock:
            object.__setattr__(self, "_style", style)
            object.__setattr__(self, "_style_audio", audio)
            object.__setattr__(self, "_stats", None)

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
        # picklable (e.g. for process pools): the lock is not, and statistics are recomputed
        # the runner (Ray actors) stays with its process
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("_lock", "_stats", "runner")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_stats", None)
        object.__setattr__(self, "runner", None)

    def reset(self) -> None:
        """Forget the last detected channel layout (pedalboard's ``reset``). There is no other
        state between calls: every call processes a whole signal."""
        with self._lock:
            object.__setattr__(self, "_last_layout", None)

    # --- processing --------------------------------------------------------------------------

    def process(self, input_array: np.ndarray, sample_rate: float, buffer_size: int = 8192,
                reset: bool = True) -> np.ndarray:
        """Process a whole signal; see the class docstring for layouts, level and errors.

        ``buffer_size`` is accepted for pedalboard compatibility and ignored (the engine
        chooses its own chunking); ``reset=False`` raises :class:`StreamingError`.
        """
        with self._lock:
            x, layout = to_channels_first(input_array, self._last_layout)
            if layout != "1d":
                object.__setattr__(self, "_last_layout", layout)
        out = self.process_channels_first(x, sample_rate, buffer_size, reset)
        return from_channels_first(out, layout)

    __call__ = process

    def process_channels_first(self, x: np.ndarray, sample_rate: float,
                               buffer_size: int = 8192, reset: bool = True) -> np.ndarray:
        """:meth:`process` for a validated ``(channels, samples)`` float32 array (chains call
        this; it skips layout detection, which is ambiguous for very short signals)."""
        sample_rate = check_sample_rate(sample_rate)
        check_buffer_size(buffer_size)
        if not reset:
            raise StreamingError(
                "NeuralStyle is an offline effect and cannot process audio block by block "
                "(reset=False): pass the whole signal in one call, e.g. "
                "`fx(audio, sr)` with audio = neuralfx.audio.read_audio(path)[0], or use the "
                "`neuralfx` command line, which handles long files in chunks internally")
        return self._process_many([x], [sample_rate])[0]

    def texture(self, seconds: float, sample_rate: float, channels: int = 1) -> np.ndarray:
        """A new texture of the style, of any length: ``(channels, round(seconds *
        sample_rate))`` float32 at ``sample_rate``, every channel at the style's integrated
        loudness and within the full-scale ceiling. The preset's content weight is ignored
        (there is no content); its other parameters, ``seed`` included, apply. Every channel
        carries the same texture."""
        sample_rate = check_sample_rate(sample_rate)
        if not (isinstance(channels, int) and channels >= 1):
            raise ValueError(f"channels = {channels!r}: expected an integer >= 1")
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds = {seconds!r}: expected a finite number >= 0")
        with self._lock:
            preset, style_audio, progress = self._preset, self._style_audio, self.progress
        if style_audio is None:
            raise ValueError("a texture needs a style: NeuralStyle(style='file.wav' or "
                             "(array, sample_rate))")
        settings = preset.settings.replace(**TEXTURE_OVERRIDES)
        n = int(round(seconds * sample_rate))
        n_an = int(round(seconds * settings.sample_rate))
        if n == 0:
            return np.zeros((channels, 0), np.float32)
        stats = self._style_statistics(settings, style_audio)
        mono = self._render([np.zeros((1, n_an), np.float32)], stats, settings, True,
                            progress)[0]
        wet = A.resample(mono, settings.sample_rate, sample_rate, quality=RESAMPLE_QUALITY,
                         length=n)
        style_mono, style_rate = style_audio
        reference = A.analyse_loudness(style_mono[None], style_rate)
        ceiling = max(PEAK_CEILING, float(np.max(np.abs(style_mono))))
        wet = A.match_loudness(wet, reference, sample_rate, ceiling=ceiling)
        wet = A.limit_peaks(wet.astype(np.float32), sample_rate, ceiling)
        return np.repeat(wet.astype(np.float32), channels, axis=0)

    def process_many(self, signals: list[np.ndarray], sample_rates: list[float]
                     ) -> list[np.ndarray]:
        """Several whole signals, each at its own rate and in :meth:`process`'s layouts: the
        same results as one :meth:`process` call each, but the chunks of all signals share the
        optimiser's batches, which is what fills a GPU when a folder holds many files. (A
        texture of each input itself is rendered one signal at a time: each has its own
        statistics.)"""
        if len(signals) != len(sample_rates):
            raise ValueError(f"{len(signals)} signals but {len(sample_rates)} sample rates")
        checked = [to_channels_first(s) for s in signals]
        out = self.process_many_channels_first([x for x, _ in checked], sample_rates)
        return [from_channels_first(y, layout) for y, (_, layout) in zip(out, checked)]

    def process_many_channels_first(self, signals: list[np.ndarray], sample_rates: list[float]
                                    ) -> list[np.ndarray]:
        """:meth:`process_many` for validated ``(channels, samples)`` float32 arrays."""
        return self._process_many(signals, [check_sample_rate(r) for r in sample_rates])

    def _process_many(self, signals: list[np.ndarray], rates: list[float]
                      ) -> list[np.ndarray]:
        # The lock guards the instance's state, not the render: a snapshot of the parameters
        # and the style statistics is taken under it, so parameters can be changed (for the
        # next call) while a long render runs, and concurrent calls never see half an update.
        with self._lock:
            preset = self._preset
            style_audio = self._style_audio
            progress, runner = self.progress, self.runner
        settings = preset.settings
        texture = settings.is_texture
        out = [np.zeros_like(x, dtype=np.float32) if preset.mix > 0
               else x.astype(np.float32, copy=True) for x in signals]
        todo = [k for k, x in enumerate(signals)
                if x.shape[-1] > 0 and np.any(x) and preset.mix > 0]  # silence stays silence
        if not todo:
            return out
        x_an = {k: A.resample(signals[k], rates[k], settings.sample_rate,
                              quality=RESAMPLE_QUALITY) for k in todo}
        if texture and style_audio is None:  # each input is its own style
            wet_an = {k: self._render([x_an[k]], self._input_statistics(x_an[k], settings),
                                      settings, texture, progress, runner)[0] for k in todo}
        else:
            stats = self._style_statistics(settings, style_audio)
            wet_an = dict(zip(todo, self._render([x_an[k] for k in todo], stats, settings,
                                                 texture, progress, runner)))
        for k in todo:
            wet = A.resample(wet_an[k], settings.sample_rate, rates[k],
                             quality=RESAMPLE_QUALITY, length=signals[k].shape[-1])
            out[k] = self._level(signals[k], wet, rates[k], preset)
        return out

    @staticmethod
    def _render(x_an: list[np.ndarray], stats: StyleStatistics, settings: Settings,
                texture: bool, progress: Callable[[Progress], None] | None,
                runner: GroupRunner | None = None) -> list[np.ndarray]:
        """The effect alone at the analysis rate: ``(channels, samples)`` per signal,
        unlevelled. All signals' chunks go through one engine call (shared batches), whose
        batches ``runner`` runs if set."""
        if texture:
            # one statistics set, one texture per signal: every channel gets it (see class
            # docstring)
            monos = render_many([None] * len(x_an), stats, settings,
                                n_samples=[x.shape[-1] for x in x_an], progress=progress,
                                runner=runner)
            wets = [np.repeat(m.numpy(), x.shape[0], axis=0) for m, x in zip(monos, x_an)]
        else:
            # identical channels are rendered once; silent channels stay silent (and cost
            # nothing)
            jobs = []
            for x in x_an:
                unique, index = unique_channels(x)
                sounding = [k for k, c in enumerate(unique) if np.any(x[c])]
                jobs.append((unique, index, sounding))
            contents = [torch.from_numpy(x[[unique[k] for k in sounding]])
                        for x, (unique, _, sounding) in zip(x_an, jobs) if sounding]
            rendered = iter(render_many(contents, stats, settings, progress=progress,
                                        runner=runner) if contents else [])
            wets = []
            for x, (unique, index, sounding) in zip(x_an, jobs):
                wet = np.zeros((len(unique), x.shape[-1]), np.float32)
                if sounding:
                    wet[sounding] = next(rendered).numpy()
                wets.append(wet[index])
        for wet in wets:
            if not np.all(np.isfinite(wet)):
                raise RuntimeError("the engine produced NaN or infinite samples (the "
                                   "optimisation diverged); try the defaults for "
                                   "learning_rate / optimizer")
        return wets

    def style_statistics(self) -> StyleStatistics | None:
        """The style's statistics for the current parameters (computed once and kept), or None
        without a style (a texture of each input itself). With
        :meth:`use_style_statistics` they let another process (a Ray worker) skip the
        analysis."""
        with self._lock:
            settings, style_audio = self._preset.settings, self._style_audio
        return None if style_audio is None else self._style_statistics(settings, style_audio)

    def use_style_statistics(self, stats: StyleStatistics) -> None:
        """Adopts statistics from :meth:`style_statistics` of an equal effect (same style and
        parameters, e.g. this effect pickled to another process); kept until the style or a
        statistics parameter changes."""
        with self._lock:
            key = (id(self._style_audio), self._statistics_key(self._preset.settings))
            object.__setattr__(self, "_stats", (key, stats))

    def _statistics_key(self, settings: Settings) -> tuple:
        return (*(getattr(settings, k) for k in STATISTICS_KEYS), settings.precision)

    def _style_statistics(self, settings: Settings,
                          style_audio: tuple[np.ndarray, float] | None) -> StyleStatistics:
        """Statistics of ``style_audio`` (the call's snapshot of the style), kept on the
        instance while the style and the statistics' parameters stay the same."""
        if style_audio is None:
            raise ValueError(
                "style transfer needs a style: pass NeuralStyle(style='file.wav' or "
                "(array, sample_rate)), or use preset='texture' (content weights 0) to make "
                "a texture of the input itself")
        key = (id(style_audio), self._statistics_key(settings))
        with self._lock:  # one analysis per style and parameters, even when calls overlap
            if self._stats is not None and self._stats[0] == key:
                return self._stats[1]
            mono, sr = style_audio
            audio = torch.from_numpy(A.resample(mono, sr, settings.sample_rate,
                                                quality=RESAMPLE_QUALITY))
            try:
                stats = self._compute_statistics(audio, settings)
            except ValueError as e:
                raise ValueError(f"style {self._describe_style()}: {e}") from None
            if self._style_audio is style_audio:  # the style may have changed meanwhile
                object.__setattr__(self, "_stats", (key, stats))
            return stats

    def _input_statistics(self, x_an: np.ndarray, settings: Settings) -> StyleStatistics:
        try:
            return self._compute_statistics(torch.from_numpy(A.to_mono(x_an)), settings)
        except ValueError as e:
            raise ValueError(f"texture mode without a style uses the input as the style, and "
                             f"the input is too short: {e}") from None

    @staticmethod
    def _compute_statistics(audio: torch.Tensor, settings: Settings) -> StyleStatistics:
        device = resolve_device(settings.device)
        return style_statistics(audio, settings, device,
                                compute_dtype(settings.precision, device,
                                              settings.is_texture))

    def _describe_style(self) -> str:
        if isinstance(self._style, tuple):
            return "array"
        return repr(os.fspath(self._style))

    @staticmethod
    def _level(dry: np.ndarray, wet: np.ndarray, sample_rate: float,
               preset: Preset) -> np.ndarray:
        """Loudness match, dry/wet mix and full-scale safety (each signal is K-weighted once:
        gains are solved on the analyses)."""
        ceiling = max(PEAK_CEILING, float(np.max(np.abs(dry))))
        dry_a = A.analyse_loudness(dry, sample_rate)
        wet_a = A.analyse_loudness(wet, sample_rate)
        gains = np.ones(wet.shape[0])
        if dry.shape[0] > 1 and not preset.settings.is_texture:
            # the optimiser pulls every channel to the style's level, which would centre a
            # panned source and fill a silent channel: restore the input's channel balance
            gains = np.array([A.solve_gain(wet_a.channel(c), dry_a.channel(c))
                              for c in range(wet.shape[0])])
            if not preset.match_loudness:  # keep the wet signal's own overall loudness
                gains *= A.solve_gain(wet_a.scaled(gains), wet_a)
        if preset.match_loudness:
            gains *= A.solve_gain(wet_a.scaled(gains), dry_a)
        wet = (wet * gains[:, None].astype(np.float32)).astype(np.float32)
        wet_a = wet_a.scaled(gains)
        if preset.mix == 1:
            out, out_a = wet, wet_a
        else:
            out, out_a = (1 - preset.mix) * dry + preset.mix * wet, None
        if preset.match_loudness:
            out = A.match_loudness(out, dry_a, sample_rate, ceiling=ceiling, analysis=out_a)
        out = A.limit_peaks(out.astype(np.float32), sample_rate, ceiling)
        return out.astype(np.float32, copy=False)
