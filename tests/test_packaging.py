"""Packaging: the built wheel holds presets, example audio and the console script; the shipped
example audio is small, valid and re-synthesisable; README and CI agree on the test command."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _setuptools_ok() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.fixture(scope="module")
def wheel_path(tmp_path_factory) -> Path:
    """A wheel built from a clean copy of the source (no stale build/ folder can leak in)."""
    if not _setuptools_ok():
        pytest.skip("building needs setuptools>=77 (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "neuralfx", src / "neuralfx", ignore=ignore)
    shutil.copytree(ROOT / "presets", src / "presets", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    # no build isolation: builds offline with the setuptools of this environment
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp / "dist")],
        capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    (path,) = (tmp / "dist").glob("neuralfx-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel(wheel_path) -> zipfile.ZipFile:
    with zipfile.ZipFile(wheel_path) as zf:
        yield zf


@pytest.mark.heavy
def test_wheel_ships_every_module_and_data_file(wheel):
    """Every module of every subpackage (neuralfx/presets/, neuralfx/batch/, ...) and the
    example audio: a subpackage missing from pyproject's list would be left out."""
    names = set(wheel.namelist())
    shipped = [p.relative_to(ROOT).as_posix() for p in (ROOT / "neuralfx").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts
               and p.suffix in (".py", ".toml", ".wav")]
    missing = sorted(set(shipped) - names)
    assert not missing, f"not in the wheel: {missing}"
    assert {"neuralfx/examples/melody.wav", "neuralfx/examples/texture.wav"} <= names
    assert {"neuralfx/presets/__init__.py", "neuralfx/presets/bundle.py"} <= names


