"""``neuralfx texture``: a new texture of any length from a style file."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from pathlib import Path

import typer
from rich.markup import escape

from ..batch import (
    BIT_DEPTHS,
    FORMATS,
    BatchError,
    BatchResult,
    Job,
    Listener,
    OutputOptions,
    bit_depth_for,
    chain_for,
    describe_error,
    source_bit_depth,
    terminate_as_interrupt,
    write_output,
)
from ..settings import TEXTURE_OVERRIDES
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
from .progress import Ui

MAX_TEXTURE_SECONDS = 24 * 3600
MAX_CHANNELS = 64
FLAGS = {"style": "STYLE"}  # the style is this command's argument


@app.command(
    epilog="Examples:\n\n"
           "  neuralfx texture rain.wav --duration 60 -o rain_60s.wav\n\n"
           "  neuralfx texture engine.flac -d 30 -o hum.flac --channels 2 --seed 7\n\n"
           "  neuralfx texture fire.nfxstyle -d 600 -o fire_10min.wav",
)
def texture(
    style: Path = typer.Argument(..., help="Style audio file whose texture is synthesised, or a "
                                           "texture trained with `neuralfx train --preset "
                                           "texture` (.nfxstyle: one pass, no optimisation)."),
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
    with usage_errors(FLAGS):
        check_texture(style, output, duration, channels, bit_depth, sample_rate, overwrite)
    # a texture has no content: its content and envelope weights are 0
    overrides = dict(preset_overrides(sets, seed, device), **TEXTURE_OVERRIDES)
    preset_obj = preset_option(preset, overrides)
    check_device(preset_obj)
    post_cli = plugins(post, "--post")
    ui = Ui(quiet)
    with ui, usage_errors(FLAGS):
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


def check_texture(style: Path, output: Path, duration: float, channels: int,
                  bit_depth: int | None, sample_rate: int | None, overwrite: bool) -> None:
    """The options of a texture render, or a :class:`BatchError` naming the bad one's
    field."""
    if not (math.isfinite(duration) and 0 < duration <= MAX_TEXTURE_SECONDS):
        raise BatchError(f"{duration} s: expected a number of seconds above 0 (up to 24 h)",
                         "duration")
    if not 1 <= channels <= MAX_CHANNELS:
        raise BatchError(f"{channels}: expected 1 to {MAX_CHANNELS} channels", "channels")
    OutputOptions(None, bit_depth, sample_rate).check()
    if not style.is_file():
        raise BatchError(f"{style}: no such file", "style")
    ext = output.suffix[1:].lower()
    if ext not in BIT_DEPTHS:
        raise BatchError(f"{output}: unknown format {output.suffix!r}; use one of "
                         f"{', '.join('.' + f for f in FORMATS)}", "output")
    try:
        bit_depth_for(ext, bit_depth, None)
    except ValueError as e:
        raise BatchError(str(e), "bit_depth") from None
    if output.exists() and not overwrite:
        raise BatchError(f"{output} exists; pass --overwrite to replace it", "output")


def render_texture(style: Path, output: Path, duration: float, preset, *, channels: int = 1,
                   sample_rate: int | None = None, bit_depth: int | None = None,
                   quality: str | None = None, post: Iterable = (),
                   listener: Listener | None = None) -> Job:
    """A texture of ``style`` written to ``output``: the neural effect of ``preset``'s chain
    (texture overrides applied by the caller) synthesises it, what follows the effect in the
    chain (the preset's post plugins) then ``post`` process it, at ``sample_rate`` (default:
    the style's). Returns the job: ``ok`` with the output's duration, rate and channels, or
    ``failed`` / ``interrupted`` with the reason. An unreadable style is a
    :class:`BatchError` (field ``style``)."""
    from ..audio import read_audio
    from ..chain import Pedalboard, neural_effects
    from ..options import RenderOptions

    listener = listener or Listener()
    job = Job(style, output)
    t0 = time.perf_counter()
    trained = style.suffix.lower() == ".nfxstyle"
    if not trained:
        try:
            _, style_rate = read_audio(style)
        except Exception as e:  # noqa: BLE001
            raise BatchError(f"{style}: {describe_error(e)}", "style") from None
    board = chain_for(preset, style, post=post)
    (effect,) = neural_effects(board)
    if trained:  # its own rate: the style's, kept in the file
        style_rate = effect.trained.source.sample_rate
    rate = sample_rate or style_rate
    # a texture has no input: the plugins before the effect have nothing to process
    items = list(board)
    after = Pedalboard(items[next(k for k, x in enumerate(items) if x is effect) + 1:])
    options = RenderOptions(progress=listener.on_progress)
    try:
        with terminate_as_interrupt():
            listener.start_render(f"texture {output.name}")
            audio = after.process_channels_first(
                effect.texture(duration, rate, channels, options=options), rate)
            listener.end_render()
            write_output(output, audio, rate, OutputOptions(None, bit_depth, None, quality),
                         None if trained else source_bit_depth(style))
        job.status, job.duration, job.sample_rate, job.channels = (
            "ok", audio.shape[-1] / rate, rate, audio.shape[0])
    except KeyboardInterrupt:
        job.status, job.error = "interrupted", "interrupted by the user"
    except Exception as e:  # noqa: BLE001
        job.status, job.error = "failed", describe_error(e)
    job.seconds = time.perf_counter() - t0
    return job
