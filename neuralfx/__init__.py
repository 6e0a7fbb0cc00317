"""neuralfx: neural audio texture synthesis and style transfer as an audio effect.

``NeuralStyle`` is a pedalboard-compatible offline effect; ``Pedalboard`` and ``Mix`` are chains
that hold it together with pedalboard's native plugins.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# The exports load on first use (PEP 562), so `import neuralfx` (e.g. the CLI reading
# __version__) does not pay for torch and pedalboard until an effect is needed.
_EXPORTS = {
    "NeuralStyle": ".effect",
    "Pedalboard": ".chain",
    "Mix": ".chain",
    "Preset": ".presets",
    "load_preset": ".presets",
    "Settings": ".settings",
    "Progress": ".engine",
    "RenderOptions": ".options",
    "train_style": ".train",
}

__all__ = ["Mix", "NeuralStyle", "Pedalboard", "Preset", "Progress", "RenderOptions", "Settings",
           "__version__", "load_preset", "train_style"]

if TYPE_CHECKING:
    from .chain import Mix, Pedalboard
    from .effect import NeuralStyle
    from .engine import Progress
    from .options import RenderOptions
    from .presets import Preset, load_preset
    from .settings import Settings
    from .train import train_style


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neuralfx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
