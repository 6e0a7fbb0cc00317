"""``neuralfx demo`` as a newcomer runs it: wall time, and how close its outputs are to the
shipped style (held-out style distance at each output's best gain; the unprocessed melody is
the reference for "did nothing").

    python -m benchmarks.demo [--keep DIR] [--out FILE]

Writes ``benchmarks/results/demo.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks import measures
from benchmarks.measures import machine, result_path, write_result

RESULT = result_path(__file__)
EXAMPLES = Path(__file__).resolve().parents[1] / "neuralfx" / "examples"


def _read(path: Path) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    return audio.T, sr


def measure(folder: Path) -> dict:
    """Every wav the demo wrote in ``folder`` against the shipped style and melody."""
    style, _ = _read(EXAMPLES / "texture.wav")
    melody, _ = _read(EXAMPLES / "melody.wav")
    out = {}
    for path in sorted(folder.glob("*.wav")):
        audio, sr = _read(path)
        distance, _, gain_db = measures.best_gain_style_distance(audio, style, sr,
                                                                  widths=measures.EVAL_WIDTHS)
        same_length = audio.shape[-1] == melody.shape[-1]
        out[path.name] = {
            "style_distance_best_gain": distance, "best_gain_db": gain_db,
            "content_corr": (measures.content_similarity(audio, melody, sr) if same_length
                             else None)}
    return out


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, default=None,
                    help="demo folder to keep (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    return ap


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "demo"
        t0 = time.perf_counter()
        subprocess.run(["neuralfx", "demo", "--output-dir", str(folder)], check=True)
        result = {"wall_s": time.perf_counter() - t0, "outputs": measure(folder),
                  "machine": machine()}
    print(json.dumps(result, indent=1))
    write_result(args.out, result)
    return result


if __name__ == "__main__":
    main()
