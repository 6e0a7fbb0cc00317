"""``neuralfx info``: version, devices, precision and folders."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._version import __version__
from ._app import app


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

    from ..device import compute_dtype, cpu_bf16_speedup, cpu_has_native_bf16, resolve_device
    from ..presets import user_preset_dir
    from ..style import cache_dir

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
