"""Presets: named, validated, shareable descriptions of a whole render.

A preset is one TOML file (format below) loaded into the immutable :class:`Preset`: every engine
parameter (:class:`neuralfx.settings.Settings`), the output stage (``mix``, ``match_loudness``),
optionally the style audio it was made with and a chain of pedalboard effects before (``pre``)
and after (``post``) the neural effect. The same preset file, style audio and seed on the same
device give the same output on another machine.

Where presets come from, in the order :func:`load_preset` looks:

1. a path (a ``str`` ending in ``.toml`` or holding a path separator, or a ``Path``);
2. ``"user:NAME"``: the user folder only; ``"builtin:NAME"``: the built-in library only;
3. the built-in library (the repository's top-level ``presets/*.toml``, shipped inside the
   package as ``neuralfx/presets/``; adding a preset is dropping a file there), then
   ``"style X"`` for any number X >= 0 (the classic settings with content weight X), then the
   user folder.

User presets never shadow a built-in silently: saving a user preset called ``"hq"`` is allowed,
but ``load_preset("hq")`` still gives the built-in; ``load_preset("hq", prefer_user=True)`` or
``load_preset("user:hq")`` gives the user's. The user folder is
``platformdirs.user_data_dir("neuralfx")/presets``, or ``$NEURALFX_PRESET_DIR``.

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
    [output]          # mix (0..1 dry/wet), match_loudness (true/false)

    [[chain.pre]]     # pedalboard effects before the neural effect, in order
    plugin = "HighpassFilter"
    cutoff_frequency_hz = 30
    [[chain.post]]    # and after it
    plugin = "Limiter"
    threshold_db = -1

Errors name the file, the field (``loss.content_weight``), the bad value and what is allowed;
unknown groups and keys are errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from ._version import __version__
from .plugins import PluginError, PluginSpec, build_chain, normalise_spec
from .settings import Settings, SettingsError, field_names

FORMAT_VERSION = 1
PRESET_DIR_ENV = "NEURALFX_PRESET_DIR"
MAX_PRESET_BYTES = 1 << 20  # a preset is a few hundred bytes; refuse anything absurd

OUTPUT_KEYS = ("mix", "match_loudness")

# TOML group -> keys. Engine fields nobody has grouped yet land in [engine], so every field of
# Settings stays representable even before this table learns about it.
GROUPS: dict[str, tuple[str, ...]] = {
    "analysis": ("sample_rate", "n_fft", "hop_length"),
    "network": ("n_filters", "kernel_sizes", "seed"),
    "loss": ("content_weight", "style_weight", "autocorrelation_weight", "envelope_weight"),
    "optimiser": ("optimizer", "iterations", "learning_rate", "init"),
    "reconstruction": ("griffin_lim_iterations", "griffin_lim_momentum", "phase_init",
                       "waveform_iterations"),
    "chunking": ("chunk_seconds", "overlap_seconds", "pad_edges"),
    "compute": ("precision", "device", "memory_budget_mb"),
}
GROUPS = {g: tuple(k for k in keys if k in field_names()) for g, keys in GROUPS.items()}
_ungrouped = tuple(f for f in field_names() if not any(f in keys for keys in GROUPS.values()))
if _ungrouped:
    GROUPS["engine"] = _ungrouped
GROUPS["output"] = OUTPUT_KEYS
GROUP_OF = {key: group for group, keys in GROUPS.items() for key in keys}
TOP_LEVEL_KEYS = ("format_version", "name", "description", "style", "chain")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+\-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_STYLE_X = re.compile(r"style\s+(\S+)", re.IGNORECASE)
_DEFAULTS = Settings()


class PresetError(SettingsError):
    """A preset file, name or override is invalid. The message names the file, the field, the
    bad value and what is allowed."""


class PresetNotFoundError(KeyError):
    """No preset of that name (or no such preset file)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Preset:
    """Everything a render depends on, except the content audio.

    ``style`` is the path of the style audio the preset was made with (absolute once loaded
    from a file), or None; ``style_sha256`` its content hash, checked by :meth:`style_path`.
    ``pre`` and ``post`` are the pedalboard effects before and after the neural effect, as
    read-only plugin dicts (see :mod:`neuralfx.plugins`). ``source`` says where the preset was
    loaded from (not part of equality).
    """

    name: str
    description: str
    settings: Settings = field(default_factory=Settings)
    mix: float = 1.0
    match_loudness: bool = True
    style: str | None = None
    style_sha256: str | None = None
    pre: tuple[PluginSpec, ...] = ()
    post: tuple[PluginSpec, ...] = ()
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.description, str):
            raise PresetError(f"description = {self.description!r} is not allowed: expected text")
        if not isinstance(self.settings, Settings):
            raise PresetError(f"settings = {self.settings!r}: expected a neuralfx Settings")
        if isinstance(self.mix, int) and not isinstance(self.mix, bool):
            object.__setattr__(self, "mix", float(self.mix))
        _check_output(self)
        if self.style is not None:
            if not isinstance(self.style, (str, os.PathLike)) or not str(self.style):
                raise PresetError(f"style.path = {self.style!r} is not allowed: expected a path")
            object.__setattr__(self, "style", str(self.style))
        if self.style_sha256 is not None and not (
                isinstance(self.style_sha256, str) and _SHA256.fullmatch(self.style_sha256)):
            raise PresetError(f"style.sha256 = {self.style_sha256!r} is not allowed: expected 64 "
                              f"lowercase hexadecimal digits")
        for where in ("pre", "post"):
            specs = getattr(self, where)
            if isinstance(specs, Mapping) or isinstance(specs, str):
                raise PresetError(f"chain.{where} = {specs!r}: expected a list of plugin tables")
            object.__setattr__(self, where, tuple(normalise_spec(s) for s in specs))

    def with_overrides(self, **overrides: Any) -> Preset:
        """A copy with engine parameters and/or ``mix``/``match_loudness`` changed, validated
        together (so ``n_fft=4096, hop_length=1024`` is checked as a pair)."""
        if not overrides:
            return self
        unknown = sorted(set(overrides) - set(field_names()) - set(OUTPUT_KEYS))
        if unknown:
            raise PresetError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))}; known parameters: "
                f"{', '.join(field_names() + OUTPUT_KEYS)}")
        overrides = _typed(overrides)
        engine = {k: v for k, v in overrides.items() if k not in OUTPUT_KEYS}
        output = {k: v for k, v in overrides.items() if k in OUTPUT_KEYS}
        return dataclasses.replace(self, settings=self.settings.replace(**engine), **output)

    def style_path(self, check: bool = True) -> Path | None:
        """The style audio file, or None. With ``check``, it must exist and, when the preset
        records a hash, have that content."""
        if self.style is None:
            return None
        path = Path(self.style)
        if check:
            if not path.is_file():
                raise PresetNotFoundError(
                    f"preset {self.name!r}: its style file {str(path)!r} does not exist")
            if self.style_sha256 and file_sha256(path) != self.style_sha256:
                raise PresetError(
                    f"preset {self.name!r}: style file {str(path)!r} has changed since the "
                    f"preset was made (sha256 differs from style.sha256 = {self.style_sha256})")
        return path

    def pre_plugins(self) -> list:
        """Fresh pedalboard plugins of the ``pre`` chain, in order."""
        return build_chain(self.pre)

    def post_plugins(self) -> list:
        """Fresh pedalboard plugins of the ``post`` chain, in order."""
        return build_chain(self.post)

    def to_dict(self, style_relative_to: str | Path | None = None) -> dict[str, Any]:
        """The preset as a TOML-ready document (see :func:`dump_preset`)."""
        return _to_document(self, style_relative_to)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name != name.strip():
        raise PresetError(
            f"name = {name!r} is not allowed: expected 1 to 64 characters, letters, digits, "
            f"spaces and . _ + - (starting with a letter or digit)")


