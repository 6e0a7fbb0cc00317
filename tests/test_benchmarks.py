"""The engine benchmark's quick path, shrunk further, end to end (figures exist and are sane)."""

import json

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("librosa")

from benchmarks import bench_engine, signals  # noqa: E402


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
    results = bench_engine.main([
        "--quick", "--seconds", "1", "--filters", "16", "--iterations", "4",
        "--baseline-griffin-lim", "20", "--parts", "main,classic_edges,griffin_lim,optimiser,gpu",
        "--device", "cpu", "--gpu-minutes", "0.05",
        "--threads", "1", "--out", str(tmp_path), "--tag", "t"])
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
    saved = json.loads((tmp_path / "t_main.json").read_text())
    assert saved["figures"]["loss_ratio"] == pytest.approx(fig["loss_ratio"])
    assert (tmp_path / "t_neuralfx.wav").exists() and (tmp_path / "t_griffin_lim.json").exists()


def test_style_floor_measures_a_style_against_its_own_continuation():
    from benchmarks.quality import style_floor

    drone, rhythm = style_floor(["drone", "rhythmic_noise"], 1.5)
    assert drone["style"] == "drone" and 0 < drone["style_distance"] < 2
    # the drum pattern repeats every bar: its continuation keeps the rhythm
    assert rhythm["rhythm_similarity"] > 0.9
