"""Trained styles on real music: quality against the optimising presets, render and training
time, streaming latency and how close a stream comes to the offline render.

Data: the mono real-music files of ``benchmarks/full_band.py`` (``/work/realmusic/mono``; made
as its docstring says, never committed). Run (about 15 minutes on a 2-core CPU)::

    python -m benchmarks.trained_styles
    python -m benchmarks.trained_styles --song-only   # a 4-minute stereo song, added to the file
    python -m benchmarks.trained_styles --table benchmarks/results/trained_styles.json

Style transfer, for each pair of ``real_music`` (10 s clips: the content from 0 s, the style
from 20 s, past leading silence): the style clip is trained for ``style 0.01``
(``neuralfx.train.train_style``, default budget) twice, on content it never sees in the test:
(a) ``held-out files``: the other real files (neither the pair's content nor its style file),
(b) ``built-in``: the default synthetic corpus. Then ``NeuralStyle(style=trained)`` renders the
content clip at its own rate (44.1 kHz), as a user gets it, timed after one warm-up, and at
``--seconds-long`` (60 s) too. Measured: the held-out style distance at best gain (three
evaluation banks no preset uses, :func:`benchmarks.measures.best_gain_style_distance`) and the
content correlation, against the figures of ``style 0.01`` and ``draft`` on the same clips
(``benchmarks/results/real_music.json``, figure ``10s_fp32``, mean of render seeds 0-2).

Streaming: the same content clips (10 s and 60 s) through ``NeuralStyle.process(block, sr,
reset=False)`` in blocks of 256 and 8192 samples; the output advanced by
``fx.latency_samples``; its distance and correlation against the offline render's, its
log-spectral distance from it at 512- and 8192-point STFTs (where phase artefacts show), the
same distance and correlation in each 10 s of the long render (a whole-file figure averages
out a stream's local drift), and for both: loudness (LUFS), peak and the top bands' levels
(11-14, 14-17, 17-22 kHz, dB against the whole; the style's too). The 10 s clips again at
8 kHz, offline and streamed (blocks of 1024), where the stream's input takes soxr's 'LQ'.

Textures: the drum groove and the brass band (10 s and 60 s style clips, from 20 s and 5 s)
trained with the ``texture`` preset, 60 s rendered with ``NeuralStyle.texture`` (render seeds
0-2); distance against ``texture``'s 10 s figure (``real_music.json``, figure ``textures``).

The song: 4 minutes of ``elvish-theme.ogg`` (stereo, 44.1 kHz; its 200 s and their first 40 s
again) in the style of ``northerners``, trained on the built-in corpus: the whole render.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soxr
import torch

from benchmarks import measures, real_music
from benchmarks.measures import git_revision, machine, result_path, write_result
from benchmarks.streaming_phase import LSD_SIZES, log_spectral_distance

RESULT = result_path(__file__)
MONO_DIR = Path("/work/realmusic/mono")
FILES = ("elvish-theme.wav", "northerners.wav", "speech.wav", "piano_strings.wav", "drums.wav")
PAIRS = (("elvish-theme.wav", "northerners.wav"), ("speech.wav", "elvish-theme.wav"),
         ("piano_strings.wav", "drums.wav"))
TEXTURES = ("drums.wav", "northerners.wav")
# from real_music.json (figure 10s_fp32, render seeds 0-2, best gain): distance, content corr
REFERENCE = {
    ("elvish-theme.wav", "northerners.wav"): {"style 0.01": (0.130, 0.464),
                                              "draft": (0.141, 0.510)},
    ("speech.wav", "elvish-theme.wav"): {"style 0.01": (0.197, 0.681), "draft": (0.199, 0.697)},
    ("piano_strings.wav", "drums.wav"): {"style 0.01": (0.233, 0.645), "draft": (0.240, 0.673)},
}
TEXTURE_REFERENCE = {"drums.wav": 0.132, "northerners.wav": 0.118}  # `texture`, 10 s, seeds 0-2
BLOCKS = (256, 8192)
LOW_RATE = 8000  # telephone speech: the stream's input comes in through soxr's 'LQ' there


def _stream(fx, audio: np.ndarray, sr: int, block: int) -> np.ndarray:
    fx.reset()
    pieces = [fx.process(audio[i:i + block], sr, reset=False)
              for i in range(0, len(audio), block)]
    pieces.append(fx.process(np.zeros(fx.latency_samples, np.float32), sr, reset=False))
    out = np.concatenate(pieces)
    return out[fx.latency_samples:fx.latency_samples + len(audio)]


def _quality(output, style, content, sr) -> dict:
    dist, per_seed, gain = measures.best_gain_style_distance(output, style, sr)
    out = {"distance": round(dist, 4), "distance_per_seed": [round(d, 4) for d in per_seed],
           "gain_db": gain}
    if content is not None:
        out["content_corr"] = round(measures.content_similarity(output, content, sr), 4)
    return out


def _listen(output: np.ndarray, sr: int) -> dict:
    """Listen-level figures: integrated loudness, peak, the top bands against the whole."""
    top = measures.top_band_levels(output, sr)
    lufs = real_music.loudness(output, sr)
    return {"lufs": None if lufs is None else round(lufs, 1),
            "peak": round(float(np.abs(output).max()), 4),
            "top_band_db": None if top is None else [round(v, 1) for v in top]}


def _against_offline(streamed: np.ndarray, offline: np.ndarray) -> dict:
    """Log-spectral distance (dB) of the stream from the offline render at STFT sizes the engine
    does not optimise (``benchmarks.streaming_phase``'s measure)."""
    a, b = (torch.from_numpy(np.ascontiguousarray(v, np.float32)) for v in (offline, streamed))
    return {f"lsd_{n}": round(log_spectral_distance(a, b, n), 2) for n in LSD_SIZES}


def _segments(streamed: np.ndarray, offline: np.ndarray, style: np.ndarray,
              content: np.ndarray, sr: int, seconds: float = 10.0) -> dict:
    """The stream against the offline render in each ``seconds`` of a long render: a whole-file
    figure averages out a stream's local drift, which a listener hears."""
    cuts = range(0, len(content) - int(seconds * sr) + 1, int(seconds * sr))
    figures = {"stream": [], "offline": []}
    for start in cuts:
        part = slice(start, start + int(seconds * sr))
        for name, audio in (("stream", streamed), ("offline", offline)):
            q = _quality(audio[part], style, content[part], sr)
            figures[name].append((q["distance"], q["content_corr"]))
    return {"seconds": seconds, **{k: [list(v) for v in zip(*pairs)]
                                   for k, pairs in figures.items()}}


def _at_low_rate(fx, content: np.ndarray, style: np.ndarray, sr: int) -> dict:
    """The clip at :data:`LOW_RATE`: offline and streamed (blocks of 1024), their quality."""
    x, s = (soxr.resample(v, sr, LOW_RATE, quality="VHQ").astype(np.float32)
            for v in (content, style))
    offline = fx(x, LOW_RATE)
    streamed = _stream(fx, x, LOW_RATE, 1024)
    return {"rate": LOW_RATE, "latency_ms": round(1000 * fx.latency_samples / LOW_RATE, 1),
            "offline": _quality(offline, s, x, LOW_RATE),
            "stream": _quality(streamed, s, x, LOW_RATE)}


def transfer_runs(data: Path, long_seconds: float) -> list[dict]:
    from neuralfx import NeuralStyle
    from neuralfx.train import train_style

    runs = []
    for content_name, style_name in PAIRS:
        content, style, sr, _, _ = real_music.load_pair(data, content_name, style_name, 10.0,
                                                        0.0, 20.0)
        long_content, _, _, _, _ = real_music.load_pair(data, content_name, style_name,
                                                        long_seconds, 0.0, 20.0, 10.0)
        others = [data / f for f in FILES if f not in (content_name, style_name)]
        for corpus, files in (("held-out files", others), ("built-in", None)):
            t = time.perf_counter()
            trained = train_style((style[0], sr), "style 0.01", content=files)
            train_seconds = time.perf_counter() - t
            fx = NeuralStyle(style=trained)
            fx(content[0][:sr], sr)  # warm-up
            run = {"content": content_name, "style": style_name, "corpus": corpus,
                   "train_seconds": round(train_seconds, 1), "style_listen": _listen(style[0], sr),
                   "blend": trained.model.blend, "envelope": trained.model.envelope,
                   "reference": REFERENCE[(content_name, style_name)]}
            for label, clip in (("10s", content[0]), (f"{long_seconds:g}s", long_content[0])):
                t = time.perf_counter()
                out = fx(clip, sr)
                wall = time.perf_counter() - t
                run[label] = {"wall": round(wall, 3),
                              "x_real_time": round(len(clip) / sr / wall, 1),
                              **_quality(out, style[0], clip, sr), **_listen(out, sr)}
                if corpus == "held-out files":
                    for block in BLOCKS:
                        t = time.perf_counter()
                        streamed = _stream(fx, clip, sr, block)
                        run[label][f"stream_{block}"] = {
                            "wall": round(time.perf_counter() - t, 2),
                            "latency_ms": round(1000 * fx.latency_samples / sr, 1),
                            **_quality(streamed, style[0], clip, sr), **_listen(streamed, sr),
                            **_against_offline(streamed, out)}
                    if len(clip) > 10 * sr:
                        run[label]["segments"] = _segments(streamed, out, style[0], clip, sr)
                    else:
                        run[label]["low_rate"] = _at_low_rate(fx, clip, style[0], sr)
            print(json.dumps(run), flush=True)
            runs.append(run)
    return runs


def texture_runs(data: Path) -> list[dict]:
    from neuralfx import NeuralStyle
    from neuralfx.train import train_style

    runs = []
    for style_name in TEXTURES:
        for seconds, offset in ((10.0, 20.0), (60.0, 5.0)):
            style, sr, _ = real_music.load_clip(data / style_name, seconds, offset)
            t = time.perf_counter()
            trained = train_style((style[0], sr), "texture")
            train_seconds = time.perf_counter() - t
            run = {"style": style_name, "style_seconds": seconds,
                   "train_seconds": round(train_seconds, 1), "block": trained.model.block,
                   "rank": trained.model.basis.shape[1],
                   "reference_texture_10s": TEXTURE_REFERENCE[style_name], "renders": []}
            for seed in (0, 1, 2):
                fx = NeuralStyle(style=trained, seed=seed)
                t = time.perf_counter()
                out = fx.texture(60.0, sr)[0]
                wall = time.perf_counter() - t
                run["renders"].append({"seed": seed, "wall": round(wall, 2),
                                       "x_real_time": round(60.0 / wall, 1),
                                       **_quality(out, style[0], None, sr)})
            run["distance"] = round(float(np.mean([r["distance"] for r in run["renders"]])), 4)
            print(json.dumps(run), flush=True)
            runs.append(run)
    return runs


def song_run(files: Path, data: Path) -> dict:
    """A 4-minute stereo song (``elvish-theme.ogg`` from 0 s, 44.1 kHz, distinct channels) in
    the style of ``northerners`` trained on the built-in corpus: the whole render's wall time."""
    from neuralfx import NeuralStyle
    from neuralfx.train import train_style

    style, sr, _ = real_music.load_clip(data / "northerners.wav", 10.0, 20.0)
    song, song_sr, _ = real_music.load_clip(files / "elvish-theme.ogg", 200.0, 0.0)
    song = np.concatenate([song, song[:, :int(40 * song_sr)]], axis=1)  # 240 s
    fx = NeuralStyle(style=train_style((style[0], sr), "style 0.01"))
    fx(song[:, :song_sr], song_sr)  # warm-up
    t = time.perf_counter()
    out = fx(song, song_sr)
    wall = time.perf_counter() - t
    run = {"seconds": song.shape[-1] / song_sr, "channels": song.shape[0], "wall": round(wall, 2),
           "x_real_time": round(song.shape[-1] / song_sr / wall, 1),
           "finite": bool(np.isfinite(out).all())}
    print(json.dumps(run), flush=True)
    return run


def table(doc: dict) -> str:
    lines = ["transfer (10 s, 44.1 kHz): distance (x style 0.01), content corr (style 0.01), "
             "render, train"]
    for r in doc["transfer"]:
        ref_d, ref_c = r["reference"]["style 0.01"]
        ten = r["10s"]
        lines.append(f"  {r['content']} -> {r['style']} [{r['corpus']}]: {ten['distance']:.3f} "
                     f"({ten['distance'] / ref_d:.2f}x), {ten['content_corr']:.3f} ({ref_c:.3f}),"
                     f" {ten['wall']:.2f} s ({ten['x_real_time']:g}x rt), "
                     f"train {r['train_seconds']:.0f} s")
        for label in [k for k in r if k.endswith("s") and k[:-1].replace(".", "").isdigit()]:
            for block in BLOCKS:
                s = r[label].get(f"stream_{block}")
                if s:
                    off = r[label]
                    lines.append(f"      {label} stream {block}: {s['distance']:.3f} "
                                 f"(offline {off['distance']:.3f}), corr "
                                 f"{s['content_corr']:.3f} ({off['content_corr']:.3f}), "
                                 f"latency {s['latency_ms']} ms")
                    if block == BLOCKS[-1] and "segments" in r[label]:
                        seg = r[label]["segments"]
                        (sd, sc), (od, oc) = seg["stream"], seg["offline"]
                        lines.append(f"        each {seg['seconds']:g} s: distance x offline "
                                     f"{[round(a / b, 2) for a, b in zip(sd, od)]}, mean "
                                     f"{np.mean(sd) / np.mean(od):.2f}x; corr "
                                     f"{np.mean(sc) / np.mean(oc) - 1:+.1%}")
                    low = r[label].get("low_rate")
                    if block == BLOCKS[-1] and low:
                        ls, lo = low["stream"], low["offline"]
                        lines.append(f"        at {low['rate']} Hz: stream {ls['distance']:.3f} "
                                     f"(offline {lo['distance']:.3f}), corr "
                                     f"{ls['content_corr']:.3f} ({lo['content_corr']:.3f}), "
                                     f"latency {low['latency_ms']} ms")
                    if "lsd_512" in s:
                        lines.append(f"        lsd 512/8192 {s['lsd_512']}/{s['lsd_8192']} dB; "
                                     f"LUFS {s['lufs']} ({off['lufs']}); top bands "
                                     f"{s['top_band_db']} ({off['top_band_db']}; style "
                                     f"{r['style_listen']['top_band_db']})")
    if "song" in doc:
        lines.append(f"4-minute stereo song: {doc['song']['wall']:.1f} s "
                     f"({doc['song']['x_real_time']:g}x real time)")
    lines.append("textures (60 s renders, seeds 0-2): distance (x texture's 10 s)")
    for r in doc.get("textures", []):
        lines.append(f"  {r['style']} ({r['style_seconds']:g} s style): {r['distance']:.3f} "
                     f"({r['distance'] / r['reference_texture_10s']:.2f}x), "
                     f"{min(x['x_real_time'] for x in r['renders']):g}x real time or more, "
                     f"train {r['train_seconds']:.0f} s")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=MONO_DIR)
    p.add_argument("--seconds-long", type=float, default=60.0)
    p.add_argument("--out", type=Path, default=RESULT)
    p.add_argument("--table", type=Path, help="print the table of a result file and stop")
    p.add_argument("--skip-textures", action="store_true")
    p.add_argument("--song-only", action="store_true",
                   help="only the 4-minute stereo song, added to the result file --out")
    p.add_argument("--files", type=Path, default=real_music.DATA_DIR,
                   help="the original (stereo) real-music files, for the song")
    return p


def main(argv: list[str] | None = None) -> dict | str:
    args = parser().parse_args(argv)
    if args.table:
        text = table(json.loads(args.table.read_text()))
        print(text)
        return text
    torch.manual_seed(0)
    if args.song_only:
        doc = measures.update_result(args.out, "song", song_run(args.files, args.data))
        print(table(doc))
        return doc
    doc = {"command": ["python", "-m", "benchmarks.trained_styles", *(argv or sys.argv[1:])],
           "machine": machine(), "revision": git_revision(),
           "transfer": transfer_runs(args.data, args.seconds_long)}
    write_result(args.out, doc)
    if not args.skip_textures:
        doc["textures"] = texture_runs(args.data)
        write_result(args.out, doc)
    print(table(doc))
    return doc


if __name__ == "__main__":
    main()
