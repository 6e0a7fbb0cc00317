"""The benchmarks' measuring code, and each script's quick path end to end on tiny settings
(figures exist and are sane; results go to a temporary file, never to benchmarks/results/)."""

import json

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("librosa")

from benchmarks import engine_vs_literal, signals  # noqa: E402
from neuralfx.settings import Settings  # noqa: E402


def test_signals_are_deterministic_and_bounded():
    for name in signals.CLIPS:
        a = signals.clip(name, 0.5, 22050)
        assert a.shape == (11025,) and a.dtype == np.float32
        assert np.array_equal(a, signals.clip(name, 0.5, 22050))
        assert 0.1 < np.abs(a).max() <= 1.0
    assert not np.array_equal(signals.melody(0.5, seed=1), signals.melody(0.5, seed=2))
    with pytest.raises(ValueError, match="unknown clip"):
        signals.clip("nope")


def test_quick_benchmark_reports_every_figure(tmp_path):
    out = tmp_path / "engine.json"
    results = engine_vs_literal.main([
        "--quick", "--seconds", "1", "--filters", "16", "--iterations", "4",
        "--baseline-griffin-lim", "20", "--parts", "main,classic_edges,griffin_lim,optimiser,gpu",
        "--device", "cpu", "--gpu-minutes", "0.05",
        "--threads", "1", "--out", str(out), "--work", str(tmp_path / "work")])
    fig = results["main"]["figures"]
    for key in ("loss_ratio", "wall_time_ratio", "final_loss_neuralfx", "final_loss_baseline"):
        assert np.isfinite(fig[key]) and fig[key] > 0, key
    # the losses were evaluated by one function on the same frames: both below the start loss
    assert fig["final_loss_baseline"] < results["main"]["baseline"]["history"][0]
    gl = results["griffin_lim"]
    assert 0 < gl["plain_sc"] < 1 and gl["fast_iterations_to_reach"] is not None
    assert gl["fast_sc"] <= gl["plain_sc"]
    opt = results["optimiser"]
    assert opt["loss_ratio"] < 1.5
    edges = results["classic_edges"]["figures"]
    assert edges["final_loss_baseline"] == pytest.approx(fig["final_loss_baseline"])
    assert np.isfinite(edges["loss_ratio"]) and edges["loss_ratio"] > 0
    gpu = results["gpu"]  # run on the CPU here: the code path, not the figures
    assert gpu["real_time_factor"] > 0 and 0 < gpu["fraction_of_matmul_peak"]
    assert gpu["chunk_evaluations"] >= 4
    saved = json.loads(out.read_text())  # one file, an entry per part
    assert set(saved) == {"main", "classic_edges", "griffin_lim", "optimiser", "gpu"}
    assert saved["main"]["figures"]["loss_ratio"] == pytest.approx(fig["loss_ratio"])
    assert (tmp_path / "work" / "neuralfx.wav").exists()


def test_style_floor_measures_a_style_against_its_own_continuation():
    from benchmarks.quality import style_floor

    drone, rhythm = style_floor(["drone", "rhythmic_noise"], 1.5)
    assert drone["style"] == "drone" and 0 < drone["style_distance"] < 2
    # the drum pattern repeats every bar: its continuation keeps the rhythm
    assert rhythm["rhythm_similarity"] > 0.9


def test_quality_follows_the_waveform_pass_across_chunks():
    # a clip of several chunks: the spectrogram the loss last saw, frame by frame from the
    # chunk that owns it, is the output's own wherever a frame's window lies in one owned span
    import torch

    from benchmarks.quality import CASES, render_case
    from neuralfx.chunking import owned_samples
    from neuralfx.spectral import stft

    overrides = dict(n_filters=16, kernel_sizes=(3,), iterations=3, waveform_iterations=3,
                     griffin_lim_iterations=4, chunk_seconds=1.0, overlap_seconds=0.25,
                     device="cpu", precision="fp32")
    row = render_case(CASES[1], "style+", 2.5, overrides)
    mag, out = row["_magnitude"][0], torch.from_numpy(row["_audio"])
    own = stft(out, 2048, 512).abs()
    assert mag.shape == own.shape and 0 <= row["spectral_convergence"] < 0.1
    spans = row["_spans"]
    assert len(spans) >= 3
    inside = 0
    for i in range(len(spans)):
        a, b = owned_samples(spans, i)
        for f in range(own.shape[-1]):
            if a <= f * 512 - 1024 and f * 512 + 1024 <= b:
                torch.testing.assert_close(mag[:, f], own[:, f], rtol=1e-4, atol=1e-6)
                inside += 1
    assert inside > 10


# --- real music (benchmarks/real_music.py), on two short synthetic files -----------------------

