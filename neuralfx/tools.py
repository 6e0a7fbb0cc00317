"""The command line's single renders and reports, as library functions: a texture file of a
style (``neuralfx texture``), the demo on the shipped example audio (``neuralfx demo``) and the
system report (``neuralfx info``).

Problems with the request itself (an option, an unreadable style) raise
:class:`neuralfx.batch.BatchError` naming the option, before anything is rendered; a render or
write that fails is recorded on the returned :class:`neuralfx.batch.Job` (texture) or raised
(demo).
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._version import __version__
from .batch import (
    BIT_DEPTHS,
    FORMATS,
    BatchError,
    Job,
    Listener,
    OutputOptions,
    bit_depth_for,
    describe_error,
    make_effect,
    slug,
    source_bit_depth,
    terminate_as_interrupt,
    write_output,
)

MAX_TEXTURE_SECONDS = 24 * 3600
MAX_CHANNELS = 64


# ---------------------------------------------------------------------------------------------
# texture


def check_texture(style: Path, output: Path, duration: float, channels: int,
                  bit_depth: int | None, sample_rate: int | None, overwrite: bool) -> None:
    """The options of a texture render, or a :class:`BatchError` naming the bad one."""
    if not (math.isfinite(duration) and 0 < duration <= MAX_TEXTURE_SECONDS):
        raise BatchError(f"{duration} s: expected a number of seconds above 0 (up to 24 h)",
                         "--duration")
    if not 1 <= channels <= MAX_CHANNELS:
        raise BatchError(f"{channels}: expected 1 to {MAX_CHANNELS} channels", "--channels")
    OutputOptions(None, bit_depth, sample_rate).check()
    if not style.is_file():
        raise BatchError(f"{style}: no such file", "STYLE")
    ext = output.suffix[1:].lower()
    if ext not in BIT_DEPTHS:
        raise BatchError(f"{output}: unknown format {output.suffix!r}; use one of "
                         f"{', '.join('.' + f for f in FORMATS)}", "--output")
    try:
        bit_depth_for(ext, bit_depth, None)
    except ValueError as e:
        raise BatchError(str(e), "--bit-depth") from None
    if output.exists() and not overwrite:
        raise BatchError(f"{output} exists; pass --overwrite to replace it", "--output")


def render_texture(style: Path, output: Path, duration: float, preset, *, channels: int = 1,
                   sample_rate: int | None = None, bit_depth: int | None = None,
                   quality: str | None = None, post: Iterable = (),
                   listener: Listener | None = None) -> Job:
    """A texture of ``style`` written to ``output``: ``preset`` (texture overrides applied by
    the caller), its post plugins then ``post``, at ``sample_rate`` (default: the style's).
    Returns the job: ``ok`` with the output's duration, rate and channels, or ``failed`` /
    ``interrupted`` with the reason. An unreadable style is a :class:`BatchError`."""
    from .audio import read_audio
    from .chain import Pedalboard

    listener = listener or Listener()
    job = Job(style, output)
    t0 = time.perf_counter()
    try:
        _, style_rate = read_audio(style)
    except Exception as e:  # noqa: BLE001
        raise BatchError(f"{style}: {describe_error(e)}", "STYLE") from None
    rate = sample_rate or style_rate
    effect = make_effect(preset, style, listener.on_progress)
    post_board = Pedalboard(preset.post_plugins() + list(post))
    try:
        with terminate_as_interrupt():
            listener.start_render(f"texture {output.name}")
            audio = post_board.process_channels_first(
                effect.texture(duration, rate, channels), rate)
            listener.end_render()
            write_output(output, audio, rate, OutputOptions(None, bit_depth, None, quality),
                         source_bit_depth(style))
        job.status, job.duration, job.sample_rate, job.channels = (
            "ok", audio.shape[-1] / rate, rate, audio.shape[0])
    except KeyboardInterrupt:
        job.status, job.error = "interrupted", "interrupted by the user"
    except Exception as e:  # noqa: BLE001
        job.status, job.error = "failed", describe_error(e)
    job.seconds = time.perf_counter() - t0
    return job


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


def demo_preset(preset):
    """The demo's style transfer preset: a texture preset gets a content weight, so that the
    demo shows a style transfer."""
    if preset.settings.is_texture:
        preset = preset.with_overrides(content_weight=0.01)
    return preset


def run_demo(preset, texture_preset, output_dir: Path, content: Path, style: Path,
             listener: Listener | None = None) -> list[Path]:
    """The demo: ``content`` in the style of ``style`` through ``preset``'s chain, and a
    texture of ``style`` as long as ``content`` with ``texture_preset``, written as 16-bit wav
    to ``output_dir`` with copies of both inputs. Returns the four files written."""
    from .audio import read_audio
    from .chain import Pedalboard
    listener = listener or Listener()
    output_dir.mkdir(parents=True, exist_ok=True)
    name = slug(preset.name)
    styled = output_dir / f"{content.stem}_styled_{name}.wav"
    textured = output_dir / f"{style.stem}_{name}.wav"
    audio, rate = read_audio(content)
    listener.start_render("style transfer")
    board = Pedalboard.from_preset(preset, effect=make_effect(preset, style,
                                                              listener.on_progress))
    write_output(styled, board.process(audio, rate), rate, OutputOptions(bit_depth=16), 16)
    listener.start_render("texture")
    tex = make_effect(texture_preset, style, listener.on_progress).texture(
        audio.shape[-1] / rate, rate)
    write_output(textured, tex, rate, OutputOptions(bit_depth=16), 16)
    listener.end_render()
    copies = []
    for src in (content, style):
        copies.append(output_dir / f"input_{src.name}")
        shutil.copyfile(src, copies[-1])
    return [styled, textured, *copies]


# ---------------------------------------------------------------------------------------------
# info


def available_devices() -> list[str]:
    """``cpu``, each CUDA device with its name, and ``mps`` where present."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})"
                    for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def system_info() -> dict[str, Any]:
    """The versions, the compute devices found, the device and precision ``auto`` uses (and
    whether the CPU has native bf16, with its measured speed-up), torch's threads, and the user
    preset and style cache folders."""
    import pedalboard
    import torch

    from .device import compute_dtype, cpu_bf16_speedup, cpu_has_native_bf16, resolve_device
    from .presets import user_preset_dir
    from .style import cache_dir

    auto = resolve_device("auto")
    cache = cache_dir()
    return {
        "neuralfx": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "pedalboard": pedalboard.__version__,
        "devices": available_devices(),
        "device_in_use": str(auto),
        "precision_in_use": str(compute_dtype("auto", auto)).replace("torch.", ""),
        "texture_precision_in_use": str(compute_dtype("auto", auto, texture=True)
                                        ).replace("torch.", ""),
        # what ``auto`` decides from on a CPU, and what bf16 buys here (fp32 time / bf16 time
        # of one product)
        "cpu_native_bf16": cpu_has_native_bf16(),
        "cpu_bf16_speedup": round(cpu_bf16_speedup(), 2),
        "cpu_threads": torch.get_num_threads(),
        "preset_dir": str(user_preset_dir()),
        "cache_dir": str(cache) if cache is not None else "off",
    }
