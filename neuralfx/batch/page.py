"""The report page of a batch: ``report.html`` and ``report-assets/`` in the output folder,
built from the sidecars (:mod:`neuralfx.batch.sidecar`) found under it.

Per input file, in input order: the input, style and output as spectrograms on one colour
scale and their difference (:func:`neuralfx.plot.save_spectrograms`), one A/B player that
switches between input and output at the same position (button or key ``x``), a style
player, the figures (duration, loudness and peak in and out, time taken, x real time, preset,
seed, device, precision) and every setting; a failed file shows its error, a skipped one a
note. The page works offline from ``file://``: no CDN, audio elements point at the real files
with URLs relative to the page, images load lazily and audio only its metadata, so a page of
100 files opens at once. Every text is HTML-escaped; every file is written atomically.
"""

from __future__ import annotations

import html
import importlib.resources
import importlib.util
import os
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..atomic import write_bytes_atomic
from .errors import BatchError
from .planning import slug
from .sidecar import SUFFIX, find_sidecars

PAGE = "report.html"
ASSETS = "report-assets"
MATPLOTLIB_MISSING = "the report's spectrograms need matplotlib: pip install 'neuralfx[report]'"
KINDS = ("input", "style", "output", "difference")
CAPTIONS = {"input": "Input", "style": "Style", "output": "Output",
            "difference": "Output − input (dB)"}
NOTES = {"skipped": "Skipped: its output existed and was kept.",
         "interrupted": "Interrupted: the batch was stopped before this file was finished."}


def check_plotting() -> None:
    """matplotlib is importable; else :class:`BatchError` (field ``report``) with the install
    command. Cheap (no import), so a batch checks it before rendering anything."""
    if importlib.util.find_spec("matplotlib") is None:
        raise BatchError(MATPLOTLIB_MISSING, "report")


def build_report(folder: Path | str) -> Path:
    """Builds ``folder/report.html`` (and ``folder/report-assets/``) from every sidecar under
    ``folder``; returns the page's path. A folder without sidecars, or matplotlib missing, is a
    :class:`BatchError` (field ``output_dir``, ``report``). A file a sidecar names that is gone
    is reported in its section."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder}: no such folder", "output_dir")
    entries = find_sidecars(folder)
    if not entries:
        raise BatchError(f"{folder} holds no render records (*{SUFFIX}); render it with "
                         "neuralfx process --report first", "output_dir")
    check_plotting()
    assets = folder / ASSETS
    assets.mkdir(exist_ok=True)
    for ext in ("css", "js"):  # package data beside this module
        source = importlib.resources.files(__package__).joinpath(f"page.{ext}")
        write_bytes_atomic(assets / f"report.{ext}", source.read_bytes())
    styles: dict[Path, tuple] = {}
    sections, drawn = [], set()
    for index, (sidecar, data) in enumerate(entries, start=1):
        files = locate(sidecar, data)
        images, problem = {}, None
        if data.get("status") == "ok":
            missing = [f"the {k} file {v} is missing" for k, v in files.items()
                       if not v.is_file()]
            if missing:
                problem = "; ".join(missing)
            else:
                try:
                    images = spectrograms(files, assets, f"{index:03d}-{slug(sidecar.stem)}",
                                          styles)
                except ImportError:
                    raise BatchError(MATPLOTLIB_MISSING, "report") from None
                except Exception as e:  # noqa: BLE001 - one file's figure must not stop the page
                    problem = f"the spectrograms could not be drawn: {e}"
                drawn.update(p.name for p in images.values())
        sections.append(section(index, data, files, images, problem, folder))
    for stale in assets.glob("*.png"):  # figures of files no longer in the folder
        if stale.name not in drawn:
            stale.unlink(missing_ok=True)
    page = folder / PAGE
    write_bytes_atomic(page, document([d for _, d in entries], sections).encode("utf-8"))
    return page


# ---------------------------------------------------------------------------------------------
# the files of one record


def locate(sidecar: Path, data: dict[str, Any]) -> dict[str, Path]:
    """The input, output and style (if any) of a record: relative to the sidecar where they
    are there (a moved folder), else as recorded. The output is the sidecar's own file."""
    rel = data.get("paths") or {}
    out = {"input": None, "output": sidecar.with_name(sidecar.name[:-len(SUFFIX)])}
    if data.get("style"):
        out["style"] = None
    for kind in out:
        if out[kind] is not None:
            continue
        near = sidecar.parent / rel[kind] if rel.get(kind) else None
        given = Path(data[kind]) if data.get(kind) else near
        out[kind] = near if near is not None and near.is_file() else given
    return {k: v for k, v in out.items() if v is not None}


