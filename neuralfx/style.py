"""Style statistics: Gram matrices of a whole style signal, computed in pieces and cached on disk
(and in memory by a :class:`StatisticsCache`).

The cache lives in the user cache folder (``platformdirs``), or in ``$NEURALFX_CACHE_DIR``; set
``NEURALFX_CACHE_DIR=off`` to disable it. Entries are keyed by a hash of the audio samples and of
every parameter the statistics depend on, so one style in a batch is analysed once.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import torch

from .atomic import atomic_path
from .device import compute_dtype, resolve_device
from .network import GramAccumulator, RandomNetwork, random_network
from .settings import Settings
from .spectral import frame_slice_spectrogram, n_frames

# 2: entries carry the per-lag feature autocorrelations; 3: Gram factors; 4: the spectrum's
# per-bin mean and standard deviation; 5: low-rank factors of long styles' Grams
CACHE_FORMAT = 5
# Relative error (Frobenius) of a long style's low-rank Gram factor. A classic render ends
# about 2e-2 from the style's Gram, so 1e-3 moves the loss by about 0.2%; on real music the
# held-out distance stayed within 0.3% of the full Gram's, same seeds, and renders with a
# 200 s style took 0.8x the time (BENCHMARKS.md, "Long styles and long files")
GRAM_FACTOR_TOLERANCE = 1e-3
# Longest lag of the rhythm (autocorrelation) statistics: a few seconds holds a bar of music at
# most tempos, so the loss can keep beats and bars, which the 0.25 s classic network cannot see.
AUTOCORRELATION_SECONDS = 3.0
STATISTICS_KEYS = ("sample_rate", "n_fft", "hop_length", "n_filters", "kernel_sizes", "seed")


@dataclass
class StyleStatistics:
    """Per kernel width, the Gram matrix ``(N, N)`` of the style's features, normalised by the
    style's frame count; and that frame count. ``autocorrelations``, when present: per width
    ``(N, L)``, ``A[k, tau]`` = mean over the style's frame pairs ``tau`` apart of
    ``F_k(t) F_k(t + tau)`` (the rhythm statistics of the autocorrelation loss).
    ``factors``, when present: per width ``L (N, r)`` with ``G = L L^T`` (the style's scaled
    features for styles of at most ``N / 8`` frames; for longer styles the Gram's top
    eigenpairs, within :data:`GRAM_FACTOR_TOLERANCE`), which make the loss cheaper, or None
    for that width (a rank of ``N / 2`` or more would not). ``spectrum_mean`` and
    ``spectrum_std``, when present: ``(bins,)``, the style's log-magnitude per frequency bin
    over all its frames (the start of ``init = "style"``)."""

    grams: list[torch.Tensor]
    frames: int
    autocorrelations: list[torch.Tensor] | None = None
    factors: list[torch.Tensor | None] | None = None
    spectrum_mean: torch.Tensor | None = None
    spectrum_std: torch.Tensor | None = None

    def to(self, device: torch.device) -> StyleStatistics:
        auto = (None if self.autocorrelations is None
                else [a.to(device) for a in self.autocorrelations])
        factors = (None if self.factors is None
                   else [None if f is None else f.to(device) for f in self.factors])
        mean, std = (None if t is None else t.to(device)
                     for t in (self.spectrum_mean, self.spectrum_std))
        return StyleStatistics([g.to(device) for g in self.grams], self.frames, auto, factors,
                               mean, std)


def network_for(settings: Settings) -> RandomNetwork:
    return random_network(settings.n_bins, settings.n_filters, settings.kernel_sizes,
                          settings.seed)


def autocorrelation_lags(settings: Settings) -> int:
    """Number of lags (0 included) of the rhythm statistics: up to AUTOCORRELATION_SECONDS."""
    return round(AUTOCORRELATION_SECONDS * settings.sample_rate / settings.hop_length) + 1


def compute_style_statistics(audio: torch.Tensor, settings: Settings,
                             device: torch.device | str = "cpu", dtype=torch.float32,
                             piece_frames: int = 1024) -> StyleStatistics:
    """Gram and autocorrelation statistics of a mono style signal ``(samples,)`` at the analysis
    rate.

    The signal is analysed ``piece_frames`` at a time (the pieces overlap by the receptive
    field so every valid feature frame is counted once, and each piece looks ahead by the
    longest lag so every frame pair is counted once): memory is bounded by the piece.
    """
    audio = audio.reshape(-1)
    total = n_frames(audio.shape[-1], settings.hop_length)
    if audio.shape[-1] == 0 or total < settings.receptive_field:
        needed = (settings.receptive_field - 1) * settings.hop_length / settings.sample_rate
        raise ValueError(
            f"the style is {audio.shape[-1] / settings.sample_rate:.3f} s long; the network "
            f"needs at least {needed:.3f} s (kernel_sizes = {list(settings.kernel_sizes)} "
            f"frames of hop {settings.hop_length} at {settings.sample_rate} Hz)")
    network = network_for(settings)
    # A factor of rank r makes G F cost 2 N r T instead of N^2 T. A short style's features are
    # an exact one; a longer style gets its Gram's top eigenpairs (an eigendecomposition,
    # seconds once per style, is worth it from about 12 s of style at 4096 filters)
    acc = GramAccumulator(max_factor_frames=settings.n_filters // 8,
                          factor_tolerance=GRAM_FACTOR_TOLERANCE)
    span = settings.receptive_field - 1
    # lags per width: at most half that width's feature frames, as the loss uses on a chunk
    lags = [max(1, min(autocorrelation_lags(settings), (total - k + 1) // 2))
            for k in settings.kernel_sizes]
    auto = AutocorrelationAccumulator(lags)
    spectrum = torch.zeros(2, settings.n_bins, dtype=torch.float64)  # per-bin sum, sum of squares
    with torch.no_grad():
        for start in range(0, total - span, piece_frames):
            last = start + piece_frames >= total - span
            stop = total if last else min(start + piece_frames + span + max(lags), total)
            spec = frame_slice_spectrogram(audio.to(device), start, stop, settings.n_fft,
                                           settings.hop_length)
            owned = spec[:, :stop - start if last else piece_frames].double().cpu()
            spectrum += torch.stack([owned.sum(-1), owned.pow(2).sum(-1)])
            full = network.features(spec[None], dtype)
            # wider kernels see frames the widest does not: keep each width's valid frames of
            # this piece only (frames whose window starts in [start, start + piece_frames))
            limit = min(piece_frames, total - span - start)
            feats = [f[..., :limit + (settings.receptive_field - k)] if last
                     else f[..., :limit] for f, k in zip(full, settings.kernel_sizes)]
            acc.add(feats)
            auto.add(feats, full)
    mean = spectrum[0] / total
    std = (spectrum[1] / total - mean.pow(2)).clamp_min(0).sqrt()
    return StyleStatistics(acc.grams(), total, auto.autocorrelations(), acc.factors(),
                           mean.float(), std.float())


class AutocorrelationAccumulator:
    """Sums ``F(t) F(t + tau)`` and pair counts over pieces: per width, the frames a piece owns
    are correlated with the piece's frames plus a look-ahead of the longest lag."""

    def __init__(self, lags: list[int]) -> None:
        self.lags = lags
        self.sums: list[torch.Tensor | None] = [None] * len(lags)
        self.pairs = [torch.zeros(n, dtype=torch.float64) for n in lags]

    def add(self, owned: list[torch.Tensor], full: list[torch.Tensor]) -> None:
        """``owned[i] (1, N, n)`` are the first ``n`` frames of ``full[i] (1, N, m)``."""
        for i, (own, f) in enumerate(zip(owned, full)):
            n, m, lags = own.shape[-1], f.shape[-1], self.lags[i]
            size = 1 << (m + lags - 1).bit_length()  # >= m + lags - 1: no wrap-around
            a = torch.fft.rfft(own[0].float(), n=size)
            b = torch.fft.rfft(f[0].float(), n=size)
            # sum_t own(t) f(t + tau): t < n, t + tau < m (beyond is zero padding)
            s = torch.fft.irfft(a.conj() * b, n=size)[:, :lags].double()
            self.sums[i] = s if self.sums[i] is None else self.sums[i] + s
            tau = torch.arange(lags, dtype=torch.float64)
            self.pairs[i] += (torch.clamp(m - tau, max=n)).clamp_min(0)

    def autocorrelations(self) -> list[torch.Tensor]:
        return [(s / p.clamp_min(1).to(s.device)).float() for s, p in zip(self.sums, self.pairs)]


