"""The ``neuralfx`` command line: batch style transfer, textures, presets, info and a demo.

The CLI only parses arguments and calls the facade (``NeuralStyle``, ``Pedalboard``,
``neuralfx.audio``, ``neuralfx.presets``); it does no signal processing itself.

Exit codes: 0 when every file was processed or skipped, 1 when any file failed, 2 for usage
errors (bad option, unknown preset, bad ``--set`` value, unreadable style), 130 on Ctrl-C.
Progress and messages go to stderr; stdout carries only what was asked for (``--json``, TOML).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
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
from rich.table import Table

from ._version import __version__
from .settings import TEXTURE_OVERRIDES

# The engine, effect and file modules are imported inside the commands that use them, so that
# this module stays a thin layer of argument parsing over the facade.

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")
FORMATS = ("wav", "flac", "mp3", "ogg", "aiff")
# bit depths pedalboard's AudioFile writes per format (32 = 32-bit float); lossy: none
BIT_DEPTHS = {"wav": (8, 16, 24, 32), "aiff": (8, 16, 24), "aif": (8, 16, 24),
              "flac": (16, 24), "mp3": (), "ogg": ()}
TEMPLATE_FIELDS = ("stem", "ext", "preset", "style", "seed", "index")
DEFAULT_TEMPLATE = "{stem}_{preset}.{ext}"
DEFAULT_OUTPUT_DIR = "neuralfx-output"
GPU_BATCH_FILES = 8  # files rendered together on a GPU (--batch-files)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

PLUGIN_SYNTAX = (
    'Effect specs are Name(param=value, ...) with pedalboard effect names and literal values, '
    'e.g. "Compressor(threshold_db=-18, ratio=4)" or "Limiter". Repeatable; applied in order.')

app = typer.Typer(
    name="neuralfx",
    help="Neural audio style transfer and texture synthesis as an offline audio effect.\n\n"
         "Example: neuralfx process song.wav --style rain.wav --preset 'style 0.01'",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
presets_app = typer.Typer(
    help="List, show, save, delete, export and import presets.\n\n"
         "Example: neuralfx presets list",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(presets_app, name="presets")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"neuralfx {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version_callback,
                                       is_eager=True, help="Print the version and exit.")
          ) -> None:
    """Neural audio style transfer and texture synthesis as an offline audio effect.

    Example: neuralfx process song.wav --style rain.wav --preset "style 0.01"
    """


# ---------------------------------------------------------------------------------------------
# argument helpers


def _usage(message: str, param: str | None = None) -> typer.BadParameter:
    """A usage error (exit code 2) naming the option."""
    return typer.BadParameter(message, param_hint=param)


def _overrides(sets: list[str] | None, seed: int | None = None,
               device: str | None = None) -> dict[str, Any]:
    """``--set key=value`` options (typed by the preset module), then ``--seed``/``--device``."""
    from .presets import parse_override

    out: dict[str, Any] = {}
    for item in sets or []:
        try:
            key, value = parse_override(item)
        except (ValueError, KeyError, TypeError) as e:
            raise _usage(_message(e), "--set") from None
        out[key] = value
    if seed is not None:
        out["seed"] = seed
    if device is not None:
        out["device"] = device
    return out


def _load_preset(name: str, overrides: dict[str, Any]):
    from .presets import load_preset

    try:
        return load_preset(name, **overrides)
    except FileNotFoundError as e:
        raise _usage(_message(e), "--preset") from None
    except KeyError as e:
        raise _usage(_message(e), "--preset") from None
    except ValueError as e:  # SettingsError and preset file errors
        param = "--set" if overrides else "--preset"
        raise _usage(_message(e), param) from None


def _check_device(preset) -> None:
    """A device the machine lacks is a usage error before any work, not a failure per file."""
    from .device import resolve_device

    try:
        resolve_device(preset.settings.device)
    except (RuntimeError, ValueError) as e:
        raise _usage(_message(e), "--device") from None


def _message(e: BaseException) -> str:
    # KeyError's str() adds quotes around the message
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    return str(e) or type(e).__name__


def _plugin_specs(specs: list[str] | None, option: str) -> list:
    """``--pre``/``--post`` texts as validated plugin specs (parsed with ``ast``, never run)."""
    from .plugins import parse_plugin_spec

    out = []
    for spec in specs or []:
        try:
            out.append(parse_plugin_spec(spec))
        except (ValueError, TypeError, KeyError, SyntaxError) as e:
            raise _usage(f"{spec!r}: {_message(e)}. {PLUGIN_SYNTAX}", option) from None
    return out


def _plugins(specs: list[str] | None, option: str) -> list:
    from .plugins import plugin_from_dict

    return [plugin_from_dict(s) for s in _plugin_specs(specs, option)]


def _preset_chain(preset) -> tuple[list, list]:
    """The preset's own plugins before and after the neural effect."""
    return preset.pre_plugins(), preset.post_plugins()


def _slug(text: str) -> str:
    """A file-name-safe form of a preset or style name ("style 0.01" -> "style-0.01")."""
    keep = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in text.strip())
    return "-".join(p for p in keep.split("-") if p) or "preset"


