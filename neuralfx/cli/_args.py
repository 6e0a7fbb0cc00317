"""What the commands share: turning options into presets and effects, usage errors (exit 2),
messages on stderr and the batch report."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..batch import EXIT_FAILED, BatchError, BatchResult, message
from .progress import Ui

PLUGIN_SYNTAX = (
    'Effect specs are Name(param=value, ...) with pedalboard effect names and literal values, '
    'e.g. "Compressor(threshold_db=-18, ratio=4)" or "Limiter". Repeatable; applied in order.')


def usage_error(text: str, param: str | None = None) -> typer.BadParameter:
    """A usage error (exit code 2) naming the option."""
    return typer.BadParameter(text, param_hint=param)


def failure(text: str) -> typer.Exit:
    """Prints ``error: text`` on stderr; the exit (code 1) to raise."""
    Console(stderr=True).print(f"[red]error:[/red] {escape(text)}")
    return typer.Exit(EXIT_FAILED)


def note(text: str) -> None:
    """A message on stderr (stdout carries only what was asked for)."""
    Console(stderr=True, highlight=False).print(text)


def preset_overrides(sets: list[str] | None, seed: int | None = None,
                     device: str | None = None) -> dict[str, Any]:
    """``--set key=value`` options (typed by the preset module), then ``--seed``/``--device``."""
    from .overrides import parse_overrides

    try:
        out = parse_overrides(sets or [])
    except (ValueError, KeyError, TypeError) as e:
        raise usage_error(message(e), "--set") from None
    if seed is not None:
        out["seed"] = seed
    if device is not None:
        out["device"] = device
    return out


def preset_option(name: str, overrides: dict[str, Any]):
    """The preset ``--preset`` (or an argument) names, with the overrides; what is wrong with
    either is a usage error naming the option."""
    from ..presets import load_preset

    try:
        return load_preset(name, **overrides)
    except FileNotFoundError as e:
        raise usage_error(message(e), "--preset") from None
    except KeyError as e:
        raise usage_error(message(e), "--preset") from None
    except ValueError as e:  # SettingsError and preset file errors
        param = "--set" if overrides else "--preset"
        raise usage_error(message(e), param) from None


def check_device(preset) -> None:
    """A device the machine lacks is a usage error before any work, not a failure per file."""
    from ..device import resolve_device

    try:
        resolve_device(preset.settings.device)
    except (RuntimeError, ValueError) as e:
        raise usage_error(message(e), "--device") from None


def plugin_specs(specs: list[str] | None, option: str) -> list:
    """``--pre``/``--post`` texts as validated plugin specs (parsed with ``ast``, never run)."""
    from ..presets.plugins import parse_plugin_spec

    out = []
    for spec in specs or []:
        try:
            out.append(parse_plugin_spec(spec))
        except (ValueError, TypeError, KeyError, SyntaxError) as e:
            raise usage_error(f"{spec!r}: {message(e)}. {PLUGIN_SYNTAX}", option) from None
    return out


def plugins(specs: list[str] | None, option: str) -> list:
    """``--pre``/``--post`` texts as pedalboard effects."""
    from ..presets.plugins import plugin_from_dict

    return [plugin_from_dict(s) for s in plugin_specs(specs, option)]


# the command-line option of each field the library's errors name
FLAGS = {
    "inputs": "INPUT...", "style": "--style", "preset": "--preset", "format": "--format",
    "bit_depth": "--bit-depth", "sample_rate": "--sample-rate", "quality": "--quality",
    "name_template": "--name-template", "executor": "--executor", "address": "--address",
    "workers": "--workers", "files": "--ray-files", "chunks": "--ray-chunks",
    "ray": "--address / --workers / --ray-files / --ray-chunks", "policy":
    "--skip-existing / --overwrite", "duration": "--duration", "channels": "--channels",
    "output": "--output",
}
# what the command line adds to the library's message, per field
ADVICE = {"ray": "pass --executor ray"}


@contextlib.contextmanager
def usage_errors(flags: dict[str, str] | None = None,
                 advice: dict[str, str] | None = None) -> Iterator[None]:
    """The batch library's errors about the batch as a whole are usage errors (exit 2) naming
    the option of their field (:data:`FLAGS`, updated with ``flags``), with the command
    line's advice for it (:data:`ADVICE`, updated with ``advice``)."""
    try:
        yield
    except BatchError as e:
        hint = dict(ADVICE, **(advice or {})).get(e.field or "")
        raise usage_error(f"{e}; {hint}" if hint else str(e),
                          dict(FLAGS, **(flags or {})).get(e.field or "")) from None


def report(result: BatchResult, ui: Ui, as_json: bool, extra: dict[str, Any]) -> int:
    """Prints the JSON summary (stdout) and the failures or the counts (stderr); returns the
    exit code."""
    if as_json:
        typer.echo(json.dumps(result.summary(**extra), indent=2, default=str))
    failures = result.failures()
    if failures:
        table = Table("failed input", "reason", show_lines=False, title=result.line)
        for source, reason in failures:
            table.add_row(escape(source), escape(reason))
        # failures are listed even with --quiet: they need action
        Console(stderr=True, highlight=False).print(table)
    else:
        ui.print(result.line)
    return result.exit_status
