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
    from benchmarks import measures

    sr = 44100
    noise = np.random.default_rng(0).standard_normal((1, sr))
    white = measures.top_band_levels(noise, sr)
    widths = [hi - lo for lo, hi in measures.TOP_BANDS_HZ]
    for level, width in zip(white, widths):  # white noise: each band's share of the spectrum
        assert level == pytest.approx(10 * np.log10(width / (sr / 2)), abs=0.3)
    tone = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr)
    assert max(measures.top_band_levels(tone, sr)) < -100
    assert measures.top_band_levels(np.zeros(sr), sr) == [-200.0] * 3  # silence: no band
    assert measures.top_band_levels(noise, 22050) is None  # no such bands at 22.05 kHz


def _stepped_envelope(seconds: float, sr: int, step: float = 0.25) -> np.ndarray:
    """A level that jumps every ``step`` seconds between -30 and 0 dB, ``(seconds * sr,)``."""
    levels = np.random.default_rng(1).uniform(-30, 0, int(np.ceil(seconds / step)))
    return np.repeat(10 ** (levels / 20), int(step * sr))[:int(seconds * sr)]


def test_top_envelope_follows_the_music_and_a_floor_does_not():
    from benchmarks import measures

    sr, seconds = 44100, 4.0
    t = np.arange(int(seconds * sr)) / sr
    hiss = 0.01 * np.random.default_rng(0).standard_normal(len(t))  # all bands, quiet
    env = _stepped_envelope(seconds, sr)
    lower = np.sin(2 * np.pi * 2000 * t)  # a louder 1-11 kHz band
    # highs that move with a louder lower band: the envelope's spread is the level steps'
    moving = measures.top_envelope(env * (lower + hiss), sr)
    assert moving["corr"] > 0.95 and moving["spread_db"] > 5
    # a stationary floor under the same music: hardly any spread, follows nothing
    floor = measures.top_envelope(env * lower + hiss, sr)
    assert floor["spread_db"] < 1 and abs(floor["corr"]) < 0.3
    # frames more than 40 dB below the loudest 1-11 kHz frame are left out (a silent gap)
    gap = env * (lower + hiss)
    gap[sr:2 * sr] *= 1e-4
    assert measures.top_envelope(gap, sr)["spread_db"] == pytest.approx(
        measures.top_envelope(np.concatenate([gap[:sr], gap[2 * sr:]]), sr)["spread_db"],
        abs=0.5)
    white = measures.top_envelope(np.random.default_rng(2).standard_normal((2, len(t))), sr)
    assert white["spread_db"] < 0.5
    tone = measures.top_envelope(lower, sr)  # only leakage up there, far down: still finite
    assert np.isfinite(tone["spread_db"]) and np.isfinite(tone["corr"])
    # other rates are measured at 44.1 kHz; silence has no NaN; no top band: None
    at_48k = measures.top_envelope(np.interp(np.arange(int(seconds * 48000)) / 48000, t,
                                             env * (lower + hiss)), 48000)
    assert at_48k["corr"] > 0.9 and at_48k["spread_db"] == pytest.approx(
        moving["spread_db"], abs=1.0)
    assert measures.top_envelope(np.zeros(sr), sr) == {"spread_db": 0.0, "corr": 0.0}
    assert measures.top_envelope(hiss, 22050) is None
    assert measures.top_envelope(hiss[:1000], sr) is None  # under one frame


def test_full_band_low_pass_empties_the_band_above_its_cutoff():
    from benchmarks import full_band, measures

    sr = 44100
    noise = np.random.default_rng(0).standard_normal((1, 2 * sr))
    low = full_band.low_pass(noise, sr)
    before, after = measures.top_band_levels(noise, sr), measures.top_band_levels(low, sr)
    assert low.shape == noise.shape and low.dtype == np.float32
    def absolute(levels, x):  # levels relative to the whole signal -> to full scale
        return np.array(levels) + 10 * np.log10(np.mean(x ** 2))

    assert absolute(after, low)[0] == pytest.approx(absolute(before, noise)[0], abs=0.1)
    assert after[2] < -100  # 17-22 kHz: nothing
    # linear phase, its delay removed: the pass band lines up with the input
    assert np.corrcoef(low[0], noise[0])[0, 1] > 0.8


