"""Engine settings: one immutable, validated record of every parameter a render depends on.

The names are the ones used everywhere: presets, ``NeuralStyle(...)`` keyword overrides and the
CLI's ``--set key=value``. The defaults are the classic method of Ulyanov & Lebedev
(``style 0.01``), with fast Griffin-Lim instead of 500 plain iterations and 250 L-BFGS steps,
which reach the held-out quality of the original's 300 on real music (BENCHMARKS.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


class SettingsError(ValueError):
    """A parameter has a bad value. The message names the field, the value and what is allowed."""


OPTIMIZERS = ("lbfgs", "adam")
PRECISIONS = ("auto", "fp32", "tf32", "bf16")
INITS = ("noise", "content", "style")
PHASE_INITS = ("random", "zeros", "bin-frequency", "content")
# The original notebooks cut every input to 10 s: the length the classic objective's balance
# of content (a sum over frames) against style (a mean) was set at
CLASSIC_CLIP_SECONDS = 10.0
# What makes any preset a texture: no content term (a texture has no input to start from, so
# init = "content" starts it from the style's spectrum, as init = "style")
TEXTURE_OVERRIDES = {"content_weight": 0.0, "envelope_weight": 0.0}


@dataclass(frozen=True)
class Settings:
    # analysis
    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    # network
    n_filters: int = 4096
    kernel_sizes: tuple[int, ...] = (11,)
    seed: int = 0
    # loss
    content_weight: float = 0.01
    style_weight: float = 1.0
    autocorrelation_weight: float = 0.0
    envelope_weight: float = 0.0
    # optimiser
    optimizer: str = "lbfgs"
    iterations: int = 250
    learning_rate: float = 0.05
    init: str = "noise"
    # reconstruction
    griffin_lim_iterations: int = 100
    griffin_lim_momentum: float = 0.99
    phase_init: str = "bin-frequency"
    waveform_iterations: int = 0
    # chunking
    chunk_seconds: float = 10.0
    overlap_seconds: float = 1.0
    pad_edges: bool = True
    # compute
    precision: str = "auto"
    device: str = "auto"
    memory_budget_mb: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel_sizes", _as_kernel_sizes(self.kernel_sizes))
        validate(self)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated like the original."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise SettingsError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"known parameters: {', '.join(field_names())}"
            )
        return dataclasses.replace(self, **changes)

    @property
    def is_texture(self) -> bool:
        """No content term (content and envelope weights 0): the input sets only the length."""
        return self.content_weight == 0 and self.envelope_weight == 0

    @property
    def chunk_frames(self) -> int:
        return max(1, round(self.chunk_seconds * self.sample_rate / self.hop_length))

    @property
    def overlap_frames(self) -> int:
        return round(self.overlap_seconds * self.sample_rate / self.hop_length)

    @property
    def reference_frames(self) -> int:
        """Frames of the classic 10 s clip at this rate and hop (431 at 22050 Hz / hop 512):
        the content loss is a sum over frames, scaled to this length so a chunk's length does
        not change its balance with the (frame-averaged) style loss."""
        return int(CLASSIC_CLIP_SECONDS * self.sample_rate) // self.hop_length + 1

    @property
    def edge_frames(self) -> int:
        """Frames the optimised spectrogram extends beyond each end of the signal."""
        return self.receptive_field // 2 if self.pad_edges else 0

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def receptive_field(self) -> int:
        """Frames the widest kernel needs to produce one output frame."""
        return max(self.kernel_sizes)

    def as_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in field_names()}
        d["kernel_sizes"] = list(self.kernel_sizes)
        return d


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Settings))


def _as_kernel_sizes(value: Any) -> tuple[int, ...]:
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return (value,)
    try:
        sizes = tuple(value)
    except TypeError:
        raise SettingsError(
            f"kernel_sizes = {value!r}: expected an integer or a list of integers"
        ) from None
    return sizes


def _check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise SettingsError(f"{name} = {value!r} is not allowed: expected {allowed}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate(s: Settings) -> None:
    """Raise SettingsError naming the first bad field."""
    _check(_is_int(s.sample_rate) and 8000 <= s.sample_rate <= 192000,
           "sample_rate", s.sample_rate, "an integer from 8000 to 192000 Hz")
    _check(_is_int(s.n_fft) and 16 <= s.n_fft <= 16384,
           "n_fft", s.n_fft, "an integer from 16 to 16384")
    _check(_is_int(s.hop_length) and 1 <= s.hop_length <= s.n_fft // 2,
           "hop_length", s.hop_length, f"an integer from 1 to n_fft/2 = {s.n_fft // 2}")
    _check(_is_int(s.n_filters) and 1 <= s.n_filters <= 65536,
           "n_filters", s.n_filters, "an integer from 1 to 65536")
    _check(len(s.kernel_sizes) >= 1
           and all(_is_int(k) and 1 <= k <= 1024 for k in s.kernel_sizes)
           and len(set(s.kernel_sizes)) == len(s.kernel_sizes),
           "kernel_sizes", list(s.kernel_sizes),
           "one or more distinct integers from 1 to 1024 (frames)")
    _check(_is_int(s.seed) and 0 <= s.seed < 2**63, "seed", s.seed, "an integer >= 0")
    for name in ("content_weight", "style_weight", "autocorrelation_weight", "envelope_weight"):
        v = getattr(s, name)
        _check(_is_num(v) and v >= 0, name, v, "a finite number >= 0")
    _check(s.optimizer in OPTIMIZERS, "optimizer", s.optimizer, f"one of {list(OPTIMIZERS)}")
    _check(_is_int(s.iterations) and 0 <= s.iterations <= 100000,
           "iterations", s.iterations, "an integer from 0 to 100000")
    _check(_is_num(s.learning_rate) and s.learning_rate > 0,
           "learning_rate", s.learning_rate, "a finite number > 0")
    _check(s.init in INITS, "init", s.init, f"one of {list(INITS)}")
    _check(_is_int(s.griffin_lim_iterations) and 0 <= s.griffin_lim_iterations <= 100000,
           "griffin_lim_iterations", s.griffin_lim_iterations, "an integer from 0 to 100000")
    _check(_is_num(s.griffin_lim_momentum) and 0 <= s.griffin_lim_momentum < 1.5,
           "griffin_lim_momentum", s.griffin_lim_momentum, "a number from 0 to 1.5 (0.99 is usual)")
    _check(_is_int(s.waveform_iterations) and 0 <= s.waveform_iterations <= 100000,
           "waveform_iterations", s.waveform_iterations,
           "an integer from 0 to 100000 (0 = off, the classic output)")
    _check(s.phase_init in PHASE_INITS, "phase_init", s.phase_init, f"one of {list(PHASE_INITS)}")
    _check(_is_num(s.chunk_seconds) and 0.5 <= s.chunk_seconds <= 600,
           "chunk_seconds", s.chunk_seconds, "a number of seconds from 0.5 to 600")
    _check(_is_num(s.overlap_seconds) and 0 <= s.overlap_seconds <= s.chunk_seconds / 2,
           "overlap_seconds", s.overlap_seconds,
           f"a number of seconds from 0 to chunk_seconds/2 = {s.chunk_seconds / 2:g}")
    _check(isinstance(s.pad_edges, bool), "pad_edges", s.pad_edges,
           "true (no fade at the signal's ends) or false (the classic objective)")
    _check(s.precision in PRECISIONS, "precision", s.precision, f"one of {list(PRECISIONS)}")
    _check(isinstance(s.device, str) and s.device.split(":")[0] in ("auto", "cpu", "cuda", "mps"),
           "device", s.device, "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    _check(_is_int(s.memory_budget_mb) and s.memory_budget_mb >= 0,
           "memory_budget_mb", s.memory_budget_mb, "an integer >= 0 (0 = automatic)")
