"""The synthesis engine: mono or multichannel signals at the analysis rate in, signals out.

Pure tensors, no files: content ``(channels, samples)`` -> chunk plan -> groups of chunks ->
log-magnitude optimisation -> magnitudes joined across chunks -> block Griffin-Lim ->
``(channels, samples)`` of exactly the input's length. With ``waveform_iterations > 0`` a second
pass then optimises each chunk's stretch of that waveform on the same loss, overlapping
stretches in turns (:func:`neuralfx.chunking.refinement_rounds`); each chunk writes the samples
it owns, and a later turn's chunk is optimised around the samples earlier turns wrote.

Channels: each channel is optimised as its own problem (the content's stereo image is kept) and
all channels are reconstructed by Griffin-Lim with ONE shared phase (no channel-to-channel
phase smear; the waveform pass barely moves the image, BENCHMARKS.md, Quality).
:func:`render_signals` is the effect's entry: whole signals, identical channels rendered once,
silent channels skipped, a texture mono on every channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .audio import unique_channels
from .chunking import (
    ChunkPlan,
    MagnitudeJoiner,
    free_samples,
    owned_samples,
    plan_chunks,
    refinement_rounds,
)
from .device import compute_dtype, matmul_precision, resolve_device
from .reconstruction import BlockGriffinLim
from .settings import Settings
from .spectral import (
    frame_slice_spectrogram,
    frame_span,
    magnitude_from_log,
    mel_bands,
    n_frames,
    padded_slice,
)
from .style import StyleStatistics, autocorrelation_lags, network_for
from .synthesis import Objective, WaveformObjective, bytes_per_chunk, lbfgs, optimise

INIT_NOISE_STD = 1e-3  # the reference implementations' starting noise
# Mel bands of the content envelope loss (envelope_weight): fine enough to hold a chord's
# partials in the low octaves, coarse enough above to leave the detail to the style. 128 kept
# more content than 64 for the same style distance (BENCHMARKS.md, "The content envelope")
ENVELOPE_BANDS = 128


@dataclass(frozen=True)
class Progress:
    """Reported during a render. ``stage`` is ``"optimise"`` or ``"refine"`` (the waveform
    pass), with ``iteration`` of ``iterations`` for the current group, or ``"reconstruct"``.
    Chunks count one per channel, and twice when the waveform is refined (once per pass)."""

    stage: str
    chunks_done: int
    chunks_total: int
    iteration: int = 0
    iterations: int = 0


ProgressCallback = Callable[[Progress], None]


# A CPU group's budget by default: beyond about four classic chunks a group runs slower per
# frame, not faster (a 60 s render, 7 chunks: all in one group 146 s, 4 + 3 119 s; BENCHMARKS.md,
# "Long styles and long files"), and a larger budget only raises the peak memory
CPU_GROUP_BUDGET = 768 * 2**20


def memory_budget_bytes(settings: Settings, device: torch.device) -> int:
    if settings.memory_budget_mb:
        return settings.memory_budget_mb * 2**20
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    return CPU_GROUP_BUDGET


def group_size(settings: Settings, frames: int, device: torch.device) -> int:
    """Chunks per group: as many as the memory budget holds, at least one."""
    per_chunk = bytes_per_chunk(settings.n_bins, frames, settings.n_filters,
                                len(settings.kernel_sizes))
    return max(1, memory_budget_bytes(settings, device) // per_chunk)


def signal_plan(settings: Settings, frames: int) -> ChunkPlan:
    """The chunk plan of a signal of ``frames`` STFT frames, in plan frames: the signal plus
    ``settings.edge_frames`` at each end. ``chunk_seconds`` counts signal frames, so a signal
    that fits in one chunk is one chunk, edges included."""
    edge = settings.edge_frames
    return plan_chunks(frames + 2 * edge, settings.chunk_frames + 2 * edge,
                       settings.overlap_frames, settings.receptive_field)


def chunk_noise(settings: Settings, chunk: int, frames: int) -> torch.Tensor:
    """Starting noise of chunk ``chunk`` ``(bins, frames)``: drawn on the CPU from a generator
    seeded by the seed and the chunk index alone, so it does not depend on grouping, device or
    channel (identical channels stay identical)."""
    g = torch.Generator().manual_seed((settings.seed * 1_000_003 + chunk) % 2**63)
    return torch.randn(settings.n_bins, frames, generator=g) * INIT_NOISE_STD


def render(content: torch.Tensor | None, style: StyleStatistics, settings: Settings, *,
           n_samples: int | None = None, channels: int = 1,
           progress: ProgressCallback | None = None,
           runner: GroupRunner | None = None) -> torch.Tensor:
    """Style transfer of ``content (channels, samples)`` towards ``style``, or, with
    ``content=None``, a texture of ``channels x n_samples``.

    Every channel is optimised as its own problem (chunks of all channels group together) and
    reconstructed with one phase shared by all channels.

    ``runner`` (a :class:`GroupRunner`) optimises the groups of chunks elsewhere, e.g. on Ray
    workers; the plan, the join and the reconstruction stay here.

    Returns:
        ``(channels, samples)`` float32 on the CPU, same length as the content.
    """
    return render_many([content], style, settings, n_samples=[n_samples],
                       channels=[channels], progress=progress, runner=runner)[0]


def render_many(contents: list[torch.Tensor | None], style: StyleStatistics,
                settings: Settings, *, n_samples: list[int | None] | None = None,
                channels: list[int] | None = None,
                progress: ProgressCallback | None = None,
                runner: GroupRunner | None = None) -> list[torch.Tensor]:
    """:func:`render` for several signals with one style: chunks of all signals fill the same
    groups (what keeps a GPU busy when a folder holds many short files). Each signal's result
    is the one :func:`render` gives it alone. ``contents`` are all signals, or all None for
    textures of ``n_samples[k] x channels[k]``."""
    count = len(contents)
    textures = sum(c is None for c in contents)
    if 0 < textures < count:
        raise ValueError("render_many takes all contents or all None (textures), not a mix")
    n_samples = n_samples or [None] * count
    channels = channels or [1] * count
    with matmul_precision(settings.precision):
        return _render_many(contents, textures > 0, style, settings, n_samples, channels,
                            progress, runner)


def render_signals(signals: list[np.ndarray], style: StyleStatistics, settings: Settings, *,
                   progress: ProgressCallback | None = None,
                   runner: GroupRunner | None = None) -> list[np.ndarray]:
    """The effect of ``settings`` on whole signals ``(channels, samples)`` float32 at the
    analysis rate: ``(channels, samples)`` float32 each, unlevelled. One :func:`render_many`
    call for all of them (their chunks share groups).

    Style transfer renders each distinct channel once and copies it (L == R in gives L == R
    out exactly); a silent channel is not rendered and stays silent. A texture is rendered
    mono, one per signal, and repeated to every channel (a centred image: a texture has no
    content to follow).

    Raises:
        RuntimeError: the optimisation diverged (NaN or infinite samples).
    """
    if settings.is_texture:
        monos = render_many([None] * len(signals), style, settings,
                            n_samples=[x.shape[-1] for x in signals], progress=progress,
                            runner=runner)
        wets = [np.repeat(m.numpy(), x.shape[0], axis=0) for m, x in zip(monos, signals)]
    else:
        jobs = []
        for x in signals:
            unique, index = unique_channels(x)
            sounding = [k for k, c in enumerate(unique) if np.any(x[c])]
            jobs.append((unique, index, sounding))
        contents = [torch.from_numpy(x[[unique[k] for k in sounding]])
                    for x, (unique, _, sounding) in zip(signals, jobs) if sounding]
        rendered = iter(render_many(contents, style, settings, progress=progress,
                                    runner=runner) if contents else [])
        wets = []
        for x, (unique, index, sounding) in zip(signals, jobs):
            wet = np.zeros((len(unique), x.shape[-1]), np.float32)
            if sounding:
                wet[sounding] = next(rendered).numpy()
            wets.append(wet[index])
    for wet in wets:
        if not np.all(np.isfinite(wet)):
            raise RuntimeError("the engine produced NaN or infinite samples (the optimisation "
                               "diverged); try the defaults for learning_rate / optimizer")
    return wets


@dataclass(frozen=True)
class ChunkGroup:
    """Chunks to optimise together: everything the optimisation needs besides the style and the
    settings, as plain tensors (picklable; nothing about files or signals).

    ``chunks`` are the chunks' indices in their signals' plans (they seed each chunk's starting
    noise, :func:`chunk_noise`), ``length`` their frames, ``content`` their log-magnitude
    content spectrograms ``(n, bins, length)`` (None for textures)."""

    chunks: tuple[int, ...]
    length: int
    content: torch.Tensor | None


@dataclass(frozen=True)
class SegmentGroup:
    """Waveform stretches to refine together (the waveform pass): ``segments (n, samples)`` as
    reconstructed so far, ``free (n, samples)`` (1 where a sample may change) and the chunks'
    ``content`` spectrograms ``(n, bins, frames)`` (None for textures)."""

    segments: torch.Tensor
    free: torch.Tensor
    content: torch.Tensor | None


class GroupRunner:
    """Runs the engine's groups somewhere else (e.g. Ray workers, ``neuralfx.batch.ray_groups``):
    called with the groups of one pass, the style and the settings, it yields each group's
    :func:`run_group` result in the order of the groups. ``parallel`` groups run at once, so
    the engine cuts a pass into at least that many groups. Results equal a local render's
    when the groups are the same (``parallel = 1``, or a memory budget that already gives
    groups that small); smaller groups change only the float rounding."""

    parallel: int = 1

    def __call__(self, groups: Iterable[ChunkGroup | SegmentGroup], style: StyleStatistics,
                 settings: Settings) -> Iterator[torch.Tensor]:
        raise NotImplementedError


def run_group(group: ChunkGroup | SegmentGroup, style: StyleStatistics, settings: Settings,
              on_iteration: Callable | None = None) -> torch.Tensor:
    """Optimise a :class:`ChunkGroup` (-> magnitudes ``(n, bins, length)``) or refine a
    :class:`SegmentGroup` (-> segments ``(n, samples)``), on the CPU. A pure function of its
    arguments: the same group gives the same result in any process at the same thread count."""
    with matmul_precision(settings.precision):
        device = resolve_device(settings.device)
        dtype = compute_dtype(settings.precision, device, settings.is_texture)
        style = style.to(device)
        if isinstance(group, SegmentGroup):
            objective = WaveformObjective(_objective(group.content, style, settings, device,
                                                     dtype),
                                          settings.n_fft, settings.hop_length,
                                          group.free.to(device))
            y, _ = lbfgs(objective, group.segments.to(device), settings.waveform_iterations,
                         on_iteration=on_iteration, exact=objective.exact())
            return y.detach().cpu()
        objective = _objective(group.content, style, settings, device, dtype)
        x0 = torch.stack([chunk_noise(settings, i, group.length)
                          for i in group.chunks]).to(device)
        if settings.init == "content" and group.content is not None:
            x0 = x0 + objective.content
        elif settings.init in ("style", "content"):
            # the style's spectrum, bin by bin, with its spread: the optimiser starts with the
            # right spectral envelope and only has to shape the texture in time
            x0 = (style.spectrum_mean[:, None]
                  + style.spectrum_std[:, None] * (x0 / INIT_NOISE_STD))
        x, _ = optimise(objective, x0, settings.optimizer, settings.iterations,
                        settings.learning_rate, on_iteration=on_iteration)
        return magnitude_from_log(x.detach()).cpu()


def _objective(content: torch.Tensor | None, style: StyleStatistics, settings: Settings,
               device: torch.device, dtype: torch.dtype) -> Objective:
    bands = None
    if settings.envelope_weight > 0 and content is not None:
        bands = mel_bands(settings.n_bins, settings.sample_rate, ENVELOPE_BANDS).to(device)
    return Objective(network_for(settings), style.grams,
                     None if content is None else content.to(device), settings.content_weight,
                     settings.style_weight, dtype, style.autocorrelations,
                     settings.autocorrelation_weight, style.factors,
                     settings.envelope_weight, bands, autocorrelation_lags(settings),
                     settings.reference_frames)


def _render_many(contents: list[torch.Tensor | None], textures: bool, style: StyleStatistics,
                 settings: Settings, n_samples: list[int | None], channels: list[int],
                 progress: ProgressCallback | None,
                 runner: GroupRunner | None = None) -> list[torch.Tensor]:
    device = resolve_device(settings.device)
    signals = [_Signal(c, n, ch, settings, device)
               for c, n, ch in zip(contents, n_samples, channels)]
    style = style.to(device)
    items = [(sig, i, c) for sig in signals for i in range(len(sig.plan or ()))
             for c in range(sig.channels)]
    passes = 2 if settings.waveform_iterations > 0 and items else 1
    total = passes * len(items)
    parallel = 1 if runner is None else max(1, runner.parallel)

    def content_of(group: list) -> torch.Tensor | None:
        if textures:
            return None
        return torch.stack([sig.content_spectrogram(i, c) for sig, i, c in group])

    def run(stage: str, iterations: int, done: int, groups: list[tuple[int, int]],
            make: Callable[[int, int], ChunkGroup | SegmentGroup]) -> Iterator[torch.Tensor]:
        """The groups' results in order: here (progress per iteration) or by the runner."""
        if runner is not None:
            yield from runner((make(a, b) for a, b in groups), style, settings)
            return
        for a, b in groups:
            def report(iteration: int, _loss: torch.Tensor, start: int = done + a) -> None:
                if progress is not None:
                    progress(Progress(stage, start, total, iteration, iterations))
            yield run_group(make(a, b), style, settings, on_iteration=report)

    spans = list(_groups(items, settings, device, parallel))
    results = run("optimise", settings.iterations, 0, spans, lambda a, b: ChunkGroup(
        tuple(i for _, i, _ in items[a:b]), items[a][0].plan.length, content_of(items[a:b])))
    for (start, stop), magnitudes in zip(spans, results):
        for (sig, i, c), m in zip(items[start:stop], magnitudes):
            sig.add(i, c, m)
        if progress is not None:
            progress(Progress("reconstruct", stop, total))
    if passes == 2:
        # every signal is reconstructed: refine its chunks' stretches of the waveform, in
        # rounds of stretches that do not overlap
        done = len(items)
        for r in range(1 + max(max(sig.rounds) for sig in signals if sig.plan)):
            turn = [item for item in items if item[0].rounds[item[1]] == r]
            spans = list(_groups(turn, settings, device, parallel))

            def segments(a: int, b: int, turn: list = turn) -> SegmentGroup:
                group = turn[a:b]
                return SegmentGroup(torch.stack([sig.segment(i, c) for sig, i, c in group]),
                                    torch.stack([sig.free(i) for sig, i, _ in group]),
                                    content_of(group))

            results = run("refine", settings.waveform_iterations, done, spans, segments)
            for (start, stop), refined in zip(spans, results):
                for (sig, i, c), segment in zip(turn[start:stop], refined):
                    sig.add_refined(i, c, segment)
            done += len(turn)
    return [sig.out for sig in signals]