def spectrograms(files: dict[str, Path], assets: Path, stem: str,
                 styles: dict[Path, tuple]) -> dict[str, Path]:
    """The record's spectrogram PNGs in ``assets`` (kind -> path); the style is read once per
    page (``styles`` caches it). An output at another rate is compared at the input's."""
    from ..audio import read_audio, resample
    from ..plot import save_spectrograms

    x, rate = read_audio(files["input"])
    y, out_rate = read_audio(files["output"])
    if out_rate != rate:
        y = resample(y, out_rate, rate)
    style, style_rate = None, None
    if "style" in files:
        if files["style"] not in styles:
            styles[files["style"]] = read_audio(files["style"])
        style, style_rate = styles[files["style"]]
    return save_spectrograms(x, y, style, rate, assets, stem, style_rate=style_rate)


def png_size(path: Path) -> tuple[int, int] | None:
    """A PNG's (width, height) from its header, so the page reserves the image's room."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def url(path: Path, folder: Path) -> str:
    """``path`` as a URL relative to the page in ``folder`` (spaces, non-ASCII quoted)."""
    rel = os.path.relpath(Path(path).resolve(), folder.resolve())
    return quote(Path(rel).as_posix())


# ---------------------------------------------------------------------------------------------
# HTML


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any, unit: str, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f} {unit}"


def figures(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(name, label, value)`` rows of a rendered file's figures table."""
    seconds, duration = data.get("seconds"), data.get("duration")
    realtime = f"{duration / seconds:.2f}x" if seconds and duration is not None else "–"
    return [
        ("duration", "Duration", number(duration, "s", 2)),
        ("loudness-in", "Loudness in", number(data.get("loudness_in"), "LUFS")),
        ("loudness-out", "Loudness out", number(data.get("loudness_out"), "LUFS")),
        ("peak-in", "Peak in", number(data.get("peak_in"), "dBFS")),
        ("peak-out", "Peak out", number(data.get("peak_out"), "dBFS")),
        ("seconds", "Time taken", number(seconds, "s", 2)),
        ("realtime", "× real time", realtime),
        ("preset", "Preset", data.get("preset") or "–"),
        ("seed", "Seed", "–" if data.get("seed") is None else data["seed"]),
        ("device", "Device", data.get("device") or "–"),
        ("precision", "Precision", data.get("precision") or "–"),
    ]


def section(index: int, data: dict[str, Any], files: dict[str, Path],
            images: dict[str, Path], problem: str | None, folder: Path) -> str:
    """One input file's ``<section class="file">``."""
    status = data.get("status", "failed")
    name = Path(str(data.get("input", files.get("input", "")))).name
    head = (f'<header class="file-head"><h2 class="file-name">{e(name)}</h2>'
            f'<span class="status">{e(status)}</span>'
            f'<span class="output-name">→ {e(files["output"].name)}</span></header>')
    if status == "failed":
        body = f'<p class="error">{e(data.get("error") or "failed")}</p>'
    elif status != "ok":
        reason = data.get("error")
        body = f'<p class="note">{e(NOTES.get(status, status))}' + (
            f' ({e(reason)})' if reason and status == "interrupted" else "") + "</p>"
    else:
        body = rendered(data, files, images, problem, folder)
    return (f'<section class="file" id="file-{index}" data-status="{e(status)}">'
            f'{head}{body}</section>')


