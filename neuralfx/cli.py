"""The ``neuralfx`` command line: batch style transfer, textures, presets, info and a demo.

The CLI only parses arguments, calls the library (``neuralfx.batch`` for ``process``, the
facade ``NeuralStyle``/``Pedalboard``, ``neuralfx.presets``) and prints; it does no signal
processing and holds no batch machinery itself.

Exit codes: 0 when every file was processed or skipped, 1 when any file failed, 2 for usage
errors (bad option, unknown preset, bad ``--set`` value, unreadable style), 130 on Ctrl-C.
Progress and messages go to stderr; stdout carries only what was asked for (``--json``, TOML).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._version import __version__
from .batch import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_TEMPLATE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    FORMATS,
    GPU_BATCH_FILES,
    BatchError,
    BatchResult,
    OutputOptions,
    RayOptions,
    build_board,
    check_executor,
    check_template,
    describe_error,
    dry_run,
    import_ray,
    name_values,
    plan,
    resolve_style,
    run_jobs,
    with_path,
)
from .batch import message as _message
from .progress import Ui
from .settings import TEXTURE_OVERRIDES
from .tools import check_texture, demo_preset, example_file, render_texture, run_demo, system_info

# The engine, effect and file modules are imported inside the commands that use them (the batch
# library imports them lazily too), so that `neuralfx --help` does not load torch.

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


def _failure(text: str) -> typer.Exit:
    """Prints ``error: text`` on stderr; the exit (code 1) to raise."""
    Console(stderr=True).print(f"[red]error:[/red] {escape(text)}")
    return typer.Exit(EXIT_FAILED)


def _note(text: str) -> None:
    """A message on stderr (stdout carries only what was asked for)."""
    Console(stderr=True, highlight=False).print(text)


def _overrides(sets: list[str] | None, seed: int | None = None,
               device: str | None = None) -> dict[str, Any]:
    """``--set key=value`` options (typed by the preset module), then ``--seed``/``--device``."""
    from .presets import parse_overrides

    try:
        out = parse_overrides(sets or [])
    except (ValueError, KeyError, TypeError) as e:
        raise _usage(_message(e), "--set") from None
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


# ---------------------------------------------------------------------------------------------
# process


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
    executor: str = typer.Option("local", "--executor",
                                 help="local: this process. ray: one task per file on a Ray "
                                      "cluster (pip install 'neuralfx[ray]'); without "
                                      "--address, a local Ray runtime."),
    address: str | None = typer.Option(None, "--address",
                                       help="Ray cluster to join (--executor ray): auto, "
                                            "HOST:PORT or ray://HOST:PORT."),
    workers: int = typer.Option(0, "--workers", min=0,
                                help="Ray workers (default: one per GPU for GPU presets, "
                                     "else one per --threads-per-worker CPUs)."),
    threads_per_worker: int = typer.Option(1, "--threads-per-worker", min=1,
                                           help="Torch threads (and CPUs) per Ray worker."),
    ray_files: str = typer.Option("shared", "--ray-files",
                                  help="shared: Ray workers read inputs and write outputs "
                                       "themselves (the folders are on a filesystem every "
                                       "node sees). driver: the driver reads and writes; "
                                       "audio travels through Ray's object store."),
    ray_chunks: str = typer.Option("auto", "--ray-chunks",
                                   help="on: each file's chunks are optimised by all the Ray "
                                        "workers and joined by the driver, which reads and "
                                        "writes (one long file on many workers). auto: on "
                                        "for fewer files than workers. off: one task per "
                                        "file."),
) -> None:
    """Apply a neural style (and a chain of pedalboard effects) to audio files.

    Each input is rendered with the preset (plus --set overrides) towards the style and written
    to --output-dir under --name-template, atomically: an interrupted run never leaves a partial
    output. Existing outputs are errors unless --overwrite or --skip-existing is given. A bad
    input is reported and the batch goes on; the exit code is 1 if any file failed. The style
    is analysed once for the whole batch.

    Chain order: --pre effects, the preset's pre effects, the neural effect, the preset's post
    effects, --post effects.

    --executor ray runs the same batch on a Ray cluster (see the README, On a cluster): the
    same outputs, report and exit code.

    Example: neuralfx process song.wav --style rain.wav --preset "style 0.01" -o out
    """
    if skip_existing and overwrite:
        raise _usage("--skip-existing and --overwrite exclude each other; pass one",
                     "--skip-existing / --overwrite")
    ray = RayOptions(address, workers, threads_per_worker, ray_files, chunks=ray_chunks)
    output = OutputOptions(fmt, bit_depth, sample_rate, quality)
    with _usage_errors():
        check_executor(executor, ray)
        output.check()
        check_template(name_template)
    if style is not None and not style.is_file():
        raise _usage(f"{style}: no such file", "--style")
    preset_obj = _load_preset(preset, _overrides(sets, seed, device))
    _check_device(preset_obj)
    pre_cli, post_cli = _plugins(pre, "--pre"), _plugins(post, "--post")
    with _usage_errors():
        style = resolve_style(preset_obj, style)
    if executor == "ray":
        try:
            import_ray()
        except BatchError as e:  # one line, not a usage panel: the fix is an install
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None

    values = name_values(preset_obj.name, style, preset_obj.settings.seed)
    with _usage_errors():
        jobs = plan(inputs, output_dir, recursive=recursive, template=name_template, fmt=fmt,
                    values=values)
    policy = "skip" if skip_existing else "overwrite" if overwrite else "error"
    if dry_run:
        raise typer.Exit(_dry_run(jobs, policy, as_json))

    ui = Ui(quiet)
    with _usage_errors():
        board = build_board(preset_obj, style, pre=pre_cli, post=post_cli,
                            progress=ui.on_progress)
    for job in jobs:
        if job.status == "failed":
            ui.error(escape(with_path(job.source, job.error or "")))
    ui.print(f"neuralfx {__version__}: {len(jobs)} file(s), preset {escape(preset_obj.name)!r}"
             + (f", style {escape(str(style))}" if style is not None else "")
             + f" -> {escape(str(output_dir))}"
             + (f" on Ray ({ray_files} files)" if executor == "ray" else ""))
    # Ray prints its notices (a retried task, ...) on stdout: during the batch they go to
    # stderr, so that stdout keeps only the --json report
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if executor == "ray" else (
        contextlib.nullcontext())
    with ui, _usage_errors(), quiet_stdout:
        result = run_jobs(jobs, board, output=output, policy=policy, executor=executor,
                          batch_files=batch_files, listener=ui, ray=ray)
    raise typer.Exit(_report(result, ui, as_json, dict(
        preset=preset_obj.name, style=str(style) if style else None, output_dir=str(output_dir),
        seconds=round(result.seconds, 3), settings=preset_obj.settings.as_dict())))


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """The batch library's errors about the batch as a whole are usage errors (exit 2)."""
    try:
        yield
    except BatchError as e:
        raise _usage(str(e), e.option) from None


