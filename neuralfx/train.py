"""``train_style``: a style and a preset in, a trained style (``.nfxstyle``) out.

The facade over :mod:`neuralfx.trained`: it reads the style and the content (files, folders or
arrays), resamples them to the analysis rate, fits the model and, with ``output``, writes the
file atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import audio as A
from .presets import Preset, load_preset
from .settings import TEXTURE_OVERRIDES
from .top_octave import style_profile
from .trained.corpus import synthetic_corpus
from .trained.model import StyleSource, TrainedStyle
from .trained.stylefile import SUFFIX
from .trained.training import DEFAULT_MINUTES, ProgressCallback, fit_style

__all__ = ["DEFAULT_MINUTES", "MAX_CONTENT_FILES", "MAX_CONTENT_SECONDS", "train_style"]

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff", ".m4a")
# the content corpus: crops are drawn at random, so a few minutes of varied material is plenty;
# more only costs reading time and memory
MAX_CONTENT_FILES = 64
MAX_CONTENT_SECONDS = 120.0  # read from each file at most
MAX_MINUTES = 120.0


def train_style(style: Any, preset: str | Preset = "style 0.01", *,
                content: Sequence[Any] | None = None, minutes: float = DEFAULT_MINUTES,
                seed: int = 0, output: str | os.PathLike | None = None,
                progress: ProgressCallback | None = None, **overrides: Any) -> TrainedStyle:
    """Train ``style`` (an audio file's path or an ``(array, sample_rate)`` tuple) for
    ``preset`` (a name or a :class:`Preset`; ``overrides`` change its parameters).

    - ``content``: what a style-transfer model learns on: audio files, folders of them
      (searched recursively, at most :data:`MAX_CONTENT_FILES` files, the first
      :data:`MAX_CONTENT_SECONDS` of each) or ``(array, sample_rate)`` tuples. None: a
      built-in synthetic corpus (chords, piano, drums, speech-like phrases, strings, noise
      textures and a band mix). For batch mastering, the batch itself is the best content.
      A texture preset (content weight 0) uses no content.
    - ``minutes``: the training time budget (the scoring stops after it, or after enough
      crops); Ctrl-C keeps the best model so far.
    - ``seed``: which crops are drawn.
    - ``output``: a ``.nfxstyle`` path to write the result to (atomically).
    - ``progress``: called with :class:`neuralfx.trained.training.TrainingProgress`.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) \
            or not 0 < minutes <= MAX_MINUTES:
        raise ValueError(f"minutes = {minutes!r}: expected a number of minutes above 0 and "
                         f"at most {MAX_MINUTES:g}")
    if output is not None and Path(output).suffix != SUFFIX:
        raise ValueError(f"output = {os.fspath(output)!r}: a trained style's file name ends "
                         f"in {SUFFIX}")
    loaded = preset.with_overrides(**overrides) if isinstance(preset, Preset) \
        else load_preset(preset, **overrides)
    settings = loaded.settings
    texture = settings.is_texture
    if texture:
        settings = settings.replace(**TEXTURE_OVERRIDES)
    style_audio = A.load_style(style)
    mono, rate = style_audio
    source = _source(style, mono, rate)  # refuses a silent style before any work
    style_an = A.resample(mono, rate, settings.sample_rate)
    corpus, names = ([], []) if texture else _content(content, settings.sample_rate, seed)
    model, figures = fit_style(style_an, settings, corpus, seconds=minutes * 60, seed=seed,
                               progress=progress)
    figures["content"] = names
    trained = TrainedStyle(
        "texture" if texture else "transfer", loaded.name, settings, model,
        source, style_profile(mono, rate, settings.sample_rate), figures)
    if output is not None:
        trained.save(output)
    return trained


def _source(style: Any, mono: np.ndarray, rate: float) -> StyleSource:
    if isinstance(style, (str, os.PathLike)):
        digest = hashlib.sha256(Path(style).read_bytes()).hexdigest()
    else:
        digest = hashlib.sha256(np.ascontiguousarray(mono, np.float32).tobytes()).hexdigest()
    loudness = A.loudness(mono[None], rate)
    if not np.isfinite(loudness):
        raise ValueError("the style is silent: there is nothing to train on")
    return StyleSource(digest, round(mono.shape[-1] / rate, 3), float(rate),
                       float(loudness), float(np.max(np.abs(mono))))


def _content(content: Sequence[Any] | None, rate: int, seed: int
             ) -> tuple[list[np.ndarray], list[str]]:
    """The corpus as mono signals at ``rate``, and what each one is."""
    if content is None:
        clips = synthetic_corpus(rate, seed=seed)
        return [audio for _, audio in clips], [f"built-in: {name}" for name, _ in clips]
    if isinstance(content, (str, os.PathLike, tuple)):
        content = [content]
    signals, names = [], []
    for item in content:
        if isinstance(item, tuple):
            mono, sr = A.load_style(item)
            signals.append(A.resample(mono, sr, rate))
            names.append(f"array of {mono.shape[-1] / sr:.1f} s")
            continue
        for path in _audio_files(Path(item)):
            if len(signals) >= MAX_CONTENT_FILES:
                break
            decoded, sr = A.read_audio(path)
            mono = A.to_mono(decoded[:, :int(MAX_CONTENT_SECONDS * sr)])
            if np.any(mono):
                signals.append(A.resample(mono, sr, rate))
                names.append(path.name)
    if not signals:
        given = ", ".join("an array" if isinstance(c, tuple) else repr(os.fspath(c))
                          for c in content)
        raise ValueError(f"no sounding content to train on in {given}: give audio files "
                         f"({', '.join(AUDIO_SUFFIXES)}) or folders of them")
    return signals, names


def _audio_files(path: Path) -> list[Path]:
    if not path.exists():
        raise FileNotFoundError(2, "content file or folder not found", str(path))
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
