"""The ``neuralfx`` command line, end to end with typer's CliRunner on synthesised files.

Every render uses a tiny network and few iterations (``--set``), so a file takes well under a
second on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pedalboard.io import AudioFile
from typer.testing import CliRunner

from neuralfx.cli import app
from neuralfx.cli.demo import example_file
from neuralfx.cli.progress import Ui

TINY_SETS = ["--set", "n_filters=32", "--set", "iterations=2", "--set",
             "griffin_lim_iterations=2", "--set", "chunk_seconds=2", "--set",
             "overlap_seconds=0.5", "--set", "device=cpu"]


def tone(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A decaying harmonic tone plus a little noise, ``(channels, samples)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    x = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3)) * np.exp(-t)
    out = np.stack([0.3 * x + 0.02 * rng.standard_normal(t.size) for _ in range(channels)])
    return out.astype(np.float32)


def write(path: Path, audio: np.ndarray, rate: int, bit_depth: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", rate, audio.shape[0], bit_depth=bit_depth) as f:
        f.write(audio)
    return path


def read(path: Path) -> tuple[np.ndarray, int, str]:
    with AudioFile(str(path)) as f:
        return f.read(f.frames), int(f.samplerate), str(f.file_dtype)


def invoke(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


@pytest.fixture
def style(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((1, 22050)).astype(np.float32) * 0.2
    noise[:, ::2205] = 0.9  # a few clicks: a rhythm
    return write(tmp_path / "style.wav", noise, 22050)


def process(inputs, style, out, *extra):
    return invoke("process", *inputs, "--style", style, "--output-dir", out, "--quiet",
                  *TINY_SETS, *extra)


# --- help --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    [], ["process"], ["texture"], ["info"], ["demo"], ["presets"], ["presets", "list"],
    ["presets", "show"], ["presets", "save"], ["presets", "delete"], ["presets", "export"],
    ["presets", "import"]])
def test_every_command_has_help_with_an_example(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "neuralfx" in result.output


def test_version_and_python_dash_m():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("neuralfx ")
    run = subprocess.run([sys.executable, "-m", "neuralfx", "process", "--bogus"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "bogus" in run.stderr


# --- outputs -----------------------------------------------------------------------------------

def test_outputs_keep_length_rate_channels_and_format(tmp_path, style):
    mono = write(tmp_path / "in" / "mono.wav", tone(1.0, 44100), 44100, 16)
    stereo = write(tmp_path / "in" / "stereo.flac", tone(0.7, 48000, 2), 48000, 24)
    odd = write(tmp_path / "in" / "odd.aiff", tone(0.61, 32000, 1)[:, :19517], 32000, 16)
    out = tmp_path / "out"
    result = process([mono, stereo, odd], style, out)
    assert result.exit_code == 0, result.output
    for src, name, n, rate, ch, dtype in [
            (mono, "mono_style-0.01.wav", 44100, 44100, 1, "int16"),
            (stereo, "stereo_style-0.01.flac", 33600, 48000, 2, "int24"),
            (odd, "odd_style-0.01.aiff", 19517, 32000, 1, "int16")]:
        audio, r, file_dtype = read(out / name)
        assert audio.shape == (ch, n), name
        assert r == rate and file_dtype == dtype
        assert np.all(np.isfinite(audio)) and np.abs(audio).max() > 1e-3  # not silence
        assert not np.allclose(audio, read(src)[0], atol=1e-2)  # actually processed
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "mono_style-0.01.wav").stat().st_mode & 0o777 == 0o666 & ~umask


def test_format_bit_depth_rate_and_name_template(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.8, 44100, 2), 44100)
    out = tmp_path / "out"
    result = process([src], style, out, "--format", "flac", "--bit-depth", "24",
                     "--sample-rate", "22050", "--name-template", "{preset}/{index:03d}-{stem}"
                     "-{style}-s{seed}.{ext}", "--seed", "5")
    assert result.exit_code == 0, result.output
    path = out / "style-0.01" / "001-a-style-s5.flac"
    audio, rate, dtype = read(path)
    assert (rate, dtype, audio.shape[0]) == (22050, "int24", 2)
    assert abs(audio.shape[1] - 0.8 * 22050) <= 1


def test_folders_and_recursive(tmp_path, style):
    root = tmp_path / "in"
    write(root / "top.wav", tone(0.5, 22050), 22050)
    write(root / "sub" / "deep.wav", tone(0.5, 22050), 22050)
    (root / "notes.txt").write_text("not audio, not an input")
    out = tmp_path / "out"
    result = process([root], style, out, "--json")
    assert result.exit_code == 0, result.output
    assert [Path(f["input"]).name for f in json.loads(result.stdout)["files"]] == ["top.wav"]
    result = process([root], style, out, "--recursive", "--skip-existing", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["processed"], summary["skipped"]) == (1, 1)
    assert (out / "sub" / "deep_style-0.01.wav").is_file()


def test_outputs_inside_an_input_folder_are_not_reprocessed(tmp_path, style):
    root = tmp_path / "in"
    write(root / "a.wav", tone(0.5, 22050), 22050)
    assert process([root], style, root / "out", "--recursive").exit_code == 0
    result = process([root], style, root / "out", "--recursive", "--skip-existing", "--json")
    assert json.loads(result.stdout)["skipped"] == 1
    assert sorted(p.name for p in (root / "out").iterdir()) == ["a_style-0.01.wav"]


def test_texture_preset_without_style_uses_each_input(tmp_path):
    src = write(tmp_path / "loop.wav", tone(0.9, 22050, 2), 22050)
    result = invoke("process", src, "--preset", "texture", "-o", tmp_path / "out", "-q",
                    *TINY_SETS)
    assert result.exit_code == 0, result.output
    audio, rate, _ = read(tmp_path / "out" / "loop_texture.wav")
    assert audio.shape == (2, 19845) and rate == 22050


def test_post_effect_from_the_command_line_is_applied(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.8, 22050), 22050, 32)
    plain = process([src], style, tmp_path / "plain")
    quiet = process([src], style, tmp_path / "gain", "--post", "Gain(gain_db=-20)")
    assert plain.exit_code == quiet.exit_code == 0, quiet.output
    a = read(tmp_path / "plain" / "a_style-0.01.wav")[0]
    b = read(tmp_path / "gain" / "a_style-0.01.wav")[0]
    np.testing.assert_allclose(b, a * 0.1, atol=1e-4)


def test_chain_order_cli_and_preset_effects(tmp_path, style, monkeypatch):
    from neuralfx.chain import Pedalboard
    from neuralfx.presets import load_preset

    rendered = []
    real = Pedalboard.process

    def spy(self, *args, **kwargs):
        rendered.append([type(p).__name__ for p in self])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pedalboard, "process", spy)
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    result = process([src], style, tmp_path / "out", "--preset", "mastered",
                     "--pre", "Gain(gain_db=1)", "--post", "Gain(gain_db=-1)")
    assert result.exit_code == 0, result.output
    mastered = load_preset("mastered")
    assert mastered.pre and mastered.post
    assert rendered == [["Gain", *(p["plugin"] for p in mastered.pre), "NeuralStyle",
                         *(p["plugin"] for p in mastered.post), "Gain"]]


def test_style_statistics_are_computed_once_per_batch(tmp_path, style, monkeypatch):
    import neuralfx.style

    monkeypatch.setenv("NEURALFX_CACHE_DIR", "off")
    calls = []
    real = neuralfx.style.compute_style_statistics
    monkeypatch.setattr(neuralfx.style, "compute_style_statistics",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    inputs = [write(tmp_path / f"{i}.wav", tone(0.5, 22050, seed=i), 22050) for i in range(3)]
    result = process(inputs, style, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert len(calls) == 1


# --- failures ----------------------------------------------------------------------------------

def bad_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garbage.wav").write_bytes(b"RIFF this is not a wave file" * 10)
    sf.write(folder / "empty.wav", np.zeros((0, 1), np.float32), 22050, subtype="PCM_16")
    nan = tone(0.5, 22050)[0]
    nan[100] = np.nan
    sf.write(folder / "nan.wav", nan, 22050, subtype="FLOAT")
    return [folder / "garbage.wav", folder / "empty.wav", folder / "nan.wav",
            folder / "missing.wav"]


def test_bad_files_fail_alone_and_the_batch_goes_on(tmp_path, style):
    good1 = write(tmp_path / "in" / "good1.wav", tone(0.5, 22050), 22050)
    good2 = write(tmp_path / "in" / "good2.wav", tone(0.5, 22050), 22050)
    bad = bad_files(tmp_path / "in")
    out = tmp_path / "out"
    result = process([good1, *bad, good2], style, out, "--json")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    status = {Path(f["input"]).name: f["status"] for f in summary["files"]}
    assert status == {"good1.wav": "ok", "good2.wav": "ok", "garbage.wav": "failed",
                      "empty.wav": "failed", "nan.wav": "failed", "missing.wav": "failed"}
    assert (summary["processed"], summary["failed"]) == (2, 4)
    errors = {Path(f["input"]).name: f["error"] for f in summary["files"]}
    assert "NaN" in errors["nan.wav"]
    assert "no audio samples" in errors["empty.wav"]
    assert "missing.wav" in errors["missing.wav"]
    assert sorted(p.name for p in out.iterdir()) == ["good1_style-0.01.wav",
                                                      "good2_style-0.01.wav"]
    assert "garbage.wav" in result.stderr  # failures are reported even with --quiet


def test_files_rendered_together_match_files_rendered_alone(tmp_path, style, monkeypatch):
    # --batch-files renders files together, their chunks sharing the engine's groups (GPU default)
    from neuralfx.chain import Pedalboard

    groups = []
    real = Pedalboard.process_many

    def spy(self, signals, rates, *args, **kwargs):
        out = real(self, signals, rates, *args, **kwargs)
        groups.append(len(out))
        return out

    monkeypatch.setattr(Pedalboard, "process_many", spy)
    ins = [write(tmp_path / "in" / f"f{k}.wav", tone(0.4 + 0.2 * k, 22050, channels=1 + k % 2,
                                                   seed=k), 22050) for k in range(3)]
    bad = bad_files(tmp_path / "in")
    alone = process(ins, style, tmp_path / "alone", "--batch-files", "1")
    together = process([*ins, *bad], style, tmp_path / "together", "--batch-files", "8",
                       "--json")
    assert alone.exit_code == 0, alone.output
    assert together.exit_code == 1, together.output  # the bad files fail alone
    summary = json.loads(together.stdout)
    assert (summary["processed"], summary["failed"]) == (3, 4)
    assert groups == [3]
    for f in ins:
        a, _, _ = read(tmp_path / "alone" / f"{f.stem}_style-0.01.wav")
        b, _, _ = read(tmp_path / "together" / f"{f.stem}_style-0.01.wav")
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_existing_outputs_are_never_overwritten_without_a_flag(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    other = write(tmp_path / "b.wav", tone(0.5, 22050, seed=3), 22050)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "a_style-0.01.wav"
    target.write_bytes(b"precious")

    result = process([src, other], style, out, "--json")
    assert result.exit_code == 1
    assert target.read_bytes() == b"precious"
    failed = [f for f in json.loads(result.stdout)["files"] if f["status"] == "failed"]
    # the report says why, in the library's terms (the policy and its choices)
    assert len(failed) == 1 and "exists" in failed[0]["error"]
    assert "'overwrite'" in failed[0]["error"] and "'skip'" in failed[0]["error"]
    assert (out / "b_style-0.01.wav").is_file()  # the other file was done

    result = process([src, other], style, out, "--skip-existing", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["skipped"] == 2
    assert target.read_bytes() == b"precious"

    result = process([src], style, out, "--overwrite")
    assert result.exit_code == 0
    assert read(target)[0].shape == (1, 11025)


def test_dry_run_plans_without_writing(tmp_path, style):
    a = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    b = write(tmp_path / "b.wav", tone(0.5, 22050), 22050)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_style-0.01.wav").write_bytes(b"old")
    result = process([a, b, tmp_path / "gone.wav"], style, out, "--dry-run", "--json")
    assert result.exit_code == 1, result.output
    actions = [f["action"] for f in json.loads(result.stdout)["files"]]
    assert actions == ["fail", "process", "fail"]
    result = process([a, b], style, out, "--dry-run", "--skip-existing", "--json")
    assert result.exit_code == 0
    assert [f["action"] for f in json.loads(result.stdout)["files"]] == ["skip", "process"]
    assert sorted(p.name for p in out.iterdir()) == ["a_style-0.01.wav"]


def test_an_output_never_replaces_an_input(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    before = src.read_bytes()
    result = process([src], style, tmp_path, "--name-template", "{stem}.{ext}", "--overwrite")
    assert result.exit_code == 1
    assert src.read_bytes() == before


def test_two_inputs_with_one_output_name(tmp_path, style):
    a = write(tmp_path / "x" / "a.wav", tone(0.5, 22050), 22050)
    b = write(tmp_path / "y" / "a.wav", tone(0.5, 22050), 22050)
    result = process([a, b], style, tmp_path / "out", "--json")
    assert result.exit_code == 1
    assert [f["status"] for f in json.loads(result.stdout)["files"]] == ["ok", "failed"]


@pytest.mark.parametrize("interrupt", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_no_partial_file(tmp_path, style, monkeypatch, interrupt):
    import neuralfx.audio

    real = neuralfx.audio.AudioFile

    class Failing:
        """Writes half the samples, then fails like a full disk or Ctrl-C."""

        def __init__(self, *args, **kwargs):
            self.file = real(*args, **kwargs)

        def __getattr__(self, name):  # reading goes through untouched
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, audio):
            self.file.write(audio[:, : audio.shape[1] // 2])
            self.file.flush()
            raise interrupt

    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_style-0.01.wav").write_bytes(b"the good old output")
    monkeypatch.setattr(neuralfx.audio, "AudioFile", Failing)
    result = process([src], style, out, "--overwrite", "--json")
    assert result.exit_code == (130 if isinstance(interrupt, KeyboardInterrupt) else 1)
    assert [p.name for p in out.iterdir()] == ["a_style-0.01.wav"]  # no temporary left
    assert (out / "a_style-0.01.wav").read_bytes() == b"the good old output"
    assert json.loads(result.stdout)["files"][0]["status"] in ("failed", "interrupted")


@pytest.mark.parametrize("args, hint", [
    (["--skip-existing", "--overwrite"], "--overwrite"),
    (["--preset", "no such preset"], "--preset"),
    (["--set", "iterations=-3"], "iterations"),
    (["--set", "no_such_key=1"], "no_such_key"),
    (["--set", "iterations"], "--set"),
    (["--name-template", "{stem}_{bogus}.{ext}"], "bogus"),
    (["--name-template", "../{stem}.{ext}"], "--name-template"),
    (["--name-template", "{stem}"], "extension"),
    (["--format", "xyz"], "xyz"),
    (["--format", "mp3", "--bit-depth", "24"], "--bit-depth"),
    (["--bit-depth", "12"], "12"),
    (["--post", "Compressor(threshold_db=-18"], "Compressor"),
    (["--post", "os.system('true')"], "--post"),
    (["--pre", "VST3Plugin(path='x')"], "VST3Plugin"),
    (["--sample-rate", "100"], "--sample-rate"),
    (["--device", "tpu"], "tpu"),
])
def test_usage_errors_exit_2(tmp_path, style, args, hint):
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    result = process([src], style, tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert hint in result.output
    assert not (tmp_path / "out").exists()


def test_usage_errors_about_inputs_and_style(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    assert invoke("process", src, "-o", tmp_path / "o", *TINY_SETS).exit_code == 2  # no style
    result = invoke("process", src, "--style", tmp_path / "nope.wav", *TINY_SETS)
    assert result.exit_code == 2 and "nope.wav" in result.output
    (tmp_path / "empty").mkdir()
    result = process([tmp_path / "empty"], style, tmp_path / "o")
    assert result.exit_code == 2 and "no audio files" in result.output
    assert invoke("process").exit_code == 2
    assert invoke("process", src, "--bogus-flag").exit_code == 2
    bad_style = tmp_path / "bad_style.wav"
    bad_style.write_bytes(b"garbage" * 100)
    result = process([src], bad_style, tmp_path / "o")
    assert result.exit_code == 2 and "bad_style.wav" in result.output


def test_json_summary(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.5, 22050, 2), 22050)
    result = process([src], style, tmp_path / "out", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)  # stdout holds only the JSON
    assert result.stderr == ""  # --quiet: nothing else
    assert summary["processed"] == 1 and summary["failed"] == 0
    assert summary["preset"] == "style 0.01"
    assert summary["settings"]["n_filters"] == 32
    (entry,) = summary["files"]
    assert entry["status"] == "ok" and entry["channels"] == 2
    assert entry["sample_rate"] == 22050 and entry["duration"] == pytest.approx(0.5)
    assert Path(entry["output"]).is_file()


def test_progress_and_summary_go_to_stderr(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    result = invoke("process", src, "--style", style, "-o", tmp_path / "out", *TINY_SETS)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "1 processed, 0 skipped, 0 failed" in result.stderr


def test_progress_bar_follows_the_engine(tmp_path):
    from neuralfx.engine import Progress

    ui = Ui(quiet=False)
    ui.start_render("x.wav")
    seen = []
    for p in [Progress("optimise", 0, 4, 0, 10), Progress("optimise", 0, 4, 5, 10),
              Progress("reconstruct", 2, 4), Progress("optimise", 2, 4, 5, 10),
              Progress("reconstruct", 4, 4)]:
        ui.on_progress(p)
        seen.append(ui.progress.tasks[0].completed)
    assert seen == [0, 50, 50, 75, 100]
    assert ui.progress.tasks[0].fields["status"] == "reconstructed 4/4 chunks"


def test_progress_bar_counts_the_waveform_pass(tmp_path):
    from neuralfx.engine import Progress

    ui = Ui(quiet=False)
    ui.start_render("x.wav")
    seen = []
    # two chunks, one per batch: each pass is half the bar
    for p in [Progress("optimise", 0, 4, 0, 10), Progress("reconstruct", 1, 4),
              Progress("optimise", 1, 4, 5, 10), Progress("reconstruct", 2, 4),
              Progress("refine", 2, 4, 3, 6), Progress("refine", 3, 4, 6, 6)]:
        ui.on_progress(p)
        seen.append(ui.progress.tasks[0].completed)
    assert seen == [0, 25, 37.5, 50, 62.5, 100]
    assert ui.progress.tasks[0].fields["status"] == "waveform, chunks 2-2/2, iteration 6/6"


# --- texture, info, demo -----------------------------------------------------------------------

def test_texture_command(tmp_path, style):
    out = tmp_path / "tex.flac"
    result = invoke("texture", style, "--duration", "1.5", "-o", out, "--channels", "2", "-q",
                    *TINY_SETS)
    assert result.exit_code == 0, result.output
    audio, rate, dtype = read(out)
    assert audio.shape == (2, 33075) and rate == 22050 and dtype == "int16"
    assert np.abs(audio).max() > 1e-3
    result = invoke("texture", style, "--duration", "1.5", "-o", out, *TINY_SETS)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert invoke("texture", style, "--duration", "-1", "-o", tmp_path / "t.wav").exit_code == 2
    assert invoke("texture", style, "--duration", "1", "-o", tmp_path / "t.xyz").exit_code == 2


def test_info(tmp_path):
    result = invoke("info", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["neuralfx"] and data["torch"] and "cpu" in data["devices"]
    assert data["precision_in_use"] in ("float32", "bfloat16")
    assert (data["precision_in_use"] == "bfloat16") == data["cpu_native_bf16"]
    assert data["texture_precision_in_use"] == "float32" and data["cpu_bf16_speedup"] > 0
    assert data["cache_dir"] == os.environ["NEURALFX_CACHE_DIR"]
    assert data["preset_dir"] == os.environ["NEURALFX_PRESET_DIR"]
    result = invoke("info")
    assert result.exit_code == 0 and "cache dir" in result.stdout


def test_demo_with_tiny_settings(tmp_path):
    out = tmp_path / "demo"
    result = invoke("demo", "--output-dir", out, "-q", *TINY_SETS)
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    wavs = sorted(p.name for p in out.glob("*.wav"))
    assert len(wavs) == 4
    melody, rate, _ = read(example_file("melody.wav"))
    styled = next(out.glob("melody_styled_*.wav"))
    assert read(styled)[0].shape == melody.shape


@pytest.mark.slow
def test_demo_draft_preset(tmp_path):
    result = invoke("demo", "--output-dir", tmp_path, "-q")
    assert result.exit_code == 0, result.output


# --- presets -----------------------------------------------------------------------------------

def test_presets_list_and_show():
    result = invoke("presets", "list", "--json")
    assert result.exit_code == 0, result.output
    names = {p["name"] for p in json.loads(result.stdout)}
    assert {"texture", "style 0.01"} <= names
    result = invoke("presets", "show", "style 0.01", "--set", "iterations=7")
    assert result.exit_code == 0, result.output
    assert "iterations = 7" in result.stdout
    assert invoke("presets", "show", "nope").exit_code == 2


def test_presets_save_delete_export_import(tmp_path, style):
    result = invoke("presets", "save", "mine", "--from", "style 0.001", "--set", "seed=3",
                    "--post", "Limiter(threshold_db=-2)", "--description", "my sound")
    assert result.exit_code == 0, result.output
    listed = json.loads(invoke("presets", "list", "--json").stdout)
    assert any(p["name"] == "mine" for p in listed)
    shown = invoke("presets", "show", "mine").stdout
    assert "seed = 3" in shown and "Limiter" in shown

    bundle = tmp_path / "mine.zip"
    result = invoke("presets", "export", "mine", "-o", bundle, "--style", style)
    assert result.exit_code == 0, result.output and bundle.is_file()
    assert invoke("presets", "export", "mine", "-o", bundle).exit_code == 2  # exists

    assert invoke("presets", "delete", "mine").exit_code == 0
    assert invoke("presets", "delete", "mine").exit_code == 2
    assert invoke("presets", "show", "mine").exit_code == 2

    result = invoke("presets", "import", bundle)
    assert result.exit_code == 0, result.output
    assert "seed = 3" in invoke("presets", "show", "mine").stdout
    assert invoke("presets", "import", bundle).exit_code == 0  # identical: fine
    assert invoke("presets", "import", bundle, "--name", "theirs").exit_code == 0

    # the imported preset carries its style: no --style needed
    src = write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    result = invoke("process", src, "--preset", "mine", "-o", tmp_path / "out", "-q",
                    *TINY_SETS)
    assert result.exit_code == 0, result.output
    assert read(tmp_path / "out" / "a_mine.wav")[0].shape == (1, 11025)

    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert invoke("presets", "import", junk).exit_code == 1
