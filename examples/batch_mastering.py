"""Batch mastering: one shared preset file (style settings + a pedalboard chain) over a folder.

    python examples/batch_mastering.py --quick                # the shipped clips, seconds
    python examples/batch_mastering.py mixes/ --style vinyl.wav -o mastered/
    python examples/batch_mastering.py mixes/ --style vinyl.wav --preset my_master.toml

The preset (default: ``examples/presets/tape_master.toml``) carries the whole chain: pedalboard
effects before the neural style (``[[chain.pre]]``), the style settings, and effects after it
(``[[chain.post]]``). Send that one file to a colleague, or bundle it with its style audio
(``neuralfx presets export``), and they get the same master.

The style's statistics are computed once for the whole batch. Every output is written
atomically (temporary file, then rename); a file that fails is reported and the batch goes on.
The command line does the same with progress bars and a JSON summary:
``neuralfx process mixes/ --style vinyl.wav --preset examples/presets/tape_master.toml``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from neuralfx import Pedalboard
from neuralfx.audio import read_audio, write_audio
from neuralfx.examples import path as example
from neuralfx.presets import load_preset

HERE = Path(__file__).resolve().parent
AUDIO = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")
QUICK = dict(n_filters=64, iterations=5, griffin_lim_iterations=8)


def main() -> int:
    parser = argparse.ArgumentParser(description="Master a folder of audio with a preset chain.")
    parser.add_argument("inputs", nargs="*", type=Path,
                        help="audio files or folders (default: the shipped melody)")
    parser.add_argument("--style", type=Path, default=example("texture.wav"),
                        help="style audio (default: the shipped rhythmic texture)")
    parser.add_argument("--preset", default=str(HERE / "presets" / "tape_master.toml"),
                        help="preset name or .toml file with a chain")
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("mastered"))
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quick", action="store_true", help="tiny settings, rough sound")
    args = parser.parse_args()

    files = []
    for item in args.inputs or [example("melody.wav")]:
        found = sorted(item.rglob("*")) if item.is_dir() else [item]
        files += [f for f in found if f.is_file() and f.suffix.lower() in AUDIO]
    if not files:
        parser.error("no audio files found")

    preset = load_preset(args.preset, **(QUICK if args.quick else {}))
    # the preset's pre chain, the neural effect, its post chain (fresh pedalboard plugins)
    board = Pedalboard.from_preset(preset, style=args.style)
    print(f"preset {preset.name!r}: {preset.description}\n{board}")
    args.output_dir.mkdir(parents=True, exist_ok=True)

    failed = []
    for i, src in enumerate(files, 1):
        dst = args.output_dir / f"{src.stem}_mastered.wav"
        if dst.exists() and not args.overwrite:
            failed.append((src, f"{dst} exists (use --overwrite)"))
            continue
        t0 = time.perf_counter()
        try:
            audio, sample_rate = read_audio(src)
            write_audio(dst, board(audio, sample_rate), sample_rate, bit_depth=24)
        except (OSError, ValueError, RuntimeError) as e:  # one bad file never stops the batch
            failed.append((src, str(e)))
            continue
        print(f"[{i}/{len(files)}] {src} -> {dst} ({time.perf_counter() - t0:.1f} s)")

    for src, why in failed:
        print(f"FAILED {src}: {why}", file=sys.stderr)
    print(f"{len(files) - len(failed)} of {len(files)} file(s) mastered into {args.output_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
