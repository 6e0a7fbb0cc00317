"""``neuralfx.batch``: render many audio files with one effect chain, in this process or on a
Ray cluster.

The library behind ``neuralfx process``; a Python user runs the same batch with
:func:`process_files`::

    from neuralfx.batch import process_files
    result = process_files(["takes/"], "draft", "out", style="rain.wav", executor="ray")
    for job in result.jobs:
        print(job.source, job.status, job.error)

The steps, each usable on its own: :func:`discover` the input files, :func:`plan_outputs`
(output names from a template) and :func:`check_clashes` (an output that would replace an
input, or that two inputs share, fails), then :func:`run_jobs` with the ``"local"`` or
``"ray"`` executor, and a :class:`BatchResult` (counts, JSON summary, exit status).

Guarantees, with both executors: an existing output is never replaced unless the policy is
``"overwrite"`` (``"skip"`` keeps it); every output is written atomically (never partially);
a file that fails is recorded with its reason and the batch goes on; Ctrl-C (or SIGTERM)
stops the batch, leaves no partial output and marks the unfinished files ``interrupted``.
Exit statuses: 0 all processed or skipped, 1 a file failed, 130 interrupted.

The Ray executor (``pip install 'neuralfx[ray]'``) runs one actor per worker, each holding
the chain, its network and the style statistics (computed once here, on the driver, and
shared through Ray's object store); each file is one task. See :class:`RayOptions`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import string
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")
FORMATS = ("wav", "flac", "mp3", "ogg", "aiff")
# bit depths pedalboard's AudioFile writes per format (32 = 32-bit float); lossy: none
BIT_DEPTHS = {"wav": (8, 16, 24, 32), "aiff": (8, 16, 24), "aif": (8, 16, 24),
              "flac": (16, 24), "mp3": (), "ogg": ()}
TEMPLATE_FIELDS = ("stem", "ext", "preset", "style", "seed", "index")
DEFAULT_TEMPLATE = "{stem}_{preset}.{ext}"
DEFAULT_OUTPUT_DIR = "neuralfx-output"
GPU_BATCH_FILES = 8  # files rendered together on a GPU (batch_files=0)
POLICIES = ("error", "skip", "overwrite")
EXECUTORS = ("local", "ray")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

RAY_MISSING = "--executor ray needs Ray: pip install 'neuralfx[ray]'"


class BatchError(ValueError):
    """A problem with the batch as a whole (an option, no inputs, no Ray): nothing was
    processed. ``option`` names the command-line option concerned (the CLI's usage error)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


# ---------------------------------------------------------------------------------------------
# options and names


@dataclass
class OutputOptions:
    """How outputs are written: format (default: the input's), bit depth (default: the
    input's, where the format has it), sample rate (default: the input's) and the encoder
    quality of mp3/ogg."""

    fmt: str | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None
    quality: str | None = None

    def check(self) -> None:
        """Raises :class:`BatchError` for a format, bit depth or rate that cannot be written."""
        fmt, bits, rate = self.fmt, self.bit_depth, self.sample_rate
        if fmt is not None and fmt.lower() not in FORMATS:
            raise BatchError(f"{fmt!r} is not a supported format; choose one of "
                             f"{', '.join(FORMATS)}", "--format")
        if bits is not None and bits not in (8, 16, 24, 32):
            raise BatchError(f"{bits} is not a bit depth; choose 8, 16, 24 or 32 (32 = float)",
                             "--bit-depth")
        if rate is not None and not 8000 <= rate <= 384000:
            raise BatchError(f"{rate} Hz is outside 8000..384000 Hz", "--sample-rate")
        if fmt is not None and bits is not None:
            try:
                bit_depth_for(fmt, bits, None)
            except ValueError as e:
                raise BatchError(str(e), "--bit-depth") from None


def slug(text: str) -> str:
    """A file-name-safe form of a preset or style name ("style 0.01" -> "style-0.01")."""
    keep = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in text.strip())
    return "-".join(p for p in keep.split("-") if p) or "preset"


