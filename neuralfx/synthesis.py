"""Losses and the optimiser over a batch of spectrogram chunks.

The variable is a batch of log-magnitude spectrograms ``x (batch, bins, frames)``, or, for the
waveform refinement, a batch of waveform segments ``(batch, samples)`` whose spectrograms the
same loss is evaluated on (:class:`WaveformObjective`). Each chunk has its own loss; the
optimisers treat the chunks as independent problems (per-chunk L-BFGS history and line search),
so batching changes speed, never the result a chunk converges to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .device import accumulation_dtype
from .network import RandomNetwork
from .spectral import band_envelope, log_magnitude, stft_frames

LossAndGrad = Callable[[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]]
IterationCallback = Callable[[int, torch.Tensor], None]

# Curvature pairs kept by L-BFGS (scipy's default is 10). 20 reached a lower classic loss at
# 300 iterations for the cost of a few vector products (BENCHMARKS.md, Engine).
LBFGS_HISTORY = 20
# Steps in a row without a decrease before :func:`lbfgs` moves to its exact objective: a first
# short step can fall under bf16's noise too, a stalled run stays stalled
EXACT_AFTER_STALLS = 3


def squared_norm(gram: torch.Tensor) -> torch.Tensor:
    """``||G||^2`` accumulated in float64 (float32 on MPS).

    In pieces of a million values: a float64 copy of a 4096-filter Gram took 0.2-1.1 s on a
    2-core VM (first touches of 128 MB), the pieces take under 10 ms."""
    acc = accumulation_dtype(gram.device)
    return sum(p.to(acc).pow_(2).sum() for p in gram.reshape(-1).split(1 << 20))


def style_loss(features: torch.Tensor, target_gram: torch.Tensor,
               dtype: torch.dtype = torch.float32, factor: torch.Tensor | None = None,
               gram_energy: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``sum((G_x - G_style)^2)`` per chunk and its gradient with respect to the features.

    ``features (batch, N, T)``, ``target_gram (N, N)``. ``G_x = F F^T / T``. ``factor``
    (optional, ``(N, r)`` with ``G_style = L L^T``) and ``gram_energy`` (optional,
    ``||G_style||^2``) only make it faster.

    When ``T < N`` it uses ``||F F^T||^2 = ||F^T F||^2`` and ``<F F^T, G> = tr(F^T G F)``, so
    the only ``N x N``-sized product is ``G F`` (one third of the direct method's work: the
    direct forward and backward each need ``N^2 T`` products). With a factor,
    ``G F = L (L^T F)`` and ``tr(F^T G F) = ||L^T F||^2`` cost ``2 N r T``; with ``M = [F, L]``
    the four products are two larger ones, ``M^T F`` and ``M [F^T F; L^T F]`` (scaled), which
    run faster. The algebra is exact.
    """
    n, t = features.shape[1], features.shape[2]
    t = max(t, 1)
    acc = accumulation_dtype(features.device)
    if gram_energy is None:
        gram_energy = squared_norm(target_gram)
    if t < n and factor is not None:
        # fp32 whatever ``dtype``: the loss is a small difference of large terms
        m = torch.cat([features, factor.to(features).expand(features.shape[0], -1, -1)], dim=2)
        products = m.transpose(1, 2) @ features  # (B, T + r, T): F^T F over L^T F
        small, projected = products[:, :t], products[:, t:]
        loss = (small.to(acc).pow(2).sum((1, 2)) / t**2
                - 2 * projected.to(acc).pow(2).sum((1, 2)) / t + gram_energy.to(acc))
        grad = m @ torch.cat([small * (4 / t**2), projected * (-4 / t)], dim=1)
    elif t < n:
        small = features.transpose(1, 2) @ features  # (B, T, T)
        gf = (target_gram.to(dtype) @ features.to(dtype)).float()  # (B, N, T)
        cross = (features.to(acc) * gf.to(acc)).sum((1, 2))
        loss = small.to(acc).pow(2).sum((1, 2)) / t**2 - 2 * cross / t + gram_energy.to(acc)
        grad = 4 / t**2 * (features @ small) - 4 / t * gf
    else:
        f = features.to(dtype)
        diff = (f @ f.transpose(1, 2)).float() / t - target_gram
        loss = diff.double().pow(2).sum((1, 2))
        grad = 4 / t * (diff.to(dtype) @ f).float()
    return loss.float().clamp_min(0.0), grad


def _fft_size(n: int) -> int:
    """A fast FFT length >= n (a power of two: ample for these sizes)."""
    return 1 << max(0, (n - 1).bit_length())


