"""One long file across Ray workers: the engine's groups of chunks as tasks, joined in order
on the driver.

The engine plans a render's chunks, joins their magnitudes and reconstructs the waveform; only
the optimisation of each group of chunks (:func:`neuralfx.engine.run_group`, a pure function of
the group, the style statistics and the settings) needs the network. :class:`RayGroupRunner`
sends those groups to Ray actors (:class:`neuralfx.batch.ray_worker.Worker`), which keep the
network warm and get the style statistics once through the object store, and hands the results
back in order, so the driver joins and reconstructs while the workers optimise the next groups.
With ``waveform_iterations > 0`` each round of the waveform pass is sent the same way, after
the previous round is back.

A render uses it through its options, ``RenderOptions(runner=RayGroupRunner(...))``: the
effect then does what it always does (resampling, channels, loudness match, limiter) with the
optimisation elsewhere.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from ..engine import ChunkGroup, GroupRunner, SegmentGroup, run_group
from ..settings import Settings
from ..style import StyleStatistics

TASKS_PER_WORKER = 2  # in flight per worker: the next group is queued while one runs


class WorkerDied(RuntimeError):
    """A worker died during a group more often than its restarts allow."""


class RayGroupRunner(GroupRunner):
    """Runs the engine's groups on Ray actors that have a ``run_group(style_box, settings,
    group)`` method (:func:`remote_group` does the work there).

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

    def __call__(self, groups: Iterable[ChunkGroup | SegmentGroup], style: StyleStatistics,
                 settings: Settings) -> Iterator[torch.Tensor]:
        box = self._style_box(style)
        running: deque = deque()
        window = TASKS_PER_WORKER * len(self.actors)
        for k, group in enumerate(groups):
            actor = self.actors[k % len(self.actors)]
            running.append((actor, actor.run_group.remote(box, settings, group)))
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
                 group: ChunkGroup | SegmentGroup) -> torch.Tensor:
    """A worker's share: :func:`neuralfx.engine.run_group` with the style from ``box``."""
    return run_group(group, cache.get(ray, box), settings)