def check_template(template: str) -> None:
    """An output name template must use known fields, stay inside the output folder and end
    in an audio extension; else :class:`BatchError`."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise BatchError(f"{template!r}: {e}", "--name-template") from None
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise BatchError(f"{template!r}: unknown field {{{f}}}; allowed fields: "
                             + ", ".join("{" + n + "}" for n in TEMPLATE_FIELDS),
                             "--name-template")
    probe = fill_template(template, dict(stem="x", ext="wav", preset="p", style="s", seed=0,
                                         index=1))
    parts = Path(probe).parts
    if not probe or Path(probe).is_absolute() or ".." in parts or probe.endswith(("/", os.sep)):
        raise BatchError(f"{template!r}: the name must be a relative file name (sub-folders "
                         "allowed, no '..')", "--name-template")
    if Path(probe).suffix[1:].lower() not in BIT_DEPTHS:
        raise BatchError(f"{template!r}: the name must end in an audio extension, usually "
                         f".{{ext}} (the input's format or --format), or one of "
                         f"{', '.join('.' + f for f in FORMATS)}", "--name-template")


def fill_template(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format(**values)
    except (ValueError, IndexError, KeyError) as e:
        raise BatchError(f"{template!r}: {e}", "--name-template") from None


def bit_depth_for(ext: str, requested: int | None, source: int | None) -> int | None:
    """The bit depth to write: the requested one (checked against the format), else the
    input's when the format has it, else the format's usual best (24, or 16 for 8-bit-less)."""
    allowed = BIT_DEPTHS.get(ext.lower(), ())
    if not allowed:
        if requested is not None:
            raise ValueError(f"{ext} is a lossy format without a bit depth; drop --bit-depth")
        return None
    if requested is not None:
        if requested not in allowed:
            raise ValueError(f"{ext} files take bit depths {', '.join(map(str, allowed))}, "
                             f"not {requested}")
        return requested
    if source in allowed:
        return source
    return 32 if source == 32 and 32 in allowed else 24


# ---------------------------------------------------------------------------------------------
# jobs: inputs and their outputs


@dataclass
class Job:
    """One input file and where its output goes; ``status`` is pending, ok, skipped, failed or
    interrupted, ``error`` the reason of a failure."""

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


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


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
                if not (path.is_file() and _is_audio(path)):
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
                f"the output {job.output} would replace an input file; choose another "
                "--name-template or --output-dir")
        elif out in owners:
            job.status, job.error = "failed", (
                f"the output {job.output} is also the output of {owners[out]}; use a "
                "--name-template with {index} or other fields to tell them apart")
        else:
            owners[out] = job.source


def plan(inputs: Iterable[Path], output_dir: Path, *, recursive: bool = False,
         template: str = DEFAULT_TEMPLATE, fmt: str | None = None,
         values: dict[str, Any] | None = None) -> list[Job]:
    """:func:`discover`, :func:`plan_outputs` and :func:`check_clashes` in one call; no input
    file at all is a :class:`BatchError`."""
    inputs = [Path(p) for p in inputs]
    check_template(template)
    found = discover(inputs, recursive, exclude=Path(output_dir))
    if not found:
        raise BatchError("no audio files found in " + ", ".join(map(str, inputs))
                         + ("" if recursive else " (use --recursive for sub-folders)"),
                         "INPUT...")
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
                                            "; pass --overwrite or --skip-existing")
        out.append({"input": str(job.source), "output": str(job.output), "action": action,
                    "reason": why})
    return out


# ---------------------------------------------------------------------------------------------
# one file: read, write, errors


def message(e: BaseException) -> str:
    """An exception's text (KeyError's str() adds quotes around the message)."""
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    return str(e) or type(e).__name__


def describe_error(e: BaseException) -> str:
    """The reason a file failed, as reported (the same text with every executor)."""
    text = message(e)
    if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)) and e.filename:
        text = f"{e.strerror or text}: {e.filename}" if e.strerror else text
    return text if isinstance(e, (ValueError, OSError, RuntimeError)) else (
        f"{type(e).__name__}: {text}")


def with_path(path: Path, error: str) -> str:
    """``error`` led by the file's path, once."""
    return error if str(path) in error else f"{path}: {error}"


def read_checked(path: Path):
    """(audio (channels, samples) float32, sample rate); bad files raise with a reason."""
    import numpy as np

    from .audio import read_audio

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    audio, rate = read_audio(path)
    if audio.shape[-1] == 0:
        raise ValueError(f"{path} holds no audio samples")
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"{path} contains NaN or infinite samples")
    return audio, rate


