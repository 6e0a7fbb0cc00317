"""Rich progress bars and messages on stderr for a batch of files (the command line's
display)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..batch import Listener, with_path


class Ui(Listener):
    """Messages and rich progress bars on stderr; silent with ``quiet``. A batch's
    :class:`neuralfx.batch.Listener`: one bar for the files (done / total, time left) and one
    for the render in progress."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, quiet=quiet, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(bar_width=30), TaskProgressColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=self.console, disable=quiet, transient=False)
        self._task = None
        self._files = [0, 0]
        self._label = ""
        self._state: dict[str, Any] = {}

    def __enter__(self) -> Ui:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def print(self, message: str) -> None:
        self.console.print(message)

    def error(self, message: str) -> None:
        # errors are shown even with --quiet
        Console(stderr=True, highlight=False).print(f"[red]error:[/red] {message}")

    def start_files(self, total: int) -> None:
        self._files = [0, total]
        self._files_task = self.progress.add_task("files", total=total,
                                                  status=f"0/{total} files")

    def file_done(self, job) -> None:
        self._files[0] += 1
        self.progress.update(self._files_task, completed=self._files[0],
                             status=f"{self._files[0]}/{self._files[1]} files")

    def file_failed(self, job) -> None:
        self.error(escape(with_path(job.source, job.error or "")))

    def start_render(self, label: str) -> None:
        """A new bar for one render, driven by :meth:`on_progress`."""
        self.end_render()
        self._label = escape(label if len(label) <= 32 else label[:14] + "…" + label[-17:])
        self._state = {"start": None, "group": None, "frac": 0.0}
        self._task = self.progress.add_task(self._label, total=100, status="analysing")

    def end_render(self) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None

    def on_progress(self, p) -> None:
        """Receives the engine's ``Progress`` (chunks and iterations of the current group)."""
        if self._task is None or not p.chunks_total:
            return
        s = self._state
        if p.stage in ("optimise", "refine"):
            if s["start"] != p.chunks_done:
                s["start"] = p.chunks_done
            # chunks in this group: known after the first group, else assume all that remain
            group = s["group"] or (p.chunks_total - p.chunks_done)
            its = max(p.iterations, 1)
            frac = (p.chunks_done + group * min(p.iteration, its) / its) / p.chunks_total
            # the waveform pass counts its chunks after the optimisation pass's
            first, n = ((p.chunks_done, p.chunks_total) if p.stage == "optimise" else
                        (p.chunks_done - p.chunks_total // 2, p.chunks_total // 2))
            text = (f"{'chunks' if p.stage == 'optimise' else 'waveform, chunks'} "
                    f"{first + 1}-{min(first + group, n)}/{n}, "
                    f"iteration {p.iteration}/{p.iterations}")
        else:
            if s["start"] is not None and s["group"] is None:
                s["group"] = max(1, p.chunks_done - s["start"])
            frac = p.chunks_done / p.chunks_total
            text = f"reconstructed {p.chunks_done}/{p.chunks_total} chunks"
        # a chain may hold several neural effects: the bar never runs backwards within a file
        s["frac"] = max(s["frac"], min(frac, 1.0))
        self.progress.update(self._task, completed=100 * s["frac"], status=text)
