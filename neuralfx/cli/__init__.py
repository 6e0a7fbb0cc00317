"""The ``neuralfx`` command line: batch style transfer, textures, presets, info and a demo.

The CLI only parses arguments, calls the library (``neuralfx.batch`` for ``process``, the
facade ``NeuralStyle``/``Pedalboard``, ``neuralfx.presets``) and prints; it does no signal
processing and holds no batch machinery itself.

Exit codes: 0 when every file was processed or skipped, 1 when any file failed, 2 for usage
errors (bad option, unknown preset, bad ``--set`` value, unreadable style), 130 on Ctrl-C.
Progress and messages go to stderr; stdout carries only what was asked for (``--json``, TOML).

One module per command (``presets`` holds its group); ``_args`` holds what they share. The
engine, effect and file modules are imported inside the commands that use them (the batch
library imports them lazily too), so that ``neuralfx --help`` does not load torch.
"""

from __future__ import annotations

# isort: off
from ._app import app
# each module registers its commands on the app, in the order of `neuralfx --help`
from . import process, report, texture, train, presets, info, demo  # noqa: F401
# isort: on


def main() -> None:  # pragma: no cover - console entry point alias
    app()
