"""What the batch report costs: the same files rendered without and with the report.

    python -m benchmarks.report_overhead --preset draft --files 4 --seconds 10

Renders ``--files`` synthetic clips of ``--seconds`` each (benchmarks/signals.py, a different
seed per file) in the style of the rhythmic-noise clip with
``neuralfx.batch.process_files``, in one run: first without the report, then with
``report=True`` (a sidecar per output, spectrograms, ``report.html``) into a fresh output
folder. The style statistics are computed before either clock starts. Prints both wall times,
the ratio and the report's own time over the render time of the same run (robust to a load
that changes between the runs), and writes them to
``benchmarks/results/report_overhead.json``. ``--set KEY=VALUE`` overrides preset parameters
(tiny settings for a smoke test).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.measures import git_revision, machine, parse_sets, result_path, write_result

RESULT = result_path(__file__)


def make_inputs(folder: Path, files: int, seconds: float, rate: int = 22050) -> list[Path]:
    """Synthetic clips, cycling through the melodic signals with a new seed per file."""
    import soundfile as sf

    from benchmarks import signals

    names = ["melody", "chords", "drone"]
    paths = []
    for k in range(files):
        path = folder / f"clip{k:02d}.wav"
        sf.write(path, signals.clip(names[k % len(names)], seconds, rate, seed=10 + k), rate,
                 subtype="PCM_16")
        paths.append(path)
    return paths


def run(args: argparse.Namespace) -> dict:
    import soundfile as sf

    from benchmarks import signals
    from neuralfx import NeuralStyle
    from neuralfx.batch import process_files
    from neuralfx.presets import load_preset

    overrides = parse_sets(args.set)
    preset = load_preset(args.preset, device="cpu", **overrides)
    results: dict = {"preset": args.preset, "overrides": overrides, "files": args.files,
                     "seconds_per_file": args.seconds, "machine": machine(), "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = make_inputs(root, args.files, args.seconds)
        style = root / "style.wav"
        sf.write(style, signals.clip("rhythmic_noise", 10.0, 22050), 22050, subtype="PCM_16")
        os.environ.setdefault("NEURALFX_CACHE_DIR", str(root / "cache"))
        NeuralStyle(str(style), preset).style_statistics()  # cached on disk for both runs
        for mode, report in (("plain", False), ("report", True)):
            t0 = time.perf_counter()
            result = process_files(inputs, preset, root / f"out-{mode}", style=style,
                                   report=report)
            seconds = time.perf_counter() - t0
            if result.exit_status != 0:
                raise SystemExit(f"{mode}: {result.line}: {result.failures()}")
            results["modes"][mode] = {"seconds": round(seconds, 2),
                                      "render_seconds": round(result.seconds, 2)}
            if report:
                # the report's own part: after the render, sidecars and the page
                results["modes"][mode]["report_seconds"] = round(seconds - result.seconds, 2)
                results["page_bytes"] = Path(result.info["report"]).stat().st_size
                results["asset_bytes"] = sum(
                    p.stat().st_size for p in (root / "out-report" / "report-assets").iterdir())
    plain, report = results["modes"]["plain"], results["modes"]["report"]
    results["ratio"] = round(report["seconds"] / plain["seconds"], 3)
    # the report's time over the render of the same run: robust to load that changes between
    # the two runs on a shared machine (the ratio is not)
    results["report_share"] = round(report["report_seconds"] / report["render_seconds"], 3)
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="draft")
    p.add_argument("--files", type=int, default=4)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset parameter (repeatable)")
    p.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    return p


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    results = run(args)
    results["git"] = git_revision()
    plain, report = results["modes"]["plain"], results["modes"]["report"]
    print(f"without the report: {plain['seconds']:.1f} s; with it: {report['seconds']:.1f} s "
          f"(the report itself {report['report_seconds']:.1f} s, "
          f"{100 * results['report_share']:.1f}% of its render); ratio "
          f"{results['ratio']:.3f} for {results['files']} files of "
          f"{results['seconds_per_file']:g} s, preset {results['preset']!r}")
    write_result(args.out, results)
    return results


if __name__ == "__main__":
    main()
