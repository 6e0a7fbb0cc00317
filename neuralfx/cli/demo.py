"""``neuralfx demo``: neuralfx on the example audio it ships with."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..batch import EXIT_INTERRUPTED, describe_error, message
from ..progress import Ui
from ..settings import TEXTURE_OVERRIDES
from ..tools import demo_preset, example_file, run_demo
from ._app import app
from ._args import check_device, failure, preset_option, preset_overrides


@app.command(epilog="Example: neuralfx demo --preset draft --output-dir /tmp/demo")
def demo(
    preset: str = typer.Option("draft", "--preset", "-p",
                               help="Preset for the style transfer (with 'draft' the whole demo "
                                    "takes 25-40 s on a 2-core CPU)."),
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
        raise failure(message(e)) from None
    overrides = preset_overrides(sets, None, device)
    preset_obj = preset_option(preset, overrides)
    check_device(preset_obj)
    preset_obj = demo_preset(preset_obj)
    texture_preset = preset_option(preset, dict(overrides, **TEXTURE_OVERRIDES))
    ui = Ui(quiet)
    t0 = time.perf_counter()
    try:
        with ui:
            written = run_demo(preset_obj, texture_preset, output_dir, content_path, style_path,
                               listener=ui)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as e:  # noqa: BLE001
        raise failure(describe_error(e)) from None
    seconds = time.perf_counter() - t0
    typer.echo(f"neuralfx demo ({preset_obj.name}, {seconds:.1f} s) wrote to {output_dir}:")
    for path in written:
        typer.echo(f"  {path}")
