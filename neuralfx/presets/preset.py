"""The preset value: everything a render depends on, except the content audio.

A :class:`Preset` holds every engine parameter (:class:`neuralfx.settings.Settings`), the output
stage (``mix``, ``match_loudness``), optionally the style audio it was made with and a chain of
pedalboard effects before (``pre``) and after (``post``) the neural effect. It is immutable and
validated on construction; :meth:`Preset.with_overrides` gives a changed copy. Its document form
(:meth:`Preset.to_dict`) is grouped as in the file (``[loss] content_weight``, see :data:`GROUPS`);
reading and writing TOML is :mod:`neuralfx.presets.codec`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import Settings, SettingsError, field_names
from .plugins import PluginSpec, build_chain, normalise_spec

FORMAT_VERSION = 1  # of the preset file: a reader refuses newer versions by name

OUTPUT_KEYS = ("mix", "match_loudness", "full_band")

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

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+\-]{0,63}")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
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
    read-only plugin dicts (see :mod:`neuralfx.presets.plugins`). ``source`` says where the
    preset was loaded from (not part of equality).
    """

    name: str
    description: str
    settings: Settings = field(default_factory=Settings)
    mix: float = 1.0
    match_loudness: bool = True
    full_band: bool = True
    style: str | None = None
    style_sha256: str | None = None
    pre: tuple[PluginSpec, ...] = ()
    post: tuple[PluginSpec, ...] = ()
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)
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
                isinstance(self.style_sha256, str) and SHA256_PATTERN.fullmatch(self.style_sha256)):
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
        overrides = typed_values(overrides)
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
        """The preset as a TOML-ready document, grouped as in the file (written as text by
        :func:`neuralfx.presets.codec.dump_preset`)."""
        return to_document(self, style_relative_to)


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name != name.strip():
        raise PresetError(
            f"name = {name!r} is not allowed: expected 1 to 64 characters, letters, digits, "
            f"spaces and . _ + - (starting with a letter or digit)")


def _check_output(p: Preset) -> None:
    if not (isinstance(p.mix, (int, float)) and not isinstance(p.mix, bool)
            and math.isfinite(p.mix) and 0 <= p.mix <= 1):
        raise SettingsError(f"mix = {p.mix!r} is not allowed: expected a number from 0 to 1")
    for key in ("match_loudness", "full_band"):
        if not isinstance(getattr(p, key), bool):
            raise SettingsError(
                f"{key} = {getattr(p, key)!r} is not allowed: expected true or false")


def default_value(key: str) -> Any:
    return getattr(Preset("x", ""), key) if key in OUTPUT_KEYS else getattr(_DEFAULTS, key)


def typed_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Integers given for float fields become floats (``content_weight = 0`` in TOML)."""
    out = dict(values)
    for k, v in out.items():
        if (isinstance(default_value(k), float) and isinstance(v, int) and not isinstance(v, bool)):
            out[k] = float(v)
        elif k == "kernel_sizes" and isinstance(v, list):
            out[k] = tuple(v)
    return out


def to_document(preset: Preset, style_relative_to: str | Path | None) -> dict[str, Any]:
    """Every field written out, grouped as in the file; a style path inside
    ``style_relative_to`` becomes relative to it."""
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


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, as 64 lowercase hexadecimal digits (``style.sha256``)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

