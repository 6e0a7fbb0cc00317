"""Full band: the top octave (11 kHz up) of the presets' output against the style's.

Every preset but ``hq`` analyses at 22050 Hz; the output parameter ``full_band`` (where this
neuralfx has it) gives the output a top octave at the user's rate. This measures it on the
real-music pairs at 44.1 kHz, mono, each render as a user gets it,
``NeuralStyle(style=(style_clip, sr), preset=p, seed=s, full_band=...)(content_clip, sr)``,
the style statistics not cached (``NEURALFX_CACHE_DIR=off``), torch at its default threads.

Data: the real-music files (``benchmarks/real_music.py``'s docstring) and mono copies of them
(the mean of the channels, float WAV, ``.ogg`` -> ``.wav``)::

    python -m benchmarks.real_music --make-data /work/realmusic/files --wesnoth /work/realmusic/wes
    python -m benchmarks.full_band --make-mono /work/realmusic/mono  # from /work/realmusic/files

Run (three pairs, three presets, three seeds, full band off and on, then the floor check;
hours on a 2-core CPU), and print the table of a result file again::

    python -m benchmarks.full_band
    python -m benchmarks.full_band --table benchmarks/results/full_band.json

For each pair (10 s clips at the offsets of ``real_music``: the content from 0 s, the style from
20 s, each past the file's leading silence), each render seed and each preset, the output with
``full_band`` off and on, one after the other (the order alternates with the seed, so load drifts
on a shared machine hit both alike), after one untimed warm-up render. Recorded per output: wall
and CPU time; every figure of :func:`benchmarks.real_music.measure` (the held-out style distance
analysed at 22050 Hz, as rendered and at its best gain; loudness; peak; ...); and the top octave
of the output, the style clip and the input clip (:mod:`benchmarks.measures`): the level of the
11-14, 14-17 and 17-22 kHz bands relative to the whole signal, the spread of the 11 kHz+
envelope over time and its correlation with the 1-11 kHz envelope.

The floor check: the same pairs with the style low-passed at 16 kHz (:func:`low_pass`), the
first seed, full band as the last of ``--full-band``'s settings: an output must not put a floor
where the style has nothing that the input does not have either (its 17-22 kHz level against
the louder of the style's and the input's).

The table (printed at the end) holds each preset's figures against the targets (:data:`TARGETS`):
the mean over pairs and seeds, and per pair the worst seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks import measures, real_music
from benchmarks.measures import machine, parse_sets, result_path, write_result

RESULT = result_path(__file__)

MONO_DIR = Path("/work/realmusic/mono")
DEFAULT_PAIRS = (
    ("elvish-theme.wav", "northerners.wav"),  # orchestral strings -> brass and drums
    ("speech.wav", "elvish-theme.wav"),  # speech -> orchestral (an OGG cut near 16 kHz)
    ("piano_strings.wav", "drums.wav"),  # piano and strings -> drum kit
)
DEFAULT_PRESETS = ("draft", "style 0.01", "style+")
DEFAULT_SEEDS = (0, 1, 2)

FLOOR_CUTOFF_HZ = 16000.0  # the floor check's style has nothing above this
FLOOR_TRANSITION_HZ = 500.0  # the low-pass falls from its pass band to -100 dB below the cutoff

# What a full-band output must reach (level differences in dB, output minus style)
TARGETS = {
    "level_db": 6.0,  # 11-14 and 14-17 kHz within this of the style's where the style has one
    "style_empty_db": -70.0,  # a style band at or below this level is empty ...
    "above_empty_db": 6.0,  # ... where no output band may be more than this above the style's
    # and the input's (whichever is louder: a floor neither of them has)
    "spread_ratio": 0.5,  # the 11 kHz+ envelope's spread at least this times the style's
    "corr": 0.3,  # its correlation with the 1-11 kHz envelope at least this
    "time_ratio": 1.15,  # wall time full band on / off at most this
    "distance_ratio": 1.05,  # held-out style distance (best gain) on / off at most this
}
BAND_NAMES = ("11-14 kHz", "14-17 kHz", "17-22 kHz")


# --- data -------------------------------------------------------------------------------------

def make_mono(out: Path, data: Path = real_music.DATA_DIR) -> list[Path]:
    """A mono copy in ``out`` of every ``.wav`` and ``.ogg`` file of ``data``: the mean of its
    channels, as a float WAV at the file's rate, named ``<stem>.wav``. Returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for path in sorted(p for p in data.iterdir() if p.suffix in (".wav", ".ogg")):
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
        sf.write(out / f"{path.stem}.wav", audio.mean(axis=1), sr, subtype="FLOAT")
        made.append(out / f"{path.stem}.wav")
        print(f"{made[-1]}: {len(audio) / sr:.1f} s, {sr} Hz, from {audio.shape[1]} channel(s)")
    return made


