"""Batch mastering: one shared preset file (style settings + a pedalboard chain) over a folder.

    python examples/batch_mastering.py --quick                # the shipped clips, seconds
    python examples/batch_mastering.py mixes/ --style vinyl.wav -o mastered/
    python examples/batch_mastering.py mixes/ --style vinyl.wav --preset my_master.toml

The preset (default: ``examples/presets/tape_master.toml``) carries the whole chain: pedalboard
effects before the neural style (``[[chain.pre]]``), the style settings, and effects after it
(``[[chain.post]]``). Send that one file to a colleague, or bundle it with its style audio
(``neuralfx presets export``), and they get the same master.

The batch library (``neuralfx.batch.process_files``) runs the chain over the files: the
style's statistics are computed once for the whole batch, every output is written atomically
(temporary file, then rename), and a file that fails is reported while the batch goes on. The
command line runs the same library with progress bars and a JSON summary:
``neuralfx process mixes/ --style vinyl.wav --preset examples/presets/tape_master.toml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuralfx import Pedalboard
from neuralfx.batch import BatchError, Listener, OutputOptions, process_files
from neuralfx.examples import path as example
from neuralfx.presets import load_preset

HERE = Path(__file__).resolve().parent
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

    preset = load_preset(args.preset, **(QUICK if args.quick else {}))
    # the preset's pre chain, the neural effect, its post chain (fresh pedalboard plugins)
    board = Pedalboard.from_preset(preset, style=args.style)
    print(f"preset {preset.name!r}: {preset.description}\n{board}")

    class Printer(Listener):
        def file_done(self, job) -> None:
            if job.status == "ok":
                print(f"{job.source} -> {job.output} ({job.seconds:.1f} s)")

    try:
        result = process_files(args.inputs or [example("melody.wav")], board, args.output_dir,
                               recursive=True, name_template="{stem}_mastered.wav",
                               output=OutputOptions(bit_depth=24), listener=Printer(),
                               policy="overwrite" if args.overwrite else "error")
    except BatchError as e:  # no audio files, ...: nothing was done
        parser.error(str(e))
    for source, why in result.failures():
        print(f"FAILED {source}: {why}", file=sys.stderr)
    print(f"{result.counts['ok']} of {len(result.jobs)} file(s) mastered into "
          f"{args.output_dir}")
    return result.exit_status


if __name__ == "__main__":
    sys.exit(main())