def cache_dir() -> Path | None:
    env = os.environ.get("NEURALFX_CACHE_DIR")
    if env == "off":
        return None
    return Path(env) if env else Path(platformdirs.user_cache_dir("neuralfx")) / "style"


def cache_key(audio: torch.Tensor, settings: Settings,
              dtype: torch.dtype = torch.float32) -> str:
    h = hashlib.sha256()
    h.update(audio.detach().reshape(-1).float().cpu().contiguous().numpy().tobytes())
    params = {k: getattr(settings, k) for k in STATISTICS_KEYS}
    params["kernel_sizes"] = list(params["kernel_sizes"])
    params["format"] = CACHE_FORMAT
    if dtype != torch.float32:  # bf16 statistics differ in rounding: never served to fp32
        params["dtype"] = str(dtype)
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def style_statistics(audio: torch.Tensor, settings: Settings,
                     device: torch.device | str = "cpu", dtype=torch.float32
                     ) -> StyleStatistics:
    """:func:`compute_style_statistics`, through the disk cache."""
    folder = cache_dir()
    path = folder / f"{cache_key(audio, settings, dtype)}.pt" if folder else None
    if path is not None and path.exists():
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
            return StyleStatistics(list(data["grams"]), int(data["frames"]),
                                   list(data["autocorrelations"]), list(data["factors"]),
                                   data["spectrum_mean"], data["spectrum_std"]).to(device)
        except Exception:  # a damaged entry is recomputed, never trusted
            path.unlink(missing_ok=True)
    stats = compute_style_statistics(audio, settings, device, dtype)
    if path is not None:
        try:
            _atomic_save({"grams": [g.cpu() for g in stats.grams], "frames": stats.frames,
                          "autocorrelations": [a.cpu() for a in stats.autocorrelations],
                          "factors": [None if f is None else f.cpu() for f in stats.factors],
                          "spectrum_mean": stats.spectrum_mean.cpu(),
                          "spectrum_std": stats.spectrum_std.cpu()},
                         path)
        except OSError:
            pass  # a read-only or full cache folder must not fail the render
    return stats


