"""BENCHMARKS.md opens with the current figures (one row per claim, every link resolving to a
section of the file) and keeps superseded runs under History at the end; README says where the
built-in presets live."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = (ROOT / "BENCHMARKS.md").read_text()
COLUMNS = ["what", "figure", "date", "command", "details"]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _headings(level: str) -> list[str]:
    return re.findall(rf"^{level} (.+)$", BENCHMARKS, re.M)


def _cells(row: str) -> list[str]:
    # split on | outside backticks (commands may hold a pipe)
    cells, current, code = [], "", False
    for ch in row.strip().strip("|"):
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append(current.strip())
            current = ""
        else:
            current += ch
    return cells + [current.strip()]


def current_table() -> list[list[str]]:
    section = BENCHMARKS.split("\n## Current figures\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert _cells(rows[0]) == COLUMNS, rows[0]
    return [_cells(r) for r in rows[2:]]


def test_benchmarks_open_with_the_current_figures_and_end_with_history():
    sections = _headings("##")
    assert sections[0] == "Current figures" and sections[-1] == "History", sections


def test_current_figures_rows_are_complete_and_link_to_sections():
    anchors = {slug(h) for h in _headings("##") + _headings("###")}
    rows = current_table()
    assert len(rows) >= 10
    for row in rows:
        assert len(row) == len(COLUMNS), row
        what, figure, date, command, details = row
        assert what and figure and command, row
        assert date == "-" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), row
        links = re.findall(r"\]\(#([^)]+)\)", details)
        assert links, f"no link to a section in {row}"
        for link in links:
            assert link in anchors, f"{what}: #{link} is no heading of BENCHMARKS.md"


def test_every_link_inside_benchmarks_resolves():
    anchors = {slug(h) for h in _headings("##") + _headings("###")}
    missing = sorted(set(re.findall(r"\]\(#([^)]+)\)", BENCHMARKS)) - anchors)
    assert not missing, missing


def test_readme_says_where_presets_live_and_how_to_share_one():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Presets and sharing", 1)[1].split("\n## ", 1)[0]
    assert "`presets/`" in section and "presets export" in section and "presets import" in section
    assert "Pedalboard.from_preset" in section
