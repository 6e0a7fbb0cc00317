"""``neuralfx.batch``: render many audio files with one effect chain, in this process or on a
Ray cluster.

The library behind ``neuralfx process``; a Python user runs the same batch with
:func:`process_files`::

    from neuralfx.batch import process_files
    result = process_files(["takes/"], "draft", "out", style="rain.wav", executor="ray")
    for job in result.jobs:
        print(job.source, job.status, job.error)

:func:`process_files` is :func:`plan_batch` (the chain, the input files, their output names
and clashes) then :func:`run_jobs` with the ``"local"`` or ``"ray"`` executor, which returns
a :class:`BatchResult` (counts, JSON summary, exit status).

Guarantees, with both executors: an existing output is never replaced unless the policy is
``"overwrite"`` (``"skip"`` keeps it); every output is written atomically (never partially);
a file that fails is recorded with its reason and the batch goes on; Ctrl-C (or SIGTERM)
stops the batch, leaves no partial output and marks the unfinished files ``interrupted``.
Exit statuses: 0 all processed or skipped, 1 a file failed, 130 interrupted. Problems with
the batch as a whole raise :class:`BatchError`, whose ``field`` names the setting concerned.

The rooms: ``planning`` (discovery, output names, clashes, dry run), ``files`` (reading,
output formats, writing and committing), ``local`` (the local executor and the
:class:`Listener`), ``ray_executor``, ``ray_worker`` and ``ray_groups`` (the Ray executor, its
worker actor, and one file's groups of chunks over the workers), ``report`` (jobs and
results), ``run`` (a batch from start to end), ``sidecar`` (each output's render record,
``<output>.neuralfx.json``) and ``page`` (the report page built from the sidecars,
``process_files(..., report=True)`` or :func:`build_report`). Nothing here imports torch
until a render starts.
"""

from __future__ import annotations

from .errors import BatchError, describe_error, message, with_path
from .files import (
    AUDIO_EXTENSIONS,
    BIT_DEPTHS,
    FORMATS,
    POLICIES,
    OutputOptions,
    bit_depth_for,
    read_checked,
    source_bit_depth,
    write_output,
)
from .local import GPU_BATCH_FILES, Listener, terminate_as_interrupt
from .page import build_report
from .planning import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_TEMPLATE,
    TEMPLATE_FIELDS,
    check_clashes,
    check_template,
    discover,
    dry_run,
    name_values,
    plan,
    plan_outputs,
    slug,
)
from .ray_executor import RayOptions, connect_ray, import_ray
from .report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, BatchResult, Job
from .run import (
    EXECUTORS,
    PlannedBatch,
    chain_for,
    check_executor,
    plan_batch,
    process_files,
    resolve_style,
    run_jobs,
)
from .sidecar import sidecar_path

__all__ = [
    "AUDIO_EXTENSIONS", "BIT_DEPTHS", "DEFAULT_OUTPUT_DIR", "DEFAULT_TEMPLATE", "EXECUTORS",
    "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "FORMATS", "GPU_BATCH_FILES", "POLICIES",
    "TEMPLATE_FIELDS", "BatchError", "BatchResult", "Job", "Listener", "OutputOptions",
    "PlannedBatch", "RayOptions", "bit_depth_for", "build_report", "chain_for", "check_clashes",
    "check_executor", "check_template", "connect_ray", "describe_error", "discover",
    "dry_run", "import_ray", "message", "name_values", "plan", "plan_batch", "plan_outputs",
    "process_files", "read_checked", "resolve_style", "run_jobs", "sidecar_path", "slug",
    "source_bit_depth",
    "terminate_as_interrupt", "with_path", "write_output",
]
