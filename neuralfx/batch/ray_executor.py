"""The Ray executor (``pip install 'neuralfx[ray]'``): connecting to Ray, one actor per worker
(:class:`neuralfx.batch.ray_worker.Worker`), each file a task, or one file's groups of chunks
spread over the workers (:class:`neuralfx.batch.ray_groups.RayGroupRunner`).

The driver decides once what every process of the render shares: the precision (``auto`` is
bf16 only when this CPU and every CPU worker's multiply bf16 natively) and the style
statistics, computed here and sent through the object store. They travel as arguments
(:class:`neuralfx.options.RenderOptions`); the chain's effects are never changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..options import RenderOptions
from .errors import BatchError, describe_error, message
from .files import OutputOptions, committed, read_job, source_bit_depth, write_output
from .local import Listener, announce, job_step, run_local
from .report import Job

RAY_MISSING = "the Ray executor needs Ray: pip install 'neuralfx[ray]'"
RAY_FILES = ("shared", "driver")
RAY_CHUNKS = ("auto", "on", "off")


@dataclass
class RayOptions:
    """The Ray executor's settings.

    - ``address``: None starts a local Ray runtime (stopped at the end); ``"auto"`` joins the
      cluster this machine is part of (``ray start``); ``"HOST:PORT"`` a head node;
      ``"ray://HOST:PORT"`` a Ray client server. An address that cannot be reached fails
      within seconds (:class:`BatchError`). An already connected Ray (``ray.init`` by the
      caller) is used as it is.
    - ``workers``: actors to start; 0 = one per GPU of the cluster for CUDA presets, else one
      per ``threads`` CPUs (never more than the files to render).
    - ``threads``: torch threads (and Ray CPUs) per CPU worker, so workers do not
      oversubscribe the cores.
    - ``files``: ``"shared"`` (workers read inputs and write outputs themselves: every node
      sees the input and output folders at the same paths, e.g. NFS) or ``"driver"`` (the
      driver reads the inputs and writes the outputs; audio travels through the object store,
      for output folders the workers cannot see).
    - ``retries``: how often a file (or a group of chunks) is retried on a new worker when its
      worker process dies.
    - ``chunks``: ``"auto"``, ``"on"`` or ``"off"``. On: the files are rendered one after the
      other, each file's groups of chunks spread over the workers and joined in order on the
      driver, which reads the inputs and writes the outputs: one long file also runs on every
      worker. Auto: on when the batch has fewer files than workers and one of them is longer
      than a chunk (``chunk_seconds``); off: one task per file. A chunk task whose worker dies
      is retried like a file.
    """

    address: str | None = None
    workers: int = 0
    threads: int = 1
    files: str = "shared"
    retries: int = 3
    chunks: str = "auto"

    def check(self) -> None:
        """Raises :class:`BatchError` (field ``files`` or ``chunks``) for an unknown mode."""
        if self.files not in RAY_FILES:
            raise BatchError(f"{self.files!r}: choose shared or driver", "files")
        if self.chunks not in RAY_CHUNKS:
            raise BatchError(f"{self.chunks!r}: choose auto, on or off", "chunks")


# ---------------------------------------------------------------------------------------------
# connecting


def import_ray():
    """The ``ray`` module, or a one-line :class:`BatchError` (field ``executor``) saying what
    to install."""
    try:
        import ray
    except ImportError:
        raise BatchError(RAY_MISSING, "executor") from None
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """A TCP connection to ``HOST:PORT`` (or ``ray://HOST:PORT``), so a wrong address fails
    in seconds instead of Ray's long connection retries."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise BatchError(f"{address!r}: expected auto, HOST:PORT or ray://HOST:PORT",
                         "address")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise BatchError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}); start "
                         "one with 'ray start --head' or check the address", "address") from None


def connect_ray(address: str | None) -> bool:
    """Connects this process to Ray (see :class:`RayOptions`); True when it started the
    connection (the caller then ends it with ``ray.shutdown()``)."""
    import logging

    ray = import_ray()
    if address not in (None, "auto"):
        check_reachable(address)
    if ray.is_initialized():
        return False
    # Ray's own notices would mix with the progress bars; its errors still show
    kwargs: dict[str, Any] = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address is None:
        kwargs.update(include_dashboard=False)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        first = (message(e).strip().splitlines() or [type(e).__name__])[0]
        raise BatchError(f"cannot connect to Ray at {address}: {first}", "address") from None
    return True


