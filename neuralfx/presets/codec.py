"""Presets as TOML files: reading with errors that name the problem, and writing.

File format (every group and key optional except ``format_version`` and ``name``; omitted keys
keep the classic defaults)::

    format_version = 1
    name = "my preset"
    description = "What it sounds like; what it costs."

    [style]                    # optional: the style audio this preset was made with
    path = "styles/3f2a....wav"  # relative to the preset file's folder, or absolute
    sha256 = "3f2a..."           # optional: checked before use

    [analysis]        # sample_rate, n_fft, hop_length
    [network]         # n_filters, kernel_sizes, seed
    [loss]            # content_weight, style_weight, autocorrelation_weight,
                      # envelope_weight
    [optimiser]       # optimizer, iterations, learning_rate, init
    [reconstruction]  # griffin_lim_iterations, griffin_lim_momentum, phase_init,
                      # waveform_iterations
    [chunking]        # chunk_seconds, overlap_seconds, pad_edges
    [compute]         # precision, device, memory_budget_mb
    [output]          # mix (0..1 dry/wet), match_loudness, full_band (true/false)

    [[chain.pre]]     # pedalboard effects before the neural effect, in order
    plugin = "HighpassFilter"
    cutoff_frequency_hz = 30
    [[chain.post]]    # and after it
    plugin = "Limiter"
    threshold_db = -1

Errors name the file, the field (``loss.content_weight``), the bad value and what is allowed;
unknown groups and keys are errors. The same preset file, style audio and seed on the same
device give the same output on another machine.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from .._version import __version__
from ..settings import Settings, SettingsError
from .plugins import PluginError, normalise_spec
from .preset import (
    FORMAT_VERSION,
    GROUP_OF,
    GROUPS,
    OUTPUT_KEYS,
    SHA256_PATTERN,
    Preset,
    PresetError,
    PresetNotFoundError,
    check_name,
    default_value,
    to_document,
    typed_values,
)

MAX_PRESET_BYTES = 1 << 20  # a preset is a few hundred bytes; refuse anything absurd
TOP_LEVEL_KEYS = ("format_version", "name", "description", "style", "chain")


def _qualified(message: str) -> str:
    """``content_weight = -1 ...`` -> ``loss.content_weight = -1 ...``."""
    m = re.match(r"(\w+)( = )", message)
    if m and m.group(1) in GROUP_OF:
        return f"{GROUP_OF[m.group(1)]}.{message}"
    return message


def preset_from_document(doc: Mapping[str, Any], where: str = "<preset>",
                         base_dir: str | Path | None = None, source: str = "") -> Preset:
    """A :class:`Preset` from a parsed TOML document. ``where`` names it in errors; a relative
    style path is resolved against ``base_dir``."""

    def fail(message: str) -> PresetError:
        return PresetError(f"{where}: {message}")

    if not isinstance(doc, Mapping):
        raise fail("expected a TOML table")
    allowed = TOP_LEVEL_KEYS + tuple(GROUPS)
    for key in doc:
        if key not in allowed:
            hint = f" (it belongs in [{GROUP_OF[key]}])" if key in GROUP_OF else ""
            raise fail(f"unknown key {key!r}{hint}; allowed top-level keys and groups: "
                       f"{', '.join(allowed)}")

    version = doc.get("format_version")
    if version is None:
        raise fail(f"format_version is missing: expected format_version = {FORMAT_VERSION}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"format_version = {version!r} is not allowed: expected an integer from 1 to "
                   f"{FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise fail(f"format_version = {version} is newer than this neuralfx ({__version__}) "
                   f"reads (up to {FORMAT_VERSION}): upgrade neuralfx to use this preset")

    name = doc.get("name")
    if name is None:
        raise fail('name is missing: expected e.g. name = "my preset"')
    description = doc.get("description", "")
    try:
        check_name(name)
    except PresetError as e:
        raise fail(str(e)) from None
    if not isinstance(description, str):
        raise fail(f"description = {description!r} is not allowed: expected text")

    values: dict[str, Any] = {}
    for group, keys in GROUPS.items():
        table = doc.get(group, {})
        if not isinstance(table, Mapping):
            raise fail(f"{group} = {table!r} is not allowed: expected a table [{group}] with "
                       f"keys {', '.join(keys)}")
        for key, value in table.items():
            if key not in keys:
                hint = f" (it belongs in [{GROUP_OF[key]}])" if key in GROUP_OF else ""
                raise fail(f"unknown key {group}.{key}{hint}; keys of [{group}]: "
                           f"{', '.join(keys)}")
            values[key] = value
    for key, value in values.items():  # type errors the range checks would word oddly
        if isinstance(default_value(key), str) and not isinstance(value, str):
            raise fail(f"{GROUP_OF[key]}.{key} = {value!r} is not allowed: expected text")
    values = typed_values(values)
    engine = {k: v for k, v in values.items() if k not in OUTPUT_KEYS}
    output = {k: v for k, v in values.items() if k in OUTPUT_KEYS}
    try:
        settings = Settings(**engine)
    except SettingsError as e:
        raise fail(_qualified(str(e))) from None

    style, style_sha256 = _read_style(doc.get("style"), fail, base_dir)
    pre, post = _read_chain(doc.get("chain", {}), fail)
    try:
        return Preset(name, description, settings, style=style, style_sha256=style_sha256,
                      pre=pre, post=post, source=source, **output)
    except SettingsError as e:
        raise fail(_qualified(str(e))) from None


def _read_style(value: Any, fail, base_dir) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, Mapping):
        raise fail(f"style = {value!r} is not allowed: expected a path or a table [style] with "
                   f"path and sha256")
    for key in value:
        if key not in ("path", "sha256"):
            raise fail(f"unknown key style.{key}; keys of [style]: path, sha256")
    path, sha = value.get("path"), value.get("sha256")
    if not isinstance(path, str) or not path:
        raise fail(f"style.path = {path!r} is not allowed: expected the path of an audio file")
    if sha is not None and not (isinstance(sha, str) and SHA256_PATTERN.fullmatch(sha)):
        raise fail(f"style.sha256 = {sha!r} is not allowed: expected 64 lowercase hexadecimal "
                   f"digits")
    resolved = Path(path).expanduser()
    if not resolved.is_absolute() and base_dir is not None:
        resolved = Path(base_dir) / resolved
    return str(resolved), sha


def _read_chain(chain: Any, fail) -> tuple[list, list]:
    if not isinstance(chain, Mapping):
        raise fail("chain is not allowed as a value: expected [[chain.pre]] / [[chain.post]] "
                   "tables")
    for key in chain:
        if key not in ("pre", "post"):
            raise fail(f"unknown key chain.{key}; keys of [chain]: pre, post")
    out = []
    for where in ("pre", "post"):
        entries = chain.get(where, [])
        if not isinstance(entries, list):
            raise fail(f"chain.{where} = {entries!r} is not allowed: expected [[chain.{where}]] "
                       f"tables")
        specs = []
        for i, entry in enumerate(entries):
            try:
                specs.append(normalise_spec(entry))
            except PluginError as e:
                raise fail(f"chain.{where}[{i}]: {e}") from None
        out.append(specs)
    return out[0], out[1]


def dump_preset(preset: Preset, style_relative_to: str | Path | None = None) -> str:
    """The preset as TOML text, every field written out (so the file fully describes the
    result even if the defaults change). A style path inside ``style_relative_to`` is written
    relative to it."""
    header = f"# neuralfx preset (format {FORMAT_VERSION}), written by neuralfx {__version__}\n"
    text = tomli_w.dumps(to_document(preset, style_relative_to))
    # tomli_w puts every array item on its own line: keep short lists on one (kernel_sizes)
    return header + _MULTILINE_ARRAY.sub(_one_line, text)


_MULTILINE_ARRAY = re.compile(r"\[\n(?:[ ]+[^\n\[\]{}]*,\n)+\]")


def _one_line(m: re.Match) -> str:
    items = [line.strip().removesuffix(",") for line in m.group(0)[1:-1].strip().splitlines()]
    return "[" + ", ".join(items) + "]"


def loads_preset(text: str, where: str = "<preset>", base_dir: str | Path | None = None,
                 source: str = "") -> Preset:
    """A preset from TOML text."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PresetError(f"{where}: not valid TOML: {e}") from None
    return preset_from_document(doc, where, base_dir, source or where)


def read_preset_file(path: str | Path, source: str = "") -> Preset:
    """A preset from a TOML file (a relative style path is relative to the file)."""
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PRESET_BYTES + 1)
    except FileNotFoundError:
        raise PresetNotFoundError(f"preset file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise PresetNotFoundError(f"preset file {str(path)!r} is a folder") from None
    if len(data) > MAX_PRESET_BYTES:
        raise PresetError(f"{path}: {len(data)}+ bytes is too large for a preset file "
                          f"(at most {MAX_PRESET_BYTES} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PresetError(f"{path}: not UTF-8 text ({e})") from None
    return loads_preset(text, str(path), path.resolve().parent, source or str(path))

