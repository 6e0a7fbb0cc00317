"""``neuralfx texture``: a new texture of any length from a style file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ..batch import BatchResult
from ..progress import Ui
from ..settings import TEXTURE_OVERRIDES
from ..tools import check_texture, render_texture
from ._app import app
from ._args import (
    PLUGIN_SYNTAX,
    check_device,
    plugins,
    preset_option,
    preset_overrides,
    report,
    usage_errors,
)


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
    with usage_errors():
        check_texture(style, output, duration, channels, bit_depth, sample_rate, overwrite)
    # a texture has no content: its content and envelope weights are 0
    overrides = dict(preset_overrides(sets, seed, device), **TEXTURE_OVERRIDES)
    preset_obj = preset_option(preset, overrides)
    check_device(preset_obj)
    post_cli = plugins(post, "--post")
    ui = Ui(quiet)
    with ui, usage_errors():
        job = render_texture(style, output, duration, preset_obj, channels=channels,
                             sample_rate=sample_rate, bit_depth=bit_depth, quality=quality,
                             post=post_cli, listener=ui)
    if job.status == "ok":
        ui.print(f"wrote {escape(str(output))} ({job.duration:.2f} s, {job.sample_rate:g} Hz, "
                 f"{channels} ch) in {job.seconds:.1f} s")
    code = report(BatchResult([job]), Ui(True), as_json,
                  dict(preset=preset_obj.name, style=str(style),
                  settings=preset_obj.settings.as_dict()))
    raise typer.Exit(code)