def _report(result: BatchResult, ui: Ui, as_json: bool, extra: dict[str, Any]) -> int:
    """Prints the JSON summary (stdout) and the failures or the counts (stderr); returns the
    exit code."""
    if as_json:
        typer.echo(json.dumps(result.summary(**extra), indent=2, default=str))
    failures = result.failures()
    if failures:
        table = Table("failed input", "reason", show_lines=False, title=result.line)
        for source, reason in failures:
            table.add_row(escape(source), escape(reason))
        # failures are listed even with --quiet: they need action
        Console(stderr=True, highlight=False).print(table)
    else:
        ui.print(result.line)
    return result.exit_status


def _dry_run(jobs: list, policy: str, as_json: bool) -> int:
    """Lists the plan; nothing is read, rendered or written. Exit 1 if a file would fail."""
    plan_ = dry_run(jobs, policy)
    if as_json:
        typer.echo(json.dumps({"dry_run": True, "files": plan_}, indent=2))
    else:
        table = Table("input", "output", "action")
        for p in plan_:
            action = p["action"] + (f" ({p['reason']})" if p["action"] == "fail" else "")
            table.add_row(escape(p["input"]), escape(p["output"]), escape(action))
        Console(highlight=False).print(table)
    return EXIT_FAILED if any(p["action"] == "fail" for p in plan_) else 0


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
    with _usage_errors():
        check_texture(style, output, duration, channels, bit_depth, sample_rate, overwrite)
    # a texture has no content: content weights 0, optimisation from noise
    preset_obj = _load_preset(preset, dict(_overrides(sets, seed, device), **TEXTURE_OVERRIDES))
    _check_device(preset_obj)
    post_cli = _plugins(post, "--post")
    ui = Ui(quiet)
    with ui, _usage_errors():
        job = render_texture(style, output, duration, preset_obj, channels=channels,
                             sample_rate=sample_rate, bit_depth=bit_depth, quality=quality,
                             post=post_cli, listener=ui)
    if job.status == "ok":
        ui.print(f"wrote {escape(str(output))} ({job.duration:.2f} s, {job.sample_rate:g} Hz, "
                 f"{channels} ch) in {job.seconds:.1f} s")
    code = _report(BatchResult([job]), Ui(True), as_json,
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

    entries = [e.as_dict() for e in list_presets()]
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
    from .presets import derive_preset, save_user_preset

    preset = _load_preset(base, _overrides(sets))
    pre_specs, post_specs = _plugin_specs(pre, "--pre"), _plugin_specs(post, "--post")
    if style is not None and not style.is_file():
        raise _usage(f"{style}: no such file", "--style")
    try:
        preset = derive_preset(preset, name, description=description, pre=pre_specs,
                               post=post_specs, style=style)
        path = save_user_preset(preset, overwrite=overwrite)
    except FileExistsError as e:
        raise _usage(f"{_message(e).split('; pass')[0]}; pass --overwrite to replace it",
                     "NAME") from None
    except ValueError as e:
        raise _usage(_message(e), "NAME") from None
    _note(f"saved user preset {name!r} to {path}")


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
    _note(f"deleted user preset {name!r}")


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
        raise _failure(_message(e)) from None
    _note(f"exported {preset.name!r} to {output}")


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
        raise _failure(with_path(bundle, _message(e))) from None
    _note(f"imported preset {preset.name!r}" + (f" with style {style_path}" if style_path else "")
        + f"; use it with --preset {preset.name!r}")


# ---------------------------------------------------------------------------------------------
# info


@app.command(epilog="Example: neuralfx info --json")
def info(as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout.")) -> None:
    """Show the version, torch, the compute devices found, the precision used, and the preset
    and cache folders.

    Example: neuralfx info
    """
    data = system_info()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(show_header=False, box=None)
    for k, v in data.items():
        table.add_row(k.replace("_", " "), escape(", ".join(v) if isinstance(v, list) else str(v)))
    Console(highlight=False).print(table)


# ---------------------------------------------------------------------------------------------
# demo


@app.command(epilog="Example: neuralfx demo --preset draft --output-dir /tmp/demo")
def demo(
    preset: str = typer.Option("draft", "--preset", "-p",
                               help="Preset for the style transfer (with 'draft' the whole demo "
                                    "takes about 40 s on a 2-core CPU)."),
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
    try:
        content_path, style_path = example_file("melody.wav"), example_file("texture.wav")
    except FileNotFoundError as e:
        raise _failure(_message(e)) from None
    overrides = _overrides(sets, None, device)
    preset_obj = _load_preset(preset, overrides)
    _check_device(preset_obj)
    preset_obj = demo_preset(preset_obj)
    texture_preset = _load_preset(preset, dict(overrides, **TEXTURE_OVERRIDES))
    ui = Ui(quiet)
    t0 = time.perf_counter()
    try:
        with ui:
            written = run_demo(preset_obj, texture_preset, output_dir, content_path, style_path,
                               listener=ui)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as e:  # noqa: BLE001
        raise _failure(describe_error(e)) from None
    seconds = time.perf_counter() - t0
    typer.echo(f"neuralfx demo ({preset_obj.name}, {seconds:.1f} s) wrote to {output_dir}:")
    for path in written:
        typer.echo(f"  {path}")


def main() -> None:  # pragma: no cover - console entry point alias
    app()
