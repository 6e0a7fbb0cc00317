"""What one render needs besides the audio and the effect's parameters, passed as one argument.

The effect, the chain and the file batch take a :class:`RenderOptions` per call
(``fx.process(audio, sr, options=RenderOptions(progress=...))``); nothing of a render is set on
an effect and restored afterwards, so one effect can serve several renders at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import GroupRunner, ProgressCallback
    from .settings import Settings

PRECISIONS = ("bf16", "fp32")


@dataclass(frozen=True)
class RenderOptions:
    """``progress``: called with :class:`neuralfx.engine.Progress` during the render (None:
    the effect's own ``progress``, if any). ``runner``: a
    :class:`neuralfx.engine.GroupRunner` that optimises the engine's groups of chunks
    elsewhere (Ray workers); None runs them here. ``precision``: what ``precision = "auto"``
    means for this render, decided once by whoever spreads it over several processes (a Ray
    render: ``"bf16"`` only when every CPU of it multiplies bf16 natively); textures stay fp32
    as ``auto`` always keeps them. None: each effect decides on this machine."""

    progress: ProgressCallback | None = None
    runner: GroupRunner | None = None
    precision: str | None = None

    def __post_init__(self) -> None:
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(f"RenderOptions.precision = {self.precision!r}: expected None or "
                             f"one of {', '.join(PRECISIONS)}")

    def settings_for(self, settings: Settings) -> Settings:
        """``settings`` as this render runs them: ``precision = "auto"`` replaced by the
        render's decision (fp32 for a texture), everything else as it is."""
        if self.precision is None or settings.precision != "auto":
            return settings
        return settings.replace(precision="fp32" if settings.is_texture else self.precision)


DEFAULT = RenderOptions()


def with_progress(options: RenderOptions | None, progress: ProgressCallback | None
                  ) -> RenderOptions:
    """``options`` (or the defaults) with ``progress`` where they have none."""
    options = options or DEFAULT
    return options if options.progress is not None or progress is None else replace(
        options, progress=progress)
