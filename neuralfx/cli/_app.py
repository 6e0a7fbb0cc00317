"""The ``neuralfx`` Typer application and its ``presets`` group; the command modules of this
package register their commands on them."""

from __future__ import annotations

import typer

from .._version import __version__

app = typer.Typer(
    name="neuralfx",
    help="Neural audio style transfer and texture synthesis as an offline audio effect.\n\n"
         "Example: neuralfx process song.wav --style rain.wav --preset 'style 0.01'",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
presets_app = typer.Typer(
    help="List, show, save, delete, export and import presets.\n\n"
         "Example: neuralfx presets list",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(presets_app, name="presets")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"neuralfx {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version_callback,
                                       is_eager=True, help="Print the version and exit.")
          ) -> None:
    """Neural audio style transfer and texture synthesis as an offline audio effect.

    Example: neuralfx process song.wav --style rain.wav --preset "style 0.01"
    """
