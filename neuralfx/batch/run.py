"""A batch from start to end: the chain it runs (:func:`chain_for`), the planned batch
(:func:`plan_batch`), and :func:`run_jobs` with the ``"local"`` or ``"ray"`` executor.
:func:`process_files` is :func:`plan_batch` then :func:`run_jobs`."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BatchError, message
from .files import POLICIES, OutputOptions
from .local import Listener, announce, auto_batch_files, run_local, terminate_as_interrupt
from .planning import DEFAULT_OUTPUT_DIR, DEFAULT_TEMPLATE, name_values, plan
from .ray_executor import RayOptions
from .report import BatchResult, Job

EXECUTORS = ("local", "ray")


def check_executor(executor: str, ray: RayOptions | None = None) -> None:
    """A known executor, and Ray options (but threads) only with the Ray executor; else
    :class:`BatchError` (field ``executor``, or ``ray`` for the Ray options)."""
    if executor not in EXECUTORS:
        raise BatchError(f"{executor!r}: choose one of {', '.join(EXECUTORS)}", "executor")
    if executor != "ray" and ray is not None and (ray.address, ray.workers, ray.files,
                                                   ray.chunks) != (None, 0, "shared", "auto"):
        raise BatchError("the Ray options address, workers, files and chunks need the Ray "
                         "executor", "ray")


def resolve_style(preset, style: Path | None) -> Path | None:
    """The style of a batch: ``style``, else the file the preset refers to (imported bundles
    carry one; checked against the hash the preset records). A style transfer preset without
    either is a :class:`BatchError` (field ``style``)."""
    if style is None:
        try:
            style = preset.style_path(check=True)
        except (KeyError, ValueError, OSError) as e:
            raise BatchError(f"{message(e)}; give a style file", "style") from None
    if style is None and not preset.settings.is_texture:
        s = preset.settings
        raise BatchError(f"preset {preset.name!r} is a style transfer (content_weight = "
                         f"{s.content_weight:g}, envelope_weight = {s.envelope_weight:g}) and "
                         "needs a style file; the texture presets work without one", "style")
    return style


def chain_for(effect, style: Path | str | None = None, *, pre: Iterable = (),
              post: Iterable = ()):
    """The chain a batch runs. ``effect``: a neuralfx ``Pedalboard`` or ``Mix`` (as it is), a
    ``NeuralStyle``, or a preset (name or :class:`neuralfx.presets.Preset`) built with
    ``Pedalboard.from_preset(preset, style)`` (the preset's own style file without
    ``style``). ``pre`` / ``post`` plugins go around it (a given chain is not changed). A
    preset that does not load is a :class:`BatchError` with field ``preset``, a style that
    cannot be read one with field ``style``."""
    from ..chain import Mix, Pedalboard
    from ..effect import NeuralStyle
    from ..presets import Preset, load_preset

    pre, post = list(pre), list(post)
    if isinstance(effect, (Pedalboard, Mix, NeuralStyle)):
        # the caller's chain stays as it is: the plugins go around it
        if isinstance(effect, (Pedalboard, Mix)) and not (pre or post):
            return effect
        return Pedalboard([*pre, effect, *post])
    if not isinstance(effect, Preset):
        try:
            effect = load_preset(effect)
        except (KeyError, ValueError, OSError) as e:
            raise BatchError(message(e), "preset") from None
    try:
        board = Pedalboard.from_preset(effect, str(style) if style is not None else None)
    except (ValueError, OSError, RuntimeError) as e:  # FileNotFoundError included
        raise BatchError(message(e), "style") from None
    for k, plugin in enumerate(pre):
        board.insert(k, plugin)
    for plugin in post:
        board.append(plugin)
    return board


def template_values(board) -> dict[str, Any]:
    """The template's preset, style and seed fields for a chain (from its first neural
    effect)."""
    from ..chain import neural_effects

    effects = neural_effects(board)
    if not effects:
        return dict(preset="chain", style="none", seed=0)
    fx = effects[0]
    return name_values(fx.preset if isinstance(fx.preset, str) else fx.preset.name, fx.style,
                       fx.seed)


@dataclass
class PlannedBatch:
    """A batch ready to run: its chain and one :class:`Job` per input file (those planning
    already failed, e.g. clashing outputs, are marked so)."""

    board: Any
    jobs: list[Job]


def plan_batch(inputs: Iterable[Path | str], effect, output_dir: Path | str =
               DEFAULT_OUTPUT_DIR, *, style: Path | str | None = None, pre: Iterable = (),
               post: Iterable = (), recursive: bool = False,
               name_template: str = DEFAULT_TEMPLATE,
               output: OutputOptions | None = None) -> PlannedBatch:
    """The chain (:func:`chain_for`) and the jobs (:func:`neuralfx.batch.planning.plan`);
    nothing is read but the style, nothing is written. Problems with the batch as a whole
    raise :class:`BatchError`."""
    output = output or OutputOptions()
    output.check()
    board = chain_for(effect, style, pre=pre, post=post)
    jobs = plan(inputs, Path(output_dir), recursive=recursive, template=name_template,
                fmt=output.fmt, values=template_values(board))
    return PlannedBatch(board, jobs)


def run_jobs(jobs: list[Job], board, *, output: OutputOptions | None = None,
             policy: str = "error", executor: str = "local", batch_files: int = 0,
             listener: Listener | None = None, ray: RayOptions | None = None,
             report_dir: Path | str | None = None) -> BatchResult:
    """Renders every pending job through ``board`` (a neuralfx ``Pedalboard``) and returns
    the result; a failing file is recorded and the batch goes on. Ctrl-C or SIGTERM stops it:
    started files are marked ``interrupted by the user``, the others ``not started``, and
    nothing partial is left (exit status 130).

    ``policy`` for existing outputs: ``"error"`` (that file fails), ``"skip"`` or
    ``"overwrite"``. ``batch_files`` (local executor): files rendered together, their chunks
    sharing the engine's groups (0: 8 on a GPU, 1 on a CPU). ``ray``: :class:`RayOptions`.

    ``report_dir``: afterwards, a sidecar beside each output (:mod:`neuralfx.batch.sidecar`)
    and the report page ``report_dir/report.html`` (:mod:`neuralfx.batch.page`), whose path
    ``result.info["report"]`` gives; matplotlib missing is a :class:`BatchError` (field
    ``report``) before anything renders.
    """
    from ..options import RenderOptions
    from .page import check_plotting
    from .ray_executor import run_ray

    if policy not in POLICIES:
        raise BatchError(f"policy {policy!r}: choose one of {', '.join(POLICIES)}", "policy")
    check_executor(executor, ray)
    if report_dir is not None:
        check_plotting()
    output = output or OutputOptions()
    listener = listener or Listener()
    options = RenderOptions()  # what the local executor renders with
    t0 = time.perf_counter()
    try:
        with terminate_as_interrupt():
            if executor == "ray":
                options = run_ray(jobs, board, output, policy, listener,
                                  ray or RayOptions()) or options
            else:
                run_local(announce(jobs, listener), board, output, policy, listener,
                          batch_files or auto_batch_files(board))
    except KeyboardInterrupt:
        for job in jobs:
            if job.status == "pending":
                job.status, job.error = "interrupted", "not started"
    result = BatchResult(jobs, time.perf_counter() - t0)
    if report_dir is not None:
        result.info["report"] = write_report(jobs, board, options, Path(report_dir))
    return result


def write_report(jobs: list[Job], board, options, folder: Path) -> Path:
    """The batch's sidecars (the device and precision as ``options`` resolved them) and the
    page of ``folder``, built from every sidecar under it; returns the page's path."""
    from .page import build_report
    from .sidecar import render_facts, write_sidecars

    write_sidecars(jobs, render_facts(board, options))
    folder.mkdir(parents=True, exist_ok=True)
    return build_report(folder)


