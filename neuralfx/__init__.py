"""neuralfx: neural audio texture synthesis and style transfer as an audio effect.

``NeuralStyle`` is a pedalboard-compatible offline effect; ``Pedalboard`` and ``Mix`` are chains
that hold it together with pedalboard's native plugins.
"""

__version__ = "0.1.0"

from .chain import Mix, Pedalboard  # noqa: E402
from .effect import NeuralStyle  # noqa: E402
from .engine import Progress  # noqa: E402
from .presets import Preset, load_preset  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["Mix", "NeuralStyle", "Pedalboard", "Preset", "Progress", "Settings", "__version__",
           "load_preset"]
