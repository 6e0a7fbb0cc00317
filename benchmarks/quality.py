"""Quality of the classic presets against the improved ones, on synthesised test pairs.

    python -m benchmarks.quality --seconds 4 --iterations 40
    python -m benchmarks.quality --seconds 4 --iterations 40 --sweep-reconstruction

For each test pair and each preset it renders with the engine (CPU, fp32, same clip, same
iteration count for every preset so the comparison is fair at equal optimiser effort) and
measures, with ``benchmarks/measures.py`` (measures independent of the optimisation):

- style distance (Gram distance under an evaluation network bank no preset uses; lower better),
- content similarity (log-mel correlation with the content; style transfer only),
- rhythm similarity (onset-autocorrelation correlation with the style),
- spectral convergence of the reconstruction (optimised magnitude vs STFT of the output),
- render time per audio second (wall clock and CPU seconds, style statistics excluded).

Writes the ``run`` entry of ``benchmarks/results/quality.json`` and a Markdown table on stdout;
``--plot FILE`` draws spectrograms of content, style, classic and improved outputs.
``--sweep-reconstruction`` also measures the Griffin-Lim options (initial phase, iterations) on
the magnitudes the classic presets optimised (the ``reconstruction`` entry), which is how the
presets' reconstruction settings were chosen; ``--sweep-consistent`` the same on reachable
magnitudes (the ``consistent`` entry).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import neuralfx.engine as engine
from benchmarks import measures as metrics
from benchmarks.measures import parse_sets, result_path, update_result
from benchmarks.signals import chords, drone, melody, rhythmic_noise
from neuralfx.presets import load_preset
from neuralfx.reconstruction import BlockGriffinLim
from neuralfx.settings import Settings
from neuralfx.style import compute_style_statistics

RESULT = result_path(__file__)


@dataclass(frozen=True)
class Case:
    """A test pair: ``content`` None means texture synthesis of ``style``'s length."""

    name: str
    kind: str  # "transfer" or "texture"
    content: str | None
    style: str
    classic: str
    improved: str


SIGNALS = {"melody": melody, "chords": chords, "drone": drone, "rhythmic_noise": rhythmic_noise}

CASES = (
    Case("melody -> drone", "transfer", "melody", "drone", "style 0.01", "style+"),
    Case("chords -> rhythmic_noise", "transfer", "chords", "rhythmic_noise", "style 0.01",
         "style+"),
    Case("texture of rhythmic_noise", "texture", None, "rhythmic_noise", "texture", "texture+"),
    Case("texture of drone", "texture", None, "drone", "texture", "texture+"),
)


class RecordingGriffinLim(BlockGriffinLim):
    """The engine's reconstruction, keeping the magnitudes it was given (in frame order)."""

    last: RecordingGriffinLim | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pushed: list[torch.Tensor] = []
        RecordingGriffinLim.last = self

    def push(self, magnitude: torch.Tensor, last: bool) -> None:
        self.pushed.append(magnitude.detach().cpu())
        super().push(magnitude, last)

    def magnitude(self) -> torch.Tensor:
        return torch.cat(self.pushed, dim=-1)