def rendered(data: dict[str, Any], files: dict[str, Path], images: dict[str, Path],
             problem: str | None, folder: Path) -> str:
    """A rendered file's spectrograms, players, figures and settings."""
    cells = []
    for kind in KINDS:
        if kind not in images:
            continue
        size = png_size(images[kind])
        dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
        cells.append(f'<figure><img class="spectrogram" data-kind="{kind}" loading="lazy" '
                     f'src="{e(url(images[kind], folder))}"{dims} '
                     f'alt="{e(CAPTIONS[kind])} spectrogram of {e(files["input"].name)}">'
                     f'<figcaption>{e(CAPTIONS[kind])}</figcaption></figure>')
    left = (f'<div class="spectrograms">{"".join(cells)}</div>' if cells else "")
    if problem:
        left += f'<p class="missing">{e(problem)}</p>'
    players = []
    if files["input"].is_file() and files["output"].is_file():
        a, b = e(url(files["input"], folder)), e(url(files["output"], folder))
        players.append(
            '<div class="ab"><button class="ab-switch" type="button" aria-pressed="false" '
            'title="Switch between input and output at the same point (key x)">A: input'
            f'</button><audio class="ab-player" controls preload="metadata" src="{a}" '
            f'data-a="{a}" data-b="{b}" data-current="a"></audio></div>')
    if "style" in files and files["style"].is_file():
        players.append(
            f'<div class="style"><span class="label">Style: {e(files["style"].name)}</span>'
            f'<audio class="style-player" controls preload="metadata" '
            f'src="{e(url(files["style"], folder))}"></audio></div>')
    rows = "".join(f'<tr data-figure="{n}"><th>{e(label)}</th><td>{e(v)}</td></tr>'
                   for n, label, v in figures(data))
    settings = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>"
                       for k, v in (data.get("settings") or {}).items())
    right = (f'<div class="players">{"".join(players)}</div>'
             f'<div class="facts"><table class="figures">{rows}</table>'
             f'<details class="settings"><summary>Every setting</summary>'
             f'<table>{settings}</table></details></div>')
    return f'<div class="file-body"><div class="sheet">{left}</div>' \
           f'<div class="listen">{right}</div></div>'


def batch_line(records: list[dict[str, Any]]) -> str:
    """"N processed, N skipped, N failed[, N interrupted]" of the page's files."""
    n = {s: sum(r.get("status") == s for r in records)
         for s in ("ok", "skipped", "failed", "interrupted")}
    return (f"{n['ok']} processed, {n['skipped']} skipped, {n['failed']} failed"
            + (f", {n['interrupted']} interrupted" if n["interrupted"] else ""))


def joined(values) -> str:
    seen = list(dict.fromkeys(str(v) for v in values if v))
    return ", ".join(seen) or "none"


def document(records: list[dict[str, Any]], sections: list[str]) -> str:
    """The whole page. Its date is the newest batch's, so a rebuild gives the same page."""
    date = max((str(r.get("batch", "")) for r in records), default="")
    date = date.replace("T", " ").replace("+00:00", " UTC")
    styles = joined(Path(r["style"]).name for r in records if r.get("style"))
    toc = "".join(
        f'<li><a href="#file-{k}" data-status="{e(r.get("status"))}">'
        f'{e(Path(str(r.get("input", ""))).name)}</a></li>'
        for k, r in enumerate(records, start=1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>neuralfx report: {e(batch_line(records))}</title>
<link rel="stylesheet" href="{ASSETS}/report.css">
<script src="{ASSETS}/report.js" defer></script>
</head>
<body>
<header class="batch">
<h1>neuralfx batch report</h1>
<p class="batch-line">{e(batch_line(records))}</p>
<dl class="batch-facts">
<dt>Preset</dt><dd>{e(joined(r.get("preset") for r in records))}</dd>
<dt>Style</dt><dd>{e(styles)}</dd>
<dt>Date</dt><dd>{e(date)}</dd>
<dt>Version</dt><dd>neuralfx {e(joined(r.get("version") for r in records))}</dd>
</dl>
<p class="hint">A/B: the switch (or the key <kbd>x</kbd>) flips the player between input
and output at the same point.</p>
<nav class="toc"><ol>{toc}</ol></nav>
</header>
<main>
{chr(10).join(sections)}
</main>
</body>
</html>
"""
