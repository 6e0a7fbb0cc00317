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