def _check_template(template: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise _usage(f"{template!r}: {e}", "--name-template") from None
    for f in fields:
        if f not in TEMPLATE_FIELDS:
            raise _usage(f"{template!r}: unknown field {{{f}}}; allowed fields: "
                         + ", ".join("{" + n + "}" for n in TEMPLATE_FIELDS), "--name-template")
    probe = _fill_template(template, dict(stem="x", ext="wav", preset="p", style="s", seed=0,
                                          index=1))
    parts = Path(probe).parts
    if not probe or Path(probe).is_absolute() or ".." in parts or probe.endswith(("/", os.sep)):
        raise _usage(f"{template!r}: the name must be a relative file name (sub-folders allowed, "
                     "no '..')", "--name-template")
    if Path(probe).suffix[1:].lower() not in BIT_DEPTHS:
        raise _usage(f"{template!r}: the name must end in an audio extension, usually .{{ext}} "
                     f"(the input's format or --format), or one of "
                     f"{', '.join('.' + f for f in FORMATS)}", "--name-template")


def _fill_template(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format(**values)
    except (ValueError, IndexError, KeyError) as e:
        raise _usage(f"{template!r}: {e}", "--name-template") from None


def _check_format(fmt: str | None, bit_depth: int | None) -> None:
    if fmt is not None and fmt.lower() not in FORMATS:
        raise _usage(f"{fmt!r} is not a supported format; choose one of {', '.join(FORMATS)}",
                     "--format")
    if bit_depth is not None and bit_depth not in (8, 16, 24, 32):
        raise _usage(f"{bit_depth} is not a bit depth; choose 8, 16, 24 or 32 (32 = float)",
                     "--bit-depth")


def _bit_depth_for(ext: str, requested: int | None, source: int | None) -> int | None:
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


def _check_sample_rate(rate: int | None) -> None:
    if rate is not None and not 8000 <= rate <= 384000:
        raise _usage(f"{rate} Hz is outside 8000..384000 Hz", "--sample-rate")


# ---------------------------------------------------------------------------------------------
# inputs and outputs


@dataclass
class Job:
    """One input file and where its output goes."""

    source: Path
    output: Path
    status: str = "pending"  # ok | skipped | failed | interrupted
    error: str | None = None
    seconds: float = 0.0
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None

    def summary(self) -> dict[str, Any]:
        d = {"input": str(self.source), "output": str(self.output), "status": self.status,
             "error": self.error, "seconds": round(self.seconds, 3)}
        if self.duration is not None:
            rate = self.sample_rate
            d.update(duration=round(self.duration, 6), channels=self.channels,
                     sample_rate=int(rate) if float(rate).is_integer() else rate)
        return d


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def discover(inputs: list[Path], recursive: bool, exclude: Path | None = None
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

    for item in inputs:
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


def plan_outputs(found: list[tuple[Path, Path]], output_dir: Path, template: str, fmt: str | None,
                 values: dict[str, Any]) -> list[Job]:
    jobs = []
    for index, (path, sub) in enumerate(found, start=1):
        ext = fmt.lower() if fmt else (path.suffix[1:] or "wav")
        name = _fill_template(template, dict(values, stem=path.stem, ext=ext, index=index))
        jobs.append(Job(path, output_dir / sub / name))
    return jobs


def _check_clashes(jobs: list[Job]) -> None:
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


def _source_bit_depth(path: Path) -> int | None:
    """The input file's sample format as a bit depth (32 for float), to keep it on output."""
    from pedalboard.io import AudioFile

    try:
        with AudioFile(str(path)) as f:
            dtype = str(f.file_dtype)
    except Exception:  # noqa: BLE001 - a probe only; the read reports real problems
        return None
    return {"int8": 8, "int16": 16, "int24": 24, "int32": 32, "float32": 32}.get(dtype)


# ---------------------------------------------------------------------------------------------
# progress


class Ui:
    """Messages and rich progress bars on stderr; silent with ``quiet``."""

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

    def files_task(self, total: int):
        self._files = [0, total]
        return self.progress.add_task("files", total=total, status=f"0/{total} files")

    def advance_files(self, task) -> None:
        self._files[0] += 1
        self.progress.update(task, completed=self._files[0],
                             status=f"{self._files[0]}/{self._files[1]} files")

    def start_render(self, label: str) -> None:
        """A new bar for one render, driven by :meth:`on_progress`."""
        self.end_render()
        self._label = escape(label if len(label) <= 32 else label[:14] + "…" + label[-17:])
        self._state = {"start": None, "batch": None, "frac": 0.0}
        self._task = self.progress.add_task(self._label, total=100, status="analysing")

    def end_render(self) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None

    def on_progress(self, p) -> None:
        """Receives the engine's ``Progress`` (chunks and iterations of the current batch)."""
        if self._task is None or not p.chunks_total:
            return
        s = self._state
        if p.stage in ("optimise", "refine"):
            if s["start"] != p.chunks_done:
                s["start"] = p.chunks_done
            # chunks in this batch: known after the first batch, else assume all that remain
            batch = s["batch"] or (p.chunks_total - p.chunks_done)
            its = max(p.iterations, 1)
            frac = (p.chunks_done + batch * min(p.iteration, its) / its) / p.chunks_total
            # the waveform pass counts its chunks after the optimisation pass's
            first, n = ((p.chunks_done, p.chunks_total) if p.stage == "optimise" else
                        (p.chunks_done - p.chunks_total // 2, p.chunks_total // 2))
            text = (f"{'chunks' if p.stage == 'optimise' else 'waveform, chunks'} "
                    f"{first + 1}-{min(first + batch, n)}/{n}, "
                    f"iteration {p.iteration}/{p.iterations}")
        else:
            if s["start"] is not None and s["batch"] is None:
                s["batch"] = max(1, p.chunks_done - s["start"])
            frac = p.chunks_done / p.chunks_total
            text = f"reconstructed {p.chunks_done}/{p.chunks_total} chunks"
        # a chain may hold several neural effects: the bar never runs backwards within a file
        s["frac"] = max(s["frac"], min(frac, 1.0))
        self.progress.update(self._task, completed=100 * s["frac"], status=text)


# ---------------------------------------------------------------------------------------------
# process


@dataclass
class OutputOptions:
    fmt: str | None
    bit_depth: int | None
    sample_rate: int | None
    quality: str | None


def _read_checked(path: Path):
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


def _write(path: Path, audio, rate: int, out: OutputOptions, source_bits: int | None) -> None:
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
    bits = _bit_depth_for(ext, out.bit_depth, source_bits)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, audio, rate, bit_depth=bits, quality=out.quality)


def _describe_error(e: BaseException) -> str:
    text = _message(e)
    if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)) and e.filename:
        text = f"{e.strerror or text}: {e.filename}" if e.strerror else text
    return text if isinstance(e, (ValueError, OSError, RuntimeError)) else (
        f"{type(e).__name__}: {text}")


def _with_path(path: Path, error: str) -> str:
    """``error`` led by the file's path, once."""
    return error if str(path) in error else f"{path}: {error}"


def run_batch(jobs: list[Job], board, ui: Ui, out: OutputOptions, policy: str,
              batch_files: int = 1) -> None:
    """Processes every pending job; a failure is recorded and the batch goes on.

    With ``batch_files > 1`` up to that many files are rendered together: their chunks share
    the engine's optimiser batches, which is what fills a GPU. If such a group fails, its files
    are retried one by one, so the failure is reported for the file that caused it.
    """
    todo = [j for j in jobs if j.status == "pending"]
    files = ui.files_task(len(jobs))
    for _ in range(len(jobs) - len(todo)):
        ui.advance_files(files)
    for g in range(0, len(todo), max(1, batch_files)):
        loaded = []
        for job in todo[g:g + max(1, batch_files)]:
            with _job(job, ui, files, keep_open=True) as audio_rate:
                audio_rate.extend(_read_job(job, policy))
            if job.status == "pending" and audio_rate:
                loaded.append((job, *audio_rate))
            elif job.status != "interrupted":
                ui.advance_files(files)
        results = None
        if len(loaded) > 1:
            ui.start_render(f"{len(loaded)} files")
            try:
                results = board.process_many([a for _, a, _ in loaded], [r for _, _, r in loaded])
            except KeyboardInterrupt:
                for job, _, _ in loaded:
                    job.status, job.error = "interrupted", "interrupted by the user"
                raise
            except Exception:  # noqa: BLE001 - retried file by file below
                results = None
            finally:
                ui.end_render()
        for k, (job, audio, rate) in enumerate(loaded):
            with _job(job, ui, files):
                if results is None:
                    ui.start_render(job.source.name)
                    result = board.process(audio, rate)
                else:
                    result = results[k]
                _write(job.output, result, rate, out, _source_bit_depth(job.source))
                job.status = "ok"


@contextlib.contextmanager
def _job(job: Job, ui: Ui, files, keep_open: bool = False):
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
        job.status, job.error = "failed", _describe_error(e)
        ui.error(escape(_with_path(job.source, job.error)))
    finally:
        job.seconds += time.perf_counter() - t0
        if not keep_open:
            ui.end_render()
            if job.status != "interrupted":
                ui.advance_files(files)


def _read_job(job: Job, policy: str) -> tuple:
    """``(audio, rate)`` of the job's input, or ``()`` when its existing output is kept."""
    if job.output.exists():
        if policy == "skip":
            job.status = "skipped"
            return ()
        if policy != "overwrite":
            raise FileExistsError(f"{job.output} exists; pass --overwrite to replace it or "
                                  "--skip-existing to keep it")
    audio, rate = _read_checked(job.source)
    job.duration, job.sample_rate, job.channels = audio.shape[-1] / rate, rate, audio.shape[0]
    return audio, rate


def _terminate_as_interrupt():
    """SIGTERM (a job scheduler stopping the batch) unwinds like Ctrl-C, so temporary files are
    removed and the summary is printed. Returns the previous handler (None off the main
    thread, where signals cannot be set)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def _restore_terminate(previous) -> None:
    import signal

    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _report(jobs: list[Job], ui: Ui, as_json: bool, extra: dict[str, Any]) -> int:
    counts = {s: sum(j.status == s for j in jobs)
              for s in ("ok", "skipped", "failed", "interrupted")}
    if as_json:
        summary = dict(extra, version=__version__, processed=counts["ok"],
                       skipped=counts["skipped"], failed=counts["failed"],
                       interrupted=counts["interrupted"], files=[j.summary() for j in jobs])
        typer.echo(json.dumps(summary, indent=2, default=str))
    line = (f"{counts['ok']} processed, {counts['skipped']} skipped, {counts['failed']} failed"
            + (f", {counts['interrupted']} interrupted" if counts["interrupted"] else ""))
    failed = [j for j in jobs if j.status == "failed"]
    if failed:
        table = Table("failed input", "reason", show_lines=False, title=line)
        for j in failed:
            reason = (j.error or "").replace(f"{j.source}: ", "", 1)
            table.add_row(escape(str(j.source)), escape(reason))
        # failures are listed even with --quiet: they need action
        Console(stderr=True, highlight=False).print(table)
    else:
        ui.print(line)
    if counts["interrupted"]:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else 0


@app.command(
    epilog="Examples:\n\n"
           "  neuralfx process take1.wav take2.flac --style rain.wav -o out\n\n"
           "  neuralfx process stems/ --recursive --style vinyl.wav --preset 'style 0.001' "
           "--set iterations=100 --post 'Limiter(threshold_db=-1)' --skip-existing\n\n"
           "  neuralfx process loops/ --preset texture --format flac --bit-depth 24 --json",
)
def process(
    inputs: list[Path] = typer.Argument(..., metavar="INPUT",
                                        help="Audio files and/or folders of audio files "
                                             "(wav, flac, mp3, ogg, aiff)."),
    style: Path | None = typer.Option(
        None, "--style", "-s", help="Style audio file. Optional for the texture presets, which "
                                    "then re-synthesise each input's own texture."),
    preset: str = typer.Option("style 0.01", "--preset", "-p",
                               help="Preset name ('neuralfx presets list'), 'style X' for any "
                                    "content weight X, or a preset .toml file."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Override a preset parameter, e.g. --set "
                                               "iterations=100 (repeatable)."),
    recursive: bool = typer.Option(False, "--recursive", "-r",
                                   help="Also take audio files in sub-folders of folder inputs "
                                        "(the output keeps the sub-folders)."),
    output_dir: Path = typer.Option(Path(DEFAULT_OUTPUT_DIR), "--output-dir", "-o",
                                    help="Folder for the outputs (created if needed)."),
    name_template: str = typer.Option(
        DEFAULT_TEMPLATE, "--name-template",
        help="Output file name. Fields: {stem} input name without extension, {ext} output "
             "format, {preset}, {style} style file name, {seed}, {index} position in the batch "
             "(e.g. {index:03d}). Sub-folders allowed."),
    fmt: str | None = typer.Option(None, "--format", "-f",
                                   help=f"Output format: {', '.join(FORMATS)}. "
                                        "Default: the input's."),
    bit_depth: int | None = typer.Option(
        None, "--bit-depth", help="Output bit depth: 16 or 24 (wav, flac, aiff), 8, or 32 "
                                  "(32-bit float, wav). Default: the input's."),
    sample_rate: int | None = typer.Option(None, "--sample-rate",
                                           help="Output sample rate in Hz. Default: the "
                                                "input's."),
    quality: str | None = typer.Option(None, "--quality",
                                       help="Encoder quality for mp3/ogg as pedalboard takes it, "
                                            "e.g. V0 or 320 for mp3."),
    pre: list[str] | None = typer.Option(None, "--pre", metavar="EFFECT",
                                         help="Pedalboard effect before the neural effect (after "
                                              "the preset's own). " + PLUGIN_SYNTAX),
    post: list[str] | None = typer.Option(None, "--post", metavar="EFFECT",
                                          help="Pedalboard effect after the neural effect (after "
                                               "the preset's own)."),
    device: str | None = typer.Option(None, "--device",
                                      help="auto, cpu, cuda, cuda:N or mps (default: the "
                                           "preset's, normally auto)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (network and noise)."),
    skip_existing: bool = typer.Option(False, "--skip-existing",
                                       help="Leave existing outputs alone and skip their inputs."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="No progress bars or messages; failures still go to "
                                    "stderr."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Only show what would be done: each input, its output "
                                      "and whether it would be processed, skipped or fail."),
    batch_files: int = typer.Option(0, "--batch-files", min=0,
                                    help="Render up to N files together, their chunks sharing "
                                         "the optimiser's batches (fills a GPU). Default 0: "
                                         f"{GPU_BATCH_FILES} on a GPU, 1 on a CPU."),
) -> None:
    """Apply a neural style (and a chain of pedalboard effects) to audio files.

    Each input is rendered with the preset (plus --set overrides) towards the style and written
    to --output-dir under --name-template, atomically: an interrupted run never leaves a partial
    output. Existing outputs are errors unless --overwrite or --skip-existing is given. A bad
    input is reported and the batch goes on; the exit code is 1 if any file failed. The style
    is analysed once for the whole batch.

    Chain order: --pre effects, the preset's pre effects, the neural effect, the preset's post
    effects, --post effects.

    Example: neuralfx process song.wav --style rain.wav --preset "style 0.01" -o out
    """
    if skip_existing and overwrite:
        raise _usage("--skip-existing and --overwrite exclude each other; pass one",
                     "--skip-existing / --overwrite")
    _check_format(fmt, bit_depth)
    _check_sample_rate(sample_rate)
    _check_template(name_template)
    if style is not None and not style.is_file():
        raise _usage(f"{style}: no such file", "--style")
    preset_obj = _load_preset(preset, _overrides(sets, seed, device))
    _check_device(preset_obj)
    pre_cli, post_cli = _plugins(pre, "--pre"), _plugins(post, "--post")
    pre_preset, post_preset = _preset_chain(preset_obj)
    style = style if style is not None else _preset_style(preset_obj)
    if style is None and not preset_obj.settings.is_texture:
        s = preset_obj.settings
        raise _usage(f"preset {preset_obj.name!r} is a style transfer (content_weight = "
                     f"{s.content_weight:g}, envelope_weight = {s.envelope_weight:g}) and needs "
                     "--style FILE; the texture presets work without one", "--style")
    if fmt is not None and bit_depth is not None:
        try:
            _bit_depth_for(fmt, bit_depth, None)
        except ValueError as e:
            raise _usage(str(e), "--bit-depth") from None

    found = discover(inputs, recursive, exclude=output_dir)
    if not found:
        raise _usage("no audio files found in " + ", ".join(map(str, inputs))
                     + ("" if recursive else " (use --recursive for sub-folders)"), "INPUT...")
    values = dict(preset=_slug(preset_obj.name),
                  style=_slug(style.stem) if style is not None else "self",
                  seed=preset_obj.settings.seed)
    jobs = plan_outputs(found, output_dir, name_template, fmt, values)
    _check_clashes(jobs)
    policy = "skip" if skip_existing else "overwrite" if overwrite else "error"
    if dry_run:
        raise typer.Exit(_dry_run(jobs, policy, as_json))

    ui = Ui(quiet)
    effect = _effect(style, preset_obj, ui)
    from .chain import Pedalboard

    board = Pedalboard(pre_cli + pre_preset + [effect] + post_preset + post_cli)
    for job in jobs:
        if job.status == "failed":
            ui.error(escape(_with_path(job.source, job.error or "")))
    ui.print(f"neuralfx {__version__}: {len(jobs)} file(s), preset {escape(preset_obj.name)!r}"
             + (f", style {escape(str(style))}" if style is not None else "")
             + f" -> {escape(str(output_dir))}")
    t0 = time.perf_counter()
    code = EXIT_INTERRUPTED
    previous = _terminate_as_interrupt()
    try:
        with ui:
            run_batch(jobs, board, ui, OutputOptions(fmt, bit_depth, sample_rate, quality),
                      policy, batch_files or _auto_batch_files(preset_obj))
    except KeyboardInterrupt:
        for job in jobs:
            if job.status == "pending":
                job.status, job.error = "interrupted", "not started"
    finally:
        _restore_terminate(previous)
        extra = dict(preset=preset_obj.name, style=str(style) if style else None,
                     output_dir=str(output_dir), seconds=round(time.perf_counter() - t0, 3),
                     settings=preset_obj.settings.as_dict())
        code = _report(jobs, ui, as_json, extra)
    raise typer.Exit(code)


def _auto_batch_files(preset) -> int:
    """Several files at once only pay where one file's chunks leave the device idle: a GPU."""
    from .device import resolve_device

    return GPU_BATCH_FILES if resolve_device(preset.settings.device).type == "cuda" else 1


def _dry_run(jobs: list[Job], policy: str, as_json: bool) -> int:
    """Lists the plan; nothing is read, rendered or written. Exit 1 if a file would fail."""
    plan = []
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
        plan.append({"input": str(job.source), "output": str(job.output), "action": action,
                     "reason": why})
    if as_json:
        typer.echo(json.dumps({"dry_run": True, "files": plan}, indent=2))
    else:
        table = Table("input", "output", "action")
        for p in plan:
            action = p["action"] + (f" ({p['reason']})" if p["action"] == "fail" else "")
            table.add_row(escape(p["input"]), escape(p["output"]), escape(action))
        Console(highlight=False).print(table)
    return EXIT_FAILED if any(p["action"] == "fail" for p in plan) else 0


def _preset_style(preset) -> Path | None:
    """The style file the preset refers to, if any (imported bundles carry one), checked
    against the hash the preset records."""
    try:
        return preset.style_path(check=True)
    except (KeyError, ValueError, OSError) as e:
        raise _usage(f"{_message(e)}; pass --style FILE", "--style") from None


def _effect(style: Path | None, preset, ui: Ui):
    """One NeuralStyle for the whole batch: the style is analysed once, on first use."""
    from .effect import NeuralStyle

    try:
        return NeuralStyle(style=str(style) if style is not None else None, preset=preset,
                           progress=ui.on_progress)
    except FileNotFoundError as e:
        raise _usage(_message(e), "--style") from None
    except (ValueError, OSError, RuntimeError) as e:
        raise _usage(_message(e), "--style") from None


# ---------------------------------------------------------------------------------------------
# texture


@app.command(
    epilog="Examples:\n\n"
           "  neuralfx texture rain.wav --duration 60 -o rain_60s.wav\n\n"
           "  neuralfx texture engine.flac -d 30 -o hum.flac --channels 2 --seed 7",
)
def texture(
    style: Path = typer.Argument(..., help="Style audio file whose texture is synthesised."),
    duration: float = typer.Option(..., "--duration", "-d", help="Length in seconds."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (wav, flac, mp3, ogg, "
                                                            "aiff: from its extension)."),
    preset: str = typer.Option("texture", "--preset", "-p",
                               help="Preset; its content weight is ignored (there is no "
                                    "content)."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Override a preset parameter (repeatable)."),
    channels: int = typer.Option(1, "--channels", "-c",
                                 help="Output channels (all carry the same texture: a centred, "
                                      "mono-compatible image)."),
    sample_rate: int | None = typer.Option(None, "--sample-rate",
                                           help="Output rate in Hz. Default: the style's."),
    bit_depth: int | None = typer.Option(None, "--bit-depth",
                                         help="16, 24, 8 or 32 (float, wav). Default: the "
                                              "style's if the format has it, else 24."),
    quality: str | None = typer.Option(None, "--quality", help="Encoder quality for mp3/ogg."),
    post: list[str] | None = typer.Option(None, "--post", metavar="EFFECT",
                                          help="Pedalboard effect after the synthesis (after the "
                                               "preset's own post effects). " + PLUGIN_SYNTAX),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed: another seed, another "
                                                         "texture."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or messages."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Synthesise a new texture of any length with the statistics of a style file.

    The texture has the style's loudness. A preset's post effects (and --post) are applied;
    its content weight is set to 0 (there is no content).

    Example: neuralfx texture rain.wav --duration 60 -o rain_60s.wav
    """
    if not (math.isfinite(duration) and 0 < duration <= 24 * 3600):
        raise _usage(f"{duration} s: expected a number of seconds above 0 (up to 24 h)",
                     "--duration")
    if not 1 <= channels <= 64:
        raise _usage(f"{channels}: expected 1 to 64 channels", "--channels")
    _check_sample_rate(sample_rate)
    _check_format(None, bit_depth)
    if not style.is_file():
        raise _usage(f"{style}: no such file", "STYLE")
    ext = output.suffix[1:].lower()
    if ext not in BIT_DEPTHS:
        raise _usage(f"{output}: unknown format {output.suffix!r}; use one of "
                     f"{', '.join('.' + f for f in FORMATS)}", "--output")
    try:
        _bit_depth_for(ext, bit_depth, None)
    except ValueError as e:
        raise _usage(str(e), "--bit-depth") from None
    if output.exists() and not overwrite:
        raise _usage(f"{output} exists; pass --overwrite to replace it", "--output")
    # a texture has no content: content weights 0, optimisation from noise
    preset_obj = _load_preset(preset, dict(_overrides(sets, seed, device), **TEXTURE_OVERRIDES))
    _check_device(preset_obj)
    post_chain = preset_obj.post_plugins() + _plugins(post, "--post")
    ui = Ui(quiet)
    job = Job(style, output)
    t0 = time.perf_counter()
    try:
        from .audio import read_audio

        _, style_rate = read_audio(style)
    except Exception as e:  # noqa: BLE001
        raise _usage(f"{style}: {_describe_error(e)}", "STYLE") from None
    rate = sample_rate or style_rate
    from .chain import Pedalboard

    effect, post_board = _effect(style, preset_obj, ui), Pedalboard(post_chain)
    previous = _terminate_as_interrupt()
    try:
        with ui:
            ui.start_render(f"texture {output.name}")
            audio = post_board.process_channels_first(
                effect.texture(duration, rate, channels), rate)
            ui.end_render()
            _write(output, audio, rate, OutputOptions(None, bit_depth, None, quality),
                   _source_bit_depth(style))
        job.status, job.duration, job.sample_rate, job.channels = (
            "ok", audio.shape[-1] / rate, rate, audio.shape[0])
    except KeyboardInterrupt:
        job.status, job.error = "interrupted", "interrupted by the user"
    except Exception as e:  # noqa: BLE001
        job.status, job.error = "failed", _describe_error(e)
    finally:
        _restore_terminate(previous)
    job.seconds = time.perf_counter() - t0
    if job.status == "ok":
        ui.print(f"wrote {escape(str(output))} ({job.duration:.2f} s, {rate:g} Hz, "
                 f"{channels} ch) in {job.seconds:.1f} s")
    code = _report([job], Ui(True), as_json,
                   dict(preset=preset_obj.name, style=str(style),
                        settings=preset_obj.settings.as_dict()))
    raise typer.Exit(code)


# ---------------------------------------------------------------------------------------------
# presets


@presets_app.command("list", epilog="Example: neuralfx presets list --json")
def presets_list(as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout.")
                 ) -> None:
    """List the built-in and user presets with their descriptions.

    Example: neuralfx presets list
    """
    from .presets import list_presets

    entries = [_preset_entry(e) for e in list_presets()]
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    table = Table("name", "source", "description")
    for e in entries:
        source = f"user (load as 'user:{e['name']}')" if e["shadows_builtin"] else e["source"]
        text = f"[red]unreadable: {escape(e['error'])}[/red]" if e["error"] else escape(
            e["description"])
        table.add_row(escape(e["name"]), source, text)
    Console(highlight=False).print(table)


def _preset_entry(info) -> dict[str, Any]:
    """One row of ``list_presets()`` as plain data."""
    return {"name": info.name, "source": info.kind, "description": info.description,
            "path": str(info.path) if info.path else None, "shadows_builtin": info.shadows,
            "error": info.error}


@presets_app.command("show", epilog="Example: neuralfx presets show draft --set iterations=50")
def presets_show(
    name: str = typer.Argument(..., help="Preset name, 'style X', or a preset .toml file."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Show the preset with these overrides applied."),
) -> None:
    """Print a preset as TOML (every parameter), ready to edit and save.

    Example: neuralfx presets show "style 0.01"
    """
    from .presets import dump_preset

    typer.echo(dump_preset(_load_preset(name, _overrides(sets))), nl=False)


@presets_app.command("save", epilog="Example: neuralfx presets save mine --from draft "
                                    "--set content_weight=0.005 --post 'Limiter'")
def presets_save(
    name: str = typer.Argument(..., help="Name of the new user preset."),
    base: str = typer.Option("style 0.01", "--from", help="Preset it starts from."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Parameter changes (repeatable)."),
    description: str | None = typer.Option(None, "--description",
                                           help="One line on what it sounds like."),
    pre: list[str] | None = typer.Option(None, "--pre", metavar="EFFECT",
                                         help="Add a pedalboard effect before the neural one."),
    post: list[str] | None = typer.Option(None, "--post", metavar="EFFECT",
                                          help="Add a pedalboard effect after the neural one."),
    style: Path | None = typer.Option(None, "--style", "-s",
                                      help="Style audio the preset is made for (kept by path "
                                           "and checked by hash)."),
    overwrite: bool = typer.Option(False, "--overwrite", "--force",
                                   help="Replace a user preset of that name."),
) -> None:
    """Save a user preset: a preset plus changes, optionally with an effect chain and a style.

    A user preset may take a built-in's name; load it then as "user:NAME".

    Example: neuralfx presets save dark --from "style 0.001" --set seed=3
    """
    import dataclasses

    from .presets import save_user_preset

    preset = _load_preset(base, _overrides(sets))
    changes: dict[str, Any] = {"name": name}
    if description is not None:
        changes["description"] = description
    if pre:
        changes["pre"] = tuple(_plugin_specs(pre, "--pre")) + preset.pre
    if post:
        changes["post"] = preset.post + tuple(_plugin_specs(post, "--post"))
    if style is not None:
        if not style.is_file():
            raise _usage(f"{style}: no such file", "--style")
        from .presets import file_sha256

        changes["style"], changes["style_sha256"] = str(style.resolve()), file_sha256(style)
    try:
        preset = dataclasses.replace(preset, **changes)
        path = save_user_preset(preset, overwrite=overwrite)
    except FileExistsError as e:
        raise _usage(f"{_message(e).split('; pass')[0]}; pass --overwrite to replace it",
                     "NAME") from None
    except ValueError as e:
        raise _usage(_message(e), "NAME") from None
    Console(stderr=True, highlight=False).print(f"saved user preset {name!r} to {path}")


@presets_app.command("delete", epilog="Example: neuralfx presets delete mine")
def presets_delete(name: str = typer.Argument(..., help="User preset to delete.")) -> None:
    """Delete a user preset (built-in presets cannot be deleted).

    Example: neuralfx presets delete mine
    """
    from .presets import delete_user_preset

    try:
        delete_user_preset(name)
    except (KeyError, FileNotFoundError, ValueError) as e:
        raise _usage(_message(e), "NAME") from None
    Console(stderr=True, highlight=False).print(f"deleted user preset {name!r}")


@presets_app.command("export", epilog="Example: neuralfx presets export mine -o mine.nfx "
                                      "--style rain.wav")
def presets_export(
    name: str = typer.Argument(..., help="Preset to export."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle file to write."),
    style: Path | None = typer.Option(None, "--style", "-s",
                                      help="Style audio to include (default: the preset's)."),
    overwrite: bool = typer.Option(False, "--overwrite", "--force",
                                   help="Replace an existing bundle file."),
) -> None:
    """Export a preset, its effect chain and its style audio as one shareable bundle file.

    Example: neuralfx presets export mine -o mine.zip --style rain.wav
    """
    from .bundle import export_bundle

    preset = _load_preset(name, {})
    if style is not None and not style.is_file():
        raise _usage(f"{style}: no such file", "--style")
    if output.exists() and not overwrite:
        raise _usage(f"{output} exists; pass --overwrite to replace it", "--output")
    try:
        export_bundle(preset, output, style_path=style)
    except (ValueError, OSError) as e:
        Console(stderr=True).print(f"[red]error:[/red] {escape(_message(e))}")
        raise typer.Exit(EXIT_FAILED) from None
    Console(stderr=True, highlight=False).print(f"exported {preset.name!r} to {output}")


@presets_app.command("import", epilog="Example: neuralfx presets import mine.zip --name theirs")
def presets_import(
    bundle: Path = typer.Argument(..., help="Bundle file made by 'neuralfx presets export'."),
    name: str | None = typer.Option(None, "--name", help="Install under another name."),
    overwrite: bool = typer.Option(False, "--overwrite", "--force",
                                   help="Replace a different user preset of the same name."),
) -> None:
    """Import a preset bundle into the user presets, with its style audio and chain.

    The bundle is checked before anything is written: member names (no path traversal), sizes,
    checksums and format version.

    Example: neuralfx presets import mine.zip
    """
    from .bundle import import_bundle

    if not bundle.is_file():
        raise _usage(f"{bundle}: no such file", "BUNDLE")
    try:
        preset, style_path = import_bundle(bundle, name=name, overwrite=overwrite)
    except FileExistsError as e:
        raise _usage(f"{_message(e).split('; import with')[0]}; pass --overwrite or --name",
                     "BUNDLE") from None
    except (ValueError, OSError, KeyError) as e:
        Console(stderr=True).print(f"[red]error:[/red] {escape(_with_path(bundle, _message(e)))}")
        raise typer.Exit(EXIT_FAILED) from None
    Console(stderr=True, highlight=False).print(
        f"imported preset {preset.name!r}" + (f" with style {style_path}" if style_path else "")
        + f"; use it with --preset {preset.name!r}")


# ---------------------------------------------------------------------------------------------
# info


@app.command(epilog="Example: neuralfx info --json")
def info(as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout.")) -> None:
    """Show the version, torch, the compute devices found, the precision used, and the preset
    and cache folders.

    Example: neuralfx info
    """
    import pedalboard
    import torch

    from .device import compute_dtype, resolve_device
    from .presets import user_preset_dir
    from .style import cache_dir

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})"
                    for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devices.append("mps")
    auto = resolve_device("auto")
    dtype = compute_dtype("auto", auto)
    cache = cache_dir()
    data = {
        "neuralfx": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "pedalboard": pedalboard.__version__,
        "devices": devices,
        "device_in_use": str(auto),
        "precision_in_use": str(dtype).replace("torch.", ""),
        "cpu_threads": torch.get_num_threads(),
        "preset_dir": str(user_preset_dir()),
        "cache_dir": str(cache) if cache is not None else "off",
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(show_header=False, box=None)
    for k, v in data.items():
        table.add_row(k.replace("_", " "), escape(", ".join(v) if isinstance(v, list) else str(v)))
    Console(highlight=False).print(table)


# ---------------------------------------------------------------------------------------------
# demo


def example_file(name: str) -> Path:
    """A file of the example audio shipped in ``neuralfx/examples``."""
    from importlib.resources import files

    path = Path(str(files("neuralfx") / "examples" / name))
    if not path.is_file():
        raise FileNotFoundError(f"the example audio {name} is missing from the installed "
                                f"package ({path}); reinstall neuralfx")
    return path


@app.command(epilog="Example: neuralfx demo --preset draft --output-dir /tmp/demo")
def demo(
    preset: str = typer.Option("draft", "--preset", "-p",
                               help="Preset for the style transfer ('draft' takes about 10 to 20 s "
                                    "on a 2-core CPU)."),
    output_dir: Path = typer.Option(Path("neuralfx-demo"), "--output-dir", "-o",
                                    help="Folder for the results."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Override a preset parameter (repeatable)."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run neuralfx on the example audio it ships with: a melody in the style of a rhythmic
    texture (with the preset's effect chain, if it has one), and a new texture from that style.
    Writes both (and the two inputs) to a folder and prints where. Rerunning replaces the demo's
    own files.

    Example: neuralfx demo --output-dir /tmp/neuralfx-demo
    """
    import shutil

    from .audio import read_audio

    try:
        content_path, style_path = example_file("melody.wav"), example_file("texture.wav")
    except FileNotFoundError as e:
        Console(stderr=True).print(f"[red]error:[/red] {escape(_message(e))}")
        raise typer.Exit(EXIT_FAILED) from None
    overrides = _overrides(sets, None, device)
    preset_obj = _load_preset(preset, overrides)
    _check_device(preset_obj)
    if preset_obj.settings.is_texture:
        preset_obj = preset_obj.with_overrides(content_weight=0.01)
    texture_preset = _load_preset(preset, dict(overrides, **TEXTURE_OVERRIDES))
    ui = Ui(quiet)
    output_dir.mkdir(parents=True, exist_ok=True)
    slug = _slug(preset_obj.name)
    styled = output_dir / f"melody_styled_{slug}.wav"
    textured = output_dir / f"texture_{slug}.wav"
    t0 = time.perf_counter()
    try:
        with ui:
            audio, rate = read_audio(content_path)
            ui.start_render("style transfer")
            from .chain import Pedalboard

            board = Pedalboard.from_preset(preset_obj, effect=_effect(style_path, preset_obj, ui))
            out = board.process(audio, rate)
            _write(styled, out, rate, OutputOptions(None, 16, None, None), 16)
            ui.start_render("texture")
            tex = _effect(style_path, texture_preset, ui).texture(audio.shape[-1] / rate, rate)
            _write(textured, tex, rate, OutputOptions(None, 16, None, None), 16)
            ui.end_render()
        for src in (content_path, style_path):
            shutil.copyfile(src, output_dir / f"input_{src.name}")
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as e:  # noqa: BLE001
        Console(stderr=True).print(f"[red]error:[/red] {escape(_describe_error(e))}")
        raise typer.Exit(EXIT_FAILED) from None
    seconds = time.perf_counter() - t0
    typer.echo(f"neuralfx demo ({preset_obj.name}, {seconds:.1f} s) wrote to {output_dir}:")
    for path in (styled, textured, output_dir / "input_melody.wav",
                 output_dir / "input_texture.wav"):
        typer.echo(f"  {path}")


def main() -> None:  # pragma: no cover - console entry point alias
    app()
