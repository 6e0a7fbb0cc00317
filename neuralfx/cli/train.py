"""``neuralfx train``: a style trained once into a ``.nfxstyle`` file, then applied in one pass."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..batch import EXIT_FAILED, EXIT_INTERRUPTED, message
from ._app import app
from ._args import check_device, preset_option, preset_overrides, usage_error

MAX_MINUTES = 120.0


@app.command(
    epilog="Examples:\n\n"
           "  neuralfx train usa.wav -o usa.nfxstyle\n\n"
           "  neuralfx train brass.flac -o brass.nfxstyle --content songs/ --minutes 5\n\n"
           "  neuralfx train rain.wav -o rain.nfxstyle --preset texture\n\n"
           "  neuralfx process songs/ --style usa.nfxstyle -o out/",
)
def train(
    style: Path = typer.Argument(..., help="Style audio file (10-60 s is plenty)."),
    output: Path = typer.Option(..., "--output", "-o", help="The trained style to write "
                                                            "(NAME.nfxstyle)."),
    preset: str = typer.Option("style 0.01", "--preset", "-p",
                               help="The preset it is trained for: its network, statistics and "
                                    "content weight. A texture preset trains a texture."),
    content: list[Path] | None = typer.Option(
        None, "--content", metavar="FILE_OR_DIR",
        help="Content to learn style transfer on: audio files or folders (repeatable; up to 64 "
             "files, the first 2 minutes of each). For batch mastering, give the batch itself. "
             "Default: a built-in synthetic corpus (chords, piano, drums, speech-like phrases, "
             "strings, noise textures and a band mix)."),
    minutes: float = typer.Option(3.0, "--minutes", "-m",
                                  help="Time budget for choosing the model's parameters; "
                                       "Ctrl-C keeps the best so far."),
    seed: int = typer.Option(0, "--seed", help="Which content crops are drawn."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Override a preset parameter (repeatable)."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or messages."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Train a style once for a preset; renders with it are then one pass, no optimisation
    (`neuralfx process --style NAME.nfxstyle`, `neuralfx texture NAME.nfxstyle`, or
    `NeuralStyle(style="NAME.nfxstyle")`, also block by block).
    """
    from ..trained.stylefile import SUFFIX

    if output.suffix != SUFFIX:
        raise usage_error(f"{output}: a trained style's file name ends in {SUFFIX}", "--output")
    if output.exists() and not overwrite:
        raise usage_error(f"{output} exists; pass --overwrite to replace it", "--output")
    if not style.is_file():
        raise usage_error(f"{style}: no such file", "STYLE")
    if not (math.isfinite(minutes) and 0 < minutes <= MAX_MINUTES):
        raise usage_error(f"{minutes}: expected minutes above 0, at most {MAX_MINUTES:g}",
                          "--minutes")
    for path in content or []:
        if not path.exists():
            raise usage_error(f"{path}: no such file or folder", "--content")
    preset_obj = preset_option(preset, preset_overrides(sets, None, device))
    check_device(preset_obj)
    console = Console(stderr=True, quiet=quiet, highlight=False)
    started = time.perf_counter()
    try:
        trained = _train(style, output, preset_obj, content, minutes, seed, quiet, console)
    except KeyboardInterrupt:
        console.print("interrupted before any model was scored: nothing written")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ValueError, OSError, RuntimeError) as e:
        Console(stderr=True, highlight=False).print(f"[red]error:[/red] {escape(message(e))}")
        raise typer.Exit(EXIT_FAILED) from None
    seconds = time.perf_counter() - started
    figures = trained.training
    chosen = (f"blend {trained.model.blend:g}, envelope {trained.model.envelope:g}"
              if not trained.is_texture else f"block {trained.model.block}")
    note = " (interrupted: the best so far)" if figures.get("interrupted") else ""
    console.print(f"wrote {escape(str(output))}: {trained.kind} for {trained.preset!r}, "
                  f"{chosen}, in {seconds:.1f} s{note}")
    if as_json:
        typer.echo(json.dumps({"output": str(output), "style": str(style), **trained.metadata(),
                               "seconds": round(seconds, 2)}, indent=2, default=str))


def _train(style: Path, output: Path, preset, content, minutes: float, seed: int, quiet: bool,
           console: Console):
    from ..train import train_style

    bar = Progress(TextColumn("training"), BarColumn(bar_width=30),
                   TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=console, disable=quiet)
    with bar:
        task = bar.add_task("training", total=None, loss="")

        def progress(p) -> None:
            bar.update(task, total=p.done + p.remaining * p.done / max(p.elapsed, 1e-9),
                       completed=p.done, loss=f"objective {math.exp(p.best):.4g}")

        return train_style(style, preset, content=content, minutes=minutes, seed=seed,
                           output=output, progress=progress)
