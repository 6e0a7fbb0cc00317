"""Spectrogram pictures of a render: the input, the style and the output on one colour scale,
and the difference (output minus input, dB) that shows where the effect changed the spectrum.

- :func:`log_spectrogram`: audio -> level in dB on a log-frequency axis (numpy only).
- :func:`compare`: the whole sheet as one ``matplotlib.figure.Figure`` (examples, notebooks).
- :func:`save_spectrograms`: one small PNG per panel, written atomically (the batch report).
- :func:`save_png`: any figure as a compact PNG, written atomically.

Audio is ``(channels, samples)`` or ``(samples,)`` float, mixed to mono. matplotlib is optional
(``pip install 'neuralfx[report]'``) and imported only when a picture is drawn, without pyplot:
a ``Figure`` on an Agg canvas keeps no global state, so threads may draw at the same time.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from .atomic import atomic_path
from .audio import resample

MISSING_MATPLOTLIB = "the report's spectrograms need matplotlib: pip install 'neuralfx[report]'"

LOWEST_HZ = 20.0
FREQUENCY_BINS = 256
# at most this many columns per spectrogram: a picture is ~600 px wide, so a long file's
# frames are averaged in groups rather than drawn one by one
MAX_FRAMES = 1200
FLOOR_DB = -120.0
# the three level panels show the loudest of them at the top and this much below it
LEVEL_RANGE_DB = 80.0
# the difference panel runs from -DIFFERENCE_DB (output quieter) to +DIFFERENCE_DB (louder)
DIFFERENCE_DB = 30.0
LEVEL_CMAP = "magma"
DIFFERENCE_CMAP = "RdBu_r"
KINDS = ("input", "style", "output", "difference")
# one PNG of save_spectrograms: 600 x 200 px
PANEL_INCHES, PANEL_DPI = (6.0, 2.0), 100
PANEL_TEXT = "#808080"  # the report's panels: legible on a light and on a dark page
TICKS_KHZ = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)


# --- the numbers -----------------------------------------------------------------------------

def log_spectrogram(audio: np.ndarray, sample_rate: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrogram of the mono mix in dB re full scale, on a log-frequency axis.

    ``audio``: ``(channels, samples)`` or ``(samples,)``. Returns ``frequencies (bins,)`` in Hz,
    log-spaced from 20 Hz to Nyquist, ``times (frames,)`` in seconds (frame centres) and
    ``level_db (bins, frames)``: a full-scale sine reads 0 dB, silence reads ``FLOOR_DB``.
    The window is about 46 ms (2048 samples at 44.1 kHz), the hop a quarter of it; a file
    long enough to give more than ``MAX_FRAMES`` frames has them averaged in groups.
    """
    audio = np.asarray(audio, dtype=np.float32)
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio.reshape(-1)
    n_fft = 2 ** round(math.log2(max(sample_rate * 0.046, 64)))
    hop = n_fft // 4
    count = mono.size // hop + 1  # frames centred on hop * k, k = 0 .. samples // hop
    group = math.ceil(count / MAX_FRAMES)  # frames averaged into one column
    padded = np.pad(mono, (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:count]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    frequencies = np.geomspace(LOWEST_HZ, sample_rate / 2, FREQUENCY_BINS)
    # a sine of amplitude A peaks at A * sum(window) / 2; fold that into the band weights
    bands = _log_bands(np.fft.rfftfreq(n_fft, 1.0 / sample_rate), frequencies)
    bands = csr_matrix(bands * (2.0 / window.sum()) ** 2, dtype=np.float32)
    columns = []
    step = group * max(1, 256 // group)  # a block of frames at a time bounds the memory
    for start in range(0, count, step):
        spectrum = np.fft.rfft(frames[start:start + step] * window, axis=-1)
        power = (bands @ (spectrum.real ** 2 + spectrum.imag ** 2).T).T  # (frames, bins)
        starts = np.arange(0, power.shape[0], group)
        sizes = np.diff(np.append(starts, power.shape[0]))
        columns.append(np.add.reduceat(power, starts, axis=0) / sizes[:, None])
    level = 10 * np.log10(np.maximum(np.concatenate(columns).T, 1e-12))
    times = (np.arange(level.shape[1]) * group + (group - 1) / 2) * hop / sample_rate
    return frequencies, times, np.maximum(level, FLOOR_DB).astype(np.float32)


def _log_bands(linear_hz: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``(len(centres), len(linear_hz))`` weights, mostly zeros: each log band is the mean
    power of the linear bins inside it, or, where it is narrower than one bin (low
    frequencies), the linear interpolation between the two bins around its centre."""
    edges = np.sqrt(centres[1:] * centres[:-1])
    lower = np.concatenate([[centres[0]], edges])
    upper = np.concatenate([edges, [centres[-1] * (1 + 1e-9)]])
    weights = np.zeros((centres.size, linear_hz.size))
    step = linear_hz[1]
    for i, (lo, hi, centre) in enumerate(zip(lower, upper, centres)):
        inside = (linear_hz >= lo) & (linear_hz < hi)
        if inside.sum() >= 2:
            weights[i, inside] = 1.0 / inside.sum()
        else:
            k = min(int(centre // step), linear_hz.size - 2)
            frac = centre / step - k
            weights[i, k], weights[i, k + 1] = 1 - frac, frac
    return weights


def level_range(*levels: np.ndarray) -> tuple[float, float]:
    """The shared colour scale ``(vmin, vmax)`` of level spectrograms: the loudest of them at
    the top, ``LEVEL_RANGE_DB`` below it at the bottom."""
    top = max(float(level.max()) for level in levels)
    top = max(math.ceil(top / 10) * 10, FLOOR_DB + LEVEL_RANGE_DB)
    return top - LEVEL_RANGE_DB, float(top)


def difference_db(input_db: np.ndarray, output_db: np.ndarray, floor: float) -> np.ndarray:
    """Output minus input in dB, both clipped at ``floor`` first (so differences between two
    levels below the picture's scale read 0); the common frames only."""
    frames = min(input_db.shape[1], output_db.shape[1])
    return np.maximum(output_db[:, :frames], floor) - np.maximum(input_db[:, :frames], floor)


class _Sheet:
    """The spectrograms of one render, ready to draw: ``spectra[kind] = (freqs, times, db)``
    for input, style (absent without one), output and difference, and the shared scale."""

    def __init__(self, input, output, style, sample_rate, style_rate, output_rate):
        self.spectra = {"input": log_spectrogram(input, sample_rate)}
        if style is not None:
            self.spectra["style"] = log_spectrogram(style, style_rate or sample_rate)
        output_rate = output_rate or sample_rate
        self.spectra["output"] = log_spectrogram(output, output_rate)
        self.vmin, self.vmax = level_range(*(db for _, _, db in self.spectra.values()))
        output_db = self.spectra["output"][2]
        if output_rate != sample_rate:  # the difference needs the input's time-frequency grid
            on_input_rate = resample(np.asarray(output), output_rate, sample_rate,
                                     length=np.asarray(input).shape[-1])
            output_db = log_spectrogram(on_input_rate, sample_rate)[2]
        freqs, times, input_db = self.spectra["input"]
        difference = difference_db(input_db, output_db, self.vmin)
        self.spectra["difference"] = (freqs, times[: difference.shape[1]], difference)
        self.top_hz = max(f[-1] for f, _, _ in self.spectra.values())


# --- the pictures ----------------------------------------------------------------------------

def _matplotlib():
    """``(Figure, FigureCanvasAgg)``, or the ImportError that says what to install."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(MISSING_MATPLOTLIB) from error
    return Figure, FigureCanvasAgg


def _draw(ax, sheet: _Sheet, kind: str, *, fontsize: float, label: bool = True):
    """One panel: the spectrogram as an image in log2(Hz) coordinates (an image is far faster
    to draw than a mesh on a log axis), ticks labelled in kHz. Returns the image."""
    ax.tick_params(labelsize=fontsize, length=2, pad=1)
    ax.set_facecolor("black")
    if kind == "style" and kind not in sheet.spectra:
        ax.text(0.5, 0.5, "no style: a texture of the input", ha="center", va="center",
                transform=ax.transAxes, fontsize=fontsize + 1, color="white")
        ax.set_xticks([]), ax.set_yticks([])
        return None
    freqs, times, db = sheet.spectra[kind]
    end = times[-1] if times.size > 1 else 1.0
    extent = (0.0, end, math.log2(freqs[0]), math.log2(freqs[-1]))
    if kind == "difference":
        style = dict(cmap=DIFFERENCE_CMAP, vmin=-DIFFERENCE_DB, vmax=DIFFERENCE_DB)
    else:
        style = dict(cmap=LEVEL_CMAP, vmin=sheet.vmin, vmax=sheet.vmax)
    image = ax.imshow(db, origin="lower", aspect="auto", extent=extent,
                      interpolation="antialiased", **style)
    ax.set_ylim(math.log2(LOWEST_HZ), math.log2(sheet.top_hz))
    ticks = [t for t in TICKS_KHZ if LOWEST_HZ <= t * 1000 <= sheet.top_hz]
    ax.set_yticks([math.log2(t * 1000) for t in ticks], [f"{t:g}" for t in ticks])
    ax.set_ylabel("kHz", fontsize=fontsize, labelpad=1)
    if label:
        ax.text(0.01, 0.96, kind, transform=ax.transAxes, ha="left", va="top", color="white",
                fontsize=fontsize, bbox=dict(facecolor="black", alpha=0.5, pad=1, linewidth=0))
    return image


def compare(input: np.ndarray, output: np.ndarray, style: np.ndarray | None,
            sample_rate: float, *, style_rate: float | None = None,
            output_rate: float | None = None):
    """The sheet of one render as a ``matplotlib.figure.Figure`` with four panels, top to
    bottom: input, style, output (one shared level scale, dB re full scale) and the difference
    output minus input (dB, blue: quieter, red: louder). With ``style=None`` (a texture of the
    input) the style panel says so. ``style_rate`` and ``output_rate`` default to
    ``sample_rate``; an output at another rate is resampled to the input's for the difference.

    Save it with :func:`save_png` (compact) or ``fig.savefig``; ``fig.axes[:4]`` are the panels.
    """
    Figure, FigureCanvasAgg = _matplotlib()
    sheet = _Sheet(input, output, style, sample_rate, style_rate, output_rate)
    fig = Figure(figsize=(8, 8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1)
    images = {kind: _draw(ax, sheet, kind, fontsize=8) for kind, ax in zip(KINDS, axes)}
    for ax in axes:
        ax.set_xlabel("seconds", fontsize=8, labelpad=1)
    levels = [axes[i] for i, kind in enumerate(KINDS[:3]) if images[kind] is not None]
    bar = fig.colorbar(images["input"], ax=levels, fraction=0.03, pad=0.01)
    bar.set_label("dB re full scale", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    bar = fig.colorbar(images["difference"], ax=axes[3], fraction=0.03, pad=0.01)
    bar.set_label("output - input, dB", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return fig


def save_spectrograms(input: np.ndarray, output: np.ndarray, style: np.ndarray | None,
                      sample_rate: float, folder: str | os.PathLike, stem: str, *,
                      style_rate: float | None = None, output_rate: float | None = None
                      ) -> dict[str, Path]:
    """Write the sheet's panels as small PNGs (600 x 200 px) ``folder/{stem}-{kind}.png`` for
    the kinds input, style (only with a style), output and difference; input, style and output
    on one shared colour scale. Each file is written atomically. Returns kind -> path.
    Arguments as :func:`compare`; ``folder`` must exist.
    """
    Figure, FigureCanvasAgg = _matplotlib()
    sheet = _Sheet(input, output, style, sample_rate, style_rate, output_rate)
    written = {}
    for kind in (k for k in KINDS if k in sheet.spectra):
        # fixed axes boxes, no layout engine: the same frame for every panel, and fast; a
        # transparent frame with mid-grey text reads on a light and on a dark page alike (the
        # page captions each panel, so no label inside it)
        fig = Figure(figsize=PANEL_INCHES, dpi=PANEL_DPI)
        fig.patch.set_alpha(0)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.075, 0.18, 0.81, 0.78))
        image = _draw(ax, sheet, kind, fontsize=8, label=False)
        ax.set_xlabel("seconds", fontsize=8, labelpad=0)
        bar = fig.colorbar(image, cax=fig.add_axes((0.9, 0.18, 0.012, 0.78)))
        bar.ax.tick_params(labelsize=7, length=2, pad=1)
        bar.set_label("dB" if kind == "difference" else "dBFS", fontsize=8, labelpad=2)
        for axis in (ax, bar.ax):
            axis.tick_params(colors=PANEL_TEXT)
            axis.xaxis.label.set_color(PANEL_TEXT)
            axis.yaxis.label.set_color(PANEL_TEXT)
            for spine in axis.spines.values():
                spine.set_color(PANEL_TEXT)
        written[kind] = save_png(fig, Path(folder) / f"{stem}-{kind}.png", transparent=True)
    return written


def save_png(fig, path: str | os.PathLike, *, colours: int = 256,
             transparent: bool = False) -> Path:
    """Save a figure as a PNG of at most ``colours`` colours (2 to 256), atomically: half the
    size of a true-colour PNG or less, and a colour map has few colours anyway. With
    ``transparent`` the figure's alpha is kept. Returns ``path``."""
    from PIL import Image  # Pillow comes with matplotlib

    canvas = fig.canvas
    if not hasattr(canvas, "buffer_rgba"):  # a Figure made without a canvas
        canvas = _matplotlib()[1](fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    image = Image.fromarray(rgba if transparent else rgba[..., :3])
    # Pillow quantises RGBA with the fast octree only
    method = Image.Quantize.FASTOCTREE if transparent else Image.Quantize.MEDIANCUT
    path = Path(os.fspath(path))
    with atomic_path(path, suffix=".png") as tmp:
        image.quantize(colours, method=method).save(tmp, format="PNG", optimize=True)
    return path
