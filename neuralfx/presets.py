"""Presets (interim version: built-ins defined in code; the TOML library replaces this).

Public API that the effect and the CLI rely on (keep it when extending):

- ``Preset``: immutable; ``name``, ``description``, ``settings`` (engine ``Settings``),
  ``mix`` (0..1 dry/wet), ``match_loudness`` (bool).
- ``load_preset(name_or_path, **overrides) -> Preset``: a built-in name, ``"style X"`` for any
  X >= 0, or a path to a preset file; overrides are engine parameters or ``mix`` /
  ``match_loudness``, validated (``SettingsError`` names the field, value and allowed range).
- ``builtin_names() -> list[str]``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from .settings import Settings, SettingsError, field_names

OUTPUT_KEYS = ("mix", "match_loudness")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    settings: Settings = field(default_factory=Settings)
    mix: float = 1.0
    match_loudness: bool = True

    def with_overrides(self, **overrides: Any) -> "Preset":
        engine = {k: v for k, v in overrides.items() if k not in OUTPUT_KEYS}
        output = {k: v for k, v in overrides.items() if k in OUTPUT_KEYS}
        unknown = sorted(set(engine) - set(field_names()))
        if unknown:
            raise SettingsError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))}; known parameters: "
                f"{', '.join(field_names() + OUTPUT_KEYS)}")
        preset = dataclasses.replace(self, settings=self.settings.replace(**engine), **output)
        _check_output(preset)
        return preset


def _check_output(p: Preset) -> None:
    if not (isinstance(p.mix, (int, float)) and not isinstance(p.mix, bool) and 0 <= p.mix <= 1):
        raise SettingsError(f"mix = {p.mix!r} is not allowed: expected a number from 0 to 1")
    if not isinstance(p.match_loudness, bool):
        raise SettingsError(
            f"match_loudness = {p.match_loudness!r} is not allowed: expected true or false")


_BUILTIN = {
    "style 0.01": Preset("style 0.01", "The classic style transfer (content weight 0.01).",
                         Settings()),
    "texture": Preset("texture", "A new texture with the style's statistics (content weight 0).",
                      Settings(content_weight=0.0)),
}


def builtin_names() -> list[str]:
    return sorted(_BUILTIN)


def load_preset(name: str, **overrides: Any) -> Preset:
    if name in _BUILTIN:
        preset = _BUILTIN[name]
    elif m := re.fullmatch(r"style\s+([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)", name.strip()):
        preset = Preset(name, f"Style transfer with content weight {m.group(1)}.",
                        Settings(content_weight=float(m.group(1))))
    else:
        raise KeyError(f"unknown preset {name!r}; built-in presets: {', '.join(builtin_names())}")
    return preset.with_overrides(**overrides) if overrides else preset