def test_full_band_benchmark_records_every_output_and_prints_the_targets(tmp_path, monkeypatch):
    import soundfile as sf

    from benchmarks import full_band, measures
    from neuralfx.effect import PARAMETERS

    monkeypatch.setattr(measures, "EVAL_FILTERS", 16)
    monkeypatch.setattr(measures, "EVAL_WIDTHS", (3, 5))
    sr = 44100
    source = tmp_path / "files"
    source.mkdir()
    sf.write(source / "content.wav", np.stack([signals.melody(2.5, sr, seed=1),
                                               signals.melody(2.5, sr, seed=2)], axis=1), sr)
    sf.write(source / "style.wav", signals.rhythmic_noise(3.0, sr), sr)
    mono = tmp_path / "mono"
    made = full_band.main(["--make-mono", str(mono), "--source", str(source)])
    assert made == {"files": [str(mono / "content.wav"), str(mono / "style.wav")]}
    audio, _ = sf.read(mono / "content.wav")
    stereo, _ = sf.read(source / "content.wav")
    assert audio.ndim == 1 and np.allclose(audio, stereo.mean(axis=1), atol=1e-6)

    out = tmp_path / "full_band.json"
    doc = full_band.main(["--data", str(mono), "--pair", "content.wav", "style.wav",
                          *TINY_REAL[:12], "--seconds", "2", "--presets", "draft",
                          "--seeds", "0", "1", "--out", str(out), "--no-warm-up"])
    assert json.loads(out.read_text()) == json.loads(json.dumps(doc))
    values = [False, True] if "full_band" in PARAMETERS else [None]
    pair = [r for r in doc["runs"] if r["check"] == "pair"]
    floor = [r for r in doc["runs"] if r["check"] == "floor"]
    # off and on side by side, the order alternating with the seed; the floor check: seed 0
    assert [(r["seed"], r["full_band"]) for r in pair] == (
        [(0, v) for v in values] + [(1, v) for v in values[::-1]])
    assert [(r["seed"], r["full_band"]) for r in floor] == [(0, values[-1])]
    for r in doc["runs"]:
        for key in ("wall_s", "cpu_s", "style_distance", "style_distance_best_gain", "peak",
                    "loudness_out_lufs", "top_spread_db", "top_corr", "top_spread_db_style",
                    "top_corr_style", "top_spread_db_input", "top_corr_input"):
            assert isinstance(r[key], float) and np.isfinite(r[key]), key
        for key in ("top_band_db", "top_band_db_style", "top_band_db_input"):
            assert len(r[key]) == 3 and all(-200 <= v <= 0 for v in r[key]), key
        assert r["sample_rate"] == sr and r["seconds"] == 2 and r["preset"] == "draft"
    assert floor[0]["top_band_db_style"][2] < -100  # the floor check's style has no highs
    assert pair[0]["top_band_db_style"][2] > -100
    assert doc["command"][:3] == ["python", "-m", "benchmarks.full_band"]

    text = full_band.main(["--table", str(out)])
    assert "Targets: 11-14 and 14-17 kHz within 6 dB" in text and "Floor check" in text
    assert "| draft | " in text and "| content.wav -> style.wav, worst |" in text
    for value in values:
        assert f"| draft | {value} | mean of 2 (2 seeds) |" in text


def test_full_band_figures_judge_each_target():
    from benchmarks.full_band import figures, misses

    style = {"top_band_db_style": [-40.0, -50.0, -150.0], "top_spread_db_style": 10.0}
    off = {**style, "top_band_db": [-150.0, -150.0, -150.0], "top_spread_db": 1.0,
           "top_corr": -0.2, "wall_s": 10.0, "cpu_s": 20.0, "style_distance_best_gain": 0.2}
    on = {**off, "top_band_db": [-42.0, -60.0, -100.0], "top_spread_db": 6.0,
          "top_corr": 0.6, "wall_s": 11.0, "cpu_s": 21.0, "style_distance_best_gain": 0.2}
    f = figures(on, off)
    assert f["level_db"] == [-2.0, -10.0] and f["above_empty_db"] == 50.0
    assert f["spread_ratio"] == 0.6 and f["time_ratio"] == pytest.approx(1.1)
    assert f["distance_ratio"] == 1.0
    assert misses(f) == ["14-17 kHz level", "floor"]
    f = figures(off, off)  # itself: no ratios
    assert f["time_ratio"] is None and f["distance_ratio"] is None
    assert misses(f) == ["11-14 kHz level", "14-17 kHz level", "spread", "corr"]
