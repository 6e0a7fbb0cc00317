"""What a batch did: one :class:`Job` per input file and the :class:`BatchResult` (counts, exit
status, the JSON report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

STATUSES = ("ok", "skipped", "failed", "interrupted")


@dataclass
class Job:
    """One input file and where its output goes; ``status`` is pending, ok, skipped, failed or
    interrupted, ``error`` the reason of a failure. ``duration`` (seconds), ``sample_rate`` and
    ``channels`` describe the input once it was read."""

    source: Path
    output: Path
    status: str = "pending"
    error: str | None = None
    seconds: float = 0.0
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None

    def summary(self) -> dict[str, Any]:
        """The job as plain data (one entry of the JSON report)."""
        d = {"input": str(self.source), "output": str(self.output), "status": self.status,
             "error": self.error, "seconds": round(self.seconds, 3)}
        if self.duration is not None:
            rate = self.sample_rate
            d.update(duration=round(self.duration, 6), channels=self.channels,
                     sample_rate=int(rate) if float(rate).is_integer() else rate)
        return d


def note_input(job: Job, audio, rate) -> None:
    """Records the input's duration, rate and channels (``audio``: (channels, samples))."""
    job.duration, job.sample_rate, job.channels = audio.shape[-1] / rate, rate, audio.shape[0]


@dataclass
class BatchResult:
    """The jobs of a finished (or interrupted) batch, in input order, and its wall time."""

    jobs: list[Job]
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(j.status == s for j in self.jobs) for s in STATUSES}

    @property
    def exit_status(self) -> int:
        """130 if interrupted, else 1 if any file failed, else 0."""
        counts = self.counts
        if counts["interrupted"]:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if counts["failed"] else EXIT_OK

    @property
    def line(self) -> str:
        """"N processed, N skipped, N failed[, N interrupted]"."""
        c = self.counts
        return (f"{c['ok']} processed, {c['skipped']} skipped, {c['failed']} failed"
                + (f", {c['interrupted']} interrupted" if c["interrupted"] else ""))

    def failures(self) -> list[tuple[str, str]]:
        """``(input, reason)`` of every failed file (the reason without the leading path)."""
        return [(str(j.source), (j.error or "").replace(f"{j.source}: ", "", 1))
                for j in self.jobs if j.status == "failed"]

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The JSON report: ``extra`` (preset, style, settings, ...), the version, the counts
        and every file's entry."""
        c = self.counts
        return dict(extra, version=__version__, processed=c["ok"], skipped=c["skipped"],
                    failed=c["failed"], interrupted=c["interrupted"],
                    files=[j.summary() for j in self.jobs])
