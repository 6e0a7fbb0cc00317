"""pedalboard's array conventions: layouts, sample rates and buffer sizes as its plugins take them.

A 1-D array is mono; a 2-D array is ``(channels, samples)`` or ``(samples, channels)``, the
smaller dimension being the channels. Inside neuralfx, audio is ``(channels, samples)`` float32;
:func:`to_channels_first` brings an input there and :func:`from_channels_first` gives the
output back in the layout it came in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_LAYOUT_MSG = ("Provide a non-square array first to allow neuralfx to determine which dimension "
               "corresponds with the number of channels and which dimension corresponds with "
               "the number of samples.")


class StreamingError(RuntimeError):
    """``reset=False`` block-by-block processing was asked of an offline (whole-signal) effect."""


def check_sample_rate(sample_rate: Any) -> float:
    """A finite number > 0, else the error pedalboard's type checks or neuralfx's range check
    raise (pedalboard itself does not check the range: a zero rate crashes some plugins)."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.number)):
        raise TypeError(f"sample_rate must be a number, not {type(sample_rate).__name__}")
    sample_rate = float(sample_rate)
    if not (math.isfinite(sample_rate) and sample_rate > 0):
        raise ValueError(f"sample_rate = {sample_rate!r} is not allowed: expected a number of "
                         "Hz > 0 (8000 to 192000 are supported)")
    return sample_rate


def check_buffer_size(buffer_size: Any) -> int:
    """An integer >= 1 (pedalboard's block size; neuralfx's offline effects ignore it)."""
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)):
        raise TypeError(f"buffer_size must be an integer, not {type(buffer_size).__name__}")
    if buffer_size < 1:
        raise ValueError(f"buffer_size = {buffer_size} is not allowed: expected an integer >= 1")
    return int(buffer_size)


def to_channels_first(input_array: Any, last_layout: str | None = None
                      ) -> tuple[np.ndarray, str]:
    """Validate like pedalboard and return ``(audio (channels, samples) float32, layout)``.

    ``layout`` is ``"1d"``, ``"channels_first"`` or ``"channels_last"``: the smaller dimension
    is the channels; a square array uses ``last_layout`` (the last one detected), else fails.
    Errors: non-arrays and non-float dtypes raise ``TypeError``, more than 2 dimensions and
    undecidable square arrays ``RuntimeError`` (pedalboard's types), NaN/Inf ``ValueError``.
    """
    if not isinstance(input_array, np.ndarray):
        raise TypeError(f"expected a numpy.ndarray of audio, got {type(input_array).__name__}")
    if input_array.dtype not in (np.float32, np.float64):
        raise TypeError("neuralfx only supports 32-bit and 64-bit floating point audio for "
                        f"processing (got an array of dtype {input_array.dtype})")
    if input_array.ndim == 1:
        x, layout = input_array[None], "1d"
    elif input_array.ndim == 2:
        rows, cols = input_array.shape
        if rows < cols:
            layout = "channels_first"
        elif cols < rows:
            layout = "channels_last"
        elif last_layout in ("channels_first", "channels_last"):
            layout = last_layout
        else:
            raise RuntimeError(
                f"Unable to determine channel layout from shape: {input_array.shape}. "
                + _LAYOUT_MSG)
        x = input_array if layout == "channels_first" else input_array.T
    else:
        raise RuntimeError(f"Number of input dimensions must be 1 or 2 (got "
                           f"{input_array.ndim}). " + _LAYOUT_MSG)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ValueError(f"the input contains NaN or infinite values ({bad} of {x.size} "
                         "samples); neuralfx needs finite audio")
    return x, layout


def from_channels_first(x: np.ndarray, layout: str) -> np.ndarray:
    """Inverse of :func:`to_channels_first` for the output (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if layout == "1d":
        return np.ascontiguousarray(x[0])
    return np.ascontiguousarray(x if layout == "channels_first" else x.T)
