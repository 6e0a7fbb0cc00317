"""A neural style in one chain with pedalboard's own effects.

    python examples/chain_with_pedalboard.py --quick       # shipped melody + texture, seconds
    python examples/chain_with_pedalboard.py               # the same with the 'draft' preset
    python examples/chain_with_pedalboard.py voice.wav --style rain.wav --preset "style 0.01" \\
        -o voice_rain.wav

The chain: high-pass and compressor (native pedalboard, run as one native segment), the neural
style (offline, on the whole signal), then reverb and a limiter (another native segment).
Output: same length, sample rate and channels as the input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pedalboard import Compressor, HighpassFilter, Limiter, Reverb

from neuralfx import NeuralStyle, Pedalboard
from neuralfx.audio import read_audio, write_audio
from neuralfx.examples import path as example

# --quick: a tiny network and few iterations, so the example runs in seconds on a CPU.
QUICK = dict(n_filters=64, iterations=5, griffin_lim_iterations=8)


def print_progress(p) -> None:
    """One line of progress on stderr (``p`` is a ``neuralfx.engine.Progress``)."""
    print(f"\r  {p.stage:<14} chunk {p.chunks_done}/{p.chunks_total}  "
          f"iteration {p.iteration}/{p.iterations}   ", end="", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="A neural style between pedalboard effects.")
    parser.add_argument("input", nargs="?", type=Path, default=example("melody.wav"),
                        help="content audio (default: the shipped melody)")
    parser.add_argument("--style", type=Path, default=example("texture.wav"),
                        help="style audio (default: the shipped rhythmic texture)")
    parser.add_argument("--preset", default="draft", help="neuralfx preset (default: draft)")
    parser.add_argument("-o", "--output", type=Path, default=Path("chain_output.wav"))
    parser.add_argument("--quick", action="store_true", help="tiny settings, rough sound")
    args = parser.parse_args()

    audio, sample_rate = read_audio(args.input)  # (channels, samples) float32
    style = NeuralStyle(style=args.style, preset=args.preset, progress=print_progress,
                        **(QUICK if args.quick else {}))
    board = Pedalboard([
        HighpassFilter(cutoff_frequency_hz=40),
        Compressor(threshold_db=-20, ratio=3),
        style,
        Reverb(room_size=0.3, wet_level=0.15),
        Limiter(threshold_db=-1),
    ])
    print(board)

    t0 = time.perf_counter()
    out = board(audio, sample_rate)
    print(f"\nrendered {audio.shape[-1] / sample_rate:.1f} s of audio in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    assert out.shape == audio.shape
    write_audio(args.output, out, sample_rate, bit_depth=16)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