def low_pass(audio: np.ndarray, sr: int, cutoff_hz: float = FLOOR_CUTOFF_HZ,
             transition_hz: float = FLOOR_TRANSITION_HZ) -> np.ndarray:
    """``(channels, n)`` -> the same with nothing above ``cutoff_hz``: a linear-phase FIR
    (Kaiser window, 100 dB stop band from ``cutoff_hz``, pass band up to ``cutoff_hz -
    transition_hz``), its delay removed, float32."""
    from scipy import signal

    nyquist = sr / 2
    taps, beta = signal.kaiserord(100.0, transition_hz / nyquist)
    taps |= 1  # odd: a whole-sample delay
    fir = signal.firwin(taps, cutoff_hz - transition_hz / 2, window=("kaiser", beta), fs=sr)
    x = np.asarray(audio, np.float64)
    return signal.fftconvolve(x, fir[None] if x.ndim == 2 else fir, mode="same", axes=-1
                              ).astype(np.float32)


# --- measures ---------------------------------------------------------------------------------

def top_octave(audio: np.ndarray, sr: int, suffix: str = "") -> dict:
    """``top_band_db``, ``top_spread_db`` and ``top_corr`` of one clip (keys + ``suffix``);
    None where the clip has no top band."""
    envelope = measures.top_envelope(audio, sr) or {}
    return {f"top_band_db{suffix}": measures.top_band_levels(audio, sr),
            f"top_spread_db{suffix}": envelope.get("spread_db"),
            f"top_corr{suffix}": envelope.get("corr")}


def full_band_values(mode: str | None) -> list[bool | None]:
    """The ``full_band`` settings to render for ``--full-band`` (None: the keyword left out,
    for a neuralfx without the parameter; there ``on`` and ``both`` are errors)."""
    from neuralfx.effect import PARAMETERS

    if "full_band" not in PARAMETERS:
        if mode in ("on", "both"):
            raise SystemExit("this neuralfx has no full_band parameter: only --full-band off")
        return [None]
    return {"off": [False], "on": [True], "both": [False, True]}[mode or "both"]


# --- the benchmark ----------------------------------------------------------------------------

def render_case(spec: str, overrides: dict, value: bool | None, content: np.ndarray,
                style: np.ndarray, sr: int, seconds: float, seed: int) -> tuple[np.ndarray, dict]:
    """One output of a preset (``NAME:KEY=VALUE,...``) with ``full_band=value`` (left out if
    None) and its figures but those of the clips."""
    from neuralfx.presets import load_preset

    name, extra = real_music._variant(spec, overrides)
    if value is not None:
        extra = {**extra, "full_band": value}
    out, info = real_music.run_preset(name, content, style, sr, seconds, seed, extra)
    windows = real_music.seam_windows(seconds, load_preset(name, **extra).settings)
    return out, {**info, "overrides": extra,
                 **real_music.measure(out, sr, style, content, content, sr, windows),
                 **top_octave(out, sr)}