def source_bit_depth(path: Path) -> int | None:
    """The input file's sample format as a bit depth (32 for float), to keep it on output."""
    from pedalboard.io import AudioFile

    try:
        with AudioFile(str(path)) as f:
            dtype = str(f.file_dtype)
    except Exception:  # noqa: BLE001 - a probe only; the read reports real problems
        return None
    return {"int8": 8, "int16": 16, "int24": 24, "int32": 32, "float32": 32}.get(dtype)


def write_output(path: Path, audio, rate: int, out: OutputOptions,
                 source_bits: int | None) -> None:
    """Writes ``audio`` atomically (:func:`neuralfx.audio.write_audio`) in ``out``'s format,
    bit depth and rate; non-finite audio is an error and writes nothing."""
    import numpy as np

    from .audio import resample, write_audio

    if not np.all(np.isfinite(audio)):
        raise ValueError("the render produced NaN or infinite samples; nothing was written")
    if out.sample_rate is not None and out.sample_rate != rate:
        audio, rate = resample(audio, rate, out.sample_rate), out.sample_rate
    ext = path.suffix[1:].lower()
    if ext not in BIT_DEPTHS:
        raise ValueError(f"{path.name}: unknown output format {path.suffix!r}; "
                         f"choose one of {', '.join(FORMATS)}")
    bits = bit_depth_for(ext, out.bit_depth, source_bits)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, audio, rate, bit_depth=bits, quality=out.quality)


def _exists_error(job: Job) -> FileExistsError:
    return FileExistsError(f"{job.output} exists; pass --overwrite to replace it or "
                           "--skip-existing to keep it")


def read_job(job: Job, policy: str) -> tuple:
    """``(audio, rate)`` of the job's input, or ``()`` when its existing output is kept."""
    if job.output.exists():
        if policy == "skip":
            job.status = "skipped"
            return ()
        if policy != "overwrite":
            raise _exists_error(job)
    audio, rate = read_checked(job.source)
    _note_input(job, audio, rate)
    return audio, rate


def _note_input(job: Job, audio, rate) -> None:
    job.duration, job.sample_rate, job.channels = audio.shape[-1] / rate, rate, audio.shape[0]


# ---------------------------------------------------------------------------------------------
# progress


class Listener:
    """What a running batch reports; every method does nothing here. The command line's
    rich progress bars (``neuralfx.progress.BatchUi``) implement it."""

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


# ---------------------------------------------------------------------------------------------
# the chain


def neural_effects(board) -> list:
    """The ``NeuralStyle`` effects of a chain (nested containers included), in order."""
    from .distributed import neural_effects

    return neural_effects(board)


def build_board(preset, style: Path | str | None = None, *, pre: Iterable = (),
                post: Iterable = (), progress=None):
    """The chain a batch runs: ``pre`` plugins, the preset's pre plugins, one ``NeuralStyle``
    of ``style`` (analysed once, on first use), the preset's post plugins, ``post`` plugins.
    A style that cannot be read is a :class:`BatchError` naming ``--style``."""
    from .chain import Pedalboard
    from .presets import Preset, load_preset

    preset = preset if isinstance(preset, Preset) else load_preset(preset)
    effect = make_effect(preset, style, progress)
    return Pedalboard(list(pre) + preset.pre_plugins() + [effect] + preset.post_plugins()
                      + list(post))


def make_effect(preset, style: Path | str | None = None, progress=None):
    """A ``NeuralStyle`` of ``style`` (analysed once, on first use) with ``preset``; a style
    that cannot be read is a :class:`BatchError` naming ``--style``."""
    from .effect import NeuralStyle

    try:
        return NeuralStyle(style=str(style) if style is not None else None, preset=preset,
                           progress=progress)
    except (ValueError, OSError, RuntimeError) as e:  # FileNotFoundError included
        raise BatchError(message(e), "--style") from None


def resolve_style(preset, style: Path | None) -> Path | None:
    """The style of a batch: ``style``, else the file the preset refers to (imported bundles
    carry one; checked against the hash the preset records). A style transfer preset without
    either is a :class:`BatchError` naming ``--style``."""
    if style is None:
        try:
            style = preset.style_path(check=True)
        except (KeyError, ValueError, OSError) as e:
            raise BatchError(f"{message(e)}; pass --style FILE", "--style") from None
    if style is None and not preset.settings.is_texture:
        s = preset.settings
        raise BatchError(f"preset {preset.name!r} is a style transfer (content_weight = "
                         f"{s.content_weight:g}, envelope_weight = {s.envelope_weight:g}) and "
                         "needs --style FILE; the texture presets work without one", "--style")
    return style


