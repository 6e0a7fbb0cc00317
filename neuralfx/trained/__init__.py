"""Trained styles: one feed-forward pass per chunk instead of an optimisation.

A style is trained once for a preset (:func:`neuralfx.train.train_style`, ``neuralfx train``)
into a small model of its spectral statistics, saved as one ``.nfxstyle`` file
(:mod:`.stylefile`: safetensors and JSON, never pickle). Style transfer is then one
whitening-colouring pass over the input's log-magnitude spectrogram (:mod:`.transfer`), a
texture one run of a linear model driven by the style's own innovations (:mod:`.texture`),
followed by phase reconstruction: Griffin-Lim offline, RTISI-LA on a stream (:mod:`.phase`).
"""

from .model import StyleSource, TrainedStyle, load_trained_style
from .stylefile import SUFFIX, StyleFileError

__all__ = ["SUFFIX", "StyleFileError", "StyleSource", "TrainedStyle", "load_trained_style"]
