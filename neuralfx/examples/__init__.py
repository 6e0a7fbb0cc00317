"""Example audio shipped with neuralfx, synthesised by ``examples/make_example_audio.py``.

- ``melody.wav``: content, a short original tune of harmonic tones (6 s, mono, 22050 Hz).
- ``texture.wav``: style, a rhythmic noisy texture (6 s, mono, 22050 Hz).
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

NAMES = ("melody.wav", "texture.wav")


def path(name: str) -> Path:
    """The file system path of a shipped example clip, e.g. ``path("melody.wav")``."""
    if name not in NAMES:
        raise FileNotFoundError(f"no example audio {name!r}; shipped: {', '.join(NAMES)}")
    # installed packages are plain folders, so as_file gives the real path without copying
    with as_file(files(__name__) / name) as p:
        return Path(p)