def template_values(board) -> dict[str, Any]:
    """The template's preset, style and seed fields for a chain (from its first neural
    effect)."""
    effects = neural_effects(board)
    if not effects:
        return dict(preset="chain", style="none", seed=0)
    fx = effects[0]
    return name_values(fx.preset if isinstance(fx.preset, str) else fx.preset.name, fx.style,
                       fx.seed)


def name_values(preset: str, style, seed: int) -> dict[str, Any]:
    """The template's preset, style and seed fields: the preset's name and the style file's
    stem made file-name safe (``self`` without a style, ``array`` for audio in memory)."""
    style = slug(Path(os.fspath(style)).stem) if isinstance(style, (str, os.PathLike)) else (
        "self" if style is None else "array")
    return dict(preset=slug(preset), style=style, seed=seed)


def auto_batch_files(board) -> int:
    """Several files at once only pay where one file's chunks leave the device idle: a GPU."""
    from .device import resolve_device

    for fx in neural_effects(board):
        if resolve_device(fx.device).type == "cuda":
            return GPU_BATCH_FILES
    return 1


# ---------------------------------------------------------------------------------------------
# running


@dataclass
class RayOptions:
    """The Ray executor's settings.

    - ``address``: None starts a local Ray runtime (stopped at the end); ``"auto"`` joins the
      cluster this machine is part of (``ray start``); ``"HOST:PORT"`` a head node;
      ``"ray://HOST:PORT"`` a Ray client server. An address that cannot be reached fails
      within seconds (:class:`BatchError`). An already connected Ray (``ray.init`` by the
      caller) is used as it is.
    - ``workers``: actors to start; 0 = one per GPU of the cluster for CUDA presets, else one
      per ``threads`` CPUs (never more than the files to render).
    - ``threads``: torch threads (and Ray CPUs) per CPU worker, so workers do not
      oversubscribe the cores.
    - ``files``: ``"shared"`` (workers read inputs and write outputs themselves: every node
      sees the input and output folders at the same paths, e.g. NFS) or ``"driver"`` (the
      driver reads the inputs and writes the outputs; audio travels through the object store,
      for output folders the workers cannot see).
    - ``retries``: how often a file (or a batch of chunks) is retried on a new worker when its
      worker process dies.
    - ``chunks``: ``"auto"``, ``"on"`` or ``"off"``. On: the files are rendered one after the
      other, each file's batches of chunks spread over the workers (``neuralfx.distributed``)
      and joined in order on the driver, which reads the inputs and writes the outputs: one
      long file also runs on every worker. Auto: on when the batch has fewer files than
      workers and one of them is longer than a chunk (``chunk_seconds``); off: one task per
      file. A chunk task whose worker dies is retried like a file.
    """

    address: str | None = None
    workers: int = 0
    threads: int = 1
    files: str = "shared"
    retries: int = 3
    chunks: str = "auto"


@dataclass
class BatchResult:
    """The jobs of a finished (or interrupted) batch, in input order, and its wall time."""

    jobs: list[Job]
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(j.status == s for j in self.jobs)
                for s in ("ok", "skipped", "failed", "interrupted")}

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


def check_executor(executor: str, ray: RayOptions | None = None) -> None:
    """A known executor, and Ray options (but threads) only with the Ray executor; else
    :class:`BatchError`."""
    if executor not in EXECUTORS:
        raise BatchError(f"{executor!r}: choose one of {', '.join(EXECUTORS)}", "--executor")
    if executor != "ray" and ray is not None and (ray.address, ray.workers, ray.files,
                                                   ray.chunks) != (None, 0, "shared", "auto"):
        raise BatchError("--address, --workers, --ray-files and --ray-chunks need --executor "
                         "ray", "--executor")


