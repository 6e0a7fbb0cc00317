"""The original notebook pipeline (Ulyanov & Lebedev 2016), re-implemented literally.

This is the reference neuralfx is measured against. It does what the public
TensorFlow notebook does, with the numbers of ``shared/SEED_METHOD.md``:

- librosa STFT (n_fft 2048, hop 512, Hann, centred), ``S = log1p(|STFT|)``;
- one random 1-D conv layer + ReLU: the SAME weights as neuralfx
  (``neuralfx.network.random_network`` with the same seed), so losses are comparable;
- style Gram computed the direct way, ``G = F F^T / T'``, from the style's whole spectrogram;
- loss ``sum((G_x - G_style)^2) + content_weight * sum((F_x - F_content)^2)``, fp32, gradient
  by autograd (as the notebook's ``tf.gradients``);
- scipy L-BFGS-B (``scipy.optimize.minimize``, ``maxiter`` 300, scipy's defaults otherwise, as
  ``ScipyOptimizerInterface``) from Gaussian noise of std 1e-3;
- magnitude ``exp(x) - 1``; 500 plain Griffin-Lim iterations from uniform random phase with
  librosa's STFT/ISTFT.

Everything is mono at 22050 Hz. Arrays are numpy; spectrograms are ``(bins, frames)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import librosa
import numpy as np
import scipy.optimize
import torch

from neuralfx.network import random_network

N_FFT = 2048
HOP = 512
N_FILTERS = 4096
KERNEL = 11
CONTENT_WEIGHT = 0.01
MAXITER = 300
GRIFFIN_LIM_ITERATIONS = 500
INIT_STD = 1e-3


def log_spectrogram(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """``(samples,) -> (bins, frames)`` float32 ``log1p(|STFT|)`` with librosa's centred STFT."""
    spec = librosa.stft(np.asarray(audio, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    return np.log1p(np.abs(spec)).astype(np.float32)


class ClassicLoss:
    """The notebook's loss and gradient, fp32, direct Gram. ``weight (N, bins, width)``.

    ``__call__(x (bins, frames) float64) -> (loss float, grad float64 (bins, frames))`` is what
    scipy wants; :meth:`loss` gives the fp32 loss of a tensor (used to compare final losses).
    """

    def __init__(self, weight: torch.Tensor, style_spec: np.ndarray,
                 content_spec: np.ndarray | None, content_weight: float = CONTENT_WEIGHT):
        self.weight = weight.float()
        self.content_weight = content_weight
        with torch.no_grad():
            fs = self.features(torch.from_numpy(style_spec))
            self.style_gram = fs @ fs.T / fs.shape[1]
            self.content_features = (None if content_spec is None or content_weight == 0
                                     else self.features(torch.from_numpy(content_spec)))
        self.evaluations = 0
        self.history: list[float] = []

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(bins, frames) -> (N, frames - width + 1)`` after the ReLU."""
        return torch.relu(torch.nn.functional.conv1d(x.float()[None], self.weight))[0]

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        g = f @ f.T / f.shape[1]
        total = (g - self.style_gram).pow(2).sum()
        if self.content_features is not None:
            total = total + self.content_weight * (f - self.content_features).pow(2).sum()
        return total

    def __call__(self, flat: np.ndarray, shape: tuple[int, int]) -> tuple[float, np.ndarray]:
        x = torch.from_numpy(flat.reshape(shape).astype(np.float32)).requires_grad_(True)
        loss = self.loss(x)
        loss.backward()
        self.evaluations += 1
        self.history.append(float(loss.detach()))
        if self.evaluations % 25 == 0:
            print(f"  baseline evaluation {self.evaluations}: loss {float(loss.detach()):.6g}",
                  flush=True)
        return float(loss.detach()), x.grad.double().numpy().ravel()


def lbfgs(loss: ClassicLoss, shape: tuple[int, int], maxiter: int = MAXITER,
          seed: int = 0) -> tuple[np.ndarray, float]:
    """scipy L-BFGS-B from noise of std 1e-3. Returns ``(x (bins, frames) float32, loss)``."""
    x0 = np.random.default_rng(seed).standard_normal(shape) * INIT_STD
    result = scipy.optimize.minimize(loss, x0.ravel(), args=(shape,), jac=True,
                                     method="L-BFGS-B", options={"maxiter": maxiter})
    return result.x.reshape(shape).astype(np.float32), float(result.fun)


def griffin_lim(magnitude: np.ndarray, length: int, iterations: int = GRIFFIN_LIM_ITERATIONS,
                n_fft: int = N_FFT, hop: int = HOP, seed: int = 0) -> np.ndarray:
    """The notebook's loop: random phase, then ``y = istft(M e^{ip}); p = angle(stft(y))``.
    ``(bins, frames) -> (length,)``."""
    p = 2 * np.pi * np.random.default_rng(seed).random(magnitude.shape) - np.pi
    for _ in range(iterations):
        y = librosa.istft(magnitude * np.exp(1j * p), hop_length=hop, n_fft=n_fft,
                          length=length)
        p = np.angle(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    return librosa.istft(magnitude * np.exp(1j * p), hop_length=hop, n_fft=n_fft,
                         length=length).astype(np.float32)


def spectral_convergence(audio: np.ndarray, magnitude: np.ndarray, n_fft: int = N_FFT,
                         hop: int = HOP) -> float:
    """``|| |STFT(y)| - M ||_F / ||M||_F`` with librosa's STFT."""
    rebuilt = np.abs(librosa.stft(np.asarray(audio, dtype=np.float32), n_fft=n_fft,
                                  hop_length=hop))
    t = min(rebuilt.shape[1], magnitude.shape[1])
    num = np.linalg.norm(rebuilt[:, :t] - magnitude[:, :t])
    return float(num / max(np.linalg.norm(magnitude[:, :t]), 1e-30))


@dataclass
class BaselineResult:
    audio: np.ndarray  # (samples,)
    x: np.ndarray  # optimised log-magnitude (bins, frames)
    loss: float  # scipy's final loss
    evaluations: int  # loss + gradient evaluations
    # wall seconds per stage and "total"; "<stage>_cpu": process CPU seconds
    times: dict[str, float] = field(default_factory=dict)
    history: list[float] = field(default_factory=list)  # loss at every evaluation


def run(content: np.ndarray | None, style: np.ndarray, *, n_samples: int | None = None,
        seed: int = 0, n_filters: int = N_FILTERS, kernel: int = KERNEL,
        content_weight: float = CONTENT_WEIGHT, maxiter: int = MAXITER,
        griffin_lim_iterations: int = GRIFFIN_LIM_ITERATIONS) -> BaselineResult:
    """The whole pipeline: mono 22050 Hz arrays in, the output ``(samples,)`` out.

    ``content=None`` is texture synthesis of ``n_samples`` samples. The network is neuralfx's
    ``random_network(1025, n_filters, (kernel,), seed)``.
    """
    times: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    weight = random_network(N_FFT // 2 + 1, n_filters, (kernel,), seed).weights[0]
    style_spec = log_spectrogram(style)
    content_spec = None if content is None else log_spectrogram(content)
    n = len(content) if content is not None else int(n_samples)
    frames = n // HOP + 1
    loss = ClassicLoss(weight, style_spec, content_spec, content_weight)
    t1, c1 = time.perf_counter(), time.process_time()
    times["analysis"], times["analysis_cpu"] = t1 - t0, c1 - c0
    x, final = lbfgs(loss, (N_FFT // 2 + 1, frames), maxiter, seed)
    t2, c2 = time.perf_counter(), time.process_time()
    times["optimise"], times["optimise_cpu"] = t2 - t1, c2 - c1
    magnitude = np.exp(x) - 1
    audio = griffin_lim(magnitude, n, griffin_lim_iterations, seed=seed)
    t3, c3 = time.perf_counter(), time.process_time()
    times["griffin_lim"], times["griffin_lim_cpu"] = t3 - t2, c3 - c2
    times["total"], times["total_cpu"] = t3 - t0, c3 - c0
    return BaselineResult(audio, x, final, loss.evaluations, times, list(loss.history))