# ---------------------------------------------------------------------------------------------
# what the driver decides for the whole render


def cluster_native_bf16(ray, actors: list) -> bool:
    """Whether this CPU and every worker's have AVX512-BF16. A worker Ray restarts on another
    node keeps the render's decision."""
    from ..device import cpu_has_native_bf16

    return cpu_has_native_bf16() and all(ray.get([a.native_bf16.remote() for a in actors]))


def render_precision(gpu: bool, native_bf16: bool) -> str:
    """What ``precision = "auto"`` means for every process of a Ray render: ``bf16`` only where
    the workers run on CPUs (not ``gpu``) and every CPU multiplies bf16 natively
    (``native_bf16``), else ``fp32``. Deciding in each process would let a cluster that mixes
    CPUs render a file's chunks, or the style statistics and the chunks, in different
    precisions."""
    return "bf16" if native_bf16 and not gpu else "fp32"


def wants_gpu(board, ray) -> bool:
    """GPU workers when a neural effect's device is CUDA (or auto) and the cluster has GPUs."""
    from ..chain import neural_effects

    if ray.cluster_resources().get("GPU", 0) < 1:
        return False
    return any(str(fx.device).startswith(("cuda", "auto")) for fx in neural_effects(board))


def longer_than_a_chunk(jobs: list[Job], board) -> bool:
    """Whether an input is longer than one chunk of the chain's (first) neural effect."""
    from pedalboard.io import AudioFile

    from ..chain import neural_effects

    effects = neural_effects(board)
    if not effects:
        return False
    for job in jobs:
        try:
            with AudioFile(str(job.source)) as f:
                if f.frames / f.samplerate > effects[0].chunk_seconds:
                    return True
        except Exception:  # noqa: BLE001 - a probe only; the read reports real problems
            continue
    return False


# ---------------------------------------------------------------------------------------------
# running


