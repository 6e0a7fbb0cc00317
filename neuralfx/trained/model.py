"""A trained style: what one ``.nfxstyle`` file holds, validated both ways.

The file (:mod:`neuralfx.trained.stylefile`) carries tensors and JSON metadata; this module says
which tensors and which metadata a trained style has, and refuses anything else with an error
that names the file and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..settings import Settings, SettingsError
from ..top_octave import TopOctaveProfile
from .stylefile import RESERVED_KEYS, StyleFileError, read_style_file, write_style_file
from .texture import TextureModel
from .transfer import TransferModel

KINDS = ("transfer", "texture")
TRANSFER_TENSORS = ("mean", "std", "peak", "colour", "prior_mean", "prior_factor")
TEXTURE_TENSORS = ("mean", "basis", "dynamics", "innovations", "residuals")
TOP_TENSORS = ("top.frequencies", "top.share")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StyleSource:
    """The example a style was trained from: its content hash, length, rate and level."""

    sha256: str
    seconds: float
    sample_rate: float
    loudness_lufs: float
    peak: float


@dataclass(frozen=True)
class TrainedStyle:
    """A style trained for one preset: ``kind`` ``"transfer"`` (a :class:`TransferModel`) or
    ``"texture"`` (a :class:`TextureModel`), the engine ``settings`` it was trained for, the
    style's top-octave profile (full band) and what training measured."""

    kind: str
    preset: str
    settings: Settings
    model: TransferModel | TextureModel
    source: StyleSource
    top_octave: TopOctaveProfile
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def is_texture(self) -> bool:
        return self.kind == "texture"

    def tensors(self) -> dict[str, torch.Tensor]:
        names = TEXTURE_TENSORS if self.is_texture else TRANSFER_TENSORS
        out = {name: getattr(self.model, name).float().contiguous() for name in names}
        if self.is_texture:  # the bulk of a texture: half precision is plenty for log-magnitudes
            out["residuals"] = out["residuals"].half()
        out["top.frequencies"] = torch.from_numpy(self.top_octave.frequencies.astype(np.float32))
        out["top.share"] = torch.from_numpy(self.top_octave.share.astype(np.float32))
        return out

    def metadata(self) -> dict[str, Any]:
        model = {"block": self.model.block} if self.is_texture else {
            "blend": self.model.blend, "envelope": self.model.envelope,
            "variance": self.model.variance}
        return {
            "kind": self.kind, "preset": self.preset, "settings": self.settings.as_dict(),
            "model": model,
            "style": vars(self.source),
            "top_octave": {"bandwidth": self.top_octave.bandwidth,
                           "spread_db": self.top_octave.spread_db},
            "training": self.training,
        }

    def save(self, path: str | Path) -> Path:
        """Written atomically to ``path`` (``.nfxstyle``)."""
        return write_style_file(path, self.tensors(), self.metadata())


def load_trained_style(path: str | Path) -> TrainedStyle:
    """Read and validate a ``.nfxstyle`` file. :class:`StyleFileError` names what is wrong."""
    tensors, metadata = read_style_file(path)
    return trained_style_from(tensors, metadata, str(path))


