"""What one evaluation of the classic objective costs per chunk, by chunks per group and by the
style Gram's factor (why a long file with a long style can cost more per second).

    python -m benchmarks.objective_cost STYLE.wav --style-seconds 200 --batches 1 4 7 \\
        --factors none 3e-4 1e-3

For each factor (``none``: the loss multiplies by the full Gram; a number: the Gram's
low-rank factor within that tolerance, :func:`neuralfx.network.low_rank_factor`) and each
group size (``--batches``): the mean wall time of ``--repeats`` evaluations (loss and gradient)
of a group of chunks of ``--frames`` frames (407: a chunk of a 60 s render), per chunk. The
network has one width per ``--kernel-sizes`` entry (default: the classic 11), and each width's
Gram gets its own factor. The style is the first ``--style-seconds`` of the file, mono, at the
analysis rate.
Prints a markdown table and writes ``benchmarks/results/objective_cost.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from pedalboard.io import AudioFile

from benchmarks.measures import machine, result_path, write_result
from neuralfx.network import low_rank_factor
from neuralfx.settings import Settings
from neuralfx.spectral import n_frames
from neuralfx.style import compute_style_statistics, network_for
from neuralfx.synthesis import Objective

RESULT = result_path(__file__)


def load_style(path: Path, seconds: float, settings: Settings) -> torch.Tensor:
    with AudioFile(str(path)).resampled_to(settings.sample_rate) as f:
        audio = torch.from_numpy(f.read(f.frames)).mean(0)
    return audio[: int(round(seconds * settings.sample_rate))]


def measure(style: torch.Tensor, settings: Settings, batches: list[int],
            factors: list[float | None], frames: int, repeats: int) -> list[dict]:
    stats = compute_style_statistics(style, settings)
    network = network_for(settings)
    rows = []
    for tolerance in factors:
        start = time.perf_counter()
        width_factors = [None if tolerance is None else low_rank_factor(gram, tolerance)
                    for gram in stats.grams]
        factor_s = time.perf_counter() - start
        for batch in batches:
            g = torch.Generator().manual_seed(batch)
            content = torch.randn(batch, settings.n_bins, frames, generator=g) * 0.5 + 1
            x = torch.randn(batch, settings.n_bins, frames, generator=g) * 1e-3
            objective = Objective(network, stats.grams, content, settings.content_weight,
                                  settings.style_weight, style_factors=width_factors,
                                  content_frames=settings.reference_frames)
            objective(x)  # warm-up: weights on the device, allocator
            start = time.perf_counter()
            for _ in range(repeats):
                objective(x)
            wall = (time.perf_counter() - start) / repeats
            rows.append({"factor": "none" if tolerance is None else tolerance,
                         "ranks": [None if f is None else f.shape[1] for f in width_factors],
                         "factor_s": factor_s, "batch": batch, "frames": frames,
                         "ms_per_chunk": 1000 * wall / batch})
    return rows


def table(rows: list[dict], style_frames: int) -> str:
    lines = [f"Style: {style_frames} frames. Per chunk of {rows[0]['frames']} frames, one "
             "evaluation (loss and gradient):", "",
             "| factor | rank per width | factor time (s) | chunks per batch | ms per chunk |",
             "|---|---|---|---|---|"]
    for r in rows:
        ranks = " / ".join("full Gram" if k is None else str(k) for k in r["ranks"])
        lines.append(f"| {r['factor']} | {ranks} "
                     f"| {r['factor_s']:.1f} | {r['batch']} | {r['ms_per_chunk']:.0f} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("style", type=Path)
    ap.add_argument("--style-seconds", type=float, default=60.0)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 7])
    ap.add_argument("--factors", nargs="+", default=["none", "3e-4"],
                    help="'none' (the full Gram) or a low-rank factor's tolerance")
    ap.add_argument("--frames", type=int, default=407)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--filters", type=int, default=4096)
    ap.add_argument("--kernel-sizes", type=int, nargs="+", default=[11],
                    help="filter widths in frames (several: a multi-width network)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    return ap


def main(argv: list[str] | None = None) -> str:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = Settings(n_filters=args.filters, kernel_sizes=tuple(args.kernel_sizes))
    factors = [None if f == "none" else float(f) for f in args.factors]
    style = load_style(args.style, args.style_seconds, settings)
    rows = measure(style, settings, args.batches, factors, args.frames, args.repeats)
    text = table(rows, n_frames(style.shape[-1], settings.hop_length))
    print(text)
    command = ["python", "-m", "benchmarks.objective_cost", *(argv or sys.argv[1:])]
    write_result(args.out, {"command": command, "threads": args.threads, "machine": machine(),
                            "rows": rows})
    return text


if __name__ == "__main__":
    main()
