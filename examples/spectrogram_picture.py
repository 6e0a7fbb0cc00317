"""The README's picture: what the effect does to the spectrum, as one spectrogram sheet.

    python examples/spectrogram_picture.py            # examples/images/neural_style.png
    python examples/spectrogram_picture.py --quick -o sheet.png

Renders the shipped example melody in the style of the shipped rhythmic texture with the
``draft`` preset (under a minute on 2 cores) and draws input, style and output on one colour
scale, and the difference output minus input. Needs matplotlib: pip install 'neuralfx[report]'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralfx import NeuralStyle, plot
from neuralfx.audio import read_audio
from neuralfx.examples import path as example

PICTURE = Path(__file__).resolve().parent / "images" / "neural_style.png"
QUICK = dict(n_filters=64, iterations=5, griffin_lim_iterations=8)


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw the spectrograms of a style transfer.")
    parser.add_argument("--preset", default="draft", help="neuralfx preset (default: draft)")
    parser.add_argument("-o", "--output", type=Path, default=PICTURE,
                        help=f"the PNG to write (default: {PICTURE.name} in examples/images/)")
    parser.add_argument("--quick", action="store_true", help="tiny settings, rough sound")
    args = parser.parse_args()

    melody, sample_rate = read_audio(example("melody.wav"))
    texture, texture_rate = read_audio(example("texture.wav"))
    fx = NeuralStyle(style=(texture, texture_rate), preset=args.preset,
                     **(QUICK if args.quick else {}))
    output = fx(melody, sample_rate)
    fig = plot.compare(melody, output, texture, sample_rate, style_rate=texture_rate)
    fig.suptitle(f"the example melody in the style of the example texture ({args.preset!r})",
                 fontsize=9)
    fig.set_dpi(90)  # 720 x 720 px in 128 colours: under 200 KB for the README
    args.output.parent.mkdir(parents=True, exist_ok=True)
    plot.save_png(fig, args.output, colours=128)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