def benchmark(args: argparse.Namespace, command: list[str]) -> dict:
    os.environ["NEURALFX_CACHE_DIR"] = "off"  # measure the statistics too, as a first render
    values = full_band_values(args.full_band)
    overrides = parse_sets(args.set)
    doc = {"command": command, "machine": machine(), "targets": TARGETS, "runs": []}
    clips = {}
    for content_name, style_name in args.pair:
        content, style, sr, c_off, s_off = real_music.load_pair(
            args.data, content_name, style_name, args.seconds, args.content_offset,
            args.style_offset)
        clips[content_name, style_name] = content, style, sr, {
            "pair": f"{content_name} -> {style_name}", "content": content_name,
            "style": style_name, "seconds": args.seconds, "sample_rate": sr,
            "content_offset_s": c_off, "style_offset_s": s_off,
            **top_octave(content, sr, "_input")}

    def run(check: str, spec: str, seed: int, value, content, style, sr, common) -> None:
        print(f"{check}: {common['pair']}, {spec}, seed {seed}, full band {value} ...",
              flush=True)
        _, figures = render_case(spec, overrides, value, content, style, sr, args.seconds, seed)
        doc["runs"].append({**common, "check": check, "preset": spec, "seed": seed,
                            "full_band": value, **figures, **top_octave(style, sr, "_style")})
        write_result(args.out, doc)
        print(f"  {figures['wall_s']:.1f} s wall, style distance at best gain "
              f"{figures['style_distance_best_gain']:.4f}, top bands "
              f"{_levels(figures['top_band_db'])} dB", flush=True)

    if args.warm_up:  # a process's first render is slower: not one of the timed ones
        content, style, sr, _ = clips[tuple(args.pair[0])]
        n = int(min(1.0, args.seconds) * sr)
        render_case(args.presets[0], overrides, values[-1], content[:, :n], style[:, :n], sr,
                    n / sr, args.seeds[0])
    for content, style, sr, common in clips.values():
        for i, seed in enumerate(args.seeds):
            for spec in args.presets:
                for value in values[::-1] if i % 2 else values:
                    run("pair", spec, seed, value, content, style, sr, common)
    if args.floor:
        for content, style, sr, common in clips.values():
            low = low_pass(style, sr)
            for spec in args.presets:
                run("floor", spec, args.seeds[0], values[-1], content, low, sr, common)
    print(table(doc))
    return doc


# --- the table --------------------------------------------------------------------------------

def _levels(levels, first: int = 0) -> str:
    return "—" if levels is None else " / ".join(f"{v:.1f}" for v in levels[first:])


def _fmt(v, spec: str = ".2f") -> str:
    return "—" if v is None else format(v, spec)


def _ratio(a, b) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def figures(run: dict, off: dict | None) -> dict:
    """The figures of one output that the targets judge: per band its level minus the style's
    (where the style's band is above the empty level), the most any band lies above an empty
    band of the style's, the envelope's spread over the style's and its correlation, and the
    time and distance over the same render with full band off (None where not rendered)."""
    out, style = run["top_band_db"], run["top_band_db_style"]
    given = run.get("top_band_db_input") or [-np.inf] * 3
    empty = TARGETS["style_empty_db"]
    has_bands = out is not None and style is not None
    level = [out[i] - style[i] if has_bands and style[i] > empty else None for i in (0, 1)]
    # a floor is what neither the style nor the input has: the louder of the two is the bar
    above = [out[i] - max(style[i], given[i]) for i in range(3)
             if has_bands and style[i] <= empty]
    paired = off is not None and off is not run
    return {"level_db": level, "above_empty_db": max(above) if above else None,
            "spread_ratio": _ratio(run["top_spread_db"], run["top_spread_db_style"]),
            "corr": run["top_corr"],
            "time_ratio": _ratio(run["wall_s"], off["wall_s"]) if paired else None,
            "cpu_ratio": _ratio(run["cpu_s"], off["cpu_s"]) if paired else None,
            "distance_ratio": (_ratio(run["style_distance_best_gain"],
                                      off["style_distance_best_gain"]) if paired else None)}


