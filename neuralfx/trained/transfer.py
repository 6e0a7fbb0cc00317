"""Style transfer in one pass: the input's spectral statistics moved onto the style's.

The classic method optimises a log-magnitude spectrogram until the Gram matrix of a wide random
ReLU layer over it matches the style's. Such a Gram is, to a good approximation, a function of
the first and second moments of the spectrogram's frames, so matching those moments directly
gets most of the way in one pass (the whitening-colouring transform of Li et al. 2017,
"Universal Style Transfer via Feature Transforms", applied to the spectrogram itself, which is
this network's input). Per frame ``x`` (log-magnitudes, ``bins``), with the content's mean
``m``, per-bin deviation ``s`` and covariance ``C`` and the style's ``mu``, ``sigma``, ``S``:

- colour: ``mu + S^(1/2) C^(-1/2) (x - m)`` (every correlation between bins the style's);
- scale:  ``mu + sigma (x - m) / s`` (each bin's level and swing the style's, no mixing);
- ``y = blend * colour + (1 - blend) * scale``, then ``envelope`` times the content's
  broadband level per frame put back (speech keeps its syllables and pauses).

``blend`` and ``envelope`` are what training fits (:mod:`neuralfx.trained.training`): the pair
that minimises the preset's own objective on content the model has not seen.

Offline, the content's statistics are those of the 10 s around each second of frames (the
whole input when shorter). A stream cannot look 5 s ahead: :class:`TransferStream` uses the
last 7.5 s, refreshed every quarter of a second, leaning on the training corpus's statistics
while it has less than a second, and its whitened deviations pass a soft limit (the frames it
whitens are new to the statistics: a passage louder than any before would otherwise come out
at the style's peak in every bin until the next refresh). A past window's mean is the mean of
its middle, 3.75 s ago: music that keeps getting louder or brighter would sit above it, and the
output above the style's mean, for as long as it does. The stream's mean is therefore carried
along the window's own trend (each bin's least-squares slope) to the frames it transforms, as
far as the window is full (a slope through a few frames is mostly noise, and the lag it would
correct is short then). Measured on real music (three pairs, both reconstructed offline with
16 Griffin-Lim iterations; held-out distance against the offline render; content correlation):
10 s clips 1.61x / 1.12x / 1.11x without the trend, 1.38x / 1.04x / 1.06x with it (correlation
-5.4% / -0.7% / -6.1% of the offline's); the 10 s segments of a 30 s stream of the first pair,
1.80x without, 1.26x with. Refreshed every 0.25 s without the trend, a 5 s window took 10% off a
piano's content correlation (drums style), 10 s windows were further from the offline render.
Square roots are regularised (``regularisation`` times the largest eigenvalue is added) and the
content's are taken from its top ``rank`` principal components (a randomised SVD: 20 ms
instead of 200 ms for a full 1025-bin eigendecomposition; the rest sits below the
regularisation).

Spectrograms are ``(bins, frames)``: time on the last axis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

# bins' covariance: the top principal components kept (the rest lie below REGULARISATION)
RANK = 128
# relative to the largest eigenvalue: keeps C^(-1/2) from amplifying near-empty directions
REGULARISATION = 1e-2
# the content's statistics: over 10 s (at 22050 Hz / hop 512), the length of the clips the
# classic objective is balanced for; refreshed every second
WINDOW_FRAMES = 431
UPDATE_FRAMES = 43
# a stream's first frames have no statistics of their own yet: until this many frames are in,
# they lean on the training corpus's (an input of rank 1 would otherwise be whitened)
PRIOR_FRAMES = 43
# an input direction quieter than this share of the style's typical one (its total variance
# spread over RANK directions) is not lifted further. A share of its loudest direction instead
# held broadband input at a normal level as if it were quiet (0.2x the style's swing)
QUIET_VARIANCE = 1e-2
# a stream's statistics: the last 7.5 s, refreshed every 0.25 s (sooner at its start: after 1, 2,
# 4, ... frames); its whitened deviations are limited softly to this many standard deviations
STREAM_WINDOW_FRAMES = 323
STREAM_UPDATE_FRAMES = 11
FIRST_UPDATES = (1, 2, 4, 8)
STREAM_LIMIT = 3.0


@dataclass(frozen=True)
class TransferModel:
    """The style's side of the transform and the fitted blend (see the module docstring).

    ``mean``, ``std``, ``peak`` (the loudest the style is in each bin): ``(bins,)``;
    ``colour``: ``(bins, bins)``, the regularised square root of the style's covariance.
    ``prior_mean (bins,)`` and ``prior_factor (bins, r)`` (``prior_factor @ prior_factor.T`` a
    covariance): the training corpus's statistics, which a stream starts from. ``variance``:
    the style's mean variance over :data:`RANK` directions (its covariance's trace / RANK),
    the scale quiet inputs are held to."""

    mean: torch.Tensor
    std: torch.Tensor
    peak: torch.Tensor
    colour: torch.Tensor
    prior_mean: torch.Tensor
    prior_factor: torch.Tensor
    variance: float
    blend: float = 0.5
    envelope: float = 0.0

    @property
    def bins(self) -> int:
        return self.mean.shape[0]

    def with_blend(self, blend: float, envelope: float) -> TransferModel:
        return replace(self, blend=blend, envelope=envelope)

    def with_prior(self, corpus: torch.Tensor) -> TransferModel:
        """This model with the statistics of ``corpus`` (log-magnitude frames ``(bins, n)``,
        every training clip's side by side) as a stream's prior."""
        mean = corpus.double().mean(-1)
        u, sv, _ = _principal_components(corpus.double() - mean[:, None],
                                         min(RANK, *corpus.shape))
        factor = u * (sv / corpus.shape[-1] ** 0.5)
        return replace(self, prior_mean=mean.float(), prior_factor=factor.float())


def _principal_components(a: torch.Tensor, q: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top ``q`` singular triplets of ``a`` (a randomised SVD). Its random start is seeded
    here: the same frames give the same output whatever torch's generator holds, and the
    caller's generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torch.svd_lowrank(a, q=q, niter=2)


def _square_roots(eigenvalues: torch.Tensor, least: float = 0.0
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(w + e)^(1/2)``, ``(w + e)^(-1/2)`` and ``e`` for eigenvalues ``w``; ``e`` is
    :data:`REGULARISATION` times the largest, and at least ``least``."""
    floor = (REGULARISATION * eigenvalues.max()).clamp_min(max(least, 1e-12))
    w = eigenvalues.clamp_min(0) + floor
    return w.sqrt(), w.rsqrt(), floor


def fit_transfer(style: torch.Tensor, blend: float = 0.5, envelope: float = 0.0
                 ) -> TransferModel:
    """The style's statistics from its log-magnitude spectrogram ``(bins, frames)``; the prior
    is the style's own until :meth:`TransferModel.with_prior` sets the corpus's."""
    s = style.double()
    mean = s.mean(-1)
    centred = s - mean[:, None]
    w, v = torch.linalg.eigh(centred @ centred.T / s.shape[-1])
    root, _, _ = _square_roots(w)
    colour = (v * root) @ v.T
    top = w.argsort(descending=True)[:RANK]
    factor = v[:, top] * w[top].clamp_min(0).sqrt()
    return TransferModel(mean.float(), centred.std(-1).float(), s.amax(-1).float(),
                         colour.float(), mean.float(),
                         factor.float(), float(w.clamp_min(0).sum()) / RANK, blend, envelope)


@dataclass
class ContentStatistics:
    """The input's side: mean and per-bin deviation ``(bins,)``, and ``C^(-1/2)`` as
    ``C^(-1/2) z = floor_gain z + basis (gains * (basis^T z))``."""

    mean: torch.Tensor
    std: torch.Tensor
    basis: torch.Tensor
    gains: torch.Tensor
    floor_gain: float

    def whiten(self, z: torch.Tensor) -> torch.Tensor:
        return self.floor_gain * z + self.basis @ (self.gains[:, None] * (self.basis.T @ z))


def content_statistics(model: TransferModel, frames: torch.Tensor, prior_frames: int = 0
                       ) -> ContentStatistics:
    """The input's statistics from ``frames (bins, n)``, for ``model``; the model's corpus
    statistics count as ``prior_frames`` more frames (a stream's start).

    A quiet input (a fade, a pause, near-silence) has tiny variances: whitened as they are, its
    noise would come out at the style's full swing. Variances below :data:`QUIET_VARIANCE` of
    the style's are not lifted further."""
    frames = frames.float()
    n = frames.shape[-1]
    weight, prior = prior_frames, model
    total = max(n + weight, 1)
    mean = frames.sum(-1)
    if weight:
        mean = mean + weight * prior.prior_mean
    mean = mean / total
    # deviations as columns whose outer product is the covariance (the prior's: its factor and
    # the shift of its mean)
    columns = [frames - mean[:, None]]
    if weight:
        columns.append(weight ** 0.5 * torch.cat(
            [prior.prior_factor, (prior.prior_mean - mean)[:, None]], dim=1))
    columns = torch.cat(columns, dim=1) / total ** 0.5
    std = columns.pow(2).sum(-1).sqrt().clamp_min(QUIET_VARIANCE ** 0.5 * model.std)
    u, sv, _ = _principal_components(columns, max(1, min(RANK, *columns.shape)))
    _, inverse_root, floor = _square_roots(sv.pow(2), QUIET_VARIANCE * model.variance)
    floor_gain = float(floor.rsqrt())
    return ContentStatistics(mean, std, u, inverse_root - floor_gain, floor_gain)


def soft_limit(v: torch.Tensor, limit: float | None) -> torch.Tensor:
    """``limit * tanh(v / limit)``: ``v`` where it is small, never beyond ``+-limit``."""
    return v if limit is None else limit * torch.tanh(v / limit)


def transform(model: TransferModel, stats: ContentStatistics, x: torch.Tensor,
              limit: float | None = None) -> torch.Tensor:
    """Frames ``x (bins, n)`` of the input -> the style's, with the input's ``stats``; with a
    ``limit``, the whitened and the per-bin standardised deviations are held softly within it
    (:func:`soft_limit`)."""
    z = x - stats.mean[:, None]
    coloured = model.colour @ soft_limit(stats.whiten(z), limit)
    scaled = soft_limit(z / stats.std[:, None], limit) * model.std[:, None]
    y = model.mean[:, None] + model.blend * coloured + (1 - model.blend) * scaled
    if model.envelope:
        # the input's broadband level per frame against the output's, both around their means
        level = z.mean(0) - (y - model.mean[:, None]).mean(0)
        y = y + model.envelope * level
    # no bin louder than the style ever is there: an input unlike the statistics it is whitened
    # with (a stream's onset after a quiet passage) must not come out at any level
    return torch.minimum(y.clamp_min(0), model.peak[:, None])


def transfer(model: TransferModel, x: torch.Tensor) -> torch.Tensor:
    """A whole log-magnitude spectrogram ``(bins, frames)`` -> the style's. Each second of
    frames (:data:`UPDATE_FRAMES`) is transformed with the statistics of the
    :data:`WINDOW_FRAMES` around it (the whole input when it is shorter)."""
    x = x.float()
    n = x.shape[-1]
    if n <= WINDOW_FRAMES:
        return transform(model, content_statistics(model, x), x)
    out = []
    for start in range(0, n, UPDATE_FRAMES):
        stop = min(start + UPDATE_FRAMES, n)
        lo = min(max(0, (start + stop) // 2 - WINDOW_FRAMES // 2), n - WINDOW_FRAMES)
        out.append(transform(model, content_statistics(model, x[:, lo:lo + WINDOW_FRAMES]),
                             x[:, start:stop]))
    return torch.cat(out, 1)


def trend(frames: torch.Tensor) -> torch.Tensor:
    """Each bin's least-squares slope through ``frames (bins, n)``, per frame: ``(bins,)``."""
    n = frames.shape[-1]
    t = torch.arange(n, dtype=frames.dtype) - (n - 1) / 2
    return frames @ t / max(float(t @ t), 1.0)


def _updates(start: int, stop: int) -> list[int]:
    """The frames in ``(start, stop]`` at which a stream's statistics are refreshed."""
    marks = [f for f in FIRST_UPDATES if start < f <= stop]
    first = max(FIRST_UPDATES[-1], start) // STREAM_UPDATE_FRAMES + 1
    marks += range(first * STREAM_UPDATE_FRAMES, stop + 1, STREAM_UPDATE_FRAMES)
    return sorted(set(marks))


class TransferStream:
    """The transform on a stream of frames, with no look-ahead: ``push(frames (bins, n)) ->
    (bins, n)``.

    Frame ``t`` is transformed with the statistics of the :data:`STREAM_WINDOW_FRAMES` frames
    before the last refresh at or before ``t`` (refreshes after 1, 2, 4 and 8 frames, then every
    :data:`STREAM_UPDATE_FRAMES`), leaning on the corpus's statistics until
    :data:`PRIOR_FRAMES` frames are in, their mean carried along the window's :func:`trend`,
    with its deviations limited to :data:`STREAM_LIMIT`.
    Pushing a signal in any pieces gives the same frames."""

    def __init__(self, model: TransferModel) -> None:
        self.model = model
        self.frames_seen = 0
        self._window = torch.zeros(model.bins, 0)
        self._stats = self._statistics()

    def _statistics(self) -> ContentStatistics:
        n = self._window.shape[-1]
        stats = content_statistics(self.model, self._window, max(0, PRIOR_FRAMES - n))
        if n < PRIOR_FRAMES:
            return stats
        # the window's mean is its middle's: carried to the next frames along its trend
        ahead = (n - 1) / 2 + STREAM_UPDATE_FRAMES / 2
        carried = stats.mean + (n / STREAM_WINDOW_FRAMES * ahead) * trend(self._window)
        return replace(stats, mean=carried)

    def push(self, frames: torch.Tensor) -> torch.Tensor:
        frames = frames.float()
        out = []
        done = 0
        n = frames.shape[-1]
        for mark in _updates(self.frames_seen, self.frames_seen + n) + [None]:
            stop = n if mark is None else mark - self.frames_seen
            if stop > done:
                piece = frames[:, done:stop]
                out.append(transform(self.model, self._stats, piece, STREAM_LIMIT))
                self._window = torch.cat([self._window, piece], 1)[:, -STREAM_WINDOW_FRAMES:]
                done = stop
            if mark is not None:
                self._stats = self._statistics()
        self.frames_seen += n
        return torch.cat(out, 1) if out else frames.new_zeros(self.model.bins, 0)