def _check_output(p: Preset) -> None:
    if not (isinstance(p.mix, (int, float)) and not isinstance(p.mix, bool)
            and math.isfinite(p.mix) and 0 <= p.mix <= 1):
        raise SettingsError(f"mix = {p.mix!r} is not allowed: expected a number from 0 to 1")
    if not isinstance(p.match_loudness, bool):
        raise SettingsError(
            f"match_loudness = {p.match_loudness!r} is not allowed: expected true or false")


def _default(key: str) -> Any:
    return getattr(Preset("x", ""), key) if key in OUTPUT_KEYS else getattr(_DEFAULTS, key)


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Integers given for float fields become floats (``content_weight = 0`` in TOML)."""
    out = dict(values)
    for k, v in out.items():
        if (isinstance(_default(k), float) and isinstance(v, int) and not isinstance(v, bool)):
            out[k] = float(v)
        elif k == "kernel_sizes" and isinstance(v, list):
            out[k] = tuple(v)
    return out


# ---------------------------------------------------------------------------------------------
# TOML <-> Preset

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
        _check_name(name)
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
        if isinstance(_default(key), str) and not isinstance(value, str):
            raise fail(f"{GROUP_OF[key]}.{key} = {value!r} is not allowed: expected text")
    values = _typed(values)
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
    if sha is not None and not (isinstance(sha, str) and _SHA256.fullmatch(sha)):
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


def _to_document(preset: Preset, style_relative_to: str | Path | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": preset.name,
                           "description": preset.description}
    values = preset.settings.as_dict() | {k: getattr(preset, k) for k in OUTPUT_KEYS}
    for group, keys in GROUPS.items():
        doc[group] = {k: values[k] for k in keys}
    if preset.style is not None:
        path = preset.style
        if style_relative_to is not None:
            try:
                path = Path(path).relative_to(style_relative_to).as_posix()
            except ValueError:
                pass  # elsewhere: keep it absolute
        doc["style"] = {"path": str(path)}
        if preset.style_sha256:
            doc["style"]["sha256"] = preset.style_sha256
    chain = {where: [dict(s) for s in getattr(preset, where)] for where in ("pre", "post")
             if getattr(preset, where)}
    if chain:
        doc["chain"] = chain
    return doc


def dump_preset(preset: Preset, style_relative_to: str | Path | None = None) -> str:
    """The preset as TOML text, every field written out (so the file fully describes the
    result even if the defaults change). A style path inside ``style_relative_to`` is written
    relative to it."""
    header = f"# neuralfx preset (format {FORMAT_VERSION}), written by neuralfx {__version__}\n"
    text = tomli_w.dumps(_to_document(preset, style_relative_to))
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


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# built-in library

def _key(name: str) -> str:
    """Names compare case-insensitively, runs of spaces as one."""
    return " ".join(str(name).split()).lower()


_builtin_cache: dict[str, Preset] | None = None


def builtin_preset_dir() -> Traversable:
    """The folder of the built-in preset files.

    An installed package carries them as the data folder ``neuralfx/presets/`` (pyproject.toml
    maps the repository's top-level ``presets/`` there); the source tree (pytest, an editable
    install) has them at the top-level ``presets/`` itself.
    """
    shipped = importlib.resources.files("neuralfx") / "presets"
    if shipped.is_dir():
        return shipped
    source = Path(__file__).resolve().parent.parent / "presets"
    if source.is_dir() and (source.parent / "pyproject.toml").is_file():
        return source
    raise PresetError(f"the built-in presets are missing: neither {shipped} (installed) nor "
                      f"{source} (source tree) is a folder; reinstall neuralfx")


def _builtins() -> dict[str, Preset]:
    global _builtin_cache
    if _builtin_cache is None:
        found: dict[str, Preset] = {}
        folder = builtin_preset_dir()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".toml"):
                continue
            where = f"built-in preset file {entry.name}"
            preset = loads_preset(entry.read_text("utf-8"), where, source="builtin")
            if _key(preset.name) in found:
                raise PresetError(f"{where}: a second built-in preset named {preset.name!r}")
            found[_key(preset.name)] = preset
        _builtin_cache = found
    return _builtin_cache


def builtin_names() -> list[str]:
    """Names of the built-in presets (plus any ``"style X"``, X >= 0, which is not listed)."""
    return sorted(p.name for p in _builtins().values())


def _is_builtin_name(name: str) -> bool:
    """Whether a plain ``load_preset(name)`` gives a built-in (incl. ``"style X"``)."""
    try:
        return _key(name) in _builtins() or _style_x(name) is not None
    except PresetError:
        return True  # "style -1": the name is taken by the "style X" rule (and refused)


def _style_x(name: str) -> Preset | None:
    m = _STYLE_X.fullmatch(" ".join(name.split()))
    if not m:
        return None
    try:
        weight = float(m.group(1))
    except ValueError:
        return None
    if not (math.isfinite(weight) and weight >= 0):
        raise PresetError(f"preset {name!r}: the content weight of 'style X' must be a finite "
                          f"number >= 0, not {m.group(1)}")
    classic = _builtins()["style 0.01"]
    return dataclasses.replace(
        classic, name=f"style {m.group(1)}", settings=classic.settings.replace(
            content_weight=weight),
        description=f"Classic style transfer with content weight {m.group(1)} (0 = texture, "
                    f"0.01 = classic; lower = more style). Costs as 'style 0.01'.")


# ---------------------------------------------------------------------------------------------
# user presets

def user_preset_dir() -> Path:
    """The user preset folder: ``$NEURALFX_PRESET_DIR``, else
    ``platformdirs.user_data_dir("neuralfx")/presets`` (created when first saved to)."""
    env = os.environ.get(PRESET_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("neuralfx")) / "presets"


def _file_name(name: str) -> str:
    return _key(name).replace(" ", "_") + ".toml"


def _user_file(name: str, folder: Path) -> Path | None:
    """The file in ``folder`` holding user preset ``name``, or None."""
    direct = folder / _file_name(name)
    candidates = [direct] + sorted(p for p in folder.glob("*.toml") if p != direct)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            preset = read_preset_file(path)
        except (PresetError, PresetNotFoundError):
            if path == direct:
                raise
            continue
        if _key(preset.name) == _key(name):
            return path
    return None


def _load_user(name: str, folder: Path | None = None) -> Preset | None:
    folder = folder or user_preset_dir()
    path = _user_file(name, folder) if folder.is_dir() else None
    return read_preset_file(path, source=f"user:{path}") if path else None


def save_user_preset(preset: Preset, name: str | None = None, *, overwrite: bool = False,
                     preset_dir: str | Path | None = None) -> Path:
    """Save ``preset`` (renamed to ``name`` if given) to the user folder; returns its path.

    A name already used by a built-in is allowed (load it with ``prefer_user=True`` or
    ``"user:NAME"``). An existing user preset of that name is replaced only with ``overwrite``.
    """
    if name is not None:
        preset = dataclasses.replace(preset, name=name)
    folder = Path(preset_dir).expanduser() if preset_dir else user_preset_dir()
    existing = _user_file(preset.name, folder) if folder.is_dir() else None
    if existing and not overwrite:
        raise FileExistsError(f"a user preset named {preset.name!r} already exists "
                              f"({existing}); pass overwrite=True (CLI: --force) to replace it")
    path = existing or folder / _file_name(preset.name)
    write_atomic(path, dump_preset(preset, style_relative_to=folder.resolve()).encode())
    return path


def derive_preset(base: Preset, name: str, *, description: str | None = None,
                  pre: Iterable[dict] = (), post: Iterable[dict] = (),
                  style: str | Path | None = None) -> Preset:
    """``base`` renamed, with a new description, plugin specs added before its pre chain and
    after its post chain, and a style file (kept by absolute path, checked by hash)."""
    changes: dict[str, Any] = {"name": name}
    pre, post = tuple(pre), tuple(post)
    if description is not None:
        changes["description"] = description
    if pre:
        changes["pre"] = pre + base.pre
    if post:
        changes["post"] = base.post + post
    if style is not None:
        changes["style"], changes["style_sha256"] = str(Path(style).resolve()), \
            file_sha256(style)
    return dataclasses.replace(base, **changes)


def delete_user_preset(name: str, preset_dir: str | Path | None = None) -> Path:
    """Delete user preset ``name``; returns the deleted file. Style audio it referred to stays
    in ``styles/`` (other presets may share it)."""
    name = name.removeprefix("user:")
    folder = Path(preset_dir).expanduser() if preset_dir else user_preset_dir()
    path = _user_file(name, folder) if folder.is_dir() else None
    if path is None:
        raise PresetNotFoundError(f"no user preset named {name!r} in {folder}")
    path.unlink()
    return path


@dataclass(frozen=True)
class PresetInfo:
    """One row of :func:`list_presets`. ``kind`` is ``"builtin"`` or ``"user"``; ``shadows``
    marks a user preset named like a built-in; ``error`` is set for an unreadable user file."""

    name: str
    description: str
    kind: str
    path: Path | None = None
    shadows: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (``neuralfx presets list --json``)."""
        return {"name": self.name, "source": self.kind, "description": self.description,
                "path": str(self.path) if self.path else None, "shadows_builtin": self.shadows,
                "error": self.error}


