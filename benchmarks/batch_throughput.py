"""Batch throughput: the same files rendered serially in one process and on a local Ray runtime.

    python -m benchmarks.batch_throughput --preset draft --files 8 --seconds 10 --workers 2

Renders ``--files`` synthetic clips of ``--seconds`` each (benchmarks/signals.py, a different
seed per file) in the style of the rhythmic-noise clip, in one run:

- ``serial``: ``neuralfx.batch.process_files(executor="local")``, one file after the other,
  torch at ``--threads`` threads per process (1 by default, as each Ray worker);
- ``serial-all-threads``: the same with torch's default thread count (all cores), i.e. the
  plain ``neuralfx process`` run;
- ``ray``: ``executor="ray"`` with ``--workers`` actors of ``--threads`` torch threads each.
  The Ray runtime is started before the clock starts (its start-up is reported apart); the
  workers' own start-up (importing torch, fetching the chain) is in the time.

Prints files per hour for every mode and the ratios to ``serial`` and, when it ran, to
``serial-all-threads`` (what a user runs without Ray), and writes them to
``benchmarks/results/batch_throughput.json`` as its ``files`` entry. The preset is an option:
its cost changes as the presets are tuned.

One long file across the workers (``RayOptions.chunks``), the file's ``long`` entry::

    python -m benchmarks.batch_throughput --long --preset draft --seconds 120 --workers 2 \
        --modes serial,ray

``--long`` renders one file of ``--seconds``; its ``ray`` mode sends the file's groups of
chunks to the workers and joins them on the driver (``chunks="on"``). Smaller batches than the
serial run's change the float rounding only: the JSON records the largest sample difference.
``--set KEY=VALUE`` overrides preset parameters (tiny settings for a smoke test).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks import signals
from benchmarks.measures import git_revision, machine, parse_sets, result_path, update_result

RESULT = result_path(__file__)

MODES = ("serial", "serial-all-threads", "ray")


def make_inputs(folder: Path, files: int, seconds: float, rate: int = 22050) -> list[Path]:
    """Synthetic clips, cycling through the melodic signals with a new seed per file."""
    names = ["melody", "chords", "drone"]
    paths = []
    for k in range(files):
        audio = signals.clip(names[k % len(names)], seconds, rate, seed=10 + k)
        path = folder / f"clip{k:02d}.wav"
        sf.write(path, audio, rate, subtype="PCM_16")
        paths.append(path)
    return paths


def run(args: argparse.Namespace) -> dict:
    import torch

    from neuralfx.batch import RayOptions, process_files
    from neuralfx.presets import load_preset

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise SystemExit(f"unknown mode {m!r}; choose from {', '.join(MODES)}")
    overrides = parse_sets(args.set)
    preset = load_preset(args.preset, device="cpu", **overrides)
    files = 1 if args.long else args.files
    results: dict = {"preset": args.preset, "overrides": overrides, "long": args.long,
                     "files": files, "seconds_per_file": args.seconds, "workers":
                     args.workers, "threads_per_worker": args.threads,
                     "machine": machine(),
                     "modes": {}}
    default_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = make_inputs(root, files, args.seconds)
        style = root / "style.wav"
        sf.write(style, signals.clip("rhythmic_noise", 10.0, 22050), 22050, subtype="PCM_16")
        # the style statistics are cached on disk: compute them once outside the clocks
        os.environ.setdefault("NEURALFX_CACHE_DIR", str(root / "cache"))
        from neuralfx import NeuralStyle

        NeuralStyle(str(style), preset).style_statistics()
        from neuralfx.network import random_network

        for mode in modes:
            out = root / f"out-{mode}"
            # every mode builds the network (and its FFT kernels) at its own thread count, as
            # a worker does: kernels built at another count differ in the last bits, and the
            # optimisation carries such differences into different (equally good) samples
            random_network.cache_clear()
            if mode == "ray":
                import ray

                t0 = time.perf_counter()
                ray.init(num_cpus=args.workers * args.threads, include_dashboard=False,
                         log_to_driver=False, logging_level="ERROR")
                results["ray_start_seconds"] = round(time.perf_counter() - t0, 2)
                torch.set_num_threads(default_threads)
                t0 = time.perf_counter()
                result = process_files(inputs, preset, out, style=style, executor="ray",
                                       ray=RayOptions(workers=args.workers,
                                                      threads=args.threads,
                                                      chunks="on" if args.long else "off"))
                seconds = time.perf_counter() - t0
                ray.shutdown()
            else:
                torch.set_num_threads(args.threads if mode == "serial" else default_threads)
                t0 = time.perf_counter()
                result = process_files(inputs, preset, out, style=style)
                seconds = time.perf_counter() - t0
                torch.set_num_threads(default_threads)
            if result.exit_status != 0:
                raise SystemExit(f"{mode}: {result.line}: {result.failures()}")
            results["modes"][mode] = {
                "seconds": round(seconds, 2),
                "files_per_hour": round(3600 * files / seconds, 1),
                "audio_seconds_per_second": round(files * args.seconds / seconds, 3),
                "torch_threads": (args.threads if mode in ("serial", "ray")
                                  else default_threads),
                "outputs": sorted(p.name for p in out.rglob("*.wav")),
            }
        if "serial" in modes and "ray" in modes:
            a = [sf.read(root / "out-serial" / n)[0] for n in results["modes"]["serial"]
                 ["outputs"]]
            b = [sf.read(root / "out-ray" / n)[0] for n in results["modes"]["ray"]["outputs"]]
            results["ray_outputs_identical_to_serial"] = all(
                np.array_equal(x, y) for x, y in zip(a, b)) and len(a) == len(b)
            results["ray_max_abs_difference"] = max(
                (float(np.max(np.abs(x - y))) for x, y in zip(a, b)), default=0.0)
    base = results["modes"].get("serial", {}).get("files_per_hour")
    plain = results["modes"].get("serial-all-threads", {}).get("files_per_hour")
    for r in results["modes"].values():
        r.pop("outputs")
        if base:
            r["ratio_to_serial"] = round(r["files_per_hour"] / base, 2)
        if plain:  # against what a user runs without Ray: torch at its default threads
            r["ratio_to_serial_all_threads"] = round(r["files_per_hour"] / plain, 2)
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="draft")
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads per Ray worker and "
                                                           "for the serial mode")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--long", action="store_true",
                   help="one file of --seconds, its chunks spread over the Ray workers")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset parameter (repeatable)")
    p.add_argument("--out", type=Path, default=RESULT,
                   help="the result file (JSON); this run replaces its 'files' or 'long' entry")
    return p


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    results = run(args)
    results["git"] = git_revision()
    for mode, r in results["modes"].items():
        ratio = f", {r['ratio_to_serial']:.2f}x serial" if "ratio_to_serial" in r else ""
        rate = (f"{r['audio_seconds_per_second']:6.2f}x real time" if args.long else
                f"{r['files_per_hour']:8.1f} files/hour")
        print(f"{mode:>20}: {rate} ({r['seconds']:.1f} s for "
              f"{results['files']} files of {args.seconds:g} s, {r['torch_threads']} torch "
              f"thread(s){ratio})")
    if "ray_outputs_identical_to_serial" in results:
        print(f"ray outputs identical to serial: {results['ray_outputs_identical_to_serial']} "
              f"(largest difference {results['ray_max_abs_difference']:.2e})")
    update_result(args.out, "long" if args.long else "files", results)
    return results


if __name__ == "__main__":
    main()
