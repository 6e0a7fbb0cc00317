"""Presets: named, validated, shareable descriptions of a whole render.

A preset is one TOML file loaded into the immutable :class:`Preset`: every engine parameter,
the output stage (``mix``, ``match_loudness``, ``full_band``), optionally the style audio it
was made with and a chain of pedalboard effects before and after the neural effect. One idea
per module:

- :mod:`~neuralfx.presets.preset`: the :class:`Preset` value, its validation and overrides;
- :mod:`~neuralfx.presets.codec`: the TOML file format, read with errors that name the file,
  field, value and allowed range, and written back;
- :mod:`~neuralfx.presets.library`: the built-in presets, the user folder and lookup by name
  (:func:`load_preset`);
- :mod:`~neuralfx.presets.bundle`: one zip file with a preset, its chain and its style audio;
- :mod:`~neuralfx.presets.plugins`: pedalboard effects as plain data (the stored chains).

This package is data only: it sits on the floor just above :mod:`neuralfx.settings` and imports
nothing that renders.
"""

from .bundle import BundleError, export_bundle, import_bundle, read_bundle
from .codec import (
    MAX_PRESET_BYTES,
    TOP_LEVEL_KEYS,
    dump_preset,
    loads_preset,
    preset_from_document,
    read_preset_file,
)
from .library import (
    PRESET_DIR_ENV,
    PresetInfo,
    builtin_names,
    builtin_preset_dir,
    delete_user_preset,
    derive_preset,
    list_presets,
    load_preset,
    save_user_preset,
    user_preset_dir,
)
from .plugins import PluginError, PluginSpec
from .preset import (
    FORMAT_VERSION,
    GROUP_OF,
    GROUPS,
    OUTPUT_KEYS,
    Preset,
    PresetError,
    PresetNotFoundError,
    file_sha256,
)

__all__ = [
    "FORMAT_VERSION", "GROUPS", "GROUP_OF", "MAX_PRESET_BYTES", "OUTPUT_KEYS", "PRESET_DIR_ENV",
    "TOP_LEVEL_KEYS", "BundleError", "PluginError", "PluginSpec", "Preset", "PresetError",
    "PresetInfo", "PresetNotFoundError", "builtin_names", "builtin_preset_dir",
    "delete_user_preset", "derive_preset", "dump_preset", "export_bundle", "file_sha256",
    "import_bundle", "list_presets", "load_preset", "loads_preset", "preset_from_document",
    "read_bundle", "read_preset_file", "save_user_preset", "user_preset_dir",
]
