"""The preset library: the built-in presets, the user folder, and lookup by name or path.

Where presets come from, in the order :func:`load_preset` looks:

1. a path (a ``str`` ending in ``.toml`` or holding a path separator, or a ``Path``);
2. ``"user:NAME"``: the user folder only; ``"builtin:NAME"``: the built-in library only;
3. the built-in library (the repository's top-level ``presets/*.toml``, shipped inside the
   package as ``neuralfx/builtin_presets/``; adding a preset is dropping a file there), then
   ``"style X"`` for any number X >= 0 (the classic settings with content weight X), then the
   user folder.

User presets never shadow a built-in silently: saving a user preset called ``"hq"`` is allowed,
but ``load_preset("hq")`` still gives the built-in; ``load_preset("hq", prefer_user=True)`` or
``load_preset("user:hq")`` gives the user's. The user folder is
``platformdirs.user_data_dir("neuralfx")/presets``, or ``$NEURALFX_PRESET_DIR``.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import platformdirs

from ..atomic import write_bytes_atomic
from .codec import dump_preset, loads_preset, read_preset_file
from .preset import Preset, PresetError, PresetNotFoundError, file_sha256

PRESET_DIR_ENV = "NEURALFX_PRESET_DIR"
_STYLE_X = re.compile(r"style\s+(\S+)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# built-in library

def _key(name: str) -> str:
    """Names compare case-insensitively, runs of spaces as one."""
    return " ".join(str(name).split()).lower()


_builtin_cache: dict[str, Preset] | None = None


def builtin_preset_dir() -> Traversable:
    """The folder of the built-in preset files.

    The repository keeps them at the top-level ``presets/``; an installed package carries the
    same files as its data folder ``neuralfx/builtin_presets/`` (pyproject.toml maps one to the
    other). The source tree (pytest, an editable install) reads the top-level ``presets/``.
    """
    shipped = importlib.resources.files("neuralfx") / "builtin_presets"
    if shipped.is_dir():
        return shipped
    source = Path(__file__).resolve().parents[2] / "presets"
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


def user_file(name: str, folder: Path) -> Path | None:
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
    path = user_file(name, folder) if folder.is_dir() else None
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
    existing = user_file(preset.name, folder) if folder.is_dir() else None
    if existing and not overwrite:
        raise FileExistsError(f"a user preset named {preset.name!r} already exists "
                              f"({existing}); pass overwrite=True (CLI: --force) to replace it")
    path = existing or folder / _file_name(preset.name)
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, dump_preset(preset, style_relative_to=folder.resolve()).encode())
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
    path = user_file(name, folder) if folder.is_dir() else None
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
# lookup

def _looks_like_path(name: str | os.PathLike) -> bool:
    if isinstance(name, os.PathLike):
        return True
    return name.lower().endswith(".toml") or "/" in name or os.sep in name


def load_preset(name_or_path: str | os.PathLike, *, prefer_user: bool = False,
                **overrides: Any) -> Preset:
    """A preset by name or path, with ``overrides`` (engine parameters, ``mix``,
    ``match_loudness``, ``full_band``) applied and validated. See the module docstring for the
    lookup order.

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
    if _key(name) in RETIRED:
        raise PresetNotFoundError(f"preset {name!r} was retired: {RETIRED[_key(name)]}")
    raise PresetNotFoundError(f"unknown preset {name!r}{_known()}")


# built-ins that are gone, and what to use instead (a user's own preset of that name still loads)
RETIRED = {
    "hq": "it analysed at 44.1 kHz to fill the top octave and laid a hiss-like floor there; "
          "every preset now rebuilds the top octave at the style's level (full_band = true). "
          "For the closest match to the style use 'style+'",
}


def _known() -> str:
    user = [r.name for r in list_presets() if r.kind == "user" and r.error is None]
    text = f"; built-in presets: {', '.join(builtin_names())}, or 'style X' for a number X >= 0"
    return text + (f"; user presets: {', '.join(user)}" if user else "")

