"""Streaming phase: which frame-by-frame phase reconstruction sounds closest to offline Griffin-Lim.

Run (five pairs of 10 s clips, one torch thread; a few minutes on a 2-core CPU), and print the
table of a result file again::

    python -m benchmarks.streaming_phase
    python -m benchmarks.streaming_phase --table benchmarks/results/streaming_phase.json

Data: the mono real-music files (``benchmarks/full_band.py``'s docstring), 10 s from 20 s in
(later if the file starts silent), resampled to 22050 Hz. For each pair ``A -> B`` the target
is what a style transform makes, a magnitude that no signal has: ``|STFT(A)|`` moved per bin
towards B's mean log spectrum, ``expm1(log1p|A| - mean_t log1p|A| + mean_t log1p|B|)``
(STFT 2048 / 512, Hann, centred, as the engine). A's own phase is the initial phase (offline)
or the hint (streaming) throughout, as in style transfer.

Compared against the offline reference, fast Griffin-Lim (32 iterations, momentum 0.99, from
A's phase: what the effect does to a chunk):

- ``content phase``: A's phase as it is, no iterations (``iterations=0``);
- RTISI-LA (:mod:`neuralfx.trained.phase`) with the hint, look-ahead 1 / 2 / 3 / 5 frames and
  2 / 4 / 8 passes per push, plain (momentum 0) and with momentum 0.5;
- RTISI-LA without the hint (its own initial estimate: the texture case), look-ahead 3, 4 passes;
- yardsticks for the distances: offline fast GL with 8 iterations, and with 32 from the
  bin-frequency phase instead of A's (two offline reconstructions that are about as good).

Measures per output: spectral convergence against the target at the engine's resolution
(``sc``, lower is better); the log-spectral distance (dB, frames' RMS over bins of the
difference of 10 log10 power, averaged over frames, a floor 80 dB under the reference's peak)
between the offline Griffin-Lim output and the output at 512- and 8192-point STFTs (hop a
quarter), resolutions the engine does not optimise, where phase artefacts (smearing, "phasiness",
pre-echo) show (``lsd_512``, ``lsd_8192``; 0 = the same as offline); the wall and CPU seconds
per second of audio at ``--threads`` threads; the latency of a hop-by-hop stream at 22050 Hz,
``(lookahead + 2 ceil(1024 / 512) - 1) * 512`` samples = ``n_fft + (lookahead - 1) * hop``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks import real_music
from benchmarks.measures import git_revision, machine, result_path, timer, write_result
from neuralfx.audio import resample
from neuralfx.spectral import bin_frequency_phase, griffin_lim, istft, spectral_convergence, stft
from neuralfx.trained.phase import StreamingPhase, rtisi_la

RESULT = result_path(__file__)

MONO_DIR = Path("/work/realmusic/mono")
RATE = 22050
N_FFT, HOP = 2048, 512
GL_ITERATIONS, GL_MOMENTUM = 32, 0.99
DEFAULT_PAIRS = (
    ("speech.wav", "elvish-theme.wav"),
    ("elvish-theme.wav", "northerners.wav"),
    ("northerners.wav", "drums.wav"),
    ("drums.wav", "piano_strings.wav"),
    ("piano_strings.wav", "speech.wav"),
)
LOOKAHEADS = (1, 2, 3, 5)
ITERATIONS = (2, 4, 8)
MOMENTA = (0.0, 0.5)
LSD_SIZES = (512, 8192)
LSD_FLOOR_DB = -80.0
LATENCY_LIMIT_S = 0.250


def variants() -> list[dict]:
    """The streaming settings compared, each ``{name, lookahead, iterations, momentum, hint}``."""
    out = [{"name": "content phase", "lookahead": 0, "iterations": 0, "momentum": 0.0,
            "hint": True}]
    out += [{"name": f"rtisi-la {k}/{it}" + (f" m{m:g}" if m else ""), "lookahead": k,
             "iterations": it, "momentum": m, "hint": True}
            for m in MOMENTA for k in LOOKAHEADS for it in ITERATIONS]
    out += [{"name": f"rtisi-la 3/4{f' m{m:g}' if m else ''} no hint", "lookahead": 3,
             "iterations": 4, "momentum": m, "hint": False} for m in MOMENTA]
    # offline yardsticks: how far apart two good offline reconstructions already are
    out += [{"name": f"offline fast GL {it}{'' if hint else ', bin-frequency start'}",
             "lookahead": None, "iterations": it, "momentum": GL_MOMENTUM, "hint": hint}
            for it, hint in ((8, True), (GL_ITERATIONS, False))]
    return out


def latency_seconds(lookahead: int | None) -> float | None:
    if lookahead is None:
        return None
    return StreamingPhase(N_FFT, HOP, lookahead=lookahead).latency_samples / RATE


def load(path: Path, seconds: float, offset: float) -> tuple[torch.Tensor, float]:
    """A mono clip at 22050 Hz ``(samples,)`` and the offset used (:func:`real_music.load_clip`)."""
    audio, sr, used = real_music.load_clip(path, seconds, offset)
    mono = resample(audio.mean(axis=0), sr, RATE, length=int(round(seconds * RATE)))
    return torch.from_numpy(mono), used


def styled_target(content: torch.Tensor, style: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(target magnitude, content phase)``, each ``(bins, frames)``: the content's log
    magnitude moved per bin by the difference of the two clips' mean log spectra."""
    spec = stft(content, N_FFT, HOP)
    log_a = torch.log1p(spec.abs())
    log_b = torch.log1p(stft(style, N_FFT, HOP).abs())
    shifted = log_a - log_a.mean(dim=1, keepdim=True) + log_b.mean(dim=1, keepdim=True)
    return torch.expm1(shifted).clamp_min(0.0), spec.angle()


