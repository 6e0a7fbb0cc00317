"""A trained style on whole signals: channels, silence and the texture's level.

Signals are ``(channels, samples)`` float32 at the analysis rate; the effect resamples, rebuilds
the top octave and levels around this (:class:`neuralfx.effect.NeuralStyle`).
"""

from __future__ import annotations

import math

import numpy as np

from ..audio import PEAK_CEILING, LoudnessAnalysis, unique_channels
from .model import TrainedStyle
from .render import render_texture, render_transfer


def render_trained(trained: TrainedStyle, signals: list[np.ndarray], seed: int = 0
                   ) -> list[np.ndarray]:
    """The trained style on each signal ``(channels, samples)`` -> the same shape, unlevelled.

    Style transfer renders each distinct channel once (L == R in gives L == R out) and leaves a
    silent channel silent; a texture is one mono render per signal, on every channel."""
    out = []
    for x in signals:
        if trained.is_texture:
            mono = render_texture(trained, x.shape[-1], seed)
            out.append(np.repeat(mono[None], x.shape[0], axis=0))
            continue
        unique, index = unique_channels(x)
        wet = np.stack([render_transfer(trained, x[c]) if np.any(x[c])
                        else np.zeros(x.shape[-1], np.float32) for c in unique])
        out.append(wet[index])
    return out


def style_loudness(trained: TrainedStyle) -> LoudnessAnalysis:
    """The style's integrated loudness as an analysis :func:`neuralfx.audio.match_and_limit`
    can match (one gating block at that loudness): the level of a texture."""
    power = 10 ** ((trained.source.loudness_lufs + 0.691) / 10)
    if not math.isfinite(power) or power <= 0:
        return LoudnessAnalysis(None, np.zeros(1))
    return LoudnessAnalysis(np.array([[power]]), np.array([power]))


def style_ceiling(trained: TrainedStyle) -> float:
    """A texture's peak ceiling: -0.1 dBFS, or the style's own peak where that is higher."""
    return max(PEAK_CEILING, trained.source.peak)
