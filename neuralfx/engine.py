"""The synthesis engine: mono or multichannel signals at the analysis rate in, signals out.

Pure tensors, no files: content ``(channels, samples)`` -> chunk plan -> batches of chunks ->
log-magnitude optimisation -> magnitudes joined across chunks -> block Griffin-Lim ->
``(channels, samples)`` of exactly the input's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .chunking import MagnitudeJoiner, plan_chunks
from .device import compute_dtype, configure_matmul, resolve_device
from .reconstruction import BlockGriffinLim
from .settings import Settings
from .spectral import frame_slice_spectrogram, magnitude_from_log, n_frames
from .style import StyleStatistics, network_for
from .synthesis import Objective, bytes_per_chunk, optimise

INIT_NOISE_STD = 1e-3  # the reference implementations' starting noise


@dataclass(frozen=True)
class Progress:
    """Reported during a render. ``stage`` is ``"optimise"`` (with ``iteration`` of
    ``iterations`` for the current batch) or ``"reconstruct"``. Chunks count one per channel."""

    stage: str
    chunks_done: int
    chunks_total: int
    iteration: int = 0
    iterations: int = 0


ProgressCallback = Callable[[Progress], None]


def memory_budget_bytes(settings: Settings, device: torch.device) -> int:
    if settings.memory_budget_mb:
        return settings.memory_budget_mb * 2**20
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    return 2 * 2**30


def batch_size(settings: Settings, frames: int, device: torch.device) -> int:
    """Chunks per batch: as many as the memory budget holds, at least one."""
    per_chunk = bytes_per_chunk(settings.n_bins, frames, settings.n_filters,
                                len(settings.kernel_sizes))
    return max(1, memory_budget_bytes(settings, device) // per_chunk)


def chunk_noise(settings: Settings, chunk: int, frames: int) -> torch.Tensor:
    """Starting noise of chunk ``chunk`` ``(bins, frames)``: drawn on the CPU from a generator
    seeded by the seed and the chunk index alone, so it does not depend on batching, device or
    channel (identical channels stay identical)."""
    g = torch.Generator().manual_seed((settings.seed * 1_000_003 + chunk) % 2**63)
    return torch.randn(settings.n_bins, frames, generator=g) * INIT_NOISE_STD


def render(content: torch.Tensor | None, style: StyleStatistics, settings: Settings, *,
           n_samples: int | None = None, channels: int = 1,
           progress: ProgressCallback | None = None) -> torch.Tensor:
    """Style transfer of ``content (channels, samples)`` towards ``style``, or, with
    ``content=None``, a texture of ``channels x n_samples``.

    Every channel is optimised as its own problem (chunks of all channels batch together) and
    reconstructed with one phase shared by all channels.

    Returns:
        ``(channels, samples)`` float32 on the CPU, same length as the content.
    """
    if content is not None:
        content = content.float().cpu()
        channels, n_samples = (1, content.shape[-1]) if content.dim() == 1 else content.shape
        content = content.reshape(channels, n_samples)
    if n_samples is None:
        raise ValueError("n_samples is needed when there is no content")
    if settings.init == "content" and content is None:
        raise ValueError("init = 'content' needs a content signal")
    if n_samples == 0:
        return torch.zeros(channels, 0)
    device = resolve_device(settings.device)
    dtype = compute_dtype(settings.precision, device)
    configure_matmul(settings.precision)
    hop, n_fft = settings.hop_length, settings.n_fft
    total = n_frames(n_samples, hop)
    # The signal's first and last frames are seen by fewer network windows than inner frames
    # and would stay under-constrained (an audible fade at both ends), so the optimised
    # spectrogram extends `edge` frames beyond the signal (silent content there); they are
    # cropped before reconstruction.
    edge = settings.receptive_field - 1
    plan = plan_chunks(total + 2 * edge, settings.chunk_frames, settings.overlap_frames,
                       settings.receptive_field)
    network = network_for(settings)
    grams = [g.to(device) for g in style.grams]
    items = [(i, c) for i in range(len(plan)) for c in range(channels)]
    size = batch_size(settings, plan.length, device)
    joiner = MagnitudeJoiner(plan, channels, settings.n_bins)
    phase_source = None
    if content is not None:
        def phase_source(start: int, stop: int) -> torch.Tensor:
            spec = frame_slice_spectrogram(content, start, stop, n_fft, hop, complex_out=True)
            return torch.angle(spec.sum(0, keepdim=True))
    recon = BlockGriffinLim(n_samples, channels, n_fft, hop, settings.griffin_lim_iterations,
                            settings.griffin_lim_momentum, settings.phase_init, settings.seed,
                            device, phase_source)
    finished: dict[int, dict[int, torch.Tensor]] = {}
    for b0 in range(0, len(items), size):
        batch = items[b0:b0 + size]
        content_spec = None
        if content is not None:
            content_spec = torch.stack([
                frame_slice_spectrogram(content[c], plan.starts[i] - edge, plan.stop(i) - edge,
                                        n_fft, hop)
                for i, c in batch]).to(device)
        x0 = torch.stack([chunk_noise(settings, i, plan.length) for i, _ in batch]).to(device)
        if settings.init == "content":
            x0 = x0 + content_spec
        autos = (None if style.autocorrelations is None
                 else [a.to(device) for a in style.autocorrelations])
        objective = Objective(network, grams, content_spec, settings.content_weight,
                              settings.style_weight, dtype, autos,
                              settings.autocorrelation_weight)

        def report(iteration: int, _loss: torch.Tensor, done: int = b0) -> None:
            if progress is not None:
                progress(Progress("optimise", done, len(items), iteration, settings.iterations))

        x, _ = optimise(objective, x0, settings.optimizer, settings.iterations,
                        settings.learning_rate, on_iteration=report)
        magnitudes = magnitude_from_log(x.detach()).cpu()
        for (i, c), m in zip(batch, magnitudes):
            finished.setdefault(i, {})[c] = m
            if len(finished[i]) == channels:
                per_channel = finished.pop(i)
                joiner.add(i, torch.stack([per_channel[k] for k in range(channels)]))
        ready = joiner.pop_ready()
        if ready is not None:
            # ready covers plan frames [end - n, end); keep those inside the signal
            end = joiner.pending_start
            lo, hi = max(end - ready.shape[-1], edge), min(end, edge + total)
            if hi > lo:
                recon.push(ready[..., lo - (end - ready.shape[-1]):hi - (end - ready.shape[-1])],
                           last=hi == edge + total)
        if progress is not None:
            progress(Progress("reconstruct", b0 + len(batch), len(items)))
    return recon.out
