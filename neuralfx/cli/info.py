"""``neuralfx info``: version, devices, precision and folders."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..tools import system_info
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
