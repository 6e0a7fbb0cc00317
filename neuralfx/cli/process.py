"""``neuralfx process``: files and folders through a preset and a chain, on this machine or
on a Ray cluster."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._version import __version__
from ..batch import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_TEMPLATE,
    EXIT_FAILED,
    FORMATS,
    GPU_BATCH_FILES,
    BatchError,
    OutputOptions,
    RayOptions,
    check_executor,
    check_template,
    dry_run,
    import_ray,
    plan_batch,
    resolve_style,
    run_jobs,
    with_path,
)
from ..batch.page import check_plotting
from ._app import app
from ._args import (
    PLUGIN_SYNTAX,
    check_device,
    plugins,
    preset_option,
    preset_overrides,
    report,
    usage_error,
    usage_errors,
)
from .progress import Ui

# the library's report errors name the command line's options
REPORT_FLAGS = {"report": "--report", "output_dir": "--output-dir"}


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
    make_report: bool = typer.Option(
        False, "--report",
        help="Also write OUTPUT_DIR/report.html: per file A/B players (input against output, "
             "key x), spectrograms and the figures; a .neuralfx.json record beside each "
             "output ('neuralfx report' rebuilds the page). Needs pip install "
             "'neuralfx[report]'."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Only show what would be done: each input, its output "
                                      "and whether it would be processed, skipped or fail."),
    batch_files: int = typer.Option(0, "--batch-files", min=0,
                                    help="Render up to N files together, their chunks sharing "
                                         "the engine's groups (fills a GPU). Default 0: "
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
        raise usage_error("--skip-existing and --overwrite exclude each other; pass one",
                          "--skip-existing / --overwrite")
    ray = RayOptions(address, workers, threads_per_worker, ray_files, chunks=ray_chunks)
    output = OutputOptions(fmt, bit_depth, sample_rate, quality)
    with usage_errors(flags=REPORT_FLAGS):
        check_executor(executor, ray)
        output.check()
        check_template(name_template)
        if make_report:
            check_plotting()
    if style is not None and not style.is_file():
        raise usage_error(f"{style}: no such file", "--style")
    preset_obj = preset_option(preset, preset_overrides(sets, seed, device))
    check_device(preset_obj)
    pre_cli, post_cli = plugins(pre, "--pre"), plugins(post, "--post")
    with usage_errors():
        style = resolve_style(preset_obj, style)
    if executor == "ray":
        try:
            import_ray()
        except BatchError as e:  # one line, not a usage panel: the fix is an install
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None

    advice = {} if recursive else {"inputs": "--recursive searches them"}
    with usage_errors(advice=advice):
        batch = plan_batch(inputs, preset_obj, output_dir, style=style, pre=pre_cli,
                           post=post_cli, recursive=recursive, name_template=name_template,
                           output=output)
    policy = "skip" if skip_existing else "overwrite" if overwrite else "error"
    if dry_run:
        raise typer.Exit(_dry_run(batch.jobs, policy, as_json))

    ui = Ui(quiet)
    for job in batch.jobs:
        if job.status == "failed":
            ui.error(escape(with_path(job.source, job.error or "")))
    ui.print(f"neuralfx {__version__}: {len(batch.jobs)} file(s), preset "
             f"{escape(preset_obj.name)!r}"
             + (f", style {escape(str(style))}" if style is not None else "")
             + f" -> {escape(str(output_dir))}"
             + (f" on Ray ({ray_files} files)" if executor == "ray" else ""))
    # Ray prints its notices (a retried task, ...) on stdout: during the batch they go to
    # stderr, so that stdout keeps only the --json report
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if executor == "ray" else (
        contextlib.nullcontext())
    with ui, usage_errors(flags=REPORT_FLAGS), quiet_stdout:
        result = run_jobs(batch.jobs, batch.board, output=output, policy=policy,
                          executor=executor, batch_files=batch_files, listener=ui, ray=ray,
                          report_dir=output_dir if make_report else None)
    if "report" in result.info:
        ui.print(f"report: {escape(str(result.info['report']))}")
    raise typer.Exit(report(result, ui, as_json, dict(
        preset=preset_obj.name, style=str(style) if style else None, output_dir=str(output_dir),
        seconds=round(result.seconds, 3), settings=preset_obj.settings.as_dict(),
        **{k: str(v) for k, v in result.info.items() if k == "report"})))


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