def process_files(inputs: Iterable[Path | str], effect, output_dir: Path | str =
                  DEFAULT_OUTPUT_DIR, *, style: Path | str | None = None, pre: Iterable = (),
                  post: Iterable = (), executor: str = "local", recursive: bool = False,
                  name_template: str = DEFAULT_TEMPLATE, output: OutputOptions | None = None,
                  policy: str = "error", batch_files: int = 0, ray: RayOptions | None = None,
                  listener: Listener | None = None, report: bool = False) -> BatchResult:
    """Renders audio files and folders into ``output_dir``; returns a :class:`BatchResult`
    (``result.jobs``: one :class:`Job` per file, in order, with status and error).

    ``effect``: a preset name or :class:`neuralfx.presets.Preset` (with ``style``; ``pre`` and
    ``post`` plugins around its chain), a ``NeuralStyle``, or a neuralfx ``Pedalboard``.
    ``policy``: ``"error"`` (an existing output is a failure of that file), ``"skip"`` or
    ``"overwrite"``. ``executor``: ``"local"`` (this process) or ``"ray"`` (see
    :class:`RayOptions`). ``report``: a sidecar beside each output and the report page
    ``output_dir/report.html`` (``pip install 'neuralfx[report]'``); ``result.info["report"]``
    is its path. Problems with the batch as a whole (bad template or output options, no input
    files, Ray missing or unreachable, matplotlib missing for the report) raise
    :class:`BatchError` before anything is written.
    """
    check_executor(executor, ray)
    if report:
        from .page import check_plotting

        check_plotting()
    batch = plan_batch(inputs, effect, output_dir, style=style, pre=pre, post=post,
                       recursive=recursive, name_template=name_template, output=output)
    return run_jobs(batch.jobs, batch.board, output=output, policy=policy, executor=executor,
                    batch_files=batch_files, listener=listener, ray=ray,
                    report_dir=output_dir if report else None)