def _groups(items: list, settings: Settings, device: torch.device, parallel: int = 1):
    """``(start, stop)`` of consecutive items with chunks of equal length, as many as the memory
    budget holds (and, for ``parallel`` workers, no more than a ``parallel``-th of the items),
    in groups of even size (7 chunks at 4 a group are 4 + 3, 9 are 3 + 3 + 3)."""
    done = 0
    share = -(-len(items) // parallel)
    while done < len(items):
        length = items[done][0].plan.length
        run = done
        while run < len(items) and items[run][0].plan.length == length:
            run += 1
        size = group_size(settings, length, device)
        if parallel > 1:
            size = min(size, share)
        count = -(-(run - done) // size)  # the fewest groups the budget allows,
        size = -(-(run - done) // count)  # filled evenly
        for start in range(done, run, size):
            yield start, min(start + size, run)
        done = run


class _Signal:
    """One signal's share of a render: its chunk plan, magnitude joiner and reconstruction."""

    def __init__(self, content: torch.Tensor | None, n_samples: int | None, channels: int,
                 settings: Settings, device: torch.device) -> None:
        if content is not None:
            content = content.float().cpu()
            channels, n_samples = (1, content.shape[-1]) if content.dim() == 1 else content.shape
            content = content.reshape(channels, n_samples)
        if n_samples is None:
            raise ValueError("n_samples is needed when there is no content")
        self.content, self.channels, self.settings = content, channels, settings
        self.plan = self.recon = None
        if n_samples == 0:
            return
        hop, n_fft = settings.hop_length, settings.n_fft
        self.total = n_frames(n_samples, hop)
        # The signal's first and last frames are seen by fewer network windows than inner
        # frames and would stay under-constrained (an audible fade at both ends), so the
        # optimised spectrogram extends `edge` frames beyond the signal (silent content
        # there), enough for every signal frame to be the centre of a window; they are
        # cropped before reconstruction. (A full receptive field of padding also removes the
        # fade but moves the optimum further from the classic loss: BENCHMARKS.md, Engine.)
        # pad_edges = false gives the classic objective, fade included.
        self.edge = settings.edge_frames
        self.plan = signal_plan(settings, self.total)
        self.joiner = MagnitudeJoiner(self.plan, channels, settings.n_bins)
        # samples each chunk's frames see, and the waveform pass's turns
        self.spans = [frame_span(a - self.edge, a - self.edge + self.plan.length, n_fft, hop)
                      for a in self.plan.starts]
        self.rounds = refinement_rounds(self.spans)
        self.finished: dict[int, dict[int, torch.Tensor]] = {}
        phase_source = None
        if content is not None:
            def phase_source(start: int, stop: int) -> torch.Tensor:
                spec = frame_slice_spectrogram(content, start, stop, n_fft, hop,
                                               complex_out=True)
                return torch.angle(spec.sum(0, keepdim=True))
        self.recon = BlockGriffinLim(n_samples, channels, n_fft, hop,
                                     settings.griffin_lim_iterations,
                                     settings.griffin_lim_momentum, settings.phase_init,
                                     settings.seed, device, phase_source)

    @property
    def out(self) -> torch.Tensor:
        """The signal ``(channels, samples)`` (the waveform pass refines it in place)."""
        return torch.zeros(self.channels, 0) if self.recon is None else self.recon.out

    def content_spectrogram(self, i: int, c: int) -> torch.Tensor:
        """Log-magnitude of channel ``c`` over chunk ``i``'s frames ``(bins, length)``."""
        start = self.plan.starts[i] - self.edge
        return frame_slice_spectrogram(self.content[c], start, start + self.plan.length,
                                       self.settings.n_fft, self.settings.hop_length)

    def free(self, i: int) -> torch.Tensor:
        """``(samples,)`` of chunk ``i``'s stretch: 1 where the waveform pass may change it."""
        return free_samples(self.spans, self.rounds, i, self.recon.out.shape[-1])

    def segment(self, i: int, c: int) -> torch.Tensor:
        """Chunk ``i``'s stretch of channel ``c`` ``(samples,)``, as refined so far: its STFT
        without padding has the chunk's ``length`` frames."""
        return padded_slice(self.recon.out[c], *self.spans[i])

    def add_refined(self, i: int, c: int, segment: torch.Tensor) -> None:
        """Write the samples chunk ``i`` owns of its refined stretch of channel ``c``."""
        lo = self.spans[i][0]
        a, b = owned_samples(self.spans, i)
        a, b = max(a, 0), min(b, self.recon.out.shape[-1])
        self.recon.out[c, a:b] = segment[a - lo:b - lo]

    def add(self, i: int, c: int, magnitude: torch.Tensor) -> None:
        """Take chunk ``i`` of channel ``c``; reconstruct whatever frames became complete."""
        self.finished.setdefault(i, {})[c] = magnitude
        if len(self.finished[i]) < self.channels:
            return
        per_channel = self.finished.pop(i)
        self.joiner.add(i, torch.stack([per_channel[k] for k in range(self.channels)]))
        ready = self.joiner.pop_ready()
        if ready is None:
            return
        # ready covers plan frames [end - n, end); keep those inside the signal
        end = self.joiner.pending_start
        first = end - ready.shape[-1]
        lo, hi = max(first, self.edge), min(end, self.edge + self.total)
        if hi > lo:
            self.recon.push(ready[..., lo - first:hi - first], last=hi == self.edge + self.total)