def run_jobs(jobs: list[Job], board, *, output: OutputOptions | None = None,
             policy: str = "error", executor: str = "local", batch_files: int = 0,
             listener: Listener | None = None, ray: RayOptions | None = None) -> BatchResult:
    """Renders every pending job through ``board`` (a neuralfx ``Pedalboard``) and returns
    the result; a failing file is recorded and the batch goes on. Ctrl-C or SIGTERM stops it:
    started files are marked ``interrupted by the user``, the others ``not started``, and
    nothing partial is left (exit status 130).

    ``batch_files`` (local executor): files rendered together, their chunks sharing the
    optimiser's batches (0: 8 on a GPU, 1 on a CPU). ``ray``: :class:`RayOptions`.
    """
    if policy not in POLICIES:
        raise BatchError(f"policy {policy!r}: choose one of {', '.join(POLICIES)}")
    check_executor(executor, ray)
    output = output or OutputOptions()
    listener = listener or Listener()
    t0 = time.perf_counter()
    try:
        with terminate_as_interrupt():
            if executor == "ray":
                _run_ray(jobs, board, output, policy, listener, ray or RayOptions())
            else:
                _run_local(jobs, board, output, policy, listener,
                           batch_files or auto_batch_files(board))
    except KeyboardInterrupt:
        for job in jobs:
            if job.status == "pending":
                job.status, job.error = "interrupted", "not started"
    return BatchResult(jobs, time.perf_counter() - t0)


def process_files(inputs: Iterable[Path | str], effect, output_dir: Path | str =
                  DEFAULT_OUTPUT_DIR, *, style: Path | str | None = None,
                  executor: str = "local", recursive: bool = False,
                  name_template: str = DEFAULT_TEMPLATE, output: OutputOptions | None = None,
                  policy: str = "error", batch_files: int = 0, ray: RayOptions | None = None,
                  listener: Listener | None = None) -> BatchResult:
    """Renders audio files and folders into ``output_dir``; returns a :class:`BatchResult`
    (``result.jobs``: one :class:`Job` per file, in order, with status and error).

    ``effect``: a preset name or :class:`neuralfx.presets.Preset` (with ``style``), a
    ``NeuralStyle``, or a neuralfx ``Pedalboard``. ``policy``: ``"error"`` (an existing output
    is a failure of that file), ``"skip"`` or ``"overwrite"``. ``executor``: ``"local"`` (this
    process) or ``"ray"`` (see :class:`RayOptions`). Problems with the batch as a whole (bad
    template or output options, no input files, Ray missing or unreachable) raise
    :class:`BatchError` before anything is written.
    """
    from .chain import Mix, Pedalboard
    from .effect import NeuralStyle

    listener = listener or Listener()
    if isinstance(effect, (Pedalboard, Mix)):
        board = effect
    elif isinstance(effect, NeuralStyle):
        board = Pedalboard([effect])
    else:
        board = build_board(effect, style, progress=listener.on_progress)
    (output or OutputOptions()).check()
    jobs = plan(inputs, Path(output_dir), recursive=recursive, template=name_template,
                fmt=(output or OutputOptions()).fmt, values=template_values(board))
    return run_jobs(jobs, board, output=output, policy=policy, executor=executor,
                    batch_files=batch_files, listener=listener, ray=ray)


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
def _step(job: Job, listener: Listener, keep_open: bool = False):
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


def _run_local(jobs: list[Job], board, out: OutputOptions, policy: str, listener: Listener,
               batch_files: int, announce: bool = True) -> None:
    """Every pending job in this process. With ``batch_files > 1`` up to that many files are
    rendered together (their chunks share the engine's batches, which fills a GPU); if such a
    group fails, its files are retried one by one, so the failure is reported for the file
    that caused it."""
    todo = [j for j in jobs if j.status == "pending"]
    if announce:
        listener.start_files(len(jobs))
        for job in jobs:
            if job.status != "pending":
                listener.file_done(job)
    for g in range(0, len(todo), max(1, batch_files)):
        loaded = []
        for job in todo[g:g + max(1, batch_files)]:
            with _step(job, listener, keep_open=True) as audio_rate:
                audio_rate.extend(read_job(job, policy))
            if job.status == "pending" and audio_rate:
                loaded.append((job, *audio_rate))
            elif job.status != "interrupted":
                listener.file_done(job)
        results = None
        if len(loaded) > 1:
            listener.start_render(f"{len(loaded)} files")
            try:
                results = board.process_many([a for _, a, _ in loaded], [r for _, _, r in loaded])
            except KeyboardInterrupt:
                for job, _, _ in loaded:
                    job.status, job.error = "interrupted", "interrupted by the user"
                raise
            except Exception:  # noqa: BLE001 - retried file by file below
                results = None
            finally:
                listener.end_render()
        for k, (job, audio, rate) in enumerate(loaded):
            with _step(job, listener):
                if results is None:
                    listener.start_render(job.source.name)
                    result = board.process(audio, rate)
                else:
                    result = results[k]
                write_output(job.output, result, rate, out, source_bit_depth(job.source))
                job.status = "ok"