def trained_style_from(tensors: dict[str, torch.Tensor], metadata: dict[str, Any],
                       source: str) -> TrainedStyle:
    def fail(what: str) -> StyleFileError:
        return StyleFileError(f"{source}: {what}")

    meta = {k: v for k, v in metadata.items() if k not in RESERVED_KEYS}
    kind = meta.get("kind")
    if kind not in KINDS:
        raise fail(f"kind = {kind!r}: expected one of {list(KINDS)}")
    try:
        settings = Settings(**_dict(meta, "settings", fail))
    except (SettingsError, TypeError) as e:
        raise fail(f"settings: {e}") from None
    preset = meta.get("preset")
    if not isinstance(preset, str) or not preset:
        raise fail(f"preset = {preset!r}: expected a preset name")
    names = (TEXTURE_TENSORS if kind == "texture" else TRANSFER_TENSORS) + TOP_TENSORS
    missing = [n for n in names if n not in tensors]
    extra = sorted(set(tensors) - set(names))
    if missing or extra:
        raise fail(f"tensors {missing or extra} {'missing' if missing else 'not expected'} "
                   f"for a {kind} style")
    t = {n: tensors[n].float() for n in names}
    bins = settings.n_bins
    model_meta = _dict(meta, "model", fail)
    if kind == "transfer":
        _shapes(t, {"mean": (bins,), "std": (bins,), "peak": (bins,), "colour": (bins, bins),
                    "prior_mean": (bins,)}, fail)
        if t["prior_factor"].dim() != 2 or t["prior_factor"].shape[0] != bins:
            raise fail(f"tensor 'prior_factor' has shape {list(t['prior_factor'].shape)}: "
                       f"expected [{bins}, rank]")
        model: TransferModel | TextureModel = TransferModel(
            t["mean"], t["std"], t["peak"], t["colour"], t["prior_mean"], t["prior_factor"],
            _number(model_meta, "variance", 1e-12, 1e6, fail),
            _number(model_meta, "blend", 0.0, 1.0, fail),
            _number(model_meta, "envelope", 0.0, 1.0, fail))
    else:
        rank = t["basis"].shape[-1] if t["basis"].dim() == 2 else -1
        frames = t["innovations"].shape[-1] if t["innovations"].dim() == 2 else -1
        if rank < 1 or frames < 1 or t["dynamics"].dim() != 2 \
                or t["dynamics"].shape[1] % rank:
            raise fail("texture tensors have inconsistent shapes")
        _shapes(t, {"mean": (bins,), "basis": (bins, rank),
                    "dynamics": (rank, t["dynamics"].shape[1]),
                    "innovations": (rank, frames), "residuals": (bins, frames)}, fail)
        block = model_meta.get("block")
        if not (isinstance(block, int) and 1 <= block <= frames):
            raise fail(f"model.block = {block!r}: expected an integer from 1 to {frames}")
        model = TextureModel(t["mean"], t["basis"], t["dynamics"], t["innovations"],
                             t["residuals"], block)
    style = _dict(meta, "style", fail)
    if not (isinstance(style.get("sha256"), str) and _SHA256.fullmatch(style["sha256"])):
        raise fail(f"style.sha256 = {style.get('sha256')!r}: expected 64 hex digits")
    source = StyleSource(style["sha256"], _number(style, "seconds", 0.0, 1e7, fail),
                         _number(style, "sample_rate", 1.0, 1e6, fail),
                         _number(style, "loudness_lufs", -200.0, 30.0, fail),
                         _number(style, "peak", 0.0, 1e3, fail))
    top = _dict(meta, "top_octave", fail)
    frequencies, share = t["top.frequencies"], t["top.share"]
    if frequencies.dim() != 1 or frequencies.shape != share.shape:
        raise fail("top-octave tensors have inconsistent shapes")
    profile = TopOctaveProfile(frequencies.double().numpy(), share.double().numpy(),
                               _number(top, "bandwidth", 0.0, 1e6, fail),
                               _number(top, "spread_db", 0.0, 200.0, fail))
    training = meta.get("training", {})
    if not isinstance(training, dict):
        raise fail(f"training = {training!r}: expected a table")
    return TrainedStyle(kind, preset, settings, model, source, profile, training)


def _dict(meta: dict[str, Any], key: str, fail) -> dict[str, Any]:
    value = meta.get(key)
    if not isinstance(value, dict):
        raise fail(f"{key} = {value!r}: expected a table")
    return value


def _number(meta: dict[str, Any], key: str, lo: float, hi: float, fail) -> float:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not (math.isfinite(value) and lo <= value <= hi):
        raise fail(f"{key} = {value!r}: expected a number from {lo:g} to {hi:g}")
    return float(value)


def _shapes(t: dict[str, torch.Tensor], expected: dict[str, tuple[int, ...]], fail) -> None:
    for name, shape in expected.items():
        if tuple(t[name].shape) != shape:
            raise fail(f"tensor {name!r} has shape {list(t[name].shape)}: expected "
                       f"{list(shape)}")
