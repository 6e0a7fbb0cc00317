"""``neuralfx demo``: neuralfx on the example audio it ships with."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import typer

from ..batch import (
    EXIT_INTERRUPTED,
    Listener,
    OutputOptions,
    chain_for,
    describe_error,
    message,
    slug,
    write_output,
)
from ..settings import TEXTURE_OVERRIDES
from ._app import app
from ._args import check_device, failure, preset_option, preset_overrides
from .progress import Ui


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


def example_file(name: str) -> Path:
    """A file of the example audio shipped in ``neuralfx/examples``."""
    from importlib.resources import files

    path = Path(str(files("neuralfx") / "examples" / name))
    if not path.is_file():
        raise FileNotFoundError(f"the example audio {name} is missing from the installed "
                                f"package ({path}); reinstall neuralfx")
    return path


def demo_preset(preset):
    """The demo's style transfer preset: a texture preset gets a content weight, so that the
    demo shows a style transfer."""
    if preset.settings.is_texture:
        preset = preset.with_overrides(content_weight=0.01)
    return preset


def run_demo(preset, texture_preset, output_dir: Path, content: Path, style: Path,
             listener: Listener | None = None) -> list[Path]:
    """The demo: ``content`` in the style of ``style`` through ``preset``'s chain, and a
    texture of ``style`` as long as ``content`` with ``texture_preset``'s neural effect,
    written as 16-bit wav to ``output_dir`` with copies of both inputs. Returns the four files
    written."""
    from ..audio import read_audio
    from ..chain import neural_effects
    from ..options import RenderOptions

    listener = listener or Listener()
    options = RenderOptions(progress=listener.on_progress)
    output_dir.mkdir(parents=True, exist_ok=True)
    name = slug(preset.name)
    styled = output_dir / f"{content.stem}_styled_{name}.wav"
    textured = output_dir / f"{style.stem}_{name}.wav"
    audio, rate = read_audio(content)
    listener.start_render("style transfer")
    board = chain_for(preset, style)
    write_output(styled, board.process(audio, rate, options=options), rate,
                 OutputOptions(bit_depth=16), 16)
    listener.start_render("texture")
    (effect,) = neural_effects(chain_for(texture_preset, style))
    tex = effect.texture(audio.shape[-1] / rate, rate, options=options)
    write_output(textured, tex, rate, OutputOptions(bit_depth=16), 16)
    listener.end_render()
    copies = []
    for src in (content, style):
        copies.append(output_dir / f"input_{src.name}")
        shutil.copyfile(src, copies[-1])
    return [styled, textured, *copies]