# ---------------------------------------------------------------------------------------------
# the Ray executor


def import_ray():
    """The ``ray`` module, or a one-line :class:`BatchError` saying what to install."""
    try:
        import ray
    except ImportError:
        raise BatchError(RAY_MISSING, "--executor") from None
    return ray


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A TCP connection to ``HOST:PORT`` (or ``ray://HOST:PORT``), so a wrong address fails
    in seconds instead of Ray's long connection retries."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise BatchError(f"{address!r}: expected auto, HOST:PORT or ray://HOST:PORT",
                         "--address")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise BatchError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}); start "
                         "one with 'ray start --head' or check --address", "--address") from None


def connect_ray(address: str | None) -> bool:
    """Connects this process to Ray (see :class:`RayOptions`); True when it started the
    connection (the caller then ends it with ``ray.shutdown()``)."""
    import logging

    ray = import_ray()
    if address not in (None, "auto"):
        _check_reachable(address)
    if ray.is_initialized():
        return False
    # Ray's own notices would mix with the progress bars; its errors still show
    kwargs: dict[str, Any] = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address is None:
        kwargs.update(include_dashboard=False)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        first = (message(e).strip().splitlines() or [type(e).__name__])[0]
        raise BatchError(f"cannot connect to Ray at {address}: {first}", "--address") from None
    return True


class _Worker:
    """A Ray actor: it keeps the chain (with the style statistics computed on the driver) and
    its network warm between files, and renders one file per call.

    Every call carries ``shared``, the object references of ``[board, statistics]`` inside a
    list (so Ray does not resolve them): the worker fetches them on its first call, and again
    after Ray restarts a killed worker and retries its call."""

    def __init__(self, threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))  # workers share the node's cores
        self.board = None

    def _board(self, shared: list):
        if self.board is None:
            import ray

            board, statistics = ray.get(shared)
            for fx, stats in zip(neural_effects(board), statistics):
                if stats is not None:
                    fx.use_style_statistics(stats)
            self.board = board
        return self.board

    def render_file(self, shared: list, job: Job, staged: Path, out: OutputOptions,
                    policy: str) -> Job:
        """Reads, renders and writes one file where every node sees the files. The output is
        written to ``staged`` (the batch's staging folder, on the output's filesystem), then
        hard-linked to its name: atomic, never replacing a file that appeared meanwhile
        unless overwriting, and recognisable when a killed attempt already committed it."""
        t0 = time.perf_counter()
        try:
            if _committed(staged, job.output):  # a retry after the commit: done already
                _note_input(job, *read_checked(job.source))  # the report's fields
                job.status = "ok"
            else:
                loaded = read_job(job, policy)
                if loaded:
                    audio, rate = loaded
                    result = self._board(shared).process(audio, rate)
                    write_output(staged, result, rate, out, source_bit_depth(job.source))
                    job.status = _commit(staged, job, policy)
        except Exception as e:  # noqa: BLE001 - reported like the local run
            job.status, job.error = "failed", describe_error(e)
        job.seconds = time.perf_counter() - t0
        return job

    def render_audio(self, shared: list, audio, rate):
        """Renders audio the driver read (``files="driver"``); the driver writes it."""
        return self._board(shared).process(audio, rate)

    def native_bf16(self) -> bool:
        """Whether this worker's CPU multiplies bf16 natively (:func:`_cluster_native_bf16`)."""
        from .device import cpu_has_native_bf16

        return cpu_has_native_bf16()

    def run_group(self, style_box: list, settings, batch):
        """Optimises one batch of a file's chunks (``RayOptions.chunks``): see
        :class:`neuralfx.distributed.RayGroupRunner`."""
        import ray

        from .distributed import StyleCache, remote_group

        if getattr(self, "styles", None) is None:
            self.styles = StyleCache()
        return remote_group(ray, self.styles, style_box, settings, batch)


def _committed(staged: Path, output: Path) -> bool:
    try:
        return os.path.samefile(staged, output)
    except OSError:
        return False