def list_presets(preset_dir: str | Path | None = None) -> list[PresetInfo]:
    """Built-in presets (by name), then user presets (by name); broken user files are listed
    with their error instead of failing the listing."""
    rows = [PresetInfo(p.name, p.description, "builtin") for p in
            sorted(_builtins().values(), key=lambda p: p.name)]
    folder = Path(preset_dir).expanduser() if preset_dir else user_preset_dir()
    user = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                p = read_preset_file(path)
            except (PresetError, PresetNotFoundError) as e:
                user.append(PresetInfo(path.stem, "", "user", path, error=str(e)))
                continue
            user.append(PresetInfo(p.name, p.description, "user", path,
                                   shadows=_is_builtin_name(p.name)))
    return rows + sorted(user, key=lambda r: _key(r.name))


# ---------------------------------------------------------------------------------------------
# loading and overrides

def _looks_like_path(name: str | os.PathLike) -> bool:
    if isinstance(name, os.PathLike):
        return True
    return name.lower().endswith(".toml") or "/" in name or os.sep in name


def load_preset(name_or_path: str | os.PathLike, *, prefer_user: bool = False,
                **overrides: Any) -> Preset:
    """A preset by name or path, with ``overrides`` (engine parameters, ``mix``,
    ``match_loudness``) applied and validated. See the module docstring for the lookup order.

    Raises:
        PresetNotFoundError (a KeyError): no such preset; the message lists the known ones.
        PresetError (a ValueError): the file or an override is invalid.
    """
    preset = _find(name_or_path, prefer_user)
    return preset.with_overrides(**overrides) if overrides else preset


