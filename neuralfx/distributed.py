"""One long file across Ray workers: its batches of chunks as tasks, joined in order here.

The engine plans a render's chunks, joins their magnitudes and reconstructs the waveform; only
the optimisation of each batch of chunks (:func:`neuralfx.engine.run_group`, a pure function of
the batch, the style statistics and the settings) needs the network. :class:`RayGroupRunner`
sends those batches to Ray actors, which keep the network warm and get the style statistics
once through the object store, and hands the results back in order, so the driver joins and
reconstructs while the workers optimise the next batches. With ``waveform_iterations > 0`` each
round of the waveform pass is sent the same way, after the previous round is back.

Set it on a chain's neural effects with :func:`using_runner`: the effect then does what it
always does (resampling, channels, loudness match, limiter) with the optimisation elsewhere.
``neuralfx.batch`` uses it for a batch of fewer files than workers (``RayOptions.chunks``).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from .device import resolve_precision
from .effect import NeuralStyle
from .engine import GroupRunner, ChunkGroup, SegmentGroup, run_group
from .settings import Settings
from .style import StyleStatistics

TASKS_PER_WORKER = 2  # in flight per worker: the next batch is queued while one runs


class WorkerDied(RuntimeError):
    """A worker died during a batch more often than its restarts allow."""


class RayGroupRunner(GroupRunner):
    """Runs the engine's batches on Ray actors that have a ``run_group(style_box, settings,
    batch)`` method (``neuralfx.batch``'s workers; :func:`remote_group` does the work).

    ``new_actor`` replaces an actor that died more often than its restarts allow (the render
    then fails with :class:`WorkerDied`; the next one has a full pool again)."""

    def __init__(self, ray, actors: list, new_actor: Callable[[], Any] | None = None) -> None:
        self.ray, self.actors, self.new_actor = ray, list(actors), new_actor
        self.parallel = len(self.actors)
        self._style: tuple[StyleStatistics, Any] | None = None

    def _style_box(self, style: StyleStatistics) -> list:
        # the statistics go to the object store once per render (every pass reuses them),
        # inside a list so that Ray passes the reference and each worker fetches it once
        if self._style is None or self._style[0] is not style:
            self._style = (style, self.ray.put(style))
        return [self._style[1]]

    def __call__(self, batches: Iterable[ChunkGroup | SegmentGroup], style: StyleStatistics,
                 settings: Settings) -> Iterator[torch.Tensor]:
        box = self._style_box(style)
        running: deque = deque()
        window = TASKS_PER_WORKER * len(self.actors)
        for k, batch in enumerate(batches):
            actor = self.actors[k % len(self.actors)]
            running.append((actor, actor.run_group.remote(box, settings, batch)))
            if len(running) >= window:
                yield self._result(*running.popleft())
        while running:
            yield self._result(*running.popleft())

    def _result(self, actor, ref) -> torch.Tensor:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayActorError as e:
            if self.new_actor is not None and actor in self.actors:
                self.actors[self.actors.index(actor)] = self.new_actor()
            first = (str(e).strip().splitlines() or [""])[0]
            raise WorkerDied("a Ray worker optimising this file's chunks died more often "
                             "than its restarts allow" + (f" ({first})" if first else "")
                             ) from None


class StyleCache:
    """A worker's style statistics, fetched once per object reference."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.style: StyleStatistics | None = None

    def get(self, ray, box: list) -> StyleStatistics:
        ref = box[0]
        if self.key != ref.hex():
            self.style, self.key = ray.get(ref), ref.hex()
        return self.style


def remote_group(ray, cache: StyleCache, box: list, settings: Settings,
                 batch: ChunkGroup | SegmentGroup) -> torch.Tensor:
    """A worker's share: :func:`neuralfx.engine.run_group` with the style from ``box``."""
    return run_group(batch, cache.get(ray, box), settings)


def neural_effects(board) -> list[NeuralStyle]:
    """The ``NeuralStyle`` effects of a chain (nested containers included), in order."""
    if isinstance(board, NeuralStyle):
        return [board]
    out = []
    for item in getattr(board, "_items", []):
        out += neural_effects(item)
    return out


@contextlib.contextmanager
def effects_with(board, **attributes: Any) -> Iterator[None]:
    """The chain's neural effects with these attributes (``runner``, ``progress``) inside the
    block, restored after."""
    effects = neural_effects(board)
    saved = [{k: getattr(fx, k) for k in attributes} for fx in effects]
    for fx in effects:
        for k, v in attributes.items():
            setattr(fx, k, v)
    try:
        yield
    finally:
        for fx, before in zip(effects, saved):
            for k, v in before.items():
                setattr(fx, k, v)


@contextlib.contextmanager
def pinned_precision(board, gpu: bool, native_bf16: bool) -> Iterator[None]:
    """The chain's ``precision = "auto"`` decided once, here, for every process of a render:
    ``bf16`` only where the workers run on CPUs (``gpu`` False, or an effect set to the CPU)
    and ``native_bf16`` (this CPU and every worker's have AVX512-BF16). Deciding in each
    process would let a cluster that mixes CPUs render a file's chunks, or the style
    statistics and the chunks, in different precisions."""
    with contextlib.ExitStack() as stack:
        for fx in neural_effects(board):
            if fx.precision == "auto":
                name = str(fx.device)
                device = torch.device(("cuda" if gpu else "cpu") if name == "auto" else name)
                stack.enter_context(fx._pinned(precision=resolve_precision(
                    "auto", device, fx.settings.is_texture, native_bf16)))
        yield


def using_runner(board, runner: GroupRunner | None):
    """The chain's neural effects run their batches with ``runner`` inside the block."""
    return effects_with(board, runner=runner)