def misses(f: dict) -> list[str]:
    """The targets that the figures ``f`` (:func:`figures`) miss, by name."""
    t = TARGETS
    out = [f"{BAND_NAMES[i]} level" for i, d in enumerate(f["level_db"])
           if d is not None and abs(d) > t["level_db"]]
    checks = (("floor", f["above_empty_db"], lambda v: v > t["above_empty_db"]),
              ("spread", f["spread_ratio"], lambda v: v < t["spread_ratio"]),
              ("corr", f["corr"], lambda v: v < t["corr"]),
              ("time", f["time_ratio"], lambda v: v > t["time_ratio"]),
              ("distance", f["distance_ratio"], lambda v: v > t["distance_ratio"]))
    return out + [name for name, v, miss in checks if v is not None and miss(v)]


def _combine(rows: list[dict], how: str) -> dict:
    """Figures of several outputs in one: their ``mean``, or the ``worst`` of each."""
    def pick(values, worst):
        values = [v for v in values if v is not None]
        if not values:
            return None
        return float(np.mean(values)) if how == "mean" else worst(values)

    return {"level_db": [pick([r["level_db"][i] for r in rows], lambda v: max(v, key=abs))
                         for i in (0, 1)],
            "above_empty_db": pick([r["above_empty_db"] for r in rows], max),
            "spread_ratio": pick([r["spread_ratio"] for r in rows], min),
            "corr": pick([r["corr"] for r in rows], min),
            **{k: pick([r[k] for r in rows], max)
               for k in ("time_ratio", "cpu_ratio", "distance_ratio")}}


def _row(preset: str, value, label: str, f: dict) -> str:
    failed = misses(f)
    return (f"| {preset} | {value} | {label} | {_fmt(f['level_db'][0], '+.1f')} "
            f"| {_fmt(f['level_db'][1], '+.1f')} | {_fmt(f['above_empty_db'], '+.1f')} "
            f"| {_fmt(f['spread_ratio'])} | {_fmt(f['corr'])} "
            f"| {_fmt(f['time_ratio'])} ({_fmt(f['cpu_ratio'])}) "
            f"| {_fmt(f['distance_ratio'], '.3f')} "
            f"| {', '.join(failed) if failed else 'met'} |")