def _find(name: str | os.PathLike, prefer_user: bool) -> Preset:
    if _looks_like_path(name):
        return read_preset_file(name)
    if not isinstance(name, str):
        raise PresetNotFoundError(f"preset = {name!r}: expected a preset name or a file path")
    if name.startswith("user:"):
        user = _load_user(name[5:])
        if user is None:
            raise PresetNotFoundError(f"no user preset named {name[5:]!r} in "
                                      f"{user_preset_dir()}{_known()}")
        return user
    builtin_only = name.startswith("builtin:")
    name = name.removeprefix("builtin:")
    if prefer_user and not builtin_only and (user := _load_user(name)) is not None:
        return user
    if (preset := _builtins().get(_key(name))) is not None:
        return preset
    if (preset := _style_x(name)) is not None:
        return preset
    if not builtin_only and (user := _load_user(name)) is not None:
        return user
    raise PresetNotFoundError(f"unknown preset {name!r}{_known()}")


def _known() -> str:
    user = [r.name for r in list_presets() if r.kind == "user" and r.error is None]
    text = f"; built-in presets: {', '.join(builtin_names())}, or 'style X' for a number X >= 0"
    return text + (f"; user presets: {', '.join(user)}" if user else "")


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_override(text: str) -> tuple[str, Any]:
    """``"iterations=100"`` -> ``("iterations", 100)``: the CLI's ``--set key=value``.

    The key is a parameter name or ``group.name`` (``loss.content_weight``); the value is
    converted by the parameter's type: integers, numbers, true/false, text, and for
    ``kernel_sizes`` a list (``3,11,31`` or ``[3, 11, 31]``). Ranges are checked when the
    override is applied to a preset (some depend on other fields: ``hop_length <= n_fft/2``).
    """
    if not isinstance(text, str) or "=" not in text:
        raise PresetError(f"cannot read override {text!r}: expected key=value, e.g. "
                          f"iterations=100")
    key, raw = (s.strip() for s in text.split("=", 1))
    if "." in key:
        group, _, bare = key.partition(".")
        if GROUP_OF.get(bare) != group:
            raise PresetError(f"unknown parameter {key!r}; known parameters: "
                              f"{', '.join(f'{GROUP_OF[k]}.{k}' for k in GROUP_OF)}")
        key = bare
    if key not in GROUP_OF:
        raise PresetError(f"unknown parameter {key!r}; known parameters: "
                          f"{', '.join(GROUP_OF)}")
    return key, _convert(key, raw)


def parse_overrides(texts: Iterable[str]) -> dict[str, Any]:
    """Several ``key=value`` strings as a dict (a later one wins)."""
    return dict(parse_override(t) for t in texts)


def _convert(key: str, raw: str) -> Any:
    default = _default(key)

    def bad(expected: str) -> PresetError:
        return PresetError(f"{GROUP_OF[key]}.{key} = {raw!r} is not allowed: expected {expected}")

    if isinstance(default, bool):
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise bad("true or false")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise bad("an integer") from None
    if isinstance(default, float):
        try:
            value = float(raw)
        except ValueError:
            raise bad("a number") from None
        if not math.isfinite(value):
            raise bad("a finite number")
        return value
    if isinstance(default, tuple):
        parts = [p for p in re.split(r"[\s,]+", raw.strip().strip("[]()")) if p]
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise bad("integers separated by commas, e.g. 3,11,31") from None
        if not values:
            raise bad("one or more integers separated by commas, e.g. 3,11,31")
        return values
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        raw = raw[1:-1]
    return raw