def _autocorrelation_spectrum(features: torch.Tensor, lags: int
                              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """``(A, spec, pairs, n)``: the per-lag means ``A (batch, N, lags)``, the real FFT of size
    ``n >= T + lags`` they came from and the frame pairs of each lag (``T - tau``)."""
    t = features.shape[-1]
    n = _fft_size(t + lags)
    f = features if features.dtype == torch.float64 else features.float()  # fp64: for checks
    spec = torch.fft.rfft(f, n=n)
    raw = torch.fft.irfft(spec.real.pow(2) + spec.imag.pow(2), n=n)[..., :lags]
    pairs = torch.arange(t, t - lags, -1, device=features.device, dtype=raw.dtype)
    return raw / pairs, spec, pairs, n


def lag_autocorrelation(features: torch.Tensor, lags: int) -> torch.Tensor:
    """Per-lag mean ``A[k, tau] = sum_t F_k(t) F_k(t + tau) / (T - tau)`` for ``tau < lags``.

    ``features (batch, N, T) -> (batch, N, lags)``; ``lags <= T``. Dividing each lag by its
    number of frame pairs makes it comparable across lengths (lag 0 is the Gram diagonal).
    Computed with one real FFT of size ``>= T + lags`` (no circular wrap-around)."""
    return _autocorrelation_spectrum(features, lags)[0]


def autocorrelation_loss(features: torch.Tensor, target: torch.Tensor,
                         reference_lags: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rhythm loss of Antognini, Hoffman & Weiss (2019): ``sum_{k,tau} (A_x - A_style)^2`` per
    chunk over the lags ``tau`` of :func:`lag_autocorrelation`, and its gradient.

    ``features (batch, N, T)``, ``target (N, L)`` (the style's per-lag means). The lags used are
    ``min(L, T // 2)`` so every lag has at least half the chunk's frames behind it. With
    ``reference_lags`` the sum is scaled by ``reference_lags / lags used`` (a mean over the lags
    used, times the full count): a short chunk or style, which has fewer lags, then gives the
    rhythm the same share of the objective as a long one.

    Gradient: with ``D[tau] = 2 (A_x - A_style)[tau] / (T - tau)``,
    ``dL/dF(s) = sum_tau D[tau] (F(s + tau) + F(s - tau))``: a correlation and a convolution
    of ``F`` with ``D``, both done with the same FFT.
    """
    t = features.shape[-1]
    lags = max(1, min(target.shape[-1], t // 2))
    autocorrelation, spec, pairs, n = _autocorrelation_spectrum(features, lags)
    diff = autocorrelation - target[..., :lags].to(autocorrelation)
    scale = 1.0 if reference_lags is None else reference_lags / lags
    loss = scale * diff.double().pow(2).sum((1, 2)).to(diff.dtype)
    d_spec = torch.fft.rfft(2 * scale * diff / pairs, n=n)
    # F(s + tau): correlation (conjugate); F(s - tau): convolution
    grad = torch.fft.irfft(spec * (d_spec.conj() + d_spec), n=n)[..., :t]
    return loss, grad


def content_loss(features: torch.Tensor, target: torch.Tensor,
                 weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight * sum((F - F_content)^2)`` per chunk, and its gradient."""
    diff = features - target
    return weight * diff.pow(2).sum((1, 2)), 2 * weight * diff


def envelope_loss(envelope: torch.Tensor, target: torch.Tensor, weight: float) -> torch.Tensor:
    """``weight * sum_bands mean_frames (E - E_content)^2`` per chunk: ``(batch, bands, T)`` ->
    ``(batch,)``. The mean over frames, unlike the classic content loss's sum, keeps its
    balance with the (frame-averaged) style loss the same at every chunk length."""
    return weight * (envelope - target).pow(2).sum(1).mean(-1)


@dataclass
class Objective:
    """The loss of a batch of chunks: style Gram loss (times ``style_weight``) plus
    ``content_weight`` times the content feature loss, plus ``autocorrelation_weight`` times
    the rhythm loss (off at 0: then nothing of it runs), summed over the network's widths;
    plus ``envelope_weight`` times the content's spectral envelope loss
    (:func:`envelope_loss` on the bands ``envelope_bands (bands, bins)``). The rhythm loss is
    taken relative to ``autocorrelation_lags`` lags when that is set (see
    :func:`autocorrelation_loss`), so its share does not shrink on short chunks.

    The content loss is a sum over frames and the style loss a mean, so with
    ``content_frames`` set the content loss is scaled by ``content_frames / frames``: every
    chunk length then keeps the balance that a chunk of ``content_frames`` frames has (the
    engine uses the classic 10 s clip, :attr:`neuralfx.settings.Settings.reference_frames`).

    ``content`` is ``(batch, bins, frames)`` log-magnitude or None (texture synthesis).
    ``__call__(x, index)`` returns ``(loss (b,), grad (b, bins, frames))`` for the chunks
    ``index`` (all when None), so a line search can re-evaluate some chunks only.
    """

    network: RandomNetwork
    style_grams: list[torch.Tensor]
    content: torch.Tensor | None
    content_weight: float
    style_weight: float = 1.0
    dtype: torch.dtype = torch.float32
    # rhythm loss: per width the style's per-lag autocorrelation (N, L), and its weight
    style_autocorrelations: list[torch.Tensor] | None = None
    autocorrelation_weight: float = 0.0
    # per width a factor ``L`` of the style Gram (``G = L L^T``) or None: only for speed
    style_factors: list[torch.Tensor | None] | None = None
    # content envelope loss: its weight and the band matrix (bands, bins)
    envelope_weight: float = 0.0
    envelope_bands: torch.Tensor | None = None
    # the rhythm loss's reference lag count (None: a plain sum over the lags a chunk has)
    autocorrelation_lags: int | None = None
    # the content loss's reference frame count (None: a plain sum over the chunk's frames)
    content_frames: int | None = None
    # bf16's rounded weights with fp32 products (see :meth:`exact`)
    exact_products: bool = False

    def __post_init__(self) -> None:
        if self.autocorrelation_weight > 0 and self.style_autocorrelations is None:
            raise ValueError("autocorrelation_weight > 0 needs style statistics with "
                             "autocorrelations (recompute them with this version)")
        # ||G||^2 is a constant of every evaluation
        self.gram_energies = [squared_norm(g) for g in self.style_grams]
        self.content_features = None
        if self.content is not None and self.content_weight > 0:
            with torch.no_grad():
                self.content_features = self.network.features(self.content, self.dtype)
        self.content_envelope = None
        if self.content is not None and self.envelope_weight > 0:
            if self.envelope_bands is None:
                raise ValueError("envelope_weight > 0 needs envelope_bands")
            self.content_envelope = band_envelope(self.content, self.envelope_bands)

    def exact(self) -> Objective | None:
        """This objective with fp32 products on the same bf16-rounded network, for
        :func:`lbfgs` to finish on; None where the products are already exact (not bf16).
        Its targets are this objective's: nothing is recomputed until it is called."""
        if self.dtype != torch.bfloat16 or self.exact_products:
            return None
        other = copy.copy(self)
        other.exact_products = True
        return other

    def __call__(self, x: torch.Tensor, index: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            features = self.network.features(x, self.dtype, self.exact_products)
        total = torch.zeros(x.shape[0], device=x.device)
        scale = 1.0 if self.content_frames is None else self.content_frames / x.shape[-1]
        products = torch.float32 if self.exact_products else self.dtype
        grads = []
        for i, f in enumerate(features):
            fd = f.detach()
            factor = None if self.style_factors is None else self.style_factors[i]
            loss, grad = style_loss(fd, self.style_grams[i], products, factor,
                                    self.gram_energies[i])
            total += self.style_weight * loss
            grad = self.style_weight * grad
            if self.content_features is not None:
                target = self.content_features[i]
                target = target if index is None else target[index]
                closs, cgrad = content_loss(fd, target, self.content_weight * scale)
                total += closs
                grad = grad + cgrad
            if self.autocorrelation_weight > 0:
                aloss, agrad = autocorrelation_loss(fd, self.style_autocorrelations[i],
                                                    self.autocorrelation_lags)
                total += self.autocorrelation_weight * aloss
                grad = grad + self.autocorrelation_weight * agrad
            grads.append(grad)
        outputs = list(features)
        if self.content_envelope is not None:
            target = self.content_envelope
            target = target if index is None else target[index]
            with torch.enable_grad():
                eloss = envelope_loss(band_envelope(x, self.envelope_bands), target,
                                      self.envelope_weight)
            total += eloss.detach()
            outputs.append(eloss.sum())
            grads.append(torch.ones((), device=x.device))
        torch.autograd.backward(outputs, grads)
        return total.detach(), x.grad.detach()


@dataclass
class WaveformObjective:
    """An :class:`Objective` as a function of waveform segments ``y (batch, samples)``: the
    loss of ``log1p(|STFT(y)|)`` (the frames that lie wholly inside the segment) and its
    gradient with respect to the samples.

    Optimising the waveform makes the spectrogram the loss was evaluated on the output's own:
    an optimised magnitude is generally not the magnitude of any signal, and Griffin-Lim's
    closest signal sits measurably further from the style (BENCHMARKS.md, Quality).
    """

    objective: Objective
    n_fft: int
    hop_length: int
    # (batch, samples), 1 where a sample may change: samples beyond the signal's ends are
    # silence in the output, so they stay silence here (their gradient is zeroed)
    free: torch.Tensor | None = None

    def exact(self) -> WaveformObjective | None:
        """As :meth:`Objective.exact`."""
        inner = self.objective.exact()
        return None if inner is None else WaveformObjective(inner, self.n_fft, self.hop_length,
                                                            self.free)

    def __call__(self, y: torch.Tensor, index: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        y = y.detach().requires_grad_(True)
        with torch.enable_grad():
            x = log_magnitude(stft_frames(y, self.n_fft, self.hop_length).abs())
        loss, grad = self.objective(x.detach(), index)
        torch.autograd.backward(x, grad)
        grad = y.grad.detach()
        if self.free is not None:
            grad = grad * (self.free if index is None else self.free[index])
        return loss, grad


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-chunk dot product ``(batch, ...) x (batch, ...) -> (batch,)``, without a temporary."""
    return torch.linalg.vecdot(a.flatten(1), b.flatten(1))


def lbfgs(loss_and_grad: LossAndGrad, x0: torch.Tensor, iterations: int,
          history: int = LBFGS_HISTORY,
          max_line_search: int = 20, on_iteration: IterationCallback | None = None,
          exact: LossAndGrad | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched L-BFGS: every chunk keeps its own curvature history, step length and line search
    (backtracking Armijo with quadratic interpolation), so it follows the path it would follow
    if optimised alone.

    Args:
        loss_and_grad: ``(x (b, ...), index) -> (loss (b,), grad (b, ...))``.
        x0: ``(batch, ...)`` starting point.
        iterations: number of L-BFGS iterations (as scipy's ``maxiter``).
        exact: a slower, exact ``loss_and_grad`` (fp32 products where ``loss_and_grad`` has
            bf16 ones). After ``EXACT_AFTER_STALLS`` steps in a row that do not lower the loss,
            the rest runs on it: bf16's rounding makes the loss noisy at the scale of late
            steps' decreases, and the line search then shrinks the step until it changes
            nothing, at up to ``max_line_search + 1`` evaluations a step.

    Returns:
        ``(x, loss)`` of the best points found.
    """
    x = x0.detach().clone()
    f, g = loss_and_grad(x, None)
    batch = x.shape[0]
    s_hist: list[torch.Tensor] = []
    y_hist: list[torch.Tensor] = []
    rho_hist: list[torch.Tensor] = []
    gamma = torch.ones(batch, device=x.device)
    fresh = torch.ones(batch, dtype=torch.bool, device=x.device)
    view = (batch,) + (1,) * (x.dim() - 1)
    stalls = 0
    for it in range(iterations):
        q = g.clone()
        alphas = []
        for s, y, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rho_hist)):
            a = rho * _dot(s, q)
            q.addcmul_(y, a.view(view), value=-1)
            alphas.append(a)
        r = gamma.view(view) * q
        for (s, y, rho), a in zip(zip(s_hist, y_hist, rho_hist), reversed(alphas)):
            b = rho * _dot(y, r)
            r.addcmul_(s, (a - b).view(view))
        d = -r
        gd = _dot(g, d)
        # not a descent direction (numerical trouble): fall back to steepest descent
        bad = ~(gd < 0)
        if bad.any():
            d[bad] = -g[bad]
            gd = _dot(g, d)
            fresh = fresh | bad
        gnorm1 = g.abs().flatten(1).sum(1).clamp_min(1e-30)
        t = torch.where(fresh, torch.clamp(1.0 / gnorm1, max=1.0), torch.ones_like(gnorm1))
        x_new = x + t.view(view) * d
        f_new, g_new = loss_and_grad(x_new, None)
        for _ in range(max_line_search):
            fail = ~(f_new <= f + 1e-4 * t * gd)
            if not fail.any():
                break
            idx = fail.nonzero().squeeze(1)
            # minimiser of the quadratic through f(0), f'(0) and f(t), kept in [0.1t, 0.5t]
            ti, gdi, df = t[idx], gd[idx], (f_new[idx] - f[idx])
            denom = 2 * (df - gdi * ti)
            t_q = torch.where(torch.isfinite(denom) & (denom > 0), -gdi * ti**2 / denom, 0.5 * ti)
            t[idx] = torch.minimum(torch.maximum(t_q, 0.1 * ti), 0.5 * ti)
            x_new[idx] = x[idx] + t[idx].view((-1,) + view[1:]) * d[idx]
            f_new[idx], g_new[idx] = loss_and_grad(x_new[idx], idx)
        stuck = ~(f_new <= f + 1e-4 * t * gd)
        if stuck.any():
            # no acceptable step: stay put and forget the history of those chunks
            x_new[stuck], f_new[stuck], g_new[stuck] = x[stuck], f[stuck], g[stuck]
            for rho in rho_hist:
                rho[stuck] = 0
        # no decrease (bf16's rounding hides it, or a step so short it changes nothing) for
        # a few steps in a row: go on without the noise
        stalls = stalls + 1 if (stuck | ~(f_new < f)).any() else 0
        if exact is not None and stalls >= EXACT_AFTER_STALLS:
            loss_and_grad, exact = exact, None
            f_new, g_new = loss_and_grad(x_new, None)
            f, g = torch.where(stuck, f_new, f), torch.where(stuck.view(view), g_new, g)
        s = x_new - x
        y = g_new - g
        sy = _dot(s, y)
        yy = _dot(y, y)
        ok = sy > 1e-10 * yy.clamp_min(1e-30)
        s_hist.append(s)
        y_hist.append(y)
        rho_hist.append(torch.where(ok, 1.0 / sy.clamp_min(1e-30), torch.zeros_like(sy)))
        gamma = torch.where(ok, sy / yy.clamp_min(1e-30), gamma)
        fresh = stuck
        if len(s_hist) > history:
            s_hist.pop(0), y_hist.pop(0), rho_hist.pop(0)
        x, f, g = x_new, f_new, g_new
        if on_iteration is not None:
            on_iteration(it + 1, f)
    return x, f


def adam(loss_and_grad: LossAndGrad, x0: torch.Tensor, iterations: int, learning_rate: float,
         on_iteration: IterationCallback | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam on the batch. It is element-wise, so chunks are independent by construction.
    Returns the best point seen per chunk."""
    x = x0.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=learning_rate)
    best_x = x.detach().clone()
    best_f = torch.full((x.shape[0],), float("inf"), device=x.device)
    for it in range(iterations):
        f, g = loss_and_grad(x.detach(), None)
        better = f < best_f
        best_f = torch.where(better, f, best_f)
        best_x[better] = x.detach()[better]
        opt.zero_grad()
        x.grad = g
        opt.step()
        if on_iteration is not None:
            on_iteration(it + 1, f)
    f, _ = loss_and_grad(x.detach(), None)
    better = f < best_f
    best_x[better] = x.detach()[better]
    return best_x, torch.where(better, f, best_f)


def optimise(objective: Objective, x0: torch.Tensor, optimizer: str, iterations: int,
             learning_rate: float = 0.05, on_iteration: IterationCallback | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``optimizer`` (``lbfgs`` or ``adam``) on a batch. Returns ``(x, loss per chunk)``.
    L-BFGS finishes on :meth:`Objective.exact` once bf16's noise stops its line search."""
    if iterations == 0:
        f, _ = objective(x0, None)
        return x0.detach().clone(), f
    if optimizer == "lbfgs":
        exact = getattr(objective, "exact", None)  # any loss_and_grad callable is accepted
        return lbfgs(objective, x0, iterations, on_iteration=on_iteration,
                     exact=exact() if exact is not None else None)
    if optimizer == "adam":
        return adam(objective, x0, iterations, learning_rate, on_iteration=on_iteration)
    raise ValueError(f"optimizer = {optimizer!r}: expected 'lbfgs' or 'adam'")


def bytes_per_chunk(n_bins: int, frames: int, n_filters: int, n_widths: int,
                    history: int = LBFGS_HISTORY) -> int:
    """Peak memory of one chunk in a batch: L-BFGS history and work vectors, the convolution's
    unfolded input, features, their gradients and the ``G F`` products. Calibrated on the
    classic network (BENCHMARKS.md, peak memory): about 190 MB per 10 s chunk with 20 pairs."""
    spec = n_bins * frames * (2 * history + 16)
    feats = n_widths * n_filters * frames * 12
    return 4 * (spec + feats)
