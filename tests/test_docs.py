"""The docs' promises: short pages of current figures, no lab notebook in the repository, every
benchmark a tool with one result file, every figure's file present and no stale file beside."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import benchmarks

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BENCHMARKS = (ROOT / "BENCHMARKS.md").read_text()
RESULTS = ROOT / "benchmarks" / "results"
NUMBERED = re.compile(r"\b(session|issue)s? [0-9]+", re.I)


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_the_pages_are_short():
    assert len(BENCHMARKS.splitlines()) <= 400
    assert len(README.splitlines()) <= 300


def test_no_session_or_issue_numbers_in_docs_presets_or_benchmarks():
    files = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "presets").glob("*")),
             *sorted(p for p in (ROOT / "benchmarks").rglob("*") if p.is_file()
                     and "__pycache__" not in p.parts)]
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in files
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            if NUMBERED.search(line)]
    assert not hits, hits


def test_every_result_file_is_referenced_and_every_reference_exists():
    referenced = set(re.findall(r"benchmarks/results/([\w.-]+\.json)", BENCHMARKS))
    present = {p.name for p in RESULTS.iterdir()}
    assert referenced and referenced <= present, referenced - present
    assert present <= referenced, f"stale results: {sorted(present - referenced)}"


def test_no_result_file_outside_the_results_folder():
    stray = [p.relative_to(ROOT) for p in (ROOT / "benchmarks").rglob("*")
             if p.suffix in (".json", ".png", ".npy", ".wav") and p.parent != RESULTS]
    assert not stray, stray


def test_every_benchmark_module_is_a_script_or_shared_code():
    modules = {p.stem for p in (ROOT / "benchmarks").glob("*.py")} - {"__init__"}
    assert modules == set(benchmarks.SCRIPTS) | set(benchmarks.LIBRARY)
    assert not set(benchmarks.SCRIPTS) & set(benchmarks.LIBRARY)


@pytest.mark.parametrize("name", benchmarks.SCRIPTS)
def test_each_script_writes_its_one_result_file_by_default(name):
    module = importlib.import_module(f"benchmarks.{name}")
    result = RESULTS / f"{name}.json"
    assert module.RESULT == result
    assert module.parser().get_default("out") == result
    assert "sys.path" not in Path(module.__file__).read_text()  # run as python -m


def test_links_into_benchmarks_resolve():
    targets = anchors(BENCHMARKS)
    for text in (README, BENCHMARKS):
        missing = sorted({a for a in re.findall(r"BENCHMARKS\.md#([\w-]+)", text)}
                         | ({a for a in re.findall(r"\]\(#([\w-]+)\)", text)}
                            if text is BENCHMARKS else set()))
        missing = [a for a in missing if a not in targets]
        assert not missing, missing


def test_every_benchmark_command_names_a_script():
    commands = set(re.findall(r"python -m benchmarks\.(\w+)", BENCHMARKS + README)) - {"NAME"}
    assert commands and set(commands) <= set(benchmarks.SCRIPTS), set(commands)
    assert "python benchmarks/" not in BENCHMARKS + README


def test_readme_test_command_is_the_one_ci_runs():
    lines = [line for line in README.splitlines()
             if line.startswith(". .venv/bin/activate && pip install") and "[test,ray]" in line]
    assert lines == [". .venv/bin/activate && pip install -e '.[test,ray]' && pytest -m 'not slow'"]


def test_readme_preset_table_has_one_line_per_preset_with_its_evidence():
    from neuralfx.presets import builtin_names

    rows = [line for line in README.splitlines() if line.startswith("| `")]
    for name in builtin_names():
        row = [r for r in rows if f"`{name}`" in r.split("|")[1]]
        assert len(row) == 1, name
        what, seconds, distance = (cell.strip() for cell in row[0].split("|")[2:5])
        assert what and re.search(r"\d", seconds) and "](BENCHMARKS.md#" in distance, row[0]


def test_readme_says_where_presets_live_and_how_to_share_one():
    section = README.split("## Presets and sharing", 1)[1].split("\n## ", 1)[0]
    assert "`presets/`" in section and "presets export" in section and "presets import" in section
    assert "Pedalboard.from_preset" in section
