"""``neuralfx.batch``: the batch as a library, locally and on a local Ray runtime.

The Ray tests share one runtime started by this module (2 CPUs, no dashboard, a small object
store), are marked ``heavy`` (``pytest -m heavy`` runs them; the default run skips them) and
skip where Ray is not installed. Renders use tiny settings (well under a second).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neuralfx import batch
from neuralfx.batch import (
    BatchError,
    BatchResult,
    Job,
    OutputOptions,
    RayOptions,
    ray_executor,
    ray_groups,
)
from neuralfx.batch import files as batch_files
from neuralfx.effect import NeuralStyle
from neuralfx.presets import load_preset
from tests.test_cli import TINY_SETS, bad_files, invoke, read, tone, write

TINY = dict(n_filters=32, iterations=2, griffin_lim_iterations=2, chunk_seconds=2.0,
            overlap_seconds=0.5, device="cpu")


@pytest.fixture
def style(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((1, 22050)).astype(np.float32) * 0.2
    noise[:, ::2205] = 0.9
    return write(tmp_path / "style.wav", noise, 22050)


def inputs(folder: Path, n: int = 3) -> list[Path]:
    return [write(folder / f"in{k}.wav", tone(0.6, 22050, seed=k), 22050) for k in range(n)]


@pytest.fixture
def one_thread():
    """Outputs are bit-identical for the same torch thread count: the local runs here use
    one thread, like each Ray worker. The network this process keeps (with the kernels it
    derives on first use) is dropped, so that it too is built at one thread, as in a worker."""
    import torch

    from neuralfx.network import random_network

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    random_network.cache_clear()
    yield
    torch.set_num_threads(before)
    random_network.cache_clear()


# --- the library, locally ----------------------------------------------------------------------

def test_process_files_renders_a_folder_and_reports_each_file(tmp_path, style):
    folder = tmp_path / "in"
    inputs(folder, 2)
    (folder / "broken.wav").write_bytes(b"RIFF not audio" * 20)
    preset = load_preset("style 0.01", **TINY)
    result = batch.process_files([folder], preset, tmp_path / "out", style=style)
    assert [j.status for j in result.jobs] == ["failed", "ok", "ok"]  # sorted: broken first
    assert "broken.wav" in result.jobs[0].error
    assert result.exit_status == batch.EXIT_FAILED
    assert result.line == "2 processed, 0 skipped, 1 failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "in0_style-0.01.wav", "in1_style-0.01.wav"]
    summary = result.summary(preset="x")
    assert summary["processed"] == 2 and summary["preset"] == "x"
    assert summary["files"][1]["duration"] == pytest.approx(0.6)
    # a NeuralStyle or a chain works too; the skip policy keeps what exists
    again = batch.process_files([folder], NeuralStyle(style, preset), tmp_path / "out",
                                policy="skip")
    assert [j.status for j in again.jobs] == ["failed", "skipped", "skipped"]


def test_plan_names_outputs_and_marks_clashes(tmp_path):
    a = write(tmp_path / "x" / "a.wav", tone(0.2, 22050), 22050)
    b = write(tmp_path / "y" / "a.wav", tone(0.2, 22050), 22050)
    jobs = batch.plan([a, b, a], tmp_path / "out", template="{index:02d}-{stem}.{ext}",
                      values=dict(preset="p", style="s", seed=1))
    assert [j.output.name for j in jobs] == ["01-a.wav", "02-a.wav"]  # a given twice: once
    jobs = batch.plan([a, b], tmp_path / "out")
    assert [j.status for j in jobs] == ["pending", "failed"]
    assert "also the output of" in jobs[1].error
    with pytest.raises(BatchError, match="no audio files") as e:
        (tmp_path / "empty").mkdir()
        batch.plan([tmp_path / "empty"], tmp_path / "out")
    assert e.value.field == "inputs"
    with pytest.raises(BatchError, match="bogus") as e:
        batch.plan([a], tmp_path / "out", template="{bogus}.wav")
    assert e.value.field == "name_template"
    with pytest.raises(BatchError, match="bit depth") as e:
        OutputOptions("mp3", 24).check()
    assert e.value.field == "bit_depth" and "--" not in str(e.value)
    assert [p["action"] for p in batch.dry_run(jobs)] == ["process", "fail"]


def test_result_exit_status():
    def result(*statuses):
        return BatchResult([Job(Path(f"{k}.wav"), Path("o"), s) for k, s in enumerate(statuses)])

    assert result("ok", "skipped").exit_status == 0
    assert result("ok", "failed").exit_status == 1
    assert result("failed", "interrupted").exit_status == 130
    assert result("failed").failures() == [("0.wav", "")]


def test_a_committed_output_is_recognised_on_retry(tmp_path, style):
    # a Ray worker killed after giving the output its name: the retry does not render again
    src = write(tmp_path / "a.wav", tone(0.4, 22050), 22050)
    from neuralfx.batch.ray_worker import Worker
    from neuralfx.options import RenderOptions

    board = batch.chain_for(load_preset("style 0.01", **TINY), style)
    worker = Worker(1)
    worker.board = board
    staging = tmp_path / "out" / ".staging"
    staging.mkdir(parents=True)
    job = Job(src, tmp_path / "out" / "a.wav")
    options = RenderOptions(precision="fp32")
    first = worker.render_file([], options, job, staging / "0.wav", OutputOptions(), "error")
    assert first.status == "ok", first.error
    worker.board = None  # a retry must not render (it would fetch the chain and fail here)
    again = worker.render_file([], options, Job(src, job.output), staging / "0.wav",
                               OutputOptions(), "error")
    assert (again.status, again.duration) == ("ok", pytest.approx(0.4))
    # someone else's file under that name is never replaced
    other = Job(src, tmp_path / "out" / "b.wav")
    other.output.write_bytes(b"precious")
    (staging / "1.wav").write_bytes(b"rendered")
    with pytest.raises(FileExistsError, match="policy for existing outputs is 'error'"):
        batch_files.commit(staging / "1.wav", other, "error")
    assert batch_files.commit(staging / "1.wav", other, "skip") == "skipped"
    assert other.output.read_bytes() == b"precious"
    assert batch_files.commit(staging / "1.wav", other, "overwrite") == "ok"
    assert other.output.read_bytes() == b"rendered"


def test_executor_ray_without_ray_says_what_to_install(tmp_path, style, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    src = write(tmp_path / "a.wav", tone(0.3, 22050), 22050)
    with pytest.raises(BatchError, match=r"pip install 'neuralfx\[ray\]'") as e:
        batch.process_files([src], load_preset("style 0.01", **TINY), tmp_path / "out",
                            style=style, executor="ray")
    assert e.value.field == "executor"
    result = invoke("process", src, "--style", style, "-o", tmp_path / "out", "-q",
                    *TINY_SETS, "--executor", "ray")
    assert result.exit_code == 2
    assert "pip install 'neuralfx[ray]'" in result.output
    assert not (tmp_path / "out").exists()


def test_ray_options_need_the_ray_executor(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.3, 22050), 22050)
    result = invoke("process", src, "--style", style, "-o", tmp_path / "out", "-q",
                    "--address", "auto")
    assert result.exit_code == 2 and "--executor ray" in result.output
    with pytest.raises(BatchError) as e:
        batch.process_files([src], load_preset("style 0.01", **TINY), tmp_path / "out",
                            style=style, ray=RayOptions(address="auto"))
    assert e.value.field == "ray" and "--" not in str(e.value)


def test_library_errors_name_fields_and_the_cli_names_flags(tmp_path, style):
    src = write(tmp_path / "a.wav", tone(0.3, 22050), 22050)
    preset = load_preset("style 0.01", **TINY)
    for kwargs, field in [(dict(output=OutputOptions(fmt="xyz")), "format"),
                          (dict(output=OutputOptions(sample_rate=100)), "sample_rate"),
                          (dict(name_template="../{stem}.{ext}"), "name_template"),
                          (dict(style=tmp_path / "nope.wav"), "style"),
                          (dict(executor="dask"), "executor")]:
        args = dict(dict(style=style), **kwargs)
        with pytest.raises(BatchError) as e:
            batch.process_files([src], preset, tmp_path / "out", **args)
        assert e.value.field == field, (kwargs, e.value)
        assert "--" not in str(e.value)
    with pytest.raises(BatchError) as e:
        batch.process_files([src], "no such preset", tmp_path / "out", style=style)
    assert e.value.field == "preset"
    assert not (tmp_path / "out").exists()
    result = invoke("process", src, "--style", style, "-o", tmp_path / "out", "-q",
                    "--sample-rate", "100")
    assert result.exit_code == 2 and "--sample-rate" in result.output


# --- the Ray executor --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_runtime(tmp_path_factory):
    ray = pytest.importorskip("ray")
    import logging

    from ray import cloudpickle

    # test-only effects (a worker that dies) travel by value: workers cannot import tests/
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    root = tmp_path_factory.getbasetemp()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 * 1024,
             logging_level=logging.ERROR, log_to_driver=False,
             runtime_env={"env_vars": {"NEURALFX_CACHE_DIR": str(root / "cache"),
                                       "NEURALFX_PRESET_DIR": str(root / "user-presets")}})
    yield ray
    ray.shutdown()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.mark.heavy
def test_ray_runs_like_local_outputs_report_and_exit_status(tmp_path, style, ray_runtime,
                                                            one_thread):
    folder = tmp_path / "in"
    good = inputs(folder, 3)
    bad_files(folder)  # garbage, empty, NaN (and a missing path, given below)
    runs = {}
    for name, extra in [("local", []), ("ray", ["--executor", "ray"]),
                        ("driver", ["--executor", "ray", "--ray-files", "driver"])]:
        result = invoke("process", folder, folder / "missing.wav", "--style", style, "-o",
                        tmp_path / name, "-q", "--json", *TINY_SETS, *extra)
        runs[name] = result
    local = json.loads(runs["local"].stdout)
    assert runs["local"].exit_code == 1 and (local["processed"], local["failed"]) == (3, 4)
    for name in ("ray", "driver"):
        assert runs[name].exit_code == runs["local"].exit_code, runs[name].output
        other = json.loads(runs[name].stdout)
        for key in ("processed", "skipped", "failed", "interrupted"):
            assert other[key] == local[key]
        for a, b in zip(local["files"], other["files"]):
            assert (a["input"], a["status"], a["error"]) == (b["input"], b["status"],
                                                             b["error"])
            assert a.get("duration") == b.get("duration")
        assert runs[name].stderr.count("error:") == runs["local"].stderr.count("error:")
        for f in good:
            out = f"{f.stem}_style-0.01.wav"
            assert np.array_equal(read(tmp_path / "local" / out)[0],
                                  read(tmp_path / name / out)[0]), (name, out)
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == sorted(
            p.name for p in (tmp_path / "local").iterdir())  # no staging folder left


class DiesOnce(NeuralStyle):
    """Kills its own worker process in the middle of its first render (a marker file says
    whether it has been done)."""

    def process_many_channels_first(self, signals, sample_rates, *, options=None):
        if os.path.exists(self._marker):
            os.unlink(self._marker)
            os.kill(os.getpid(), signal.SIGKILL)
        return super().process_many_channels_first(signals, sample_rates, options=options)


@pytest.mark.heavy
def test_ray_worker_killed_during_a_file_is_retried(tmp_path, style, ray_runtime, one_thread):
    src = inputs(tmp_path / "in", 2)
    preset = load_preset("style 0.01", **TINY)
    marker = tmp_path / "kill-once"
    marker.write_text("")
    fx = DiesOnce(style, preset)
    fx._marker = str(marker)
    from neuralfx.chain import Pedalboard

    result = batch.process_files(src, Pedalboard([fx]), tmp_path / "ray", executor="ray",
                                 ray=RayOptions(workers=1, retries=2))
    assert not marker.exists()  # a worker did die
    assert [j.status for j in result.jobs] == ["ok", "ok"], [j.error for j in result.jobs]
    local = batch.process_files(src, Pedalboard([NeuralStyle(style, preset)]),
                                tmp_path / "local")
    for job, ref in zip(result.jobs, local.jobs):
        assert np.array_equal(read(job.output)[0], read(ref.output)[0])
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == [
        "in0_style-0.01.wav", "in1_style-0.01.wav"]


@pytest.mark.heavy
def test_ray_never_overwrites_existing_outputs(tmp_path, style, ray_runtime):
    a, b = inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "in0_style-0.01.wav").write_bytes(b"precious")
    preset = load_preset("style 0.01", **TINY)
    for files in ("shared", "driver"):
        result = batch.process_files([a, b], preset, out, style=style, executor="ray",
                                     ray=RayOptions(files=files))
        assert [j.status for j in result.jobs] == ["failed", "ok" if files == "shared"
                                                   else "failed"]
        assert "'overwrite'" in result.jobs[0].error
        assert (out / "in0_style-0.01.wav").read_bytes() == b"precious"
        if files == "shared":
            (out / "in1_style-0.01.wav").write_bytes(b"also precious")
    result = batch.process_files([a, b], preset, out, style=style, executor="ray",
                                 policy="skip")
    assert [j.status for j in result.jobs] == ["skipped", "skipped"]
    assert (out / "in1_style-0.01.wav").read_bytes() == b"also precious"


@pytest.mark.heavy
def test_ray_bad_address_fails_fast(tmp_path, style, ray_runtime):
    src = write(tmp_path / "a.wav", tone(0.3, 22050), 22050)
    t0 = time.perf_counter()
    result = invoke("process", src, "--style", style, "-o", tmp_path / "out", "-q",
                    *TINY_SETS, "--executor", "ray", "--address", "127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert "cannot reach a Ray cluster at 127.0.0.1:9" in result.output
    assert time.perf_counter() - t0 < 20
    with pytest.raises(BatchError, match="HOST:PORT"):
        batch.connect_ray("no-port-here")


# --- one long file across the Ray workers (RayOptions.chunks) ----------------------------------

LONG = dict(TINY, chunk_seconds=1.0, overlap_seconds=0.25, memory_budget_mb=1)


def long_file(folder: Path) -> Path:
    return write(folder / "long.wav", tone(3.3, 22050, channels=2, seed=5), 22050)


@pytest.mark.heavy
@pytest.mark.parametrize("extra", [dict(), dict(waveform_iterations=2)])
def test_one_long_file_on_ray_chunk_tasks_equals_the_local_render(tmp_path, style, ray_runtime,
                                                                   one_thread, extra):
    src = long_file(tmp_path / "in")
    preset = load_preset("style 0.01", **LONG, **extra)
    local = batch.process_files([src], preset, tmp_path / "local", style=style)
    used = []

    class Counting(ray_groups.RayGroupRunner):
        def __call__(self, groups, style_, settings):
            for result in super().__call__(groups, style_, settings):
                used.append(result.shape)
                yield result

    original = ray_groups.RayGroupRunner
    ray_groups.RayGroupRunner = Counting
    try:  # 1 file, 2 workers: auto sends its chunks to the workers
        result = batch.process_files([src], preset, tmp_path / "ray", style=style,
                                     executor="ray")
    finally:
        ray_groups.RayGroupRunner = original
    assert [j.status for j in result.jobs] == ["ok"], result.jobs[0].error
    assert len(used) > 4  # chunk groups did go to the workers (one chunk per group here)
    assert (result.jobs[0].duration, result.jobs[0].channels) == (pytest.approx(3.3), 2)
    assert np.array_equal(read(result.jobs[0].output)[0], read(local.jobs[0].output)[0])
    off = batch.process_files([src], preset, tmp_path / "off", style=style, executor="ray",
                              ray=RayOptions(chunks="off"))
    assert np.array_equal(read(off.jobs[0].output)[0], read(local.jobs[0].output)[0])


@pytest.mark.heavy
def test_ray_worker_killed_during_a_chunk_task_is_retried(tmp_path, style, ray_runtime,
                                                          one_thread, monkeypatch):
    src = long_file(tmp_path / "in")
    preset = load_preset("style 0.01", **LONG)
    killed = []

    def pid(actor) -> int:
        return ray_runtime.get(actor.__ray_call__.remote(lambda w: os.getpid()))

    class KillsOnce(ray_groups.RayGroupRunner):
        """Kills the worker of the first group while its groups are in flight (the first
        result is awaited right after the first groups are sent)."""

        def __init__(self, ray, actors, new_actor=None):
            super().__init__(ray, actors, new_actor)
            self.pids = {id(a): pid(a) for a in actors}

        def _result(self, actor, ref):
            if not killed:
                os.kill(self.pids[id(actor)], signal.SIGKILL)
                killed.append(actor)
            return super()._result(actor, ref)

    monkeypatch.setattr(ray_groups, "RayGroupRunner", KillsOnce)
    result = batch.process_files([src], preset, tmp_path / "ray", style=style, executor="ray",
                                 ray=RayOptions(chunks="on", workers=2, retries=2))
    assert killed and [j.status for j in result.jobs] == ["ok"], result.jobs[0].error
    local = batch.process_files([src], preset, tmp_path / "local", style=style)
    assert np.array_equal(read(result.jobs[0].output)[0], read(local.jobs[0].output)[0])


# --- one precision for the whole render ---------------------------------------------------------

def test_a_ray_render_decides_auto_once_bf16_only_on_cpus_that_all_have_it():
    assert ray_executor.render_precision(gpu=False, native_bf16=True) == "bf16"
    assert ray_executor.render_precision(gpu=False, native_bf16=False) == "fp32"
    assert ray_executor.render_precision(gpu=True, native_bf16=True) == "fp32"


@pytest.mark.heavy
def test_cluster_native_bf16_asks_every_worker(style, ray_runtime, monkeypatch):
    from neuralfx import device
    from neuralfx.batch.ray_worker import Worker

    actors = [ray_runtime.remote(Worker).remote(1) for _ in range(2)]
    try:
        workers = ray_runtime.get([a.native_bf16.remote() for a in actors])
        assert workers == [device.cpu_has_native_bf16()] * 2  # one machine here
        monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)  # this process only
        assert ray_executor.cluster_native_bf16(ray_runtime, actors) is False
        monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
        assert ray_executor.cluster_native_bf16(ray_runtime, actors) is all(workers)
    finally:
        for a in actors:
            ray_runtime.kill(a)


@pytest.mark.heavy
def test_ray_renders_in_the_precision_the_driver_decided_for_all(tmp_path, style, ray_runtime,
                                                                  one_thread, monkeypatch):
    """A driver with AVX512-BF16 and workers without it: ``auto`` is fp32 for the whole render
    (statistics here and chunks there), whichever way the work is split."""
    from neuralfx import device

    src = long_file(tmp_path / "in")
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(ray_executor, "cluster_native_bf16", lambda ray, actors: False)
    auto = batch.process_files([src], load_preset("style 0.01", **LONG), tmp_path / "auto",
                               style=style)
    fp32 = batch.process_files([src], load_preset("style 0.01", **LONG, precision="fp32"),
                               tmp_path / "fp32", style=style)
    expected = read(fp32.jobs[0].output)[0]
    assert not np.array_equal(read(auto.jobs[0].output)[0], expected)  # bf16 here alone
    for chunks in ("on", "off"):
        result = batch.process_files([src], load_preset("style 0.01", **LONG),
                                     tmp_path / chunks, style=style, executor="ray",
                                     ray=RayOptions(chunks=chunks))
        assert [j.status for j in result.jobs] == ["ok"], result.jobs[0].error
        assert np.array_equal(read(result.jobs[0].output)[0], expected), chunks


class RecordsOptions(NeuralStyle):
    """Appends the precision of the options each render gets to a file (in the worker)."""

    def process_many_channels_first(self, signals, sample_rates, *, options=None):
        with open(self._record, "a") as f:
            f.write(f"{options.precision if options else None}\n")
        return super().process_many_channels_first(signals, sample_rates, options=options)


@pytest.mark.heavy
@pytest.mark.parametrize("native", [True, False])
def test_the_drivers_precision_reaches_every_worker(tmp_path, style, ray_runtime, native,
                                                    monkeypatch):
    from neuralfx.chain import Pedalboard

    src = inputs(tmp_path / "in", 2)
    monkeypatch.setattr(ray_executor, "cluster_native_bf16", lambda ray, actors: native)
    fx = RecordsOptions(style, load_preset("style 0.01", **TINY))
    fx._record = str(tmp_path / "record.txt")
    result = batch.process_files(src, Pedalboard([fx]), tmp_path / "out", executor="ray",
                                 ray=RayOptions(chunks="off"))
    assert [j.status for j in result.jobs] == ["ok", "ok"], [j.error for j in result.jobs]
    expected = "bf16" if native else "fp32"
    assert (tmp_path / "record.txt").read_text().split() == [expected, expected]


def effect_state(board) -> list:
    """What a render must leave as it was on every neural effect of a chain."""
    from neuralfx.chain import neural_effects

    return [(sorted(vars(fx)), fx.parameters, fx.preset, fx.style, fx.progress)
            for fx in neural_effects(board)]


def test_a_local_render_leaves_the_chain_unchanged(tmp_path, style):
    from pedalboard import Gain

    from neuralfx.chain import Pedalboard

    progress = []
    board = Pedalboard([Gain(-1), NeuralStyle(style, load_preset("style 0.01", **TINY),
                                              progress=progress.append),
                        Pedalboard([NeuralStyle(None, load_preset("texture", **TINY))])])
    before = effect_state(board)
    result = batch.process_files(inputs(tmp_path / "in", 2), board, tmp_path / "out",
                                 batch_files=2)
    assert [j.status for j in result.jobs] == ["ok", "ok"], [j.error for j in result.jobs]
    assert effect_state(board) == before
    assert progress  # without a listener, the effect's own progress is called


@pytest.mark.heavy
@pytest.mark.parametrize("chunks", ["on", "off"])
def test_a_ray_render_leaves_the_chain_unchanged(tmp_path, style, ray_runtime, chunks):
    from neuralfx.chain import Pedalboard

    board = Pedalboard([NeuralStyle(style, load_preset("style 0.01", **LONG),
                                    progress=lambda p: None)])
    before = effect_state(board)
    result = batch.process_files([long_file(tmp_path / "in")], board, tmp_path / "out",
                                 executor="ray", ray=RayOptions(chunks=chunks))
    assert [j.status for j in result.jobs] == ["ok"], result.jobs[0].error
    assert effect_state(board) == before


@pytest.mark.heavy
def test_a_trained_style_renders_on_ray_as_locally(tmp_path, style, ray_runtime, one_thread):
    from neuralfx.train import train_style

    trained = tmp_path / "style.nfxstyle"
    content = write(tmp_path / "content.wav", tone(4.0, 22050, seed=9), 22050)
    train_style(style, content=[content], minutes=0.01, n_filters=32, output=trained)
    good = inputs(tmp_path / "in", 2)
    for name, extra in [("local", []), ("ray", ["--executor", "ray"])]:
        result = invoke("process", *good, "--style", trained, "-o", tmp_path / name, "-q",
                        *extra)
        assert result.exit_code == 0, result.output
    for f in good:
        out = f"{f.stem}_style-0.01.wav"
        local, ray = read(tmp_path / "local" / out)[0], read(tmp_path / "ray" / out)[0]
        assert np.any(local) and np.allclose(local, ray, atol=1e-6), out
