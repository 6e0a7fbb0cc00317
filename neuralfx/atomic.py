"""Atomic file writes: a file appears complete under its name, or not at all.

Every module that writes a file (audio outputs, presets, bundles, the style statistics cache)
goes through :func:`atomic_path`: the data is written to a temporary file in the target's folder
(the same file system, so the final rename is atomic) and renamed over the target only when the
writer finished without an error. A failed or interrupted write leaves the target as it was and
no temporary file behind. The final file has the permissions of a file created normally under
the process umask (``0o666 & ~umask``), not the ``0o600`` of a temporary file.

Standard library only: it sits below every floor.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` when the block ends
    without an exception, remove it when the block raises (the exception propagates).

    The folder of ``path`` must exist. ``suffix`` ends the temporary name: a writer that picks
    its format from the extension (pedalboard's ``AudioFile``) needs ``suffix=".tmp.wav"``; the
    default keeps temporaries out of globs for the real extension (``*.toml``, ``*.pt``).
    The temporary is created empty; the writer may reopen or replace it.
    """
    path = Path(os.fspath(path))
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp made it 0600
        _fsync(tmp)  # the data is on disk before the name points at it
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone after a successful replace


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``."""
    path = Path(os.fspath(path))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def umask() -> int:
    """The process umask, read without changing it where the OS tells it (Linux): setting and
    restoring it would briefly change it for every other thread."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
