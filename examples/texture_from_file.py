"""A new texture of any length from a style file (texture synthesis, content weight 0).

    python examples/texture_from_file.py --quick                 # from the shipped texture
    python examples/texture_from_file.py rain.wav --seconds 60 --channels 2 -o rain_60s.wav

The texture has the style's spectral and rhythmic statistics but none of its exact events, and
it can be longer than the style: it is synthesised in overlapping chunks joined before phase
reconstruction, so there are no seams. Different ``--seed`` values give different takes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuralfx import NeuralStyle
from neuralfx.audio import read_audio, write_audio
from neuralfx.examples import path as example

QUICK = dict(n_filters=64, iterations=5, griffin_lim_iterations=8)


def print_progress(p) -> None:
    print(f"\r  {p.stage:<14} chunk {p.chunks_done}/{p.chunks_total}  "
          f"iteration {p.iteration}/{p.iterations}   ", end="", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Synthesise a texture from a style file.")
    parser.add_argument("style", nargs="?", type=Path, default=example("texture.wav"),
                        help="style audio (default: the shipped rhythmic texture)")
    parser.add_argument("--seconds", type=float, default=12.0, help="output length (default 12)")
    parser.add_argument("--channels", type=int, default=1, help="output channels (default 1)")
    parser.add_argument("--preset", default="texture", help="neuralfx preset (default: texture)")
    parser.add_argument("--seed", type=int, default=0, help="a different seed, a different take")
    parser.add_argument("-o", "--output", type=Path, default=Path("texture_output.wav"))
    parser.add_argument("--quick", action="store_true", help="tiny settings, rough sound")
    args = parser.parse_args()

    _, sample_rate = read_audio(args.style)  # the texture is written at the style's rate
    fx = NeuralStyle(style=args.style, preset=args.preset, seed=args.seed,
                     progress=print_progress, **(QUICK if args.quick else {}))
    out = fx.texture(args.seconds, sample_rate, channels=args.channels)  # the style's loudness
    print(file=sys.stderr)
    write_audio(args.output, out, sample_rate, bit_depth=16)
    print(f"wrote {args.output}: {out.shape[-1] / sample_rate:.1f} s, {out.shape[0]} channel(s), "
          f"{sample_rate:g} Hz")


if __name__ == "__main__":
    main()
