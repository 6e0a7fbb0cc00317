"""Pedalboard plugins as plain data, and back: the chains stored in presets and bundles.

A plugin spec is a dict ``{"plugin": "Compressor", "threshold_db": -18.0, "ratio": 4.0}``: the
name of one of pedalboard's built-in effects (a fixed whitelist, see :data:`PLUGINS`) and some of
its parameters (the rest keep pedalboard's defaults). Nothing is evaluated and nothing is
imported by name: a preset or bundle from a stranger can only build these effects, never load a
VST, read a file or run code.

- :func:`plugin_from_dict` builds the pedalboard plugin of a spec (validated).
- :func:`plugin_to_dict` is the spec of a plugin (all its parameters).
- :func:`parse_plugin_spec` reads the CLI's ``"Compressor(threshold_db=-18, ratio=4)"``.
- :func:`normalise_spec` checks a spec and returns it with typed values (the stored form).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pedalboard

from ..settings import SettingsError


class PluginError(SettingsError):
    """A plugin spec names an unknown plugin or parameter, or has a bad value."""


# pedalboard's built-in effects that are safe to build from data: no file paths (Convolution),
# no external code (VST3Plugin, AudioUnitPlugin), no containers (Chain, Mix: presets hold flat
# pre/post lists).
PLUGINS: dict[str, type] = {name: getattr(pedalboard, name) for name in (
    "Bitcrush", "Chorus", "Clipping", "Compressor", "Delay", "Distortion", "GSMFullRateCompressor",
    "Gain", "HighShelfFilter", "HighpassFilter", "Invert", "LadderFilter", "Limiter",
    "LowShelfFilter", "LowpassFilter", "MP3Compressor", "NoiseGate", "PeakFilter", "Phaser",
    "PitchShift", "Resample", "Reverb",
) if hasattr(pedalboard, name)}

_NOT_PARAMETERS = {"is_effect", "is_instrument"}


class PluginSpec(dict):
    """A read-only dict (so a :class:`~neuralfx.presets.Preset` holding it stays immutable)."""

    def _readonly(self, *args, **kwargs):
        raise TypeError("a plugin spec is read-only; build a new one with dict(spec, key=value)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((k, str(v)) for k, v in self.items())))

    def __reduce__(self):
        return (PluginSpec, (dict(self),))

    def __repr__(self) -> str:
        return f"PluginSpec({dict.__repr__(self)})"


def parameters(name: str) -> dict[str, Any]:
    """The parameters of plugin ``name`` and their default values."""
    cls = _plugin_class(name)
    default = cls()
    return {k: getattr(default, k) for k in sorted(dir(cls))
            if isinstance(getattr(cls, k, None), property) and k not in _NOT_PARAMETERS}


def _plugin_class(name: Any) -> type:
    if not isinstance(name, str) or name not in PLUGINS:
        raise PluginError(f"plugin = {name!r} is not allowed: expected one of the built-in "
                          f"pedalboard effects {', '.join(sorted(PLUGINS))}")
    return PLUGINS[name]


def _is_enum(value: Any) -> bool:
    return hasattr(type(value), "__members__")


def _coerce(plugin: str, key: str, value: Any, default: Any) -> Any:
    """``value`` in the type of ``default`` (float, bool or a pedalboard enum, stored by name)."""
    where = f"{plugin}.{key}"
    if _is_enum(default):
        names = list(type(default).__members__)
        if _is_enum(value):
            value = value.name
        if value not in names:
            raise PluginError(f"{where} = {value!r} is not allowed: expected one of {names}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise PluginError(f"{where} = {value!r} is not allowed: expected true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PluginError(f"{where} = {value!r} is not allowed: expected a finite number")
    if key.endswith("_hz") and value <= 0:
        raise PluginError(f"{where} = {value!r} is not allowed: expected a frequency > 0 Hz")
    return float(value)


def normalise_spec(spec: Mapping[str, Any]) -> PluginSpec:
    """Check ``spec`` and return it with typed values: floats for numbers, enum members by name.

    Raises PluginError naming the plugin, the parameter and the allowed values, including the
    ranges pedalboard itself enforces (e.g. ``Compressor ratio must be a value >= 1.0``).
    """
    if not isinstance(spec, Mapping):
        raise PluginError(f"a chain entry must be a table like {{plugin = \"Compressor\", "
                          f"threshold_db = -18}}, not {spec!r}")
    if "plugin" not in spec:
        raise PluginError(f"chain entry {dict(spec)!r} has no 'plugin' key: expected one of "
                          f"{', '.join(sorted(PLUGINS))}")
    name = spec["plugin"]
    _plugin_class(name)
    defaults = parameters(name)
    out: dict[str, Any] = {"plugin": name}
    for key, value in spec.items():
        if key == "plugin":
            continue
        if key not in defaults:
            allowed = ", ".join(defaults) or "none"
            raise PluginError(f"{name} has no parameter {key!r}; its parameters: {allowed}")
        out[key] = _coerce(name, key, value, defaults[key])
    _build(out)  # pedalboard's own range checks
    return PluginSpec(out)


def _build(spec: Mapping[str, Any]) -> pedalboard.Plugin:
    name = spec["plugin"]
    cls = PLUGINS[name]
    defaults = parameters(name)
    kwargs = {}
    for key, value in spec.items():
        if key == "plugin":
            continue
        if _is_enum(defaults[key]):
            value = type(defaults[key]).__members__[value]
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        raise PluginError(f"{name}({_format_args(spec)}) is not allowed: {e}") from None


def plugin_from_dict(spec: Mapping[str, Any]) -> pedalboard.Plugin:
    """The pedalboard plugin described by ``spec`` (validated, see :func:`normalise_spec`)."""
    return _build(normalise_spec(spec))


def _clean_float(v: float) -> float:
    # pedalboard stores parameters as float32: 0.4 reads back as 0.4000000059604645
    return float(str(np.float32(v)))


def plugin_to_dict(plugin: pedalboard.Plugin) -> PluginSpec:
    """The spec of a whitelisted pedalboard plugin, with all its parameters."""
    name = type(plugin).__name__
    if PLUGINS.get(name) is not type(plugin):
        raise PluginError(f"{name} cannot be stored in a preset: expected one of the built-in "
                          f"pedalboard effects {', '.join(sorted(PLUGINS))}")
    out: dict[str, Any] = {"plugin": name}
    for key, default in parameters(name).items():
        value = getattr(plugin, key)
        if _is_enum(default):
            out[key] = value.name
        elif isinstance(default, bool):
            out[key] = bool(value)
        else:
            out[key] = _clean_float(value)
    return PluginSpec(out)


def _format_args(spec: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in spec.items() if k != "plugin")


def format_plugin_spec(spec: Mapping[str, Any]) -> str:
    """``"Compressor(threshold_db=-18.0, ratio=4.0)"``: the form :func:`parse_plugin_spec` reads."""
    return f"{spec['plugin']}({_format_args(spec)})"


def parse_plugin_spec(text: str) -> PluginSpec:
    """Read ``"Compressor(threshold_db=-18, ratio=4)"`` (or a bare ``"Compressor"``).

    Only keyword arguments with literal values (numbers, true/false, strings for enum
    parameters such as ``LadderFilter(mode="HPF12")``) are accepted; the text is parsed with
    ``ast``, never evaluated.
    """
    usage = ("expected Plugin or Plugin(param=value, ...), e.g. "
             "'Compressor(threshold_db=-18, ratio=4)'")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise PluginError(f"cannot read plugin {text!r}: {usage}") from None
    if isinstance(node, ast.Name):
        return normalise_spec({"plugin": node.id})
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise PluginError(f"cannot read plugin {text!r}: {usage}")
    name = node.func.id
    _plugin_class(name)
    if node.args:
        raise PluginError(f"cannot read plugin {text!r}: give parameters by name "
                          f"({', '.join(parameters(name)) or 'it has none'})")
    spec: dict[str, Any] = {"plugin": name}
    for kw in node.keywords:
        if kw.arg is None:
            raise PluginError(f"cannot read plugin {text!r}: {usage}")
        if kw.arg in spec:
            raise PluginError(f"{name}: parameter {kw.arg!r} is given twice")
        value = kw.value
        if isinstance(value, ast.Name) and value.id in ("true", "false"):
            spec[kw.arg] = value.id == "true"
            continue
        if isinstance(value, ast.Name):  # a bare enum name: mode=HPF12
            spec[kw.arg] = value.id
            continue
        try:
            spec[kw.arg] = ast.literal_eval(value)
        except ValueError:
            raise PluginError(f"{name}.{kw.arg}: {ast.unparse(value)!r} is not allowed: "
                              f"expected a number, true/false or a name") from None
    return normalise_spec(spec)


def build_chain(specs) -> list[pedalboard.Plugin]:
    """Pedalboard plugins for a sequence of specs, in order."""
    return [plugin_from_dict(s) for s in specs]
