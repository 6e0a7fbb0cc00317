"""``--set KEY=VALUE``: a parameter override typed from the command line.

The key is a parameter name or ``group.name`` as in a preset file (``loss.content_weight``);
the value is converted by the type of the parameter's default. Ranges are checked when the
overrides are applied to a preset (:meth:`neuralfx.presets.Preset.with_overrides`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from ..presets import GROUP_OF, OUTPUT_KEYS, Preset, PresetError

# the defaults give each parameter's type: the engine's in Settings, the output stage's here
_DEFAULTS = Preset("defaults", "")
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


def _default(key: str) -> Any:
    return getattr(_DEFAULTS if key in OUTPUT_KEYS else _DEFAULTS.settings, key)


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