class RecordingRefinement:
    """Keeps the waveform segments the engine's waveform pass produced, by chunk and channel,
    with the signal's chunk layout."""

    def __init__(self) -> None:
        self.segments: dict[tuple[int, int], torch.Tensor] = {}
        self.signal = None
        self._add = engine._Signal.add_refined

    def __enter__(self) -> RecordingRefinement:
        add, segments = self._add, self.segments

        def add_refined(signal, i: int, c: int, segment: torch.Tensor) -> None:
            segments[(i, c)] = segment.detach().cpu()
            self.signal = signal
            add(signal, i, c, segment)

        engine._Signal.add_refined = add_refined
        return self

    def __exit__(self, *exc) -> None:
        engine._Signal.add_refined = self._add

    def magnitude(self, settings: Settings, frames: int) -> torch.Tensor:
        """``(1, bins, frames)``: the spectrogram the loss was last evaluated on, channel 0.
        Each signal frame comes from the STFT of the refined segment of the chunk that owns
        the frame's centre sample (the chunk whose samples the output keeps there)."""
        from neuralfx.chunking import owned_samples
        from neuralfx.spectral import stft_frames

        sig, hop = self.signal, settings.hop_length
        out = torch.zeros(settings.n_bins, frames)
        for i, start in enumerate(sig.plan.starts):
            a, b = owned_samples(sig.spans, i)
            lo, hi = max(0, -(-a // hop)), min(frames, -(-b // hop))  # centres in [a, b)
            if hi <= lo:
                continue
            mag = stft_frames(self.segments[(i, 0)], settings.n_fft, hop).abs()
            first = start - sig.edge  # the signal frame of the segment's first frame
            out[:, lo:hi] = mag[:, lo - first:hi - first]
        return out[None]


def clip(name: str, seconds: float, sr: int) -> np.ndarray:
    return SIGNALS[name](seconds, sr)


def render_case(case: Case, preset_name: str, seconds: float, overrides: dict) -> dict:
    """Render one pair with one preset and measure it. Returns a result row."""
    preset = load_preset(preset_name, **overrides)
    s = preset.settings
    sr = s.sample_rate
    style = clip(case.style, seconds, sr)
    content = None if case.content is None else clip(case.content, seconds, sr)
    stats = compute_style_statistics(torch.from_numpy(style), s)
    # capture the optimised magnitude: the one Griffin-Lim was given or, when the waveform is
    # refined, the refined waveform's own (what the loss was last evaluated on)
    engine.BlockGriffinLim = RecordingGriffinLim
    try:
        with RecordingRefinement() as refinement:
            t0, c0 = time.perf_counter(), time.process_time()
            out = engine.render(None if content is None else torch.from_numpy(content)[None],
                                stats, s, n_samples=len(style), channels=1)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        engine.BlockGriffinLim = BlockGriffinLim
    out = out[0].numpy()
    mag = RecordingGriffinLim.last.magnitude()
    spans = None
    if refinement.segments:
        mag = refinement.magnitude(s, mag.shape[-1])
        spans = refinement.signal.spans
    row = {
        "case": case.name, "kind": case.kind, "preset": preset_name,
        "style_distance": metrics.style_distance(out, style, sr),
        "rhythm_similarity": metrics.rhythm_similarity(out, style, sr),
        "spectral_convergence": metrics.reconstruction_quality(mag[0], out, sr, s.n_fft,
                                                               s.hop_length),
        "seconds_per_audio_second": wall / seconds,
        "cpu_seconds_per_audio_second": cpu / seconds,
    }
    if content is not None:
        row["content_similarity"] = metrics.content_similarity(out, content, sr)
    row["_audio"] = out
    row["_magnitude"] = mag
    row["_spans"] = spans
    return row


def sweep_reconstruction(rows: list[dict], seconds: float, overrides: dict) -> list[dict]:
    """Spectral convergence and time of each initial phase and iteration count, on the
    magnitudes the classic presets optimised (``rows`` from :func:`render_case`)."""
    from neuralfx.spectral import frame_slice_spectrogram

    out = []
    for r in rows:
        case = next(c for c in CASES if c.name == r["case"])
        if r["preset"] != case.classic:
            continue
        mag = r["_magnitude"]
        s = load_preset(case.classic, **overrides).settings
        n = len(r["_audio"])
        source = None
        if case.content is not None:
            content = torch.from_numpy(clip(case.content, seconds, s.sample_rate))[None]

            def source(a, b, content=content, s=s):
                spec = frame_slice_spectrogram(content, a, b, s.n_fft, s.hop_length,
                                               complex_out=True)
                return torch.angle(spec.sum(0, keepdim=True))
        for phase in ("random", "zeros", "bin-frequency", "content"):
            if phase == "content" and source is None:
                continue
            for iterations in (50, 100, 200):
                t0 = time.perf_counter()
                gl = BlockGriffinLim(n, 1, s.n_fft, s.hop_length, iterations,
                                     s.griffin_lim_momentum, phase, s.seed, "cpu", source)
                gl.push(mag, last=True)
                wall = time.perf_counter() - t0
                sc = metrics.reconstruction_quality(mag[0], gl.out[0].numpy(), s.sample_rate,
                                                    s.n_fft, s.hop_length)
                out.append({"case": case.name, "phase_init": phase, "iterations": iterations,
                            "spectral_convergence": sc,
                            "seconds_per_audio_second": wall / seconds})
                print(f"{case.name:28s} {phase:14s} {iterations:4d}  SC {sc:.4f}  "
                      f"{wall / seconds:.3f} s/s", flush=True)
    return out


def sweep_consistent(seconds: float) -> list[dict]:
    """The same Griffin-Lim options on magnitudes that are reachable (the STFT magnitude of a
    real clip), where the initial phase decides how close Griffin-Lim gets."""
    from neuralfx.spectral import stft

    s = Settings()
    out = []
    for name in ("melody", "drone", "rhythmic_noise"):
        audio = torch.from_numpy(clip(name, seconds, s.sample_rate))
        mag = stft(audio, s.n_fft, s.hop_length).abs()[None]
        for phase in ("random", "zeros", "bin-frequency"):
            for iterations in (50, 100, 200):
                t0 = time.perf_counter()
                gl = BlockGriffinLim(len(audio), 1, s.n_fft, s.hop_length, iterations,
                                     s.griffin_lim_momentum, phase, s.seed, "cpu")
                gl.push(mag, last=True)
                wall = time.perf_counter() - t0
                sc = metrics.reconstruction_quality(mag[0], gl.out[0].numpy())
                out.append({"case": f"|STFT({name})|", "phase_init": phase,
                            "iterations": iterations, "spectral_convergence": sc,
                            "seconds_per_audio_second": wall / seconds})
                print(f"|STFT({name})|{'':14s} {phase:14s} {iterations:4d}  SC {sc:.4f}  "
                      f"{wall / seconds:.3f} s/s", flush=True)
    return out


def style_floor(styles: list[str], seconds: float, sr: int = 22050) -> list[dict]:
    """The measures between the first and the next ``seconds`` of each style signal: how far
    the style is from itself over time. A render nearer than this to the style clip matches
    that clip's own statistics more closely than the source matches itself."""
    rows = []
    n = round(seconds * sr)
    for name in styles:
        longer = SIGNALS[name](2 * seconds, sr)
        first, following = longer[:n], longer[n:2 * n]
        rows.append({"style": name,
                     "style_distance": metrics.style_distance(following, first, sr),
                     "rhythm_similarity": metrics.rhythm_similarity(following, first, sr)})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| pair | preset | style distance | content similarity | rhythm similarity | "
             "spectral convergence | s per audio s (CPU s) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        cs = f"{r['content_similarity']:.3f}" if "content_similarity" in r else "-"
        lines.append(f"| {r['case']} | `{r['preset']}` | {r['style_distance']:.3f} | {cs} | "
                     f"{r['rhythm_similarity']:.3f} | {r['spectral_convergence']:.3f} | "
                     f"{r['seconds_per_audio_second']:.1f} "
                     f"({r['cpu_seconds_per_audio_second']:.1f}) |")
    return "\n".join(lines)


def ratios(rows: list[dict]) -> str:
    """Improved / classic per pair."""
    out = []
    by = {(r["case"], r["preset"]): r for r in rows}
    for case in CASES:
        a, b = by.get((case.name, case.classic)), by.get((case.name, case.improved))
        if a is None or b is None:
            continue
        line = (f"- {case.name}: style distance x{b['style_distance'] / a['style_distance']:.2f}"
                f"; spectral convergence {a['spectral_convergence']:.3f} -> "
                f"{b['spectral_convergence']:.3f}")
        if case.kind == "transfer":
            line += (f"; content similarity {a['content_similarity']:.3f} -> "
                     f"{b['content_similarity']:.3f}")
        line += (f"; rhythm similarity {a['rhythm_similarity']:.3f} -> "
                 f"{b['rhythm_similarity']:.3f}")
        out.append(line)
    return "\n".join(out)


def plot(rows: list[dict], seconds: float, path: Path) -> None:
    """Log spectrograms (dB) of content, style, classic and improved output for the first
    transfer pair and the first texture pair, one row per pair."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sr = Settings().sample_rate
    by = {(r["case"], r["preset"]): r for r in rows}
    picks = [c for c in (CASES[1], CASES[2]) if (c.name, c.classic) in by
             and (c.name, c.improved) in by]
    if not picks:
        return
    fig, axes = plt.subplots(len(picks), 4, figsize=(13, 2.6 * len(picks)), squeeze=False)
    for row, case in zip(axes, picks):
        panels = [("content: " + case.content if case.content else "content: none (texture)",
                   None if case.content is None else clip(case.content, seconds, sr)),
                  ("style: " + case.style, clip(case.style, seconds, sr)),
                  (f"classic '{case.classic}'", by[(case.name, case.classic)]["_audio"]),
                  (f"improved '{case.improved}'", by[(case.name, case.improved)]["_audio"])]
        for ax, (title, audio) in zip(row, panels):
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if audio is None:
                ax.axis("off")
                continue
            spec = np.abs(np.asarray(torch.stft(torch.as_tensor(audio).float(), 1024, 256,
                                                window=torch.hann_window(1024),
                                                return_complex=True)))
            db = 20 * np.log10(np.maximum(spec, 1e-5))
            ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=db.max() - 80,
                      vmax=db.max(), extent=(0, len(audio) / sr, 0, sr / 2000))
            ax.set_xticks(range(int(len(audio) / sr) + 1))
            ax.set_yticks([0, 5, 10])
        row[0].set_ylabel("kHz", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=4.0, help="clip length (default 4 s)")
    p.add_argument("--iterations", type=int, default=40,
                   help="optimiser iterations for every preset (default 40; presets use more)")
    p.add_argument("--cases", nargs="*", default=None, help="names of pairs to run (default all)")
    p.add_argument("--presets", nargs="*", default=None, help="limit to these presets")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=None,
                   help="network and starting-noise seed for every preset (default: theirs)")
    p.add_argument("--sweep-reconstruction", action="store_true",
                   help="also time Griffin-Lim options on the classic presets' magnitudes")
    p.add_argument("--sweep-consistent", action="store_true",
                   help="only time Griffin-Lim options on STFT magnitudes of the test clips")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of the improved presets only (ablations)")
    p.add_argument("--merge", action="store_true",
                   help="keep rows of --out (and their audio) that this run does not redo")
    p.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    p.add_argument("--plot", type=Path, default=None, help="PNG of the spectrograms")
    p.add_argument("--audio-cache", type=Path,
                   default=Path(tempfile.gettempdir()) / "neuralfx-quality-audio.npz",
                   help="outputs kept for --merge and the plot (not committed)")
    return p


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("NEURALFX_CACHE_DIR", "off")  # the statistics are part of a render
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    overrides = {"device": "cpu", "precision": "fp32", "iterations": args.iterations}
    if args.seed is not None:
        overrides["seed"] = args.seed
    improved_overrides = dict(overrides, **parse_sets(args.sets))
    if args.sweep_consistent:
        update_result(args.out, "consistent", sweep_consistent(args.seconds))
        return
    rows = []
    for case in CASES:
        if args.cases and case.name not in args.cases:
            continue
        for name in (case.classic, case.improved):
            if args.presets and name not in args.presets:
                continue
            r = render_case(case, name, args.seconds,
                            improved_overrides if name == case.improved else overrides)
            if args.sets and name == case.improved:
                r["overrides"] = args.sets
            rows.append(r)
            print({k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in r.items() if not k.startswith("_")}, flush=True)
    if args.merge and args.out.exists():
        done = {(r["case"], r["preset"]) for r in rows}
        audio = dict(np.load(args.audio_cache)) if args.audio_cache.exists() else {}
        for r in json.loads(args.out.read_text())["run"]["rows"]:
            key = f"{r['case']}|{r['preset']}"
            if (r["case"], r["preset"]) not in done and key in audio:
                rows.append(dict(r, _audio=audio[key]))
        order = [(c.name, n) for c in CASES for n in (c.classic, c.improved)]
        rows.sort(key=lambda r: order.index((r["case"], r["preset"])))
    np.savez(args.audio_cache, **{f"{r['case']}|{r['preset']}": r["_audio"] for r in rows})
    done = {(r["case"], r["preset"]) for r in rows}
    floor = style_floor(sorted({c.style for c in CASES if (c.name, c.classic) in done}),
                        args.seconds)
    update_result(args.out, "run", {
        "seconds": args.seconds, "iterations": args.iterations, "threads": args.threads,
        "torch": torch.__version__, "seed": args.seed,
        "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        "style_floor": floor})
    if args.sweep_reconstruction:
        update_result(args.out, "reconstruction",
                      sweep_reconstruction(rows, args.seconds, overrides))
    if args.plot is not None:
        plot(rows, args.seconds, args.plot)
    print(table(rows))
    print(ratios(rows))
    for f in floor:
        print(f"- {f['style']}, next {args.seconds:g} s against the first: style distance "
              f"{f['style_distance']:.3f}, rhythm similarity {f['rhythm_similarity']:.3f}")


if __name__ == "__main__":
    main()
