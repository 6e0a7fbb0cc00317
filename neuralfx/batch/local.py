"""The local executor: every file of a batch rendered in this process, and the
:class:`Listener` a running batch reports to (the command line's progress bars are one).

What a render needs travels as one argument: ``options=RenderOptions(progress=
listener.on_progress, ...)`` goes to the chain with each call; nothing is set on the chain's
effects.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from ..options import RenderOptions, with_progress
from .errors import describe_error
from .files import OutputOptions, read_job, source_bit_depth, write_output
from .report import Job

GPU_BATCH_FILES = 8  # files rendered together on a GPU (batch_files=0)


class Listener:
    """What a running batch reports; every method does nothing here. The command line's
    rich progress bars (``neuralfx.cli.progress.Ui``) implement it."""

    def start_files(self, total: int) -> None:
        """The batch starts with ``total`` files (those already failed by planning count)."""

    def file_done(self, job: Job) -> None:
        """A job is finished (ok, skipped or failed)."""

    def file_failed(self, job: Job) -> None:
        """A job failed (called before :meth:`file_done`); ``job.error`` says why."""

    def start_render(self, label: str) -> None:
        """A render starts in this process (local executor)."""

    def end_render(self) -> None:
        """The current render is over."""

    def on_progress(self, progress) -> None:
        """The engine's :class:`neuralfx.engine.Progress` during a render in this process."""


def listener_progress(listener: Listener):
    """The listener's progress callback, or None where it ignores progress (a render then
    reports to the effect's own ``progress``, if any)."""
    return None if type(listener).on_progress is Listener.on_progress else listener.on_progress


def auto_batch_files(board) -> int:
    """Several files at once only pay where one file's chunks leave the device idle: a GPU."""
    from ..chain import neural_effects
    from ..device import resolve_device

    for fx in neural_effects(board):
        if resolve_device(fx.device).type == "cuda":
            return GPU_BATCH_FILES
    return 1


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a job scheduler stopping the batch) unwinds like Ctrl-C, so temporary files are
    removed and the summary is reported. Only on the main thread, where signals can be set."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def job_step(job: Job, listener: Listener, keep_open: bool = False):
    """Runs one step of ``job``: a failure is recorded on the job (and reported) and the
    batch goes on; Ctrl-C marks it interrupted and stops the batch. Unless ``keep_open``, the
    job is finished afterwards (timing, progress)."""
    t0 = time.perf_counter()
    state: list = []
    try:
        yield state
    except KeyboardInterrupt:
        job.status, job.error = "interrupted", "interrupted by the user"
        raise
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        job.status, job.error = "failed", describe_error(e)
        listener.file_failed(job)
    finally:
        job.seconds += time.perf_counter() - t0
        if not keep_open:
            listener.end_render()
            if job.status != "interrupted":
                listener.file_done(job)


def announce(jobs: list[Job], listener: Listener) -> list[Job]:
    """Starts the listener's count; returns the jobs still to do (planning failed the
    others)."""
    listener.start_files(len(jobs))
    for job in jobs:
        if job.status != "pending":
            listener.file_done(job)
    return [j for j in jobs if j.status == "pending"]


def run_local(todo: list[Job], board, out: OutputOptions, policy: str, listener: Listener,
              batch_files: int, options: RenderOptions | None = None) -> None:
    """Every job of ``todo`` in this process, through ``board`` with ``options`` (the
    listener's progress added). With ``batch_files > 1`` up to that many files are rendered
    together (their chunks share the engine's groups, which fills a GPU); if such a group
    fails, its files are retried one by one, so the failure is reported for the file that
    caused it."""
    options = with_progress(options, listener_progress(listener))
    size = max(1, batch_files)
    for g in range(0, len(todo), size):
        loaded = []
        for job in todo[g:g + size]:
            with job_step(job, listener, keep_open=True) as audio_rate:
                audio_rate.extend(read_job(job, policy))
            if job.status == "pending" and audio_rate:
                loaded.append((job, *audio_rate))
            elif job.status != "interrupted":
                listener.file_done(job)
        results = None
        if len(loaded) > 1:
            listener.start_render(f"{len(loaded)} files")
            try:
                results = board.process_many([a for _, a, _ in loaded],
                                             [r for _, _, r in loaded], options=options)
            except KeyboardInterrupt:
                for job, _, _ in loaded:
                    job.status, job.error = "interrupted", "interrupted by the user"
                raise
            except Exception:  # noqa: BLE001 - retried file by file below
                results = None
            finally:
                listener.end_render()
        for k, (job, audio, rate) in enumerate(loaded):
            with job_step(job, listener):
                if results is None:
                    listener.start_render(job.source.name)
                    result = board.process(audio, rate, options=options)
                else:
                    result = results[k]
                write_output(job.output, result, rate, out, source_bit_depth(job.source))
                job.status = "ok"