def test_every_subpackage_is_listed_for_the_wheel():
    """The cheap half of the check above, without building: pyproject.toml lists every folder
    of neuralfx/ that holds modules."""
    folders = {p.parent.relative_to(ROOT).as_posix().replace("/", ".")
               for p in (ROOT / "neuralfx").rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(folders - set(PYPROJECT["tool"]["setuptools"]["packages"]))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


@pytest.mark.heavy
def test_wheel_ships_builtin_presets(wheel):
    """The top-level presets/*.toml are the built-ins; the wheel carries every one of them,
    byte for byte, as the package data folder neuralfx/builtin_presets/ (apart from the code
    package neuralfx/presets/)."""
    data = "neuralfx/builtin_presets/"
    tomls = sorted(n for n in wheel.namelist() if n.startswith(data))
    in_tree = sorted((ROOT / "presets").glob("*.toml"))
    assert len(in_tree) >= 9
    assert tomls == [f"{data}{p.name}" for p in in_tree]
    for p in in_tree:
        assert wheel.read(f"{data}{p.name}") == p.read_bytes(), p.name
    assert not any(n.startswith("presets/") for n in wheel.namelist())  # no top-level package
    assert not any(n.startswith("neuralfx/presets/") and not n.endswith(".py")
                   for n in wheel.namelist())  # the code package holds code only
    stems = {Path(n).stem for n in tomls}
    # the README, CI and demo rely on these by name
    assert {"draft", "texture"} <= {s.replace("_", " ") for s in stems} | stems


@pytest.mark.heavy
def test_installed_wheel_lists_every_builtin(wheel_path, tmp_path):
    """Installed from the wheel (no source tree anywhere on the path), the package finds all
    the built-in presets and lists the same names as the source tree."""
    from neuralfx.presets import builtin_names

    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile",
         "--target", str(target), str(wheel_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    code = ("import json, neuralfx.presets as p; print(json.dumps([str(p.builtin_preset_dir()), "
            "p.builtin_names(), p.load_preset('mastered').post[-1]['plugin'], p.__file__]))")
    env = dict(os.environ, PYTHONPATH=str(target), PYTHONSAFEPATH="1")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder, names, last, module = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(folder) == target / "neuralfx" / "builtin_presets"
    assert Path(module) == target / "neuralfx" / "presets" / "__init__.py"  # not the source
    assert names == builtin_names()
    assert last == "Limiter"


@pytest.mark.heavy
def test_wheel_metadata_has_console_script_and_dependencies(wheel):
    dist_info = next(n.split("/")[0] for n in wheel.namelist() if ".dist-info/" in n)
    entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert re.search(r"^neuralfx\s*=\s*neuralfx\.cli:app$", entry_points, re.M)
    meta = wheel.read(f"{dist_info}/METADATA").decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    plain = {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in requires if "extra ==" not in r}
    assert {"torch", "pedalboard", "numpy", "soundfile", "typer", "soxr", "pyloudnorm",
            "rich", "platformdirs"} <= plain
    assert any("extra == \"test\"" in r and r.startswith("pytest") for r in requires)
    assert "License-Expression: MIT" in meta


def test_torch_requirement_allows_the_tested_build():
    (torch_req,) = [d for d in PYPROJECT["project"]["dependencies"] if d.startswith("torch")]
    lower = re.search(r">=\s*([0-9.]+)", torch_req).group(1)
    upper = re.search(r"<\s*([0-9.]+)", torch_req).group(1)
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    assert as_tuple(lower) <= (2, 13, 0) < as_tuple(upper)


def test_console_script_target_exists():
    target = PYPROJECT["project"]["scripts"]["neuralfx"]
    module, attr = target.split(":")
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"console script target module {module} does not exist")
    assert callable(getattr(importlib.import_module(module), attr))


# --- example audio -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["melody.wav", "texture.wav"])
def test_example_audio_is_small_valid_mono(name):
    from neuralfx.examples import path

    p = path(name)
    assert p.is_file() and p.stat().st_size < 300_000
    info = sf.info(p)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    assert 5.0 <= info.duration <= 8.0
    audio, _ = sf.read(p)
    assert np.all(np.isfinite(audio))
    assert 0.5 < np.max(np.abs(audio)) < 0.99  # loud enough, no clipping
    # never silent for long: every 0.5 s window has signal
    windows = audio[: len(audio) // 11025 * 11025].reshape(-1, 11025)
    assert np.sqrt((windows ** 2).mean(axis=1)).min() > 1e-3


def test_unknown_example_name_is_a_clear_error():
    from neuralfx.examples import path

    with pytest.raises(FileNotFoundError, match="melody.wav"):
        path("nope.wav")


def test_example_audio_is_reproduced_by_its_script(tmp_path):
    """The shipped clips are exactly what examples/make_example_audio.py synthesises."""
    spec = importlib.util.spec_from_file_location(
        "make_example_audio", ROOT / "examples" / "make_example_audio.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for fresh in script.write_examples(tmp_path):
        shipped, _ = sf.read(ROOT / "neuralfx" / "examples" / fresh.name, dtype="int16")
        again, _ = sf.read(fresh, dtype="int16")
        assert shipped.shape == again.shape
        # allow 1 LSB for floating-point differences between numpy builds
        assert np.max(np.abs(shipped.astype(int) - again.astype(int))) <= 1, fresh.name


# --- README and CI -----------------------------------------------------------------------------

def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, re.S)
    return [line for b in blocks for line in b.strip().splitlines() if line.strip()]


def test_quickstart_is_exactly_two_commands():
    commands = _quickstart_commands()
    assert len(commands) == 2, commands
    setup, tests = commands
    assert "pip install" in setup and "neuralfx demo" in setup
    assert "[test,ray]" in tests and "pytest" in tests  # the Ray executor's tests run too


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    pattern = re.search(r'grep -m1 -E "(.*?)" README\.md', ci).group(1)
    pattern = pattern.replace("\\\\", "\\")
    test_command = _quickstart_commands()[1]
    assert re.search(pattern, test_command), (pattern, test_command)
    # CI installs the CPU torch before the project, and smoke-tests the demo
    assert ci.index("torch==2.13.0") < ci.index("pip install --quiet '.[test,ray]'")
    assert "neuralfx demo --preset draft" in ci


def test_readme_python_examples_parse():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks
    for block in blocks:
        ast.parse(block)


# --- examples ----------------------------------------------------------------------------------

EXAMPLES = ["chain_with_pedalboard.py", "texture_from_file.py", "batch_mastering.py"]


def _run_example(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # the source tree, installed or not
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def test_example_preset_with_chain_loads():
    from neuralfx.presets import load_preset

    preset = load_preset(str(ROOT / "examples" / "presets" / "tape_master.toml"))
    assert [type(p).__name__ for p in preset.pre_plugins()] == ["HighpassFilter", "Compressor"]
    assert [type(p).__name__ for p in preset.post_plugins()] == ["HighShelfFilter", "Limiter"]
    assert 0 < preset.mix < 1


@pytest.mark.parametrize("script", [*EXAMPLES, "spectrogram_picture.py"])
def test_example_scripts_start(script, monkeypatch, capsys):
    """In-process (a subprocess would spend its time importing torch): the script imports the
    real API and its command line parses."""
    spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / "examples" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 0
    assert "--quick" in capsys.readouterr().out


@pytest.mark.slow
def test_the_readme_picture_script_draws_the_sheet(tmp_path):
    picture = tmp_path / "sheet.png"
    proc = _run_example("spectrogram_picture.py", "--quick", "-o", str(picture), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from PIL import Image

    with Image.open(picture) as image:
        assert min(image.size) > 100


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES)
def test_example_scripts_run_quick(script, tmp_path):
    proc = _run_example(script, "--quick", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = list(tmp_path.rglob("*.wav"))
    assert written, proc.stdout
    for path in written:
        info = sf.info(path)
        assert info.frames > 0 and info.samplerate == 22050
        audio, _ = sf.read(path)
        assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0


def test_readme_presets_table_lists_every_builtin():
    from neuralfx.presets import builtin_names

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Presets and sharing", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    missing = [n for n in builtin_names() if f"`{n}`" not in table]
    assert not missing, f"README's preset table misses {missing}"


def test_readme_presets_example_runs():
    """The README's presets snippet runs as written (it renders nothing), with the shipped
    texture as its style file."""
    from neuralfx.examples import path

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Presets", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code.replace('"rain.wav"', repr(str(path("texture.wav")))), namespace)  # noqa: S102
    from neuralfx.presets import load_preset

    fx, mastered = namespace["fx"], load_preset("mastered")
    assert (fx.content_weight, fx.iterations) == (0.02, 120)
    assert load_preset("user:rain 0.02").settings == fx.settings  # saved as it was made
    assert len(namespace["board"]) == len(mastered.pre) + 1 + len(mastered.post)
