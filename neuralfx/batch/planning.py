"""Planning a batch before anything is read: the input files (:func:`discover`), their output
names from a template (:func:`plan_outputs`), outputs that would clash (:func:`check_clashes`)
and what a run would do (:func:`dry_run`)."""

from __future__ import annotations

import os
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import BatchError
from .files import BIT_DEPTHS, FORMATS, is_audio
from .report import Job

TEMPLATE_FIELDS = ("stem", "ext", "preset", "style", "seed", "index")
DEFAULT_TEMPLATE = "{stem}_{preset}.{ext}"
DEFAULT_OUTPUT_DIR = "neuralfx-output"


def slug(text: str) -> str:
    """A file-name-safe form of a preset or style name ("style 0.01" -> "style-0.01")."""
    keep = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in text.strip())
    return "-".join(p for p in keep.split("-") if p) or "preset"


def check_template(template: str) -> None:
    """An output name template must use known fields, stay inside the output folder and end
    in an audio extension; else :class:`BatchError` (field ``name_template``)."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise BatchError(f"{template!r}: {e}", "name_template") from None
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise BatchError(f"{template!r}: unknown field {{{f}}}; allowed fields: "
                             + ", ".join("{" + n + "}" for n in TEMPLATE_FIELDS),
                             "name_template")
    probe = fill_template(template, dict(stem="x", ext="wav", preset="p", style="s", seed=0,
                                         index=1))
    parts = Path(probe).parts
    if not probe or Path(probe).is_absolute() or ".." in parts or probe.endswith(("/", os.sep)):
        raise BatchError(f"{template!r}: the name must be a relative file name (sub-folders "
                         "allowed, no '..')", "name_template")
    if Path(probe).suffix[1:].lower() not in BIT_DEPTHS:
        raise BatchError(f"{template!r}: the name must end in an audio extension, usually "
                         f".{{ext}} (the input's format or the chosen one), or one of "
                         f"{', '.join('.' + f for f in FORMATS)}", "name_template")


def fill_template(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format(**values)
    except (ValueError, IndexError, KeyError) as e:
        raise BatchError(f"{template!r}: {e}", "name_template") from None


def name_values(preset: str, style, seed: int) -> dict[str, Any]:
    """The template's preset, style and seed fields: the preset's name and the style file's
    stem made file-name safe (``self`` without a style, ``array`` for audio in memory)."""
    style = slug(Path(os.fspath(style)).stem) if isinstance(style, (str, os.PathLike)) else (
        "self" if style is None else "array")
    return dict(preset=slug(preset), style=style, seed=seed)


def discover(inputs: Iterable[Path], recursive: bool = False, exclude: Path | None = None
             ) -> list[tuple[Path, Path]]:
    """Input files as ``(file, sub-folder of the output)``: files given directly go to the top
    of the output folder; files found in a folder keep their place relative to that folder.
    Paths that do not exist are kept (they fail on their own, the batch goes on). A scanned
    folder's files inside ``exclude`` (the output folder, when it lies within the scanned
    folder) are not inputs, so a rerun does not process its own outputs."""
    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    exclude = exclude.resolve() if exclude is not None else None

    def add(path: Path, sub: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append((path, sub))

    for item in map(Path, inputs):
        if item.is_dir():
            top = item.resolve()
            skip = exclude if exclude is not None and top in exclude.parents else None
            walker = item.rglob("*") if recursive else item.glob("*")
            for path in sorted(walker):
                if not (path.is_file() and is_audio(path)):
                    continue
                if skip is not None and skip in path.resolve().parents:
                    continue
                add(path, path.parent.relative_to(item))
        else:
            add(item, Path())
    return found


def plan_outputs(found: list[tuple[Path, Path]], output_dir: Path, template: str,
                 fmt: str | None, values: dict[str, Any]) -> list[Job]:
    """One :class:`Job` per discovered file; ``values`` fills the template's preset, style
    and seed fields (stem, ext and index come from each file)."""
    jobs = []
    for index, (path, sub) in enumerate(found, start=1):
        ext = fmt.lower() if fmt else (path.suffix[1:] or "wav")
        name = fill_template(template, dict(values, stem=path.stem, ext=ext, index=index))
        jobs.append(Job(path, Path(output_dir) / sub / name))
    return jobs


def check_clashes(jobs: list[Job]) -> None:
    """Outputs that would replace an input, or that two inputs share, fail (never clobber)."""
    owners: dict[Path, Path] = {}
    sources = {j.source.resolve() for j in jobs}
    for job in jobs:
        out = job.output.resolve()
        if out in sources:
            job.status, job.error = "failed", (
                f"the output {job.output} would replace an input file; choose another name "
                "template or output folder")
        elif out in owners:
            job.status, job.error = "failed", (
                f"the output {job.output} is also the output of {owners[out]}; use a name "
                "template with {index} or other fields to tell them apart")
        else:
            owners[out] = job.source


def plan(inputs: Iterable[Path], output_dir: Path, *, recursive: bool = False,
         template: str = DEFAULT_TEMPLATE, fmt: str | None = None,
         values: dict[str, Any] | None = None) -> list[Job]:
    """:func:`discover`, :func:`plan_outputs` and :func:`check_clashes` in one call; no input
    file at all is a :class:`BatchError` (field ``inputs``)."""
    inputs = [Path(p) for p in inputs]
    check_template(template)
    found = discover(inputs, recursive, exclude=Path(output_dir))
    if not found:
        raise BatchError("no audio files found in " + ", ".join(map(str, inputs))
                         + ("" if recursive else " (sub-folders not searched)"), "inputs")
    jobs = plan_outputs(found, Path(output_dir), template, fmt,
                        values or dict(preset="neuralfx", style="self", seed=0))
    check_clashes(jobs)
    return jobs


def dry_run(jobs: list[Job], policy: str = "error") -> list[dict[str, Any]]:
    """What a run would do with each job (``action`` process, skip, overwrite or fail, and
    the reason); nothing is read, rendered or written."""
    out = []
    for job in jobs:
        action, why = "process", None
        if job.status == "failed":
            action, why = "fail", job.error
        elif not job.source.is_file():
            action, why = "fail", f"{job.source}: no such file"
        elif job.output.exists():
            action = {"skip": "skip", "overwrite": "overwrite"}.get(policy, "fail")
            why = f"{job.output} exists" + ("" if action != "fail" else
                                            " (policy 'error'; 'overwrite' or 'skip' go on)")
        out.append({"input": str(job.source), "output": str(job.output), "action": action,
                    "reason": why})
    return out