def _commit(staged: Path, job: Job, policy: str) -> str:
    """Gives the staged output its name; returns the job's status."""
    job.output.parent.mkdir(parents=True, exist_ok=True)
    if policy == "overwrite":
        link = staged.with_name(staged.name + ".link")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.link(staged, link)
        os.replace(link, job.output)
        return "ok"
    try:
        os.link(staged, job.output)  # atomic, and fails if the name exists
    except FileExistsError:
        if policy == "skip":
            return "skipped"
        raise _exists_error(job) from None
    return "ok"


def _cluster_native_bf16(ray, actors: list) -> bool:
    """Whether this CPU and every worker's have AVX512-BF16: ``precision = "auto"`` is then
    bf16 for the whole render (:func:`neuralfx.distributed.pinned_precision`). A worker Ray
    restarts on another node keeps the render's decision."""
    from .device import cpu_has_native_bf16

    return cpu_has_native_bf16() and all(ray.get([a.native_bf16.remote() for a in actors]))


def _wants_gpu(board, ray) -> bool:
    """GPU workers when a neural effect's device is CUDA (or auto) and the cluster has GPUs."""
    if ray.cluster_resources().get("GPU", 0) < 1:
        return False
    return any(str(fx.device).startswith(("cuda", "auto")) for fx in neural_effects(board))


def _without_progress(board):
    """The chain without its progress callbacks (they draw on this process's terminal and
    cannot travel to workers)."""
    from .distributed import effects_with

    return effects_with(board, progress=None)


