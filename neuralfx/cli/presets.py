"""``neuralfx presets``: list, show, save, delete, export and import presets."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..batch import message, with_path
from ._app import presets_app
from ._args import failure, note, plugin_specs, preset_option, preset_overrides, usage_error


@presets_app.command("list", epilog="Example: neuralfx presets list --json")
def presets_list(as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout.")
                 ) -> None:
    """List the built-in and user presets with their descriptions.

    Example: neuralfx presets list
    """
    from ..presets import list_presets

    entries = [e.as_dict() for e in list_presets()]
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    table = Table("name", "source", "description")
    for e in entries:
        source = f"user (load as 'user:{e['name']}')" if e["shadows_builtin"] else e["source"]
        text = f"[red]unreadable: {escape(e['error'])}[/red]" if e["error"] else escape(
            e["description"])
        table.add_row(escape(e["name"]), source, text)
    Console(highlight=False).print(table)


@presets_app.command("show", epilog="Example: neuralfx presets show draft --set iterations=50")
def presets_show(
    name: str = typer.Argument(..., help="Preset name, 'style X', or a preset .toml file."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Show the preset with these overrides applied."),
) -> None:
    """Print a preset as TOML (every parameter), ready to edit and save.

    Example: neuralfx presets show "style 0.01"
    """
    from ..presets import dump_preset

    typer.echo(dump_preset(preset_option(name, preset_overrides(sets))), nl=False)


@presets_app.command("save", epilog="Example: neuralfx presets save mine --from draft "
                                    "--set content_weight=0.005 --post 'Limiter'")
def presets_save(
    name: str = typer.Argument(..., help="Name of the new user preset."),
    base: str = typer.Option("style 0.01", "--from", help="Preset it starts from."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE",
                                          help="Parameter changes (repeatable)."),
    description: str | None = typer.Option(None, "--description",
                                           help="One line on what it sounds like."),
    pre: list[str] | None = typer.Option(None, "--pre", metavar="EFFECT",
                                         help="Add a pedalboard effect before the neural one."),
    post: list[str] | None = typer.Option(None, "--post", metavar="EFFECT",
                                          help="Add a pedalboard effect after the neural one."),
    style: Path | None = typer.Option(None, "--style", "-s",
                                      help="Style audio the preset is made for (kept by path "
                                           "and checked by hash)."),
    overwrite: bool = typer.Option(False, "--overwrite", "--force",
                                   help="Replace a user preset of that name."),
) -> None:
    """Save a user preset: a preset plus changes, optionally with an effect chain and a style.

    A user preset may take a built-in's name; load it then as "user:NAME".

    Example: neuralfx presets save dark --from "style 0.001" --set seed=3
    """
    from ..presets import derive_preset, save_user_preset

    preset = preset_option(base, preset_overrides(sets))
    pre_specs, post_specs = plugin_specs(pre, "--pre"), plugin_specs(post, "--post")
    if style is not None and not style.is_file():
        raise usage_error(f"{style}: no such file", "--style")
    try:
        preset = derive_preset(preset, name, description=description, pre=pre_specs,
                               post=post_specs, style=style)
        path = save_user_preset(preset, overwrite=overwrite)
    except FileExistsError as e:
        raise usage_error(f"{message(e).split('; pass')[0]}; pass --overwrite to replace it",
                          "NAME") from None
    except ValueError as e:
        raise usage_error(message(e), "NAME") from None
    note(f"saved user preset {name!r} to {path}")


@presets_app.command("delete", epilog="Example: neuralfx presets delete mine")
def presets_delete(name: str = typer.Argument(..., help="User preset to delete.")) -> None:
    """Delete a user preset (built-in presets cannot be deleted).

    Example: neuralfx presets delete mine
    """
    from ..presets import delete_user_preset

    try:
        delete_user_preset(name)
    except (KeyError, FileNotFoundError, ValueError) as e:
        raise usage_error(message(e), "NAME") from None
    note(f"deleted user preset {name!r}")


@presets_app.command("export", epilog="Example: neuralfx presets export mine -o mine.nfx "
                                      "--style rain.wav")
def presets_export(
    name: str = typer.Argument(..., help="Preset to export."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle file to write."),
    style: Path | None = typer.Option(None, "--style", "-s",
                                      help="Style audio to include (default: the preset's)."),
    overwrite: bool = typer.Option(False, "--overwrite", "--force",
                                   help="Replace an existing bundle file."),
) -> None:
    """Export a preset, its effect chain and its style audio as one shareable bundle file.

    Example: neuralfx presets export mine -o mine.zip --style rain.wav
    """
    from ..presets.bundle import export_bundle

    preset = preset_option(name, {})
    if style is not None and not style.is_file():
        raise usage_error(f"{style}: no such file", "--style")
    if output.exists() and not overwrite:
        raise usage_error(f"{output} exists; pass --overwrite to replace it", "--output")
    try:
        export_bundle(preset, output, style_path=style)
    except (ValueError, OSError) as e:
        raise failure(message(e)) from None
    note(f"exported {preset.name!r} to {output}")


@presets_app.command("import", epilog="Example: neuralfx presets import mine.zip --name theirs")
def presets_import(
    bundle: Path = typer.Argument(..., help="Bundle file made by 'neuralfx presets export'."),
    name: str | None = typer.Option(None, "--name", help="Install under another name."),
    overwrite: bool = typer.Option(False, "--overwrite", "--force",
                                   help="Replace a different user preset of the same name."),
) -> None:
    """Import a preset bundle into the user presets, with its style audio and chain.

    The bundle is checked before anything is written: member names (no path traversal), sizes,
    checksums and format version.

    Example: neuralfx presets import mine.zip
    """
    from ..presets.bundle import import_bundle

    if not bundle.is_file():
        raise usage_error(f"{bundle}: no such file", "BUNDLE")
    try:
        preset, style_path = import_bundle(bundle, name=name, overwrite=overwrite)
    except FileExistsError as e:
        raise usage_error(f"{message(e).split('; import with')[0]}; pass --overwrite or --name",
                          "BUNDLE") from None
    except (ValueError, OSError, KeyError) as e:
        raise failure(with_path(bundle, message(e))) from None
    note(f"imported preset {preset.name!r}" + (f" with style {style_path}" if style_path else "")
         + f"; use it with --preset {preset.name!r}")