def run_ray(jobs: list[Job], board, out: OutputOptions, policy: str, listener: Listener,
            opts: RayOptions) -> RenderOptions | None:
    """Every pending job as a task on a pool of Ray actors (see :class:`RayOptions`).
    Returns the options the render ran with (its precision decided for every process), None
    when there was nothing to render."""
    from ..chain import neural_effects
    from .ray_worker import Worker

    opts.check()
    ray = import_ray()
    started = connect_ray(opts.address)
    staging: Path | None = None
    try:
        todo = announce(jobs, listener)
        if not todo:
            return
        gpu = wants_gpu(board, ray)
        threads = max(1, opts.threads)
        resources = ray.cluster_resources()
        n = opts.workers or (int(resources.get("GPU", 0)) if gpu else
                             max(1, int(resources.get("CPU", 1)) // threads))
        chunks = opts.chunks == "on" or (opts.chunks == "auto" and len(todo) < n
                                          and longer_than_a_chunk(todo, board))
        n = max(1, n if chunks else min(n, len(todo)))
        actor = ray.remote(num_cpus=1 if gpu else threads, num_gpus=1 if gpu else 0,
                           max_restarts=opts.retries, max_task_retries=opts.retries)(Worker)
        actors = [actor.remote(threads) for _ in range(n)]
        options = RenderOptions(precision=render_precision(
            gpu, cluster_native_bf16(ray, actors)))
        if chunks:  # this process reads, joins and writes; the workers optimise chunks
            run_chunks(ray, todo, board, actors, lambda: actor.remote(threads), out, policy,
                       listener, options)
            return options
        # the style statistics once, here; every worker gets them from the object store
        statistics = [fx.style_statistics(options) for fx in neural_effects(board)]
        shared = [ray.put(board), ray.put(statistics)]
        if opts.files == "shared":
            staging = output_root(todo) / f".neuralfx-staging-{uuid.uuid4().hex[:12]}"
            staging.mkdir(parents=True, exist_ok=True)
        dispatch(ray, shared, options, todo, actors, lambda: actor.remote(threads), out,
                 policy, listener, opts, staging)
        return options
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if started:
            ray.shutdown()


def run_chunks(ray, todo: list[Job], board, actors: list, new_actor, out: OutputOptions,
               policy: str, listener: Listener, options: RenderOptions) -> None:
    """The files one after the other, as the local executor renders them, but with every
    file's groups of chunks optimised by the actors (:class:`RayOptions`, ``chunks``)."""
    from dataclasses import replace

    from .ray_groups import RayGroupRunner

    runner = RayGroupRunner(ray, actors, new_actor)
    try:
        run_local(todo, board, out, policy, listener, 1, replace(options, runner=runner))
    except KeyboardInterrupt:
        for a in runner.actors:
            ray.kill(a, no_restart=True)
        raise


def output_root(jobs: list[Job]) -> Path:
    """The deepest folder holding every output (the staging folder goes there, on the
    outputs' filesystem, so its files can be hard-linked to their names)."""
    return Path(os.path.commonpath([str(j.output.parent.resolve()) for j in jobs]))


def dispatch(ray, shared: list, options: RenderOptions, todo: list[Job], actors: list,
             new_actor, out: OutputOptions, policy: str, listener: Listener, opts: RayOptions,
             staging: Path | None) -> None:
    """Keeps every actor busy with one file until all are done. Ctrl-C kills the actors:
    their files stay unwritten, since outputs only ever get their names complete."""
    queue = list(enumerate(todo))
    idle = list(actors)
    running: dict[Any, tuple[Job, Any, float, Any]] = {}
    current: Job | None = None
    try:
        while queue or running:
            while queue and idle:
                k, job = queue.pop(0)
                a, t0 = idle.pop(), time.perf_counter()
                if staging is not None:  # the worker reads and writes
                    staged = staging / f"{k}{job.output.suffix}"
                    ref = a.render_file.remote(shared, options, job, staged, out, policy)
                    running[ref] = (job, a, t0, staged)
                    continue
                with job_step(job, listener, keep_open=True) as loaded:  # the driver reads
                    loaded.extend(read_job(job, policy))
                if job.status != "pending" or not loaded:
                    idle.append(a)
                    if job.status != "interrupted":
                        listener.file_done(job)
                    continue
                audio, rate = loaded
                ref = a.render_audio.remote(shared, options, audio, rate)
                running[ref] = (job, a, t0, rate)
            if not running:  # the last files failed or were skipped on the driver
                continue
            ready, _ = ray.wait(list(running), num_returns=1)
            current, a, t0, rate = running.pop(ready[0])  # rate: the staged path if shared
            job = current
            try:
                result = ray.get(ready[0])
                if staging is not None:
                    for name in ("status", "error", "duration", "sample_rate", "channels"):
                        setattr(job, name, getattr(result, name))
                else:  # the driver writes
                    write_output(job.output, result, rate, out, source_bit_depth(job.source))
                    job.status = "ok"
                idle.append(a)
            except ray.exceptions.RayActorError as e:
                # the worker died more often than its restarts allow: the file fails and a new
                # worker takes the place of the dead one
                first = (message(e).strip().splitlines() or [""])[0]
                job.status, job.error = "failed", (
                    f"{job.source}: the Ray worker rendering it died {opts.retries + 1} times"
                    + (f" ({first})" if first else ""))
                idle.append(new_actor())
            except ray.exceptions.RayTaskError as e:  # the render raised (driver mode)
                job.status, job.error = "failed", describe_error(getattr(e, "cause", None) or e)
                idle.append(a)
            except Exception as e:  # noqa: BLE001 - the driver's write failed
                job.status, job.error = "failed", describe_error(e)
                idle.append(a)
            current = None
            job.seconds = time.perf_counter() - t0
            if job.status == "failed":
                listener.file_failed(job)
            listener.file_done(job)
    except KeyboardInterrupt:
        for job in [current, *(j for j, *_ in running.values())]:
            if job is not None and job.status == "pending":
                job.status, job.error = "interrupted", "interrupted by the user"
        for a in actors:
            ray.kill(a, no_restart=True)
        # let the killed workers go before the caller removes the staging folder
        with contextlib.suppress(Exception):
            ray.wait(list(running), num_returns=len(running), timeout=5)
        for job, _, _, staged in running.values():
            if staging is not None and committed(staged, job.output):
                job.status, job.error = "ok", None  # its worker finished before it was killed
        raise