TINY_REAL = ["--set", "n_filters=16", "--set", "iterations=2", "--set", "griffin_lim_iterations=2",
             "--set", "chunk_seconds=1.0", "--set", "overlap_seconds=0.25", "--set", "device=cpu",
             "--set", "precision=fp32", "--baseline-set", "n_filters=16",
             "--baseline-set", "maxiter=2", "--baseline-set", "griffin_lim_iterations=2",
             "--threads", "1", "--seconds", "2"]


def _real_files(tmp_path):
    import soundfile as sf

    sr = 44100
    sf.write(tmp_path / "content.wav", np.stack([signals.melody(2.5, sr, seed=1),
                                                 signals.melody(2.5, sr, seed=2)], axis=1), sr)
    sf.write(tmp_path / "style.wav", signals.rhythmic_noise(3.0, sr), sr)  # mono
    return ["--data", str(tmp_path), "--pair", "content.wav", "style.wav",
            "--pair", "-", "style.wav"]


def test_real_music_records_every_figure_and_prints_a_table(tmp_path, capsys, monkeypatch):
    from benchmarks import measures, real_music

    # a tiny evaluation bank (the real one, 512 filters up to width 53, takes seconds a signal)
    monkeypatch.setattr(measures, "EVAL_FILTERS", 16)
    monkeypatch.setattr(measures, "EVAL_WIDTHS", (3, 5))
    out = tmp_path / "real.json"
    files = _real_files(tmp_path)
    doc = real_music.main([*files, *TINY_REAL, "--presets", "draft", "draft texture",
                           "--figure", "tiny", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(doc))
    runs = doc["runs"]
    # texture presets on texture rows only, the others on content pairs only
    assert [(r["content"], r["method"]) for r in runs] == [
        ("content.wav", "literal baseline"), ("content.wav", "draft"),
        ("-", "literal baseline"), ("-", "draft texture")]
    for r in runs:
        keys = ["style_distance", "style_distance_best_gain", "rhythm_similarity",
                "wall_s", "cpu_s", "x_real_time", "loudness_in_lufs", "loudness_out_lufs",
                "peak", "seam_score", "seam_score_input", "seam_contrast",
                "seam_contrast_input"]
        keys += [] if r["texture"] else ["content_corr"]
        for key in keys:
            assert isinstance(r[key], (int, float)) and np.isfinite(r[key]), (r["method"], key)
        assert len(r["style_distance_per_seed"]) == 3
        assert len(r["style_distance_best_gain_per_seed"]) == 3
        assert r["style_distance_best_gain"] <= r["style_distance"] + 1e-12
        assert r["style_distance"] == pytest.approx(np.mean(r["style_distance_per_seed"]))
        assert r["clipped_samples"] == 0 and 0 < r["peak"] < 1 and r["seconds"] == 2
        assert r["seam_windows_s"] and r["seed"] == 0 and r["figure"] == "tiny"
        # 44.1 kHz files: three bands each; the literal pipeline's output is at 22.05 kHz
        literal = r["method"] == "literal baseline"
        for key in ("top_band_db_style",) + (() if literal else ("top_band_db",)):
            assert len(r[key]) == 3 and all(-200 <= v <= 0 for v in r[key]), (key, r[key])
        assert (r["top_band_db"] is None) == literal
    assert runs[0]["content_corr"] is not None and runs[2]["content_corr"] is None
    assert runs[1]["sample_rate"] == 44100 and runs[1]["channels"] == 2
    assert runs[3]["channels"] == 1  # a texture has the style's channels
    machine = doc["figures"]["tiny"]["machines"][0]
    assert machine["threads"] == 1 and machine["nproc"] >= 1
    assert isinstance(machine["avx512_bf16"], bool) and machine["torch"]
    assert doc["figures"]["tiny"]["commands"][0][:3] == ["python", "-m", "benchmarks.real_music"]

    # --merge appends (here without the baseline); NAME:KEY=VALUE is a preset with its own
    # overrides, over --set's
    doc = real_music.main([*files[:5], *TINY_REAL, "--presets", "draft", "draft:iterations=1",
                           "--no-baseline", "--seeds", "1", "--figure", "tiny", "--out", str(out),
                           "--merge"])
    assert len(doc["runs"]) == 6 and len(doc["figures"]["tiny"]["commands"]) == 2
    assert [(r["method"], r["seed"], r["overrides"]["iterations"]) for r in doc["runs"][4:]] == [
        ("draft", 1, 2), ("draft", 1, 1)]

    capsys.readouterr()
    text = real_music.main(["--table", str(out)])
    assert "best gain" in text
    assert text in capsys.readouterr().out
    assert "### content.wav -> style.wav, 2 s" in text and "### - -> style.wav, 2 s" in text
    draft = real_music._label(doc["runs"][-2])  # "draft [n_filters=16, ...]": the overrides
    assert draft.startswith("draft [") and "n_filters=16" in draft
    assert "| literal baseline | 1 |" in text and f"| {draft} | 2 |" in text  # seeds 0 and 1
    assert f"| {real_music._label(doc['runs'][-1])} | 1 |" in text  # the variant's own row
    assert "iterations=1" in real_music._label(doc["runs"][-1])
    assert "| draft texture [" in text


def test_real_music_measures_kept_audio_again(tmp_path, monkeypatch):
    from benchmarks import measures, real_music

    monkeypatch.setattr(measures, "EVAL_FILTERS", 16)
    monkeypatch.setattr(measures, "EVAL_WIDTHS", (3, 5))
    out = tmp_path / "real.json"
    files = _real_files(tmp_path)
    # a style clip longer than the content: the remeasure takes the same clip again
    doc = real_music.main([*files[:5], *TINY_REAL, "--presets", "draft", "--no-baseline",
                           "--style-seconds", "2.8",
                           "--out", str(out), "--save-audio", str(tmp_path / "audio")])
    run = doc["runs"][0]
    assert run["seconds"] == 2 and run["style_seconds"] == 2.8
    assert (tmp_path / "audio").is_dir() and run["audio"].startswith(str(tmp_path / "audio"))
    again = real_music.main(["--remeasure", str(out), "--data", str(tmp_path)])
    assert again == {"files": [str(out)]}
    remeasured = json.loads(out.read_text())["runs"][0]
    for key in ("style_distance", "style_distance_best_gain", "content_corr", "peak"):
        assert remeasured[key] == pytest.approx(run[key], rel=1e-4), key
    assert "### content.wav -> style.wav, 2 s (style 2.8 s)" in real_music.table(
        json.loads(out.read_text()))


def test_held_out_style_distance_averages_three_held_out_banks():
    from benchmarks.measures import EVAL_SEED, HELD_OUT_SEEDS, held_out_style_distance

    a, b = signals.clip("drone", 1.5), signals.clip("rhythmic_noise", 1.5)
    mean, per_seed = held_out_style_distance(a, b, 22050, widths=(3,))
    assert len(per_seed) == 3 and mean == pytest.approx(np.mean(per_seed)) and mean > 0
    assert HELD_OUT_SEEDS[0] == EVAL_SEED and len(set(per_seed)) == 3
    same, per_seed = held_out_style_distance(a, a, 22050, widths=(3,))
    assert same == 0 and per_seed == [0, 0, 0]


def test_real_music_seam_score_and_midi_files():
    from benchmarks import real_music

    sr = 22050
    noise = np.random.default_rng(0).standard_normal(3 * sr).astype(np.float32) * 0.1
    jump = noise.copy()
    jump[int(1.5 * sr):] *= 8  # an abrupt level change inside the window
    s = Settings(chunk_seconds=2.0, overlap_seconds=0.5)
    windows = real_music.seam_windows(3.0, s)
    assert len(windows) == 1 and windows[0][1] - windows[0][0] == pytest.approx(1.5, abs=0.05)
    assert real_music.seam_windows(1.9, s) == []  # one chunk
    assert real_music.seam_score(jump, sr, windows) > 2 * real_music.seam_score(noise, sr, windows)
    assert real_music.seam_score(noise, sr, []) is None
    # the contrast compares the seams with every other window of the output itself
    long = np.random.default_rng(1).standard_normal(8 * sr).astype(np.float32) * 0.1
    burst = long.copy()
    burst[int(4.25 * sr):int(4.75 * sr)] *= 8  # an abrupt change inside the seam window
    seam = [(3.5, 5.0)]
    assert real_music.seam_contrast(long, sr, seam) == pytest.approx(1.0, abs=0.15)
    assert real_music.seam_contrast(burst, sr, seam) > 2.0
    assert real_music.seam_contrast(burst, sr, [(0.5, 2.0)]) == pytest.approx(1.0, abs=0.15)
    assert real_music.seam_contrast(long, sr, []) is None
    for midi in (real_music.drums_midi(5.0), real_music.piano_strings_midi(5.0)):
        assert midi[:4] == b"MThd" and midi.count(b"MTrk") >= 2
        assert midi.endswith(b"\x00\xff\x2f\x00")


def test_objective_cost_benchmark_times_each_factor_and_batch(tmp_path):
    import soundfile as sf

    from benchmarks import objective_cost

    sf.write(tmp_path / "style.wav", signals.rhythmic_noise(3.0, 22050), 22050)
    text = objective_cost.main([str(tmp_path / "style.wav"), "--style-seconds", "2.5",
                                "--filters", "32", "--frames", "30", "--batches", "1", "2",
                                "--factors", "none", "1e-3", "--repeats", "1",
                                "--threads", "1", "--out", str(tmp_path / "cost.json")])
    rows = json.loads((tmp_path / "cost.json").read_text())["rows"]
    assert [(r["factor"], r["batch"]) for r in rows] == [
        ("none", 1), ("none", 2), (1e-3, 1), (1e-3, 2)]
    assert all(r["ms_per_chunk"] > 0 for r in rows) and rows[0]["ranks"] == [None]
    assert rows[2]["ranks"][0] is None or 0 < rows[2]["ranks"][0] < 16  # below half the filters
    assert "| none | full Gram |" in text


def test_objective_cost_benchmark_factors_every_width(tmp_path):
    import soundfile as sf

    from benchmarks import objective_cost

    sf.write(tmp_path / "style.wav", signals.rhythmic_noise(3.0, 22050), 22050)
    text = objective_cost.main([str(tmp_path / "style.wav"), "--style-seconds", "2.5",
                                "--filters", "32", "--frames", "30", "--batches", "1",
                                "--kernel-sizes", "3", "5", "--factors", "none", "1e-3",
                                "--repeats", "1", "--threads", "1",
                                "--out", str(tmp_path / "cost.json")])
    rows = json.loads((tmp_path / "cost.json").read_text())["rows"]
    assert [len(r["ranks"]) for r in rows] == [2, 2]
    assert "| none | full Gram / full Gram |" in text


def test_chunk_plan_benchmark_shows_no_double_work(tmp_path):
    from benchmarks import chunk_plan

    rows = {r["seconds"]: r for r in chunk_plan.rows(Settings())}
    assert rows[10.006]["chunks"] == 1 and rows[10.006]["ratio_before"] == pytest.approx(2.0)
    assert all(r["ratio"] <= 1.12 for r in rows.values())
    out = tmp_path / "plan.json"
    assert "| 20 s | 862 | 3 x 319 |" in chunk_plan.main(["--seconds", "20", "--out", str(out)])
    assert [r["chunks"] for r in json.loads(out.read_text())["rows"]] == [3]


def test_the_recorded_chunk_plan_is_what_the_script_computes_today():
    # exact arithmetic: the committed figures must follow the engine's plan
    from benchmarks import chunk_plan

    recorded = json.loads(chunk_plan.RESULT.read_text())["rows"]
    assert recorded == json.loads(json.dumps(chunk_plan.rows(Settings())))


def test_result_files_replace_only_the_entries_a_run_made(tmp_path):
    from benchmarks.measures import parse_sets, update_result

    path = tmp_path / "r.json"
    update_result(path, "files", {"x": 1})
    update_result(path, "long", {"x": 2})
    update_result(path, "files", {"x": 3})
    assert json.loads(path.read_text()) == {"files": {"x": 3}, "long": {"x": 2}}
    assert not list(tmp_path.glob("*.tmp"))
    assert parse_sets(["iterations=5", "precision=bf16", "kernel_sizes=[3, 5]", "x=true"]) == {
        "iterations": 5, "precision": "bf16", "kernel_sizes": (3, 5), "x": True}
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        parse_sets(["iterations"])


def test_demo_benchmark_measures_each_output_against_the_shipped_style(tmp_path, monkeypatch):
    import shutil

    from benchmarks import demo, measures

    monkeypatch.setattr(measures, "EVAL_FILTERS", 16)
    monkeypatch.setattr(measures, "EVAL_WIDTHS", (3, 5))
    shutil.copyfile(demo.EXAMPLES / "texture.wav", tmp_path / "input_texture.wav")
    shutil.copyfile(demo.EXAMPLES / "melody.wav", tmp_path / "input_melody.wav")
    figures = demo.measure(tmp_path)
    assert set(figures) == {"input_texture.wav", "input_melody.wav"}
    assert figures["input_texture.wav"]["style_distance_best_gain"] == pytest.approx(0, abs=1e-6)
    assert figures["input_melody.wav"]["style_distance_best_gain"] > 0.1
    assert figures["input_melody.wav"]["content_corr"] == pytest.approx(1.0)


def test_top_band_levels_see_the_octave_above_the_classic_band():
    from benchmarks import real_music

    sr = 44100
    noise = np.random.default_rng(0).standard_normal((1, sr))
    white = real_music.top_band_levels(noise, sr)
    widths = [hi - lo for lo, hi in real_music.TOP_BANDS_HZ]
    for level, width in zip(white, widths):  # white noise: each band's share of the spectrum
        assert level == pytest.approx(10 * np.log10(width / (sr / 2)), abs=0.3)
    tone = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr)
    assert max(real_music.top_band_levels(tone, sr)) < -100
    assert real_music.top_band_levels(noise, 22050) is None  # no such bands at 22.05 kHz
