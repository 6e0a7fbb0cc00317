"""Training a style: fit its statistics, then choose the model's free parameters with the
preset's own objective on content the model will not be applied to.

For style transfer the free parameters are the transform's ``blend`` and ``envelope``
(:mod:`neuralfx.trained.transfer`); each candidate pair is applied to random crops of a content
corpus and scored by the preset's objective (the same random network, the style's Gram
statistics, the content term with the preset's content weight), as the optimising presets
would score their own result. For a texture, the model's rank and block length are chosen by
the style loss of what each generates. Arrays in, a :class:`TrainedStyle` out: reading files and
presets is :func:`neuralfx.train.train_style`'s job.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..device import compute_dtype, resolve_device
from ..settings import Settings
from ..spectral import log_spectrogram
from ..style import autocorrelation_lags, network_for, statistics_for
from ..synthesis import Objective
from .texture import fit_texture, generate
from .transfer import TransferModel, fit_transfer, transfer

BLENDS = (0.25, 0.5, 0.75, 1.0)
ENVELOPES = (0.0, 0.5)
TEXTURE_CANDIDATES = ((16, 2, 16), (16, 2, 8), (32, 2, 16))  # (rank, order, block)
CROP_FRAMES = 216  # 5 s at 22050 Hz / hop 512: half the classic clip, twice the network's view
MAX_CROPS = 32
MIN_CROPS = 4
TEXTURE_FRAMES = 431  # 10 s of texture per candidate and seed
DEFAULT_MINUTES = 3.0


@dataclass(frozen=True)
class TrainingProgress:
    """Where training stands: ``done`` of ``total`` steps, the best score so far (mean log
    objective, lower is better), seconds spent and left (estimated)."""

    done: int
    total: int
    best: float
    elapsed: float
    remaining: float


ProgressCallback = Callable[[TrainingProgress], None]


def _objective(settings: Settings, stats, content: torch.Tensor | None,
               dtype: torch.dtype) -> Objective:
    return Objective(network_for(settings), stats.grams, content, settings.content_weight,
                     settings.style_weight, dtype, stats.autocorrelations,
                     settings.autocorrelation_weight, stats.factors, 0.0, None,
                     autocorrelation_lags(settings), settings.reference_frames)


def _loss(objective: Objective, x: torch.Tensor) -> float:
    loss, _ = objective(x[None].float())
    return float(loss[0])


def _crops(corpus: Sequence[torch.Tensor], count: int, seed: int) -> list[torch.Tensor]:
    """``count`` random crops of :data:`CROP_FRAMES` (or a whole shorter clip) of the
    log-spectrograms ``corpus``."""
    rng = random.Random(seed)
    usable = [c for c in corpus if c.shape[-1] >= CROP_FRAMES // 2]
    if not usable:
        raise ValueError(f"the content is too short to train on: at least "
                         f"{CROP_FRAMES // 2} frames (about 2.5 s) are needed")
    out = []
    for _ in range(count):
        spec = rng.choice(usable)
        length = min(CROP_FRAMES, spec.shape[-1])
        start = rng.randrange(0, spec.shape[-1] - length + 1)
        out.append(spec[:, start:start + length])
    return out


def choose_transfer(model: TransferModel, stats, settings: Settings,
                    corpus: Sequence[torch.Tensor], *, seconds: float, seed: int = 0,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                    progress: ProgressCallback | None = None) -> tuple[TransferModel, dict]:
    """The candidate ``(blend, envelope)`` with the lowest mean log objective over crops of
    ``corpus`` (log-spectrograms ``(bins, frames)``), and the training figures. Stops after
    :data:`MAX_CROPS` crops or ``seconds`` (at least :data:`MIN_CROPS`); Ctrl-C keeps the best
    so far once one crop is scored."""
    candidates = [(b, e) for b in BLENDS for e in ENVELOPES]
    scores = np.zeros(len(candidates))
    start, done, interrupted = time.monotonic(), 0, False
    try:
        for crop in _crops(corpus, MAX_CROPS, seed):
            objective = _objective(settings, stats, crop[None].float().to(device), dtype)
            crop_scores = np.zeros(len(candidates))  # counted once every candidate has one
            for i, (blend, envelope) in enumerate(candidates):
                output = transfer(model.with_blend(blend, envelope), crop).to(device)
                crop_scores[i] = math.log(max(_loss(objective, output), 1e-30))
            scores += crop_scores
            done += 1
            elapsed = time.monotonic() - start
            if progress:
                left = min(MAX_CROPS - done, max(0.0, seconds - elapsed) * done / elapsed)
                progress(TrainingProgress(done, MAX_CROPS, float(scores.min() / done), elapsed,
                                          left * elapsed / done))
            if done >= MIN_CROPS and elapsed >= seconds:
                break
    except KeyboardInterrupt:
        if done == 0:
            raise
        interrupted = True
    best = int(np.argmin(scores))
    blend, envelope = candidates[best]
    figures = {
        "seconds": round(time.monotonic() - start, 2), "crops": done,
        "crop_seconds": CROP_FRAMES * settings.hop_length / settings.sample_rate,
        "interrupted": interrupted,
        "candidates": [{"blend": b, "envelope": e, "objective": round(s / max(done, 1), 4)}
                       for (b, e), s in zip(candidates, scores)],
    }
    return model.with_blend(blend, envelope), figures


def choose_texture(style: torch.Tensor, stats, settings: Settings, *, seed: int = 0,
                   dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                   progress: ProgressCallback | None = None):
    """The :data:`TEXTURE_CANDIDATES` model whose textures (two seeds) have the lowest style
    loss, and the training figures."""
    objective = _objective(settings.replace(content_weight=0.0), stats, None, dtype)
    start = time.monotonic()
    results = []
    for i, (rank, order, block) in enumerate(TEXTURE_CANDIDATES):
        model = fit_texture(style, rank, order, block)
        textures = [generate(model, TEXTURE_FRAMES, s).to(device) for s in (seed, seed + 1)]
        score = np.mean([math.log(max(_loss(objective, t), 1e-30)) for t in textures])
        results.append((score, model, {"rank": rank, "order": order, "block": block,
                                       "objective": round(float(score), 4)}))
        if progress:
            elapsed = time.monotonic() - start
            total = len(TEXTURE_CANDIDATES)
            progress(TrainingProgress(i + 1, total, min(r[0] for r in results), elapsed,
                                      elapsed / (i + 1) * (total - i - 1)))
    best = min(results, key=lambda r: r[0])
    figures = {"seconds": round(time.monotonic() - start, 2),
               "candidates": [r[2] for r in results]}
    return best[1], figures


def fit_style(style: np.ndarray, settings: Settings, corpus: Sequence[np.ndarray] = (), *,
              seconds: float = DEFAULT_MINUTES * 60, seed: int = 0,
              progress: ProgressCallback | None = None):
    """Fit and choose a model for the mono style ``(samples,)`` at the analysis rate;
    ``corpus``: mono content signals at the analysis rate (style transfer only).

    Returns ``(model, figures)``: a :class:`TransferModel` or, for a texture preset
    (``settings.is_texture``), a :class:`TextureModel`."""
    device = resolve_device(settings.device)
    dtype = compute_dtype(settings.precision, device, texture=settings.is_texture)
    audio = torch.from_numpy(np.ascontiguousarray(style, dtype=np.float32))
    spec = log_spectrogram(audio, settings.n_fft, settings.hop_length)
    stats = statistics_for(audio, settings)
    figures = {"device": str(device), "precision": str(dtype).replace("torch.", "")}
    if settings.is_texture:
        model, found = choose_texture(spec, stats, settings, seed=seed, dtype=dtype,
                                      device=device, progress=progress)
    else:
        if not corpus:
            raise ValueError("style transfer needs content to train on")
        content = [log_spectrogram(torch.from_numpy(np.ascontiguousarray(c, np.float32)),
                                   settings.n_fft, settings.hop_length) for c in corpus]
        model = fit_transfer(spec).with_prior(torch.cat(content, dim=-1))
        model, found = choose_transfer(model, stats, settings, content,
                                       seconds=seconds, seed=seed, dtype=dtype,
                                       device=device, progress=progress)
    return model, {**figures, **found}
