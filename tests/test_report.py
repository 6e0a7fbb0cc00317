"""The batch report: a sidecar beside every output, the page built from them (its DOM as the
browser test and the user rely on), ``process --report`` and ``neuralfx report``.

One tiny batch (two good files, one with a space and a non-ASCII letter in its name, and a
corrupt one whose name holds HTML) is rendered once for the module; tests that change files
work on a copy (the sidecars find their files relative to themselves).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from neuralfx import batch
from neuralfx.batch import BatchError, sidecar_path
from neuralfx.presets import load_preset
from neuralfx.settings import field_names
from tests.test_cli import TINY_SETS, invoke, tone, write

pytest.importorskip("matplotlib")

TINY = dict(n_filters=32, iterations=2, griffin_lim_iterations=2, chunk_seconds=2.0,
            overlap_seconds=0.5, device="cpu")
GOOD = ("täke one.wav", "b.wav")
CORRUPT = "c <b>&amp.wav"
FIGURES = ["duration", "loudness-in", "loudness-out", "peak-in", "peak-out", "seconds",
           "realtime", "preset", "seed", "device", "precision"]


def make_inputs(root: Path) -> tuple[list[Path], Path]:
    """Two good files and a corrupt one (in that order), and the style."""
    folder = root / "in"
    files = [write(folder / n, tone(0.6, 22050, seed=k), 22050) for k, n in enumerate(GOOD)]
    (folder / CORRUPT).write_bytes(b"RIFF this is not a wave file" * 10)
    style = write(root / "style file.wav", tone(0.5, 22050, seed=9), 22050)
    return [*files, folder / CORRUPT], style


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The root of a batch rendered with ``report=True`` into ``root/out``."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:  # the style cache stays out of the home folder
        mp.setenv("NEURALFX_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        files, style = make_inputs(root)
        result = batch.process_files(files, load_preset("style 0.01", **TINY), root / "out",
                                     style=style, report=True)
    assert [j.status for j in result.jobs] == ["ok", "ok", "failed"]
    assert result.info["report"] == root / "out" / "report.html"
    return root


@pytest.fixture
def copy(rendered, tmp_path) -> Path:
    shutil.copytree(rendered, tmp_path / "copy")
    return tmp_path / "copy"


# --- a small DOM ---------------------------------------------------------------------------------

class Element:
    def __init__(self, tag: str, attrs: dict, parent: Element | None):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], ""

    def find_all(self, tag: str, cls: str | None = None) -> list[Element]:
        out = []
        for c in self.children:
            if c.tag == tag and (cls is None or cls in c.attrs.get("class", "").split()):
                out.append(c)
            out.extend(c.find_all(tag, cls))
        return out

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class Tree(HTMLParser):
    VOID = {"img", "meta", "link", "br", "input", "hr"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Element("root", {}, None)
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        el = Element(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(el)
        if tag not in self.VOID:
            self.node = el

    def handle_endtag(self, tag):
        node = self.node
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.node = node.parent

    def handle_data(self, data):
        self.node.text += data


def page(folder: Path) -> Element:
    return Tree((folder / "report.html").read_text(encoding="utf-8")).root


def target(page_folder: Path, url: str) -> Path:
    """Where a relative URL of the page points."""
    assert not url.startswith(("/", "file:", "http")), url
    return page_folder / unquote(url)


# --- sidecars ------------------------------------------------------------------------------------

def test_every_file_gets_a_sidecar_with_the_render_facts(rendered):
    out = rendered / "out"
    good = [json.loads(sidecar_path(out / f"{Path(n).stem}_style-0.01.wav").read_text())
            for n in GOOD]
    [bad] = [json.loads(p.read_text()) for p in out.glob("c *.neuralfx.json")]
    for data, name in zip(good, GOOD):
        assert data["status"] == "ok" and data["error"] is None
        assert Path(data["input"]).name == name
        assert data["preset"] == "style 0.01" and data["seed"] == 0
        assert Path(data["style"]).name == "style file.wav"
        assert data["device"] == "cpu" and data["precision"] in ("bf16", "fp32")
        assert set(field_names()) | {"mix", "match_loudness"} <= set(data["settings"])
        assert data["settings"]["n_filters"] == 32
        assert data["duration"] == pytest.approx(0.6) and data["sample_rate"] == 22050
        assert data["channels"] == 1 and data["seconds"] > 0
        for key in ("loudness_in", "loudness_out"):
            assert -60 < data[key] < 0
        for key in ("peak_in", "peak_out"):
            assert -40 < data[key] <= 0.1
    assert bad["status"] == "failed" and CORRUPT in bad["error"]
    assert bad["loudness_in"] is None and bad["duration"] is None


def test_no_report_no_new_files(tmp_path):
    files, style = make_inputs(tmp_path)
    result = batch.process_files(files[:1], load_preset("style 0.01", **TINY),
                                 tmp_path / "out", style=style)
    assert result.exit_status == 0 and "report" not in result.info
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["täke one_style-0.01.wav"]


def test_skipped_files_keep_the_record_of_the_render_that_made_them(copy):
    out = copy / "out"
    files = [copy / "in" / n for n in GOOD]
    second = sidecar_path(out / "b_style-0.01.wav")
    second.unlink()  # an output from a batch that wrote no report
    result = batch.process_files(files, load_preset("style 0.01", **TINY), out,
                                 style=copy / "style file.wav", policy="skip", report=True)
    assert [j.status for j in result.jobs] == ["skipped", "skipped"]
    first = json.loads(sidecar_path(out / "täke one_style-0.01.wav").read_text())
    assert first["status"] == "ok" and first["loudness_out"] is not None
    assert json.loads(second.read_text())["status"] == "skipped"
    sections = page(out).find_all("section", "file")
    statuses = {s.find_all("h2", "file-name")[0].all_text(): s.attrs["data-status"]
                for s in sections}
    assert statuses == {"täke one.wav": "ok", "b.wav": "skipped", CORRUPT: "failed"}
    skipped = next(s for s in sections if s.attrs["data-status"] == "skipped")
    assert "kept" in skipped.find_all("p", "note")[0].all_text()


# --- the page ------------------------------------------------------------------------------------

def test_the_page_shows_each_file_in_input_order(rendered):
    out = rendered / "out"
    root = page(out)
    assert "2 processed, 0 skipped, 1 failed" in root.find_all("p", "batch-line")[0].all_text()
    facts = root.find_all("dl", "batch-facts")[0].all_text()
    assert "style 0.01" in facts and "style file.wav" in facts
    sections = root.find_all("section", "file")
    assert [s.attrs["id"] for s in sections] == ["file-1", "file-2", "file-3"]
    assert [s.attrs["data-status"] for s in sections] == ["ok", "ok", "failed"]
    assert [s.find_all("h2", "file-name")[0].all_text() for s in sections] == [*GOOD, CORRUPT]


def test_a_rendered_file_has_spectrograms_players_figures_and_settings(rendered):
    out = rendered / "out"
    for section, name in zip(page(out).find_all("section", "file")[:2], GOOD):
        images = section.find_all("img", "spectrogram")
        assert [i.attrs["data-kind"] for i in images] == ["input", "style", "output",
                                                          "difference"]
        for img in images:
            assert img.attrs["loading"] == "lazy" and img.attrs["alt"]
            assert img.attrs["src"].startswith("report-assets/")
            assert target(out, img.attrs["src"]).read_bytes()[:4] == b"\x89PNG"
        [player] = section.find_all("audio", "ab-player")
        assert player.attrs["preload"] == "metadata" and "controls" in player.attrs
        assert player.attrs["data-current"] == "a"
        assert player.attrs["src"] == player.attrs["data-a"]
        assert target(out, player.attrs["data-a"]).samefile(rendered / "in" / name)
        assert target(out, player.attrs["data-b"]).samefile(
            out / f"{Path(name).stem}_style-0.01.wav")
        [button] = section.find_all("button", "ab-switch")
        assert button.attrs["type"] == "button" and button.all_text() == "A: input"
        [style] = section.find_all("audio", "style-player")
        assert style.attrs["preload"] == "metadata"
        assert target(out, style.attrs["src"]).samefile(rendered / "style file.wav")
        rows = section.find_all("table", "figures")[0].find_all("tr")
        assert [r.attrs["data-figure"] for r in rows] == FIGURES
        values = {r.attrs["data-figure"]: r.find_all("td")[0].all_text() for r in rows}
        assert values["duration"] == "0.60 s" and values["preset"] == "style 0.01"
        assert values["loudness-in"].endswith("LUFS") and values["peak-out"].endswith("dBFS")
        assert values["realtime"].endswith("x") and values["device"] == "cpu"
        settings = section.find_all("details", "settings")[0].all_text()
        assert all(name in settings for name in field_names())


def test_a_failed_file_shows_its_error_escaped(rendered):
    out = rendered / "out"
    failed = page(out).find_all("section", "file")[2]
    assert not failed.find_all("img") and not failed.find_all("audio")
    [error] = failed.find_all("p", "error")
    assert CORRUPT in error.all_text()
    raw = (out / "report.html").read_text(encoding="utf-8")
    assert "<b>" not in raw and "c &lt;b&gt;&amp;amp.wav" in raw


def test_the_page_works_offline(rendered):
    out = rendered / "out"
    raw = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in raw and "https://" not in raw and "data:audio" not in raw
    root = page(out)
    [css] = [el for el in root.find_all("link") if el.attrs.get("rel") == "stylesheet"]
    [js] = root.find_all("script")
    assert "prefers-color-scheme: dark" in target(out, css.attrs["href"]).read_text()
    assert "ab-player" in target(out, js.attrs["src"]).read_text()


# --- rebuilding ----------------------------------------------------------------------------------

def test_report_command_rebuilds_the_same_page(copy):
    out = copy / "out"
    before = (out / "report.html").read_bytes()
    pngs = sorted(p.name for p in (out / "report-assets").glob("*.png"))
    shutil.rmtree(out / "report-assets")
    (out / "report.html").unlink()
    result = invoke("report", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "report.html")
    assert (out / "report.html").read_bytes() == before
    assert sorted(p.name for p in (out / "report-assets").glob("*.png")) == pngs


def test_a_moved_output_folder_finds_its_files_relative_to_the_records(copy, rendered):
    out = copy / "out"
    assert invoke("report", out).exit_code == 0
    for section, name in zip(page(out).find_all("section", "file"), GOOD):
        [player] = section.find_all("audio", "ab-player")
        assert target(out, player.attrs["data-a"]).samefile(copy / "in" / name)


def test_a_missing_file_at_rebuild_is_named_in_its_section(tmp_path):
    files, style = make_inputs(tmp_path)
    out = tmp_path / "out"
    batch.process_files(files[:2], load_preset("style 0.01", **TINY), out, style=style,
                        report=True)
    files[0].unlink()
    result = invoke("report", out)
    assert result.exit_code == 0, result.output
    first, second = page(out).find_all("section", "file")
    [missing] = first.find_all("p", "missing")
    assert "input" in missing.all_text() and GOOD[0] in missing.all_text()
    assert not first.find_all("img") and not first.find_all("audio", "ab-player")
    assert len(second.find_all("img", "spectrogram")) == 4
    # no figure of the missing file is left behind
    assert len(list((out / "report-assets").glob("*.png"))) == 4


def test_a_folder_without_records_is_a_usage_error(tmp_path):
    result = invoke("report", tmp_path)
    assert result.exit_code == 2
    assert str(tmp_path.name) in result.output and "process --report" in result.output
    with pytest.raises(BatchError) as e:
        batch.build_report(tmp_path / "nowhere")
    assert e.value.field == "output_dir"


# --- the command line and missing matplotlib ------------------------------------------------------

def test_process_report_on_the_command_line(tmp_path):
    files, style = make_inputs(tmp_path)
    result = invoke("process", *files[1:], "--style", style, "--output-dir", tmp_path / "out",
                    *TINY_SETS, "--report", "--json")
    assert result.exit_code == 1, result.output  # the corrupt file failed
    summary = json.loads(result.stdout)
    assert summary["report"] == str(tmp_path / "out" / "report.html")
    sections = page(tmp_path / "out").find_all("section", "file")
    assert [s.attrs["data-status"] for s in sections] == ["ok", "failed"]


def test_missing_matplotlib_stops_the_batch_before_it_renders(tmp_path, monkeypatch):
    files, style = make_inputs(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    out = tmp_path / "out"
    with pytest.raises(BatchError, match=r"pip install 'neuralfx\[report\]'") as e:
        batch.process_files(files, load_preset("style 0.01", **TINY), out, style=style,
                            report=True)
    assert e.value.field == "report"
    result = invoke("process", *files, "--style", style, "--output-dir", out, *TINY_SETS,
                    "--report")
    assert result.exit_code == 2
    assert "neuralfx[report]" in result.output and "--report" in result.output
    assert not out.exists() or not os.listdir(out)


def test_report_command_has_help_with_an_example():
    result = invoke("report", "--help")
    assert result.exit_code == 0 and "Example: neuralfx report" in result.output


@pytest.mark.heavy
@pytest.mark.parametrize("files", ["shared", "driver"])
def test_a_ray_batch_reports_like_a_local_one(tmp_path, files):
    """The records are written on the driver after the Ray executor, with the precision the
    driver decided for every worker."""
    from neuralfx.batch import RayOptions

    inputs, style = make_inputs(tmp_path)
    result = batch.process_files(inputs, load_preset("style 0.01", **TINY), tmp_path / "out",
                                 style=style, executor="ray", report=True,
                                 ray=RayOptions(workers=1, files=files))
    assert [j.status for j in result.jobs] == ["ok", "ok", "failed"]
    root = page(tmp_path / "out")
    sections = root.find_all("section", "file")
    assert [s.attrs["data-status"] for s in sections] == ["ok", "ok", "failed"]
    for section in sections[:2]:
        assert len(section.find_all("img", "spectrogram")) == 4
        [player] = section.find_all("audio", "ab-player")
        assert target(tmp_path / "out", player.attrs["data-b"]).is_file()
    records = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.neuralfx.json")]
    assert {r["precision"] for r in records if r["status"] == "ok"} <= {"bf16", "fp32"}
