"""The engine against the literal notebook pipeline, on synthetic clips, part by part.

Runs neuralfx and :mod:`benchmarks.baseline` in the same process, on the same content and style
clips (a synthesised melody and a noisy rhythmic texture, :mod:`benchmarks.signals`), with the
same random network, and reports:

- final loss neuralfx / baseline, both evaluated in fp32 by the baseline's loss function;
- total wall time (and process CPU time) neuralfx / baseline;
- Griffin-Lim: the time neuralfx's fast Griffin-Lim needs to reach the spectral convergence
  that 500 plain iterations reach, / the time of those 500 plain iterations;
- held-out style distance and content similarity of both outputs (:mod:`benchmarks.measures`);
- ``classic_edges``: the same for neuralfx with ``pad_edges=False``, the classic objective
  exactly (the main run's default pads the signal's ends, a slightly different problem);
- ``gpu`` (needs ``--device cuda``): the real-time factor of a 4-minute stereo input with
  classic settings and the fraction of the device's matmul peak reached while optimising;
- peak RSS of a render of 1, 5 and 10 minutes (each in a fresh subprocess);
- bf16 vs fp32 speed of a matmul and of one loss+gradient evaluation on this CPU.

Every part writes its figures as it finishes, as one entry of
``benchmarks/results/engine_vs_literal.json`` (a newer run of a part replaces that entry), so a
crash loses nothing. Arrays and audio that later parts reuse (the main run's optimised
spectrograms and outputs) go to ``--work`` (a temporary folder), never into the repository.
Usage::

    python -m benchmarks.engine_vs_literal                 # everything, classic settings, 10 s
    python -m benchmarks.engine_vs_literal --quick         # smoke run, < 1 minute
    python -m benchmarks.engine_vs_literal --parts main --seconds 10 --iterations 300
    python -m benchmarks.engine_vs_literal --parts memory --memory-minutes 1 5 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks import baseline, signals
from benchmarks.measures import machine, result_path, timer, update_result
from neuralfx import engine
from neuralfx.settings import Settings
from neuralfx.spectral import griffin_lim, initial_phase, magnitude_from_log, spectral_convergence
from neuralfx.style import compute_style_statistics, network_for
from neuralfx.synthesis import Objective

SR = 22050
RESULT = result_path(__file__)
WORK = Path(tempfile.gettempdir()) / "neuralfx-engine-vs-literal"
PARTS = ("main", "classic_edges", "griffin_lim", "quality", "optimiser", "precision", "memory",
         "gpu")


@dataclass
class Config:
    seconds: float = 10.0
    iterations: int = 300
    n_filters: int = 4096
    baseline_griffin_lim: int = 500
    memory_minutes: tuple[float, ...] = (1.0, 5.0, 10.0)
    memory_iterations: int = 1
    precision_seconds: float = 1.0
    gpu_minutes: float = 4.0
    device: str = "cuda"
    seed: int = 0
    out: Path = RESULT
    work: Path = WORK  # arrays and audio the later parts reuse


QUICK = dict(seconds=2.0, iterations=10, n_filters=128, baseline_griffin_lim=100,
             memory_minutes=(0.1, 0.3), memory_iterations=1, precision_seconds=1.0,
             gpu_minutes=0.2)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save(cfg: Config, name: str, data: dict) -> None:
    """The part ``name``'s figures, as that entry of the result file."""
    update_result(cfg.out, name, data)


