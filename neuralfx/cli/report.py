"""``neuralfx report``: rebuilds the report page of an output folder rendered earlier."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app
from ._args import usage_errors


@app.command(epilog="Example:\n\n  neuralfx report neuralfx-output")
def report(
    output_dir: Path = typer.Argument(..., metavar="OUTPUT_DIR",
                                      help="A folder 'neuralfx process --report' rendered "
                                           "into (its sub-folders are searched too)."),
) -> None:
    """Rebuild OUTPUT_DIR/report.html from the .neuralfx.json records beside the outputs.

    The page shows each file's A/B player (input against output at the same point; key x),
    its spectrograms (input, style, output and their difference), loudness, peak, time taken,
    preset and settings; failed files with their error. It works offline from the folder.
    Prints the page's path.

    Example: neuralfx report neuralfx-output
    """
    from ..batch.page import build_report

    with usage_errors(flags={"output_dir": "OUTPUT_DIR", "report": "OUTPUT_DIR"}):
        page = build_report(output_dir)
    typer.echo(str(page))