def _run_ray(jobs: list[Job], board, out: OutputOptions, policy: str, listener: Listener,
             opts: RayOptions) -> None:
    """Every pending job as a task on a pool of Ray actors (see :class:`RayOptions`)."""
    from .distributed import pinned_precision

    if opts.files not in ("shared", "driver"):
        raise BatchError(f"{opts.files!r}: choose shared or driver", "--ray-files")
    if opts.chunks not in ("auto", "on", "off"):
        raise BatchError(f"{opts.chunks!r}: choose auto, on or off", "--ray-chunks")
    ray = import_ray()
    started = connect_ray(opts.address)
    staging: Path | None = None
    try:
        todo = [j for j in jobs if j.status == "pending"]
        listener.start_files(len(jobs))
        for job in jobs:
            if job.status != "pending":
                listener.file_done(job)
        if not todo:
            return
        gpu = _wants_gpu(board, ray)
        threads = max(1, opts.threads)
        n = opts.workers or (int(ray.cluster_resources().get("GPU", 0)) if gpu else
                             max(1, int(ray.cluster_resources().get("CPU", 1)) // threads))
        chunks = opts.chunks == "on" or (opts.chunks == "auto" and len(todo) < n
                                          and _longer_than_a_chunk(todo, board))
        n = max(1, n if chunks else min(n, len(todo)))
        actor = ray.remote(num_cpus=1 if gpu else threads, num_gpus=1 if gpu else 0,
                           max_restarts=opts.retries, max_task_retries=opts.retries)(_Worker)
        actors = [actor.remote(threads) for _ in range(n)]
        pinned = pinned_precision(board, gpu, _cluster_native_bf16(ray, actors))
        if chunks:  # this process reads, joins and writes; the workers optimise chunks
            with pinned:
                _run_chunks(ray, todo, board, actors, lambda: actor.remote(threads), out,
                            policy, listener)
            return
        # the style statistics once, here; every worker gets them from the object store
        with pinned, _without_progress(board):
            statistics = [fx.style_statistics() for fx in neural_effects(board)]
            board_ref = ray.put(board)
        stats_ref = ray.put(statistics)
        shared = [board_ref, stats_ref]
        if opts.files == "shared":
            staging = _output_root(todo) / f".neuralfx-staging-{uuid.uuid4().hex[:12]}"
            staging.mkdir(parents=True, exist_ok=True)
        _dispatch(ray, shared, todo, actors, lambda: actor.remote(threads), out,
                  policy, listener, opts, staging)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if started:
            ray.shutdown()


def _run_chunks(ray, todo: list[Job], board, actors: list, new_actor, out: OutputOptions,
                policy: str, listener: Listener) -> None:
    """The files one after the other, as the local executor renders them, but with every
    file's batches of chunks optimised by the actors (:class:`RayOptions`, ``chunks``)."""
    from .distributed import RayGroupRunner, using_runner

    runner = RayGroupRunner(ray, actors, new_actor)
    try:
        with using_runner(board, runner):
            _run_local(todo, board, out, policy, listener, 1, announce=False)
    except KeyboardInterrupt:
        for a in runner.actors:
            ray.kill(a, no_restart=True)
        raise


def _longer_than_a_chunk(jobs: list[Job], board) -> bool:
    """Whether an input is longer than one chunk of the chain's (first) neural effect."""
    from pedalboard.io import AudioFile

    effects = neural_effects(board)
    if not effects:
        return False
    for job in jobs:
        try:
            with AudioFile(str(job.source)) as f:
                if f.frames / f.samplerate > effects[0].chunk_seconds:
                    return True
        except Exception:  # noqa: BLE001 - a probe only; the read reports real problems
            continue
    return False


def _output_root(jobs: list[Job]) -> Path:
    """The deepest folder holding every output (the staging folder goes there, on the
    outputs' filesystem, so its files can be hard-linked to their names)."""
    return Path(os.path.commonpath([str(j.output.parent.resolve()) for j in jobs]))


def _dispatch(ray, shared: list, todo: list[Job], actors: list, new_actor, out: OutputOptions,
              policy: str, listener: Listener, opts: RayOptions, staging: Path | None) -> None:
    """Keeps every actor busy with one file until all are done. Ctrl-C kills the actors:
    their files stay unwritten, since outputs only ever get their names complete."""
    queue = list(enumerate(todo))
    idle = list(actors)
    running: dict[Any, tuple[Job, Any, float, Any]] = {}
    current: Job | None = None
    try:
        while queue or running:
            while queue and idle:
                k, job = queue.pop(0)
                a, t0 = idle.pop(), time.perf_counter()
                if staging is not None:  # the worker reads and writes
                    staged = staging / f"{k}{job.output.suffix}"
                    ref = a.render_file.remote(shared, job, staged, out, policy)
                    running[ref] = (job, a, t0, staged)
                    continue
                with _step(job, listener, keep_open=True) as loaded:  # the driver reads
                    loaded.extend(read_job(job, policy))
                if job.status != "pending" or not loaded:
                    idle.append(a)
                    if job.status != "interrupted":
                        listener.file_done(job)
                    continue
                audio, rate = loaded
                running[a.render_audio.remote(shared, audio, rate)] = (job, a, t0, rate)
            if not running:  # the last files failed or were skipped on the driver
                continue
            ready, _ = ray.wait(list(running), num_returns=1)
            current, a, t0, rate = running.pop(ready[0])  # rate: the staged path if shared
            job = current
            try:
                result = ray.get(ready[0])
                if staging is not None:
                    for name in ("status", "error", "duration", "sample_rate", "channels"):
                        setattr(job, name, getattr(result, name))
                else:  # the driver writes
                    write_output(job.output, result, rate, out, source_bit_depth(job.source))
                    job.status = "ok"
                idle.append(a)
            except ray.exceptions.RayActorError as e:
                # the worker died more often than its restarts allow: the file fails and a new
                # worker takes the place of the dead one
                first = (message(e).strip().splitlines() or [""])[0]
                job.status, job.error = "failed", (
                    f"{job.source}: the Ray worker rendering it died {opts.retries + 1} times"
                    + (f" ({first})" if first else ""))
                idle.append(new_actor())
            except ray.exceptions.RayTaskError as e:  # the render raised (driver mode)
                job.status, job.error = "failed", describe_error(getattr(e, "cause", None) or e)
                idle.append(a)
            except Exception as e:  # noqa: BLE001 - the driver's write failed
                job.status, job.error = "failed", describe_error(e)
                idle.append(a)
            current = None
            job.seconds = time.perf_counter() - t0
            if job.status == "failed":
                listener.file_failed(job)
            listener.file_done(job)
    except KeyboardInterrupt:
        for job in [current, *(j for j, *_ in running.values())]:
            if job is not None and job.status == "pending":
                job.status, job.error = "interrupted", "interrupted by the user"
        for a in actors:
            ray.kill(a, no_restart=True)
        # let the killed workers go before the caller removes the staging folder
        with contextlib.suppress(Exception):
            ray.wait(list(running), num_returns=len(running), timeout=5)
        for job, _, _, staged in running.values():
            if staging is not None and _committed(staged, job.output):
                job.status, job.error = "ok", None  # its worker finished before it was killed
        raise