def statistics_for(audio: torch.Tensor, settings: Settings) -> StyleStatistics:
    """:func:`style_statistics` of a mono style ``(samples,)`` at the analysis rate, on the
    settings' device and in their precision (what a render of ``settings`` runs on)."""
    device = resolve_device(settings.device)
    return style_statistics(audio, settings, device,
                            compute_dtype(settings.precision, device, settings.is_texture))


class StatisticsCache:
    """One style's statistics, kept in memory for the settings last asked for.

    Keyed by the style audio's identity (the object itself is held, so its id stays its own)
    and by the statistics' parameters and precision. Thread-safe: overlapping calls for the
    same key compute once, the others wait for that result.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[object, tuple, StyleStatistics] | None = None

    @staticmethod
    def key(settings: Settings) -> tuple:
        return (*(getattr(settings, k) for k in STATISTICS_KEYS), settings.precision)

    def get(self, style: object, settings: Settings,
            compute: Callable[[], StyleStatistics]) -> StyleStatistics:
        """The statistics of ``style`` for ``settings``: kept ones, else ``compute()``'s."""
        key = self.key(settings)
        with self._lock:
            if self._entry is not None and self._entry[0] is style and self._entry[1] == key:
                return self._entry[2]
            stats = compute()
            self._entry = (style, key, stats)
            return stats

    def put(self, style: object, settings: Settings, stats: StyleStatistics) -> None:
        """Keep ``stats`` as the statistics of ``style`` for ``settings``."""
        with self._lock:
            self._entry = (style, self.key(settings), stats)

    def clear(self) -> None:
        with self._lock:
            self._entry = None


def _atomic_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