def log_spectral_distance(reference: torch.Tensor, audio: torch.Tensor, n_fft: int) -> float:
    """Mean over frames of the RMS over bins of ``10 log10`` power differences (dB), STFT of
    ``n_fft`` points, hop ``n_fft / 4``; both floored ``LSD_FLOOR_DB`` under the reference's
    peak power."""
    ref = stft(reference, n_fft, n_fft // 4).abs().square().double()
    out = stft(audio, n_fft, n_fft // 4).abs().square().double()
    floor = ref.max() * 10 ** (LSD_FLOOR_DB / 10)
    diff = 10 * torch.log10((ref + floor) / (out + floor))
    return float(diff.square().mean(dim=0).sqrt().mean())


def render(variant: dict, target: torch.Tensor, phase: torch.Tensor, n: int) -> torch.Tensor:
    hint = phase if variant["hint"] else None
    if variant["lookahead"] is None:
        start = hint if hint is not None else bin_frequency_phase(*target.shape, HOP, N_FFT)
        return griffin_lim(target[None], N_FFT, HOP, n, variant["iterations"],
                           variant["momentum"], phase=start)[0][0]
    if variant["iterations"] == 0 and variant["hint"]:
        return istft(torch.polar(target, phase), N_FFT, HOP, n)  # the same samples, faster
    return rtisi_la(target, N_FFT, HOP, n, lookahead=variant["lookahead"],
                    iterations=variant["iterations"], momentum=variant["momentum"],
                    phase_hint=hint)


def measure_pair(content_name: str, style_name: str, args: argparse.Namespace) -> list[dict]:
    content, c_off = load(args.data / content_name, args.seconds, args.offset)
    style, s_off = load(args.data / style_name, args.seconds, args.offset)
    target, phase = styled_target(content, style)
    n = content.shape[0]
    common = {"pair": f"{content_name} -> {style_name}", "content_offset_s": c_off,
              "style_offset_s": s_off, "seconds": n / RATE}
    times: dict = {}
    with timer(times, "offline"):
        reference, _ = griffin_lim(target[None], N_FFT, HOP, n, GL_ITERATIONS, GL_MOMENTUM,
                                   phase=phase)
    reference = reference[0]
    rows = [{**common, "name": f"offline fast GL {GL_ITERATIONS}", "lookahead": None,
             "iterations": GL_ITERATIONS, "momentum": GL_MOMENTUM, "hint": True,
             "sc": float(spectral_convergence(reference, target, N_FFT, HOP)),
             **{f"lsd_{size}": 0.0 for size in LSD_SIZES},
             "wall_s_per_s": times["offline"] / common["seconds"],
             "cpu_s_per_s": times["offline_cpu"] / common["seconds"], "latency_s": None}]
    for variant in variants():
        times = {}
        with timer(times, "run"):
            out = render(variant, target, phase, n)
        rows.append({**common, **variant,
                     "sc": float(spectral_convergence(out, target, N_FFT, HOP)),
                     **{f"lsd_{size}": log_spectral_distance(reference, out, size)
                        for size in LSD_SIZES},
                     "wall_s_per_s": times["run"] / common["seconds"],
                     "cpu_s_per_s": times["run_cpu"] / common["seconds"],
                     "latency_s": latency_seconds(variant["lookahead"])})
    return rows


def summary(runs: list[dict]) -> list[dict]:
    """Per setting, in the order run: the mean of each figure over the pairs."""
    names = list(dict.fromkeys(r["name"] for r in runs))
    out = []
    for name in names:
        mine = [r for r in runs if r["name"] == name]
        row = {k: mine[0][k] for k in ("name", "lookahead", "iterations", "momentum", "hint",
                                        "latency_s")}
        for key in ("sc", *(f"lsd_{s}" for s in LSD_SIZES), "wall_s_per_s", "cpu_s_per_s"):
            row[key] = float(np.mean([r[key] for r in mine]))
        row["pairs"] = len(mine)
        out.append(row)
    return out


def table(doc: dict) -> str:
    lines = [f"Means over {doc['summary'][0]['pairs']} pairs; reference: offline fast GL "
             f"{GL_ITERATIONS} it, momentum {GL_MOMENTUM}, content phase start. Latency: a "
             f"hop-by-hop stream at {RATE} Hz.", "",
             "| setting | sc | lsd 512 (dB) | lsd 8192 (dB) | wall s / s | cpu s / s | latency |",
             "|---|---|---|---|---|---|---|"]
    for r in doc["summary"]:
        latency = "-" if r["latency_s"] is None else f"{1000 * r['latency_s']:.0f} ms"
        lines.append(f"| {r['name']} | {r['sc']:.4f} | {r['lsd_512']:.2f} | {r['lsd_8192']:.2f} "
                     f"| {r['wall_s_per_s']:.4f} | {r['cpu_s_per_s']:.4f} | {latency} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=MONO_DIR, help="folder of the mono files")
    ap.add_argument("--pair", nargs=2, action="append", metavar=("CONTENT", "STYLE"),
                    help="a content file and a style file in --data; repeat for more. "
                         "Default: " + "; ".join(f"{c} {s}" for c, s in DEFAULT_PAIRS))
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length")
    ap.add_argument("--offset", type=float, default=20.0, help="clip start in each file (s)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    ap.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    ap.add_argument("--table", type=Path, default=None, metavar="JSON",
                    help="print the table of a result file and exit")
    return ap


def main(argv: list[str] | None = None) -> dict | str:
    args = parser().parse_args(argv)
    if args.table is not None:
        text = table(json.loads(args.table.read_text()))
        print(text)
        return text
    torch.set_num_threads(args.threads)
    pairs = args.pair or [list(p) for p in DEFAULT_PAIRS]
    argv = sys.argv[1:] if argv is None else list(argv)
    doc = {"command": ["python", "-m", "benchmarks.streaming_phase", *argv],
           "machine": machine(args.threads), "revision": git_revision(),
           "settings": {"rate": RATE, "n_fft": N_FFT, "hop": HOP, "lsd_sizes": LSD_SIZES,
                        "lsd_floor_db": LSD_FLOOR_DB, "latency_limit_s": LATENCY_LIMIT_S},
           "runs": []}
    render(variants()[1], *styled_target(torch.zeros(RATE), torch.zeros(RATE)), RATE)  # warm-up
    for content_name, style_name in pairs:
        print(f"{content_name} -> {style_name} ...", flush=True)
        doc["runs"] += measure_pair(content_name, style_name, args)
        doc["summary"] = summary(doc["runs"])
        write_result(args.out, doc)
    print(table(doc))
    return doc


if __name__ == "__main__":
    main()