def table(doc: dict) -> str:
    """Markdown: the clips' top octaves; per preset and full-band setting the mean over pairs
    and seeds and per pair the worst seed, against :data:`TARGETS`; the floor check."""
    t = TARGETS
    runs = doc["runs"]
    lines = [f"{doc['machine']['cpu']}, {doc['machine']['threads']} torch threads, "
             f"{doc['machine']['date_utc']}", "",
             "| pair | clip | 11-14 / 14-17 / 17-22 kHz (dB) | spread (dB) | corr |",
             "|---|---|---|---|---|"]
    seen = set()
    for r in runs:
        key = (r["check"], r["pair"])
        if key in seen:
            continue
        seen.add(key)
        style = "style" if r["check"] == "pair" else "style, low-passed"
        lines += [f"| {r['pair']} | {style} | {_levels(r['top_band_db_style'])} "
                  f"| {_fmt(r['top_spread_db_style'], '.1f')} | {_fmt(r['top_corr_style'])} |"]
        if r["check"] == "pair":
            lines += [f"| | input | {_levels(r['top_band_db_input'])} "
                      f"| {_fmt(r['top_spread_db_input'], '.1f')} | {_fmt(r['top_corr_input'])} |"]
    lines += ["", f"Targets: 11-14 and 14-17 kHz within {t['level_db']:g} dB of the style's "
              f"(where the style's is above {t['style_empty_db']:g} dB); no band more than "
              f"{t['above_empty_db']:g} dB above the style and the input where the style's band is "
              f"empty (floor); spread "
              f">= {t['spread_ratio']:g}x the style's; corr >= {t['corr']:g}; time on/off <= "
              f"{t['time_ratio']:g} (wall; cpu in brackets); distance (best gain) on/off <= "
              f"{t['distance_ratio']:g}. Levels: output minus style, dB.", "",
              "| preset | full band | pairs | 11-14 kHz | 14-17 kHz | above empty | spread "
              "/ style | corr | time on/off | distance on/off | targets missed |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    pair_runs = [r for r in runs if r["check"] == "pair"]
    off = {(r["pair"], r["preset"], r["seed"]): r for r in pair_runs if r["full_band"] is False}
    for preset in dict.fromkeys(r["preset"] for r in pair_runs):
        for value in dict.fromkeys(r["full_band"] for r in pair_runs if r["preset"] == preset):
            mine = [r for r in pair_runs if r["preset"] == preset and r["full_band"] == value]
            rows = {r["pair"]: [] for r in mine}
            for r in mine:
                rows[r["pair"]].append(figures(r, off.get((r["pair"], preset, r["seed"]))))
            seeds = len({r["seed"] for r in mine})
            lines.append(_row(preset, value, f"mean of {len(mine)} ({seeds} seeds)",
                              _combine([f for fs in rows.values() for f in fs], "mean")))
            lines += [_row("", "", f"{pair}, worst", _combine(fs, "worst"))
                      for pair, fs in rows.items()]
    floor = [r for r in runs if r["check"] == "floor"]
    if floor:
        lines += ["", f"Floor check: the style low-passed at {FLOOR_CUTOFF_HZ / 1000:g} kHz, "
                  "seed {}.".format(floor[0]["seed"]), "",
                  "| preset | full band | pair | style 14-17 / 17-22 kHz | input 14-17 / 17-22 "
                  "kHz | output 14-17 / 17-22 kHz | above empty | targets missed |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in floor:
            above = figures(r, None)["above_empty_db"]
            miss = above is not None and above > t["above_empty_db"]
            lines.append(f"| {r['preset']} | {r['full_band']} | {r['pair']} "
                         f"| {_levels(r['top_band_db_style'], 1)} "
                         f"| {_levels(r['top_band_db_input'], 1)} "
                         f"| {_levels(r['top_band_db'], 1)} "
                         f"| {_fmt(above, '+.1f')} | {'floor' if miss else 'met'} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=MONO_DIR, help="folder of the mono files")
    ap.add_argument("--pair", nargs=2, action="append", metavar=("CONTENT", "STYLE"),
                    help="a content file and a style file in --data; repeat for more. "
                         "Default: " + "; ".join(f"{c} {s}" for c, s in DEFAULT_PAIRS))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS),
                    help="NAME or NAME:KEY=VALUE,... (a preset with its own overrides)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    ap.add_argument("--full-band", choices=("on", "off", "both"), default=None,
                    help="render full_band on, off or both (default: both where neuralfx has "
                         "the parameter; without it, today's output only)")
    ap.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True,
                    help="run the floor check (the style low-passed at 16 kHz; default: yes)")
    ap.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                    help="one untimed render of 1 s first (default: yes)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override applied to every preset (e.g. iterations=5; for tests)")
    ap.add_argument("--content-offset", type=float, default=0.0)
    ap.add_argument("--style-offset", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=RESULT,
                    help="the result file (JSON), rewritten after every render")
    ap.add_argument("--table", type=Path, default=None, metavar="JSON",
                    help="print the table of a result file and exit")
    ap.add_argument("--make-mono", type=Path, default=None, metavar="DIR",
                    help="make mono copies of the real-music files (--source) in DIR and exit")
    ap.add_argument("--source", type=Path, default=real_music.DATA_DIR,
                    help="with --make-mono: the real-music files")
    return ap


def main(argv: list[str] | None = None) -> dict | str:
    args = parser().parse_args(argv)
    if args.make_mono is not None:
        return {"files": [str(p) for p in make_mono(args.make_mono, args.source)]}
    if args.table is not None:
        text = table(json.loads(args.table.read_text()))
        print(text)
        return text
    args.pair = args.pair or [list(p) for p in DEFAULT_PAIRS]
    argv = sys.argv[1:] if argv is None else list(argv)
    return benchmark(args, ["python", "-m", "benchmarks.full_band", *argv])


if __name__ == "__main__":
    main()
