"""Texture in one pass: a linear model of how the style's spectrogram moves, driven by the
style's own innovations.

The style's log-magnitude frames are split into their top ``rank`` principal components and
the rest. The components follow a vector autoregression of order ``order`` (each frame predicted
from the ``order`` before it, least squares with a little ridge); what the prediction misses
(the innovation) and what the components miss (the residual) are kept, frame by frame. A new
texture runs the autoregression on innovations and residuals resampled from the style in blocks
of ``block`` consecutive frames, in random order: the slow motion is the model's own, the
short-time detail (a drum hit's attack, a bow's grain) is the style's. Gaussian innovations
smeared such detail: on a drum groove the held-out distance was 1.6x ``texture``'s, against
1.05x with blocks of 16 frames (BENCHMARKS.md).

Spectrograms are ``(bins, frames)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

RANK = 16
ORDER = 2
BLOCK = 16
RIDGE = 1e-3
# frames of innovations kept (about 2 minutes at 22050 Hz / hop 512): bounds the file's size
MAX_FRAMES = 5168
# frames run before the kept output, so the texture starts in the model's steady state
WARM_UP = 64


@dataclass(frozen=True)
class TextureModel:
    """``mean (bins,)``, ``basis (bins, rank)``, ``dynamics (rank, rank * order)``,
    ``innovations (rank, n)`` and ``residuals (bins, n)``, resampled in runs of ``block``."""

    mean: torch.Tensor
    basis: torch.Tensor
    dynamics: torch.Tensor
    innovations: torch.Tensor
    residuals: torch.Tensor
    block: int = BLOCK

    @property
    def order(self) -> int:
        return self.dynamics.shape[1] // max(1, self.basis.shape[1])


def fit_texture(style: torch.Tensor, rank: int = RANK, order: int = ORDER, block: int = BLOCK
                ) -> TextureModel:
    """The model of a style's log-magnitude spectrogram ``(bins, frames)``; the style needs
    more than ``order + block`` frames."""
    s = style.double()
    frames = s.shape[-1]
    if frames <= order + block:
        raise ValueError(f"a texture needs a style of more than {order + block} frames "
                         f"({(order + block + 1) * 512 / 22050:.1f} s at 22050 Hz), got {frames}")
    mean = s.mean(-1, keepdim=True)
    centred = s - mean
    u, _, _ = torch.linalg.svd(centred, full_matrices=False)
    basis = u[:, :min(rank, u.shape[1])]
    coeffs = basis.T @ centred
    past = torch.cat([coeffs[:, order - i - 1:frames - i - 1] for i in range(order)], 0)
    now = coeffs[:, order:]
    gram = past @ past.T
    gram += RIDGE * gram.trace() / gram.shape[0] * torch.eye(gram.shape[0], dtype=gram.dtype)
    dynamics = torch.linalg.solve(gram, past @ now.T).T
    innovations = now - dynamics @ past
    residuals = (centred - basis @ coeffs)[:, order:]
    keep = _kept_frames(innovations.shape[-1], block)
    return TextureModel(mean[:, 0].float(), basis.float(), dynamics.float(),
                        innovations[:, keep].float(), residuals[:, keep].float(), block)


def _kept_frames(n: int, block: int) -> torch.Tensor:
    """At most :data:`MAX_FRAMES` of ``n`` frames, whole blocks spread over the style."""
    if n <= MAX_FRAMES:
        return torch.arange(n)
    blocks = MAX_FRAMES // block
    starts = torch.linspace(0, n - block, blocks).round().long()
    return (starts[:, None] + torch.arange(block)).reshape(-1)


def generate(model: TextureModel, frames: int, seed: int = 0) -> torch.Tensor:
    """A new texture's log-magnitude spectrogram ``(bins, frames)``; the same for a seed."""
    generator = torch.Generator().manual_seed(int(seed))
    total = frames + WARM_UP
    available = model.innovations.shape[-1]
    block = min(model.block, available)
    starts = torch.randint(0, available - block + 1, (-(-total // block),), generator=generator)
    index = (starts[:, None] + torch.arange(block)).reshape(-1)[:total]
    rank, order = model.basis.shape[1], model.order
    drive = model.innovations[:, index].double()
    dynamics = model.dynamics.double()
    state = torch.zeros(rank * order, dtype=torch.float64)
    coeffs = torch.empty(rank, total, dtype=torch.float64)
    for t in range(total):
        now = dynamics @ state + drive[:, t]
        coeffs[:, t] = now
        state = torch.cat([now, state[:-rank]])
    coeffs = coeffs[:, WARM_UP:].float()
    return (model.mean[:, None] + model.basis @ coeffs + model.residuals[:, index[WARM_UP:]])
