"""The Ray executor's worker: an actor that keeps the chain (with the style statistics the
driver computed) and its network warm between files, renders one file per call, and optimises
groups of chunks for :class:`neuralfx.batch.ray_groups.RayGroupRunner`.

Every call carries ``shared``, the object references of ``[board, statistics]`` inside a list
(so Ray does not resolve them): the worker fetches them on its first call, and again after Ray
restarts a killed worker and retries its call. ``options`` is the render's
:class:`neuralfx.options.RenderOptions` as the driver decided them (the precision; no progress,
no runner).
"""

from __future__ import annotations

import time
from pathlib import Path

from .errors import describe_error
from .files import (
    OutputOptions,
    commit,
    committed,
    read_checked,
    read_job,
    source_bit_depth,
    write_output,
)
from .report import Job, note_input


class Worker:
    """A Ray actor (``ray.remote(...)(Worker)``) with ``threads`` torch threads."""

    def __init__(self, threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))  # workers share the node's cores
        self.board = None
        self.styles = None

    def _board(self, shared: list, options):
        if self.board is None:
            import ray

            from ..chain import neural_effects

            board, statistics = ray.get(shared)
            for fx, stats in zip(neural_effects(board), statistics):
                if stats is not None:
                    fx.use_style_statistics(stats, options)
            self.board = board
        return self.board

    def render_file(self, shared: list, options, job: Job, staged: Path, out: OutputOptions,
                    policy: str) -> Job:
        """Reads, renders and writes one file where every node sees the files. The output is
        written to ``staged`` (the batch's staging folder, on the output's filesystem), then
        hard-linked to its name (:func:`neuralfx.batch.files.commit`); a retry after the
        commit recognises it and does not render again."""
        t0 = time.perf_counter()
        try:
            if committed(staged, job.output):  # a retry after the commit: done already
                note_input(job, *read_checked(job.source))  # the report's fields
                job.status = "ok"
            else:
                loaded = read_job(job, policy)
                if loaded:
                    audio, rate = loaded
                    result = self._board(shared, options).process(audio, rate, options=options)
                    write_output(staged, result, rate, out, source_bit_depth(job.source))
                    job.status = commit(staged, job, policy)
        except Exception as e:  # noqa: BLE001 - reported like the local run
            job.status, job.error = "failed", describe_error(e)
        job.seconds = time.perf_counter() - t0
        return job

    def render_audio(self, shared: list, options, audio, rate):
        """Renders audio (channels, samples) the driver read (``files="driver"``); the driver
        writes it."""
        return self._board(shared, options).process(audio, rate, options=options)

    def native_bf16(self) -> bool:
        """Whether this worker's CPU multiplies bf16 natively (the driver decides the render's
        precision from every worker's answer)."""
        from ..device import cpu_has_native_bf16

        return cpu_has_native_bf16()

    def run_group(self, style_box: list, settings, group):
        """Optimises one group of a file's chunks: see
        :class:`neuralfx.batch.ray_groups.RayGroupRunner`."""
        import ray

        from .ray_groups import StyleCache, remote_group

        if self.styles is None:
            self.styles = StyleCache()
        return remote_group(ray, self.styles, style_box, settings, group)