def clips(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Content (melody) and style (rhythmic noise), mono float32 at 22050 Hz."""
    return signals.melody(cfg.seconds, SR), signals.rhythmic_noise(cfg.seconds, SR)


def classic_settings(cfg: Config) -> Settings:
    # classic method; one chunk covers the whole clip, as in the notebook
    return Settings(n_filters=cfg.n_filters, iterations=cfg.iterations, seed=cfg.seed,
                    device="cpu", chunk_seconds=max(10.0, cfg.seconds + 1.0))


def classic_loss(settings: Settings, content: np.ndarray, style: np.ndarray
                 ) -> baseline.ClassicLoss:
    """The baseline's fp32 direct-Gram loss with the shared network: one yardstick for both
    pipelines' final points."""
    return baseline.ClassicLoss(network_for(settings).weights[0],
                                baseline.log_spectrogram(style),
                                baseline.log_spectrogram(content))


def run_neuralfx(content: np.ndarray, style: np.ndarray, settings: Settings) -> dict:
    """Style statistics + ``engine.render``, timed. Captures the optimised log-magnitude and
    counts loss+gradient evaluations by wrapping ``engine.optimise`` (the engine is not changed).
    """
    captured: dict = {"evaluations": 0, "history": []}
    inner = engine.optimise

    def optimise(objective, x0, *args, **kwargs):
        def counted(x, index=None):
            f, g = objective(x, index)
            captured["evaluations"] += 1
            return f, g

        on_iteration = kwargs.get("on_iteration")

        def report(it, f):
            captured["history"].append(float(f.sum()))
            if it % 25 == 0:
                log(f"  neuralfx iteration {it}: loss {float(f.sum()):.6g}")
            if on_iteration is not None:
                on_iteration(it, f)

        kwargs["on_iteration"] = report
        with timer(captured.setdefault("times", {}), "optimise"):
            x, f = inner(counted, x0, *args, **kwargs)
        captured["x"] = x.detach().cpu()
        captured["loss"] = f.detach().cpu()
        return x, f

    times: dict = {}
    engine.optimise = optimise
    try:
        with timer(times, "total"):
            with timer(times, "analysis"):
                stats = compute_style_statistics(torch.from_numpy(style), settings)
            out = engine.render(torch.from_numpy(content)[None], stats, settings)
    finally:
        engine.optimise = inner
    times.update(captured["times"])
    times["griffin_lim"] = times["total"] - times["analysis"] - times["optimise"]
    times["griffin_lim_cpu"] = (times["total_cpu"] - times["analysis_cpu"]
                                - times["optimise_cpu"])
    return {"audio": out[0].numpy(), "x": captured["x"], "loss": float(captured["loss"].sum()),
            "evaluations": captured["evaluations"], "times": times,
            "history": captured["history"]}


def part_main(cfg: Config, state: dict) -> dict:
    content, style = clips(cfg)
    settings = classic_settings(cfg)
    log(f"main: {cfg.seconds} s clips, {cfg.n_filters} filters, {cfg.iterations} iterations")
    network_for(settings)  # build the shared random network once, outside both timings
    res: dict = {"machine": machine(), "config": {k: v for k, v in vars(cfg).items()},
                 "settings": settings.as_dict(),
                 "resolved_dtype": str(engine.compute_dtype(settings.precision,
                                                            torch.device("cpu")))}

    log("neuralfx ...")
    nfx = run_neuralfx(content, style, settings)
    log(f"neuralfx done: loss {nfx['loss']:.6g}, {nfx['evaluations']} evaluations, "
        f"{nfx['times']['total']:.1f} s")
    res["neuralfx"] = {k: nfx[k] for k in ("loss", "evaluations", "times", "history")}
    save(cfg, "main", res)

    log("baseline ...")
    base = baseline.run(content, style, seed=cfg.seed, n_filters=cfg.n_filters,
                        maxiter=cfg.iterations,
                        griffin_lim_iterations=cfg.baseline_griffin_lim)
    log(f"baseline done: loss {base.loss:.6g}, {base.evaluations} evaluations, "
        f"{base.times['total']:.1f} s")
    res["baseline"] = {"loss": base.loss, "evaluations": base.evaluations, "times": base.times,
                       "history": base.history}

    # one loss function, fp32, for both final points: the baseline's direct-Gram loss
    loss = classic_loss(settings, content, style)
    # the engine optimises `edge` extra frames at both ends of the signal (cropped before
    # reconstruction); compare the frames of the signal, the problem the baseline solves
    x_nfx = nfx["x"][0]
    frames = base.x.shape[-1]
    edge = max(0, (x_nfx.shape[-1] - frames) // 2)
    with torch.no_grad():
        l_nfx = float(loss.loss(x_nfx[:, edge:edge + frames]))
        l_base = float(loss.loss(torch.from_numpy(base.x)))
    res["neuralfx_edge_frames"] = edge
    bt, nt = base.times, nfx["times"]
    res["figures"] = {
        "final_loss_neuralfx": l_nfx, "final_loss_baseline": l_base,
        "loss_ratio": l_nfx / l_base,
        "wall_time_neuralfx_s": nt["total"], "wall_time_baseline_s": bt["total"],
        "wall_time_ratio": nt["total"] / bt["total"],
        "cpu_time_neuralfx_s": nt["total_cpu"], "cpu_time_baseline_s": bt["total_cpu"],
        "cpu_time_ratio": nt["total_cpu"] / bt["total_cpu"],
        "evaluations_neuralfx": nfx["evaluations"], "evaluations_baseline": base.evaluations,
        "optimise_s_per_evaluation_neuralfx": nt["optimise"] / max(nfx["evaluations"], 1),
        "optimise_s_per_evaluation_baseline": bt["optimise"] / max(base.evaluations, 1),
        "optimise_cpu_s_per_evaluation_neuralfx": nt["optimise_cpu"] / max(nfx["evaluations"], 1),
        "optimise_cpu_s_per_evaluation_baseline": bt["optimise_cpu"] / max(base.evaluations, 1),
    }
    save(cfg, "main", res)
    state.update(content=content, style=style, nfx=nfx, base=base, settings=settings)
    try:
        import soundfile

        for name, audio in (("neuralfx", nfx["audio"]), ("baseline", base.audio)):
            soundfile.write(cfg.work / f"{name}.wav", audio, SR)
        np.save(cfg.work / "baseline_x.npy", base.x)
        np.save(cfg.work / "neuralfx_x.npy", nfx["x"][0].numpy())
    except Exception as e:  # the figures matter, the listening copies are a convenience
        log(f"could not write audio: {e}")
    log(json.dumps(res["figures"], indent=1))
    return res


def _ensure_main(cfg: Config, state: dict) -> None:
    """Later parts reuse the main run's outputs (from this process, or from the saved files)."""
    if "base" in state:
        return
    x_path = cfg.work / "baseline_x.npy"
    if not x_path.exists():
        part_main(cfg, state)
        return
    import soundfile

    content, style = clips(cfg)
    state.update(content=content, style=style, settings=classic_settings(cfg))
    state["base_x"] = np.load(x_path)
    state["audio"] = {n: soundfile.read(cfg.work / f"{n}.wav", dtype="float32")[0]
                      for n in ("neuralfx", "baseline")}


def part_classic_edges(cfg: Config, state: dict) -> dict:
    """neuralfx with ``pad_edges=False`` (the baseline's objective, frame for frame) against
    the main run's baseline result and times (reused, not run again)."""
    _ensure_main(cfg, state)
    base_x = state["base"].x if "base" in state else state["base_x"]
    main = json.loads(cfg.out.read_text())["main"]
    settings = state["settings"].replace(pad_edges=False)
    log("neuralfx, pad_edges=False ...")
    nfx = run_neuralfx(state["content"], state["style"], settings)
    loss = classic_loss(settings, state["content"], state["style"])
    with torch.no_grad():
        l_nfx = float(loss.loss(nfx["x"][0]))
        l_base = float(loss.loss(torch.from_numpy(base_x)))
    from benchmarks.measures import content_similarity, style_distance

    bt, nt = main["baseline"]["times"], nfx["times"]
    quality = {"style_distance": style_distance(nfx["audio"], state["style"], SR),
               "content_similarity": content_similarity(nfx["audio"], state["content"], SR)}
    res = {"machine": machine(), "settings": settings.as_dict(), "quality": quality,
           "neuralfx": {k: nfx[k] for k in ("loss", "evaluations", "times")},
           "figures": {"final_loss_neuralfx": l_nfx, "final_loss_baseline": l_base,
                       "loss_ratio": l_nfx / l_base,
                       "wall_time_ratio": nt["total"] / bt["total"],
                       "cpu_time_ratio": nt["total_cpu"] / bt["total_cpu"],
                       "evaluations_neuralfx": nfx["evaluations"]}}
    save(cfg, "classic_edges", res)
    log(json.dumps(res["figures"], indent=1))
    return res


def part_griffin_lim(cfg: Config, state: dict) -> dict:
    """Time for neuralfx's fast Griffin-Lim (momentum 0.99, its default initial phase) to reach
    the spectral convergence of 500 plain iterations from random phase (librosa), on the
    baseline's optimised magnitude (clamped at 0, the same target for both)."""
    _ensure_main(cfg, state)
    x = state["base"].x if "base" in state else state["base_x"]
    settings: Settings = state["settings"]
    magnitude = magnitude_from_log(torch.from_numpy(x)).numpy()
    n = int(round(cfg.seconds * SR))
    n_fft, hop = settings.n_fft, settings.hop_length
    log(f"griffin-lim: plain x{cfg.baseline_griffin_lim} (librosa) ...")
    w, c = time.perf_counter(), time.process_time()
    y_plain = baseline.griffin_lim(magnitude, n, cfg.baseline_griffin_lim, seed=cfg.seed)
    t_plain, c_plain = time.perf_counter() - w, time.process_time() - c
    m = torch.from_numpy(magnitude)[None]

    def sc(y) -> float:
        return float(spectral_convergence(torch.as_tensor(y).float()[None], m, n_fft, hop)[0])

    target = sc(y_plain)
    log(f"  plain: SC {target:.4f} in {t_plain:.2f} s")

    def fast(k: int) -> np.ndarray:
        phase = initial_phase(settings.phase_init, tuple(m.shape), hop, n_fft,
                              torch.Generator().manual_seed(cfg.seed), torch.device("cpu"))
        audio, _ = griffin_lim(m, n_fft, hop, n, k, settings.griffin_lim_momentum, phase)
        return audio[0].numpy()

    # smallest k that reaches the target: doubling, then bisection
    hi, reached = 1, None
    while hi <= 4 * cfg.baseline_griffin_lim:
        if sc(fast(hi)) <= target:
            reached = hi
            break
        hi *= 2
    res: dict = {"machine": machine(), "magnitude": "baseline x, exp(x) - 1 clamped at 0",
                 "plain_iterations": cfg.baseline_griffin_lim, "plain_sc": target,
                 "plain_time_s": t_plain, "plain_cpu_s": c_plain,
                 "fast_momentum": settings.griffin_lim_momentum,
                 "fast_phase_init": settings.phase_init}
    if reached is None:
        res["fast_iterations_to_reach"] = None
        log("  fast Griffin-Lim never reached the target")
    else:
        lo = hi // 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if sc(fast(mid)) <= target:
                hi = mid
            else:
                lo = mid
        t_fast, c_fast = _median_time(lambda: fast(hi))
        res.update(fast_iterations_to_reach=hi, fast_sc=sc(fast(hi)), fast_time_s=t_fast,
                   fast_cpu_s=c_fast, time_ratio=t_fast / t_plain, cpu_time_ratio=c_fast / c_plain)
        log(f"  fast: {hi} iterations, {t_fast:.3f} s wall ({res['time_ratio']:.4f} of plain), "
            f"{c_fast:.3f} s CPU ({res['cpu_time_ratio']:.4f} of plain)")
    # the engine's default iterations, and torch's plain loop, for context
    w, c = time.perf_counter(), time.process_time()
    y_default = fast(settings.griffin_lim_iterations)
    res["fast_default_iterations"] = settings.griffin_lim_iterations
    res["fast_default_time_s"] = time.perf_counter() - w
    res["fast_default_cpu_s"] = time.process_time() - c
    res["fast_default_sc"] = sc(y_default)
    save(cfg, "griffin_lim", res)
    return res


def part_quality(cfg: Config, state: dict) -> dict:
    from benchmarks.measures import content_similarity, style_distance

    _ensure_main(cfg, state)
    audio = state.get("audio") or {"neuralfx": state["nfx"]["audio"],
                                   "baseline": state["base"].audio}
    res: dict = {}
    for name, y in audio.items():
        res[name] = {"style_distance": style_distance(y, state["style"], SR),
                     "content_similarity": content_similarity(y, state["content"], SR)}
    res["reference"] = {"content_vs_style_distance": style_distance(state["content"],
                                                                     state["style"], SR)}
    save(cfg, "quality", res)
    log(f"quality: {json.dumps(res)}")
    return res


def part_optimiser(cfg: Config, state: dict) -> dict:
    """The optimisers alone on one identical problem: same frames, same starting noise, same
    fp32 direct-Gram loss (the baseline's). scipy L-BFGS-B vs ``neuralfx.synthesis.lbfgs``."""
    from neuralfx.synthesis import lbfgs

    content, style = clips(cfg)
    loss = classic_loss(classic_settings(cfg), content, style)
    shape = tuple(baseline.log_spectrogram(content).shape)
    log(f"optimiser: {cfg.seconds} s, {cfg.n_filters} filters, {cfg.iterations} iterations")
    times: dict = {}
    with timer(times, "scipy"):
        x_s, _ = baseline.lbfgs(loss, shape, cfg.iterations, cfg.seed)
    evaluations_scipy = loss.evaluations
    x0 = torch.from_numpy(np.random.default_rng(cfg.seed).standard_normal(shape)
                          * baseline.INIT_STD).float()[None]
    count = {"n": 0}

    def loss_and_grad(x, index=None):
        count["n"] += len(x)
        xs = x.detach().requires_grad_(True)
        with torch.enable_grad():
            losses = torch.stack([loss.loss(xi) for xi in xs])
            losses.sum().backward()
        return losses.detach(), xs.grad

    with timer(times, "neuralfx"):
        x_n, _ = lbfgs(loss_and_grad, x0, cfg.iterations)
    with torch.no_grad():
        l_s, l_n = float(loss.loss(torch.from_numpy(x_s))), float(loss.loss(x_n[0]))
    res = {"config": {"seconds": cfg.seconds, "n_filters": cfg.n_filters,
                      "iterations": cfg.iterations},
           "loss_scipy": l_s, "loss_neuralfx_lbfgs": l_n, "loss_ratio": l_n / l_s,
           "evaluations_scipy": evaluations_scipy, "evaluations_neuralfx_lbfgs": count["n"],
           "times": times}
    save(cfg, "optimiser", res)
    log(f"optimiser: {json.dumps(res)}")
    return res


def _median_time(fn, repeats: int = 3) -> tuple[float, float]:
    """Median wall and process-CPU seconds of ``fn()``. With one thread, CPU time is the
    figure to trust on a shared machine: wall time depends on the other jobs."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)), float(np.median(cpu))


def part_precision(cfg: Config, state: dict) -> dict:
    """bf16 vs fp32 on this CPU: a 1024^3 matmul and one loss+gradient evaluation of a
    ``precision_seconds`` chunk with the classic network, warm, with and without the style's
    Gram factor. (Emulated bf16 is so slow that bigger sizes cost minutes of a shared
    machine.)"""
    res: dict = {"machine": machine()}
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for dt in (torch.float32, torch.bfloat16):
        x, y = a.to(dt), b.to(dt)
        x @ y  # warm-up
        t, c = _median_time(lambda x=x, y=y: x @ y, repeats=3 if dt == torch.float32 else 1)
        res[f"matmul_1024_{dt}"] = {"s": t, "cpu_s": c, "gflops_cpu": 2 * 1024**3 / c / 1e9}
        log(f"precision: matmul {dt}: {t:.3f} s wall, {c:.3f} s CPU")
    settings = Settings(n_filters=cfg.n_filters, device="cpu", seed=cfg.seed)
    net = network_for(settings)
    style = torch.from_numpy(signals.rhythmic_noise(cfg.precision_seconds, SR))
    content = torch.from_numpy(signals.melody(cfg.precision_seconds, SR))
    grams = compute_style_statistics(style, settings).grams
    from neuralfx.spectral import log_spectrogram

    spec = log_spectrogram(content, settings.n_fft, settings.hop_length)[None]
    x0 = torch.randn(spec.shape, generator=torch.Generator().manual_seed(0)) * 1e-3
    stats = compute_style_statistics(style, settings)
    losses = {}
    # Warm both precisions first (weights cast, FFT kernels built), then time them in turns:
    # a single cold evaluation counts the fp32 FFT kernels' construction against fp32. With
    # the style's Gram factor (a style of up to n_filters / 2 frames, as in a render of a
    # 10 s style) and without it (a long style).
    for factor in (True, False):
        factors = stats.factors if factor else None
        objectives = {dt: Objective(net, grams, spec, settings.content_weight, 1.0, dt,
                                    style_factors=factors)
                      for dt in (torch.float32, torch.bfloat16)}
        for obj in objectives.values():
            obj(x0)
        times = {dt: [] for dt in objectives}
        for _ in range(3):
            for dt, obj in objectives.items():
                w, c = time.perf_counter(), time.process_time()
                losses[f"{dt}_factor_{factor}"] = float(obj(x0)[0][0])
                times[dt].append((time.perf_counter() - w, time.process_time() - c))
        for dt, runs in times.items():
            t, c = (float(np.median([r[k] for r in runs])) for k in (0, 1))
            key = "evaluation" if factor else "evaluation_no_factor"
            res[f"{key}_{dt}"] = {"s": t, "cpu_s": c, "frames": spec.shape[-1]}
            log(f"precision: one evaluation {dt}, factor {factor}: {t:.2f} s wall, "
                f"{c:.2f} s CPU (median of 3, warm)")
    for what in ("matmul_1024", "evaluation", "evaluation_no_factor"):
        res[f"bf16_speedup_{what}_cpu"] = (res[f"{what}_torch.float32"]["cpu_s"]
                                           / res[f"{what}_torch.bfloat16"]["cpu_s"])
    res["losses"] = losses
    save(cfg, "precision", res)
    return res


def evaluation_flops(n_bins: int, n_filters: int, width: int, frames: int,
                     style_rank: int | None) -> float:
    """Multiply-add work (as 2 flops each) of one loss+gradient evaluation of one chunk of
    ``frames`` optimised frames with one kernel width: the convolution forward and its
    backward (direct form, as cuDNN runs it) and the Gram loss as
    :func:`neuralfx.synthesis.style_loss` computes it."""
    t = frames - width + 1
    conv = 2 * 2 * n_filters * n_bins * width * t
    if t < n_filters:
        gf = 4 * n_filters * style_rank * t if style_rank else 2 * n_filters**2 * t
        gram = 2 * 2 * n_filters * t * t + gf
    else:
        gram = 2 * 2 * n_filters**2 * t
    return float(conv + gram)


def part_gpu(cfg: Config, state: dict) -> dict:
    """Classic settings on ``cfg.device`` (CUDA): render ``gpu_minutes`` of stereo content
    (two different melodies) towards a 10 s style; report the real-time factor (render wall
    time / audio duration; style analysis included) and the achieved fraction of the device's
    matmul peak (analytic flops of the evaluations / optimisation time, against a large
    matmul in the engine's compute dtype timed on the same device)."""
    res: dict = {"machine": machine(), "device": cfg.device}
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        res["skipped"] = "CUDA is not available on this machine"
        log(f"gpu: {res['skipped']}")
        save(cfg, "gpu", res)
        return res
    settings = Settings(n_filters=cfg.n_filters, iterations=cfg.iterations, seed=cfg.seed,
                        device=cfg.device)
    dtype = engine.compute_dtype(settings.precision, device)
    res["compute_dtype"] = str(dtype)
    if device.type == "cuda":
        res["gpu"] = torch.cuda.get_device_name(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    with engine.matmul_precision(settings.precision):
        for _ in range(3):
            a @ b
        sync()
        w = time.perf_counter()
        for _ in range(10):
            a @ b
        sync()
        peak = 10 * 2 * n**3 / (time.perf_counter() - w)
    res["matmul_peak_tflops"] = peak / 1e12
    del a, b
    seconds = cfg.gpu_minutes * 60
    content = torch.from_numpy(np.stack([signals.melody(seconds, SR, seed=0),
                                         signals.melody(seconds, SR, seed=5)]))
    style = torch.from_numpy(signals.rhythmic_noise(10.0, SR))
    network_for(settings)
    work = {"flops": 0.0, "optimise_s": 0.0, "chunk_evaluations": 0}
    inner = engine.optimise

    def optimise(objective, x0, *args, **kwargs):
        rank = None
        if objective.style_factors is not None and objective.style_factors[0] is not None:
            rank = objective.style_factors[0].shape[1]

        def counted(x, index=None):
            chunks = x.shape[0]
            work["chunk_evaluations"] += chunks
            work["flops"] += chunks * sum(
                evaluation_flops(settings.n_bins, settings.n_filters, k, x.shape[-1], rank)
                for k in settings.kernel_sizes)
            return objective(x, index)

        sync()
        w = time.perf_counter()
        out = inner(counted, x0, *args, **kwargs)
        sync()
        work["optimise_s"] += time.perf_counter() - w
        return out

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    engine.optimise = optimise
    try:
        w = time.perf_counter()
        stats = compute_style_statistics(style, settings, device)
        out = engine.render(content, stats, settings)
        sync()
        wall = time.perf_counter() - w
    finally:
        engine.optimise = inner
    assert out.shape == content.shape and torch.isfinite(out).all()
    achieved = work["flops"] / max(work["optimise_s"], 1e-9)
    res.update({
        "audio_seconds": seconds, "channels": 2, "render_wall_s": wall,
        "real_time_factor": wall / seconds, "optimise_s": work["optimise_s"],
        "chunk_evaluations": work["chunk_evaluations"],
        "achieved_tflops": achieved / 1e12, "fraction_of_matmul_peak": achieved / peak,
        "group_size": engine.group_size(settings, settings.chunk_frames
                                        + 2 * settings.edge_frames, device),
    })
    if device.type == "cuda":
        res["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    save(cfg, "gpu", res)
    log(f"gpu: {json.dumps(res, default=str)}")
    return res


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB. VmHWM, not ``ru_maxrss``: on Linux the
    latter carries the parent's peak over ``fork``/``exec``, so a child would report at least
    the parent's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(minutes: float, iterations: int, n_filters: int, seed: int) -> dict:
    """Render ``minutes`` of content in this process; report peak RSS (run in a subprocess)."""
    os.environ["NEURALFX_CACHE_DIR"] = "off"
    seconds = minutes * 60
    settings = Settings(n_filters=n_filters, iterations=iterations, seed=seed, device="cpu")
    rss0 = _peak_rss_mb()
    content = torch.from_numpy(signals.melody(seconds, SR))[None]
    style = torch.from_numpy(signals.rhythmic_noise(10.0, SR))
    network_for(settings)
    stats = compute_style_statistics(style, settings)
    rss_ready = _peak_rss_mb()
    chunks = {"n": 0}

    def progress(p):
        chunks["n"] = p.chunks_total

    w = time.perf_counter()
    out = engine.render(content, stats, settings, progress=progress)
    wall = time.perf_counter() - w
    assert out.shape == content.shape and torch.isfinite(out).all()
    frames = engine.n_frames(content.shape[-1], settings.hop_length)
    plan = engine.plan_chunks(frames, settings.chunk_frames, settings.overlap_frames,
                              settings.receptive_field)
    return {"minutes": minutes, "iterations": iterations, "n_filters": n_filters,
            "chunks": len(plan), "group_size": engine.group_size(settings, plan.length,
                                                                  torch.device("cpu")),
            "peak_rss_mb": _peak_rss_mb(), "rss_after_imports_mb": rss0,
            "rss_before_render_mb": rss_ready,
            "audio_buffers_mb": 2 * content.numel() * 4 / 2**20, "wall_s": wall}


def part_memory(cfg: Config, state: dict) -> dict:
    res: dict = {"machine": machine(), "runs": []}
    for minutes in cfg.memory_minutes:
        log(f"memory: {minutes} min, {cfg.memory_iterations} iteration(s) ...")
        cmd = [sys.executable, "-m", "benchmarks.engine_vs_literal", "--memory-child", str(minutes),
               "--iterations", str(cfg.memory_iterations), "--filters", str(cfg.n_filters),
               "--seed", str(cfg.seed), "--threads", str(torch.get_num_threads())]
        root = Path(__file__).resolve().parent.parent
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"memory child for {minutes} min failed:\n{proc.stderr[-3000:]}")
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        res["runs"].append(run)
        log(f"  peak RSS {run['peak_rss_mb']:.0f} MB, {run['chunks']} chunks, "
            f"{run['wall_s']:.0f} s")
        save(cfg, "memory", res)
    return res


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke run (< 1 minute), written to --work, not to the results")
    p.add_argument("--seconds", type=float, help="length of the content and style clips")
    p.add_argument("--iterations", type=int, help="L-BFGS iterations for both (classic 300)")
    p.add_argument("--filters", type=int, help="filters of the random network (classic 4096)")
    p.add_argument("--baseline-griffin-lim", type=int, help="plain Griffin-Lim iterations")
    p.add_argument("--memory-minutes", type=float, nargs="+", help="input lengths, minutes")
    p.add_argument("--memory-iterations", type=int)
    p.add_argument("--precision-seconds", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--gpu-minutes", type=float, help="length of the stereo input of part gpu")
    p.add_argument("--device", help="device of part gpu (default cuda)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    p.add_argument("--work", type=Path, default=WORK,
                   help="folder for the arrays and audio later parts reuse")
    p.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> dict:
    p = parser()
    a = p.parse_args(argv)
    if a.memory_child is not None:
        if a.threads:
            torch.set_num_threads(a.threads)
        print(json.dumps(memory_child(a.memory_child, a.iterations or 1, a.filters or 4096,
                                      a.seed or 0)))
        return {}
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = Config(**(QUICK if a.quick else {}))
    for arg, name in (("seconds", "seconds"), ("iterations", "iterations"),
                      ("filters", "n_filters"), ("baseline_griffin_lim", "baseline_griffin_lim"),
                      ("memory_iterations", "memory_iterations"),
                      ("precision_seconds", "precision_seconds"), ("seed", "seed"),
                      ("gpu_minutes", "gpu_minutes"), ("device", "device"), ("work", "work")):
        if getattr(a, arg) is not None:
            setattr(cfg, name, getattr(a, arg))
    # a smoke run never replaces the recorded figures
    cfg.out = cfg.work / "quick.json" if a.quick and a.out == RESULT else a.out
    cfg.work.mkdir(parents=True, exist_ok=True)
    if a.memory_minutes:
        cfg.memory_minutes = tuple(a.memory_minutes)
    parts = [s.strip() for s in a.parts.split(",") if s.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        p.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    state: dict = {}
    results = {}
    for name in PARTS:
        if name in parts:
            results[name] = globals()[f"part_{name}"](cfg, state)
    return results


if __name__ == "__main__":
    main()
