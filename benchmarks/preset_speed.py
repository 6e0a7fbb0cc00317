"""Render time of built-in presets on synthetic clips, as a multiple of real time.

    python -m benchmarks.preset_speed --presets draft "draft texture" --seconds 10

For each preset: a synthesised melody (content) and rhythmic noise (style), both ``--seconds``
long at the preset's analysis rate, rendered on the CPU with ``--threads`` threads. The time
counts the style statistics (cache off) and the render, i.e. what a user waits for. Prints a
Markdown table and writes ``benchmarks/results/preset_speed.json``. On a shared machine the
wall time includes waiting for other processes; CPU time / threads / duration is what an idle
machine of the same kind needs. No audio files needed: a quick check of one's own machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from benchmarks.measures import machine, result_path, write_result
from benchmarks.signals import melody, rhythmic_noise
from neuralfx.engine import render
from neuralfx.presets import load_preset
from neuralfx.style import compute_style_statistics

RESULT = result_path(__file__)


def measure(name: str, seconds: float, repeats: int) -> tuple[float, dict]:
    """Best wall time over ``repeats`` and the CPU time (all threads) of that run's kind."""
    preset = load_preset(name, device="cpu")
    s = preset.settings
    content = torch.from_numpy(melody(seconds, s.sample_rate))[None]
    style = torch.from_numpy(rhythmic_noise(seconds, s.sample_rate))
    best, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        stats = compute_style_statistics(style, s)
        out = render(content, stats, s)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
        assert out.shape == content.shape and torch.isfinite(out).all()
    return best, {"cpu": cpu, "n_filters": s.n_filters, "iterations": s.iterations,
                  "griffin_lim_iterations": s.griffin_lim_iterations,
                  "sample_rate": s.sample_rate}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["draft", "draft texture"])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    return ap


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    os.environ["NEURALFX_CACHE_DIR"] = "off"  # measure the statistics too, as a first render
    torch.set_num_threads(args.threads)
    facts = machine(args.threads)
    print(f"{facts['cpu']}, {args.threads} threads, torch {torch.__version__}, "
          f"{args.seconds:g} s content and style\n")
    print("| preset | n_filters | iterations | GL iterations | rate (Hz) | wall (s) "
          "| x real time | CPU (s) | CPU / threads / duration |")
    print("|---|---|---|---|---|---|---|---|---|")
    doc = {"seconds": args.seconds, "machine": facts, "presets": {}}
    for name in args.presets:
        t, info = measure(name, args.seconds, args.repeats)
        doc["presets"][name] = {"wall_s": t, "x_real_time": t / args.seconds, **info}
        print(f"| {name} | {info['n_filters']} | {info['iterations']} | "
              f"{info['griffin_lim_iterations']} | {info['sample_rate']} | {t:.1f} | "
              f"{t / args.seconds:.2f} | {info['cpu']:.1f} | "
              f"{info['cpu'] / args.threads / args.seconds:.2f} |", flush=True)
    write_result(args.out, doc)
    return doc


if __name__ == "__main__":
    main()
