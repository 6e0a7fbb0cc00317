"""One file's render record: ``<output file name>.neuralfx.json`` beside the output.

A sidecar holds what the report page shows of one input file: the job (input, output, status,
error, time taken, duration, rate, channels), the style, the preset, every engine setting, the
seed, the device and the precision as the render resolved them, the version, and the loudness
(LUFS) and peak (dBFS) of the input and the output. ``neuralfx report`` rebuilds the page from
the sidecars alone (:mod:`neuralfx.batch.page`). A failed or skipped file gets one too, at its
planned output path.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._version import __version__
from ..atomic import write_bytes_atomic
from .report import Job

SUFFIX = ".neuralfx.json"
KIND = "neuralfx-render"


def sidecar_path(output: Path) -> Path:
    """``song_draft.wav`` -> ``song_draft.wav.neuralfx.json`` (same folder)."""
    return output.with_name(output.name + SUFFIX)


def batch_time() -> str:
    """The batch's time stamp (UTC, ISO 8601, seconds): it orders batches on a page."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def render_facts(board, options=None) -> dict[str, Any]:
    """What every file of a batch shares: the style path, the preset name, every parameter
    (engine settings and the output stage), the seed, and the device and precision as
    the render resolved them (``options``: the :class:`neuralfx.options.RenderOptions` the
    batch ran with; its precision is a Ray render's decision for ``auto``). A chain without a
    neural effect gives preset ``"chain"`` and no settings."""
    from ..chain import neural_effects
    from ..device import resolve_device, resolve_precision
    from ..options import DEFAULT

    effects = neural_effects(board)
    if not effects:
        return dict(style=None, preset="chain", settings={}, seed=None, device=None,
                    precision=None)
    fx = effects[0]
    settings = (options or DEFAULT).settings_for(fx.settings)
    try:
        device = resolve_device(settings.device)
        precision = resolve_precision(settings.precision, device, settings.is_texture)
        device_name = str(device)
    except (RuntimeError, ValueError):  # a device only the workers have
        device_name, precision = settings.device, settings.precision
    style = fx.style
    return dict(
        style=str(Path(os.fspath(style)).resolve())
        if isinstance(style, (str, os.PathLike)) else None,
        preset=fx.preset if isinstance(fx.preset, str) else fx.preset.name,
        settings=fx.parameters, seed=settings.seed, device=device_name, precision=precision)


def levels(audio, rate: float) -> tuple[float | None, float | None]:
    """``(integrated loudness in LUFS, sample peak in dBFS)`` of ``(channels, samples)``;
    None for silence (minus infinity has no JSON form)."""
    import numpy as np

    from ..audio import loudness

    lufs = loudness(audio, rate)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
    return (round(lufs, 2) if math.isfinite(lufs) else None,
            round(dbfs, 2) if math.isfinite(dbfs) else None)


def file_levels(path: Path) -> tuple[float | None, float | None]:
    """:func:`levels` of an audio file; ``(None, None)`` where it cannot be read (e.g. an
    output this machine does not see)."""
    from ..audio import read_audio

    try:
        audio, rate = read_audio(path)
    except Exception:  # noqa: BLE001 - the figures are optional; the render's status stands
        return None, None
    return levels(audio, rate)


def record(job: Job, index: int, batch: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The sidecar of ``job`` (the ``index``-th input of the batch stamped ``batch``) as plain
    data; reads the input and, for a rendered file, the output to measure their levels.
    ``paths`` holds the input, output and style relative to the sidecar's folder, so a
    moved output folder still finds them."""
    here = job.output.parent.resolve()
    files = {"input": job.source.resolve(), "output": job.output.resolve()}
    if facts.get("style"):
        files["style"] = Path(facts["style"])
    loud_in = peak_in = loud_out = peak_out = None
    if job.status == "ok":
        loud_in, peak_in = file_levels(job.source)
        loud_out, peak_out = file_levels(job.output)
    job_facts = dict(duration=None, sample_rate=None, channels=None)  # an unread input
    job_facts.update(job.summary())
    return dict(
        kind=KIND, version=__version__, batch=batch, index=index, **job_facts, **facts,
        loudness_in=loud_in, loudness_out=loud_out, peak_in=peak_in, peak_out=peak_out,
        paths={k: os.path.relpath(v, here) for k, v in files.items()})


def write_sidecar(data: dict[str, Any], output: Path) -> Path:
    """Writes ``data`` beside ``output`` atomically; returns the sidecar's path."""
    path = sidecar_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


def write_sidecars(jobs: list[Job], facts: dict[str, Any]) -> list[Path]:
    """A sidecar for every finished job of a batch, in input order. A skipped file whose
    output already has a sidecar keeps it: it describes the render that made the output the
    batch kept (a resumed batch then shows every file)."""
    batch = batch_time()
    rendered = {j.output.resolve() for j in jobs if j.status == "ok"}
    written = []
    for index, job in enumerate(jobs, start=1):
        if job.status == "pending":
            continue
        if job.status != "ok" and job.output.resolve() in rendered:
            continue  # its output name clashed with a file this batch rendered: keep that one
        if job.status == "skipped" and sidecar_path(job.output).is_file():
            continue
        written.append(write_sidecar(record(job, index, batch, facts), job.output))
    return written


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """A sidecar's data, or None if ``path`` is not one (unreadable, not ours)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == KIND else None


def find_sidecars(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every sidecar under ``folder`` (recursively) with its data, batch by batch (oldest
    first), each batch in input order."""
    found = []
    for path in sorted(Path(folder).rglob("*" + SUFFIX)):
        data = read_sidecar(path)
        if data is not None:
            found.append((path, data))
    found.sort(key=lambda pd: (str(pd[1].get("batch", "")), int(pd[1].get("index", 0)),
                               str(pd[0])))
    return found
