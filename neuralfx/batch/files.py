"""One file's input and output: reading it (with the reason when it cannot be used), the
output's format, bit depth and rate, and writing and committing outputs without ever replacing
a file the policy keeps.

Policies for an output that already exists: ``"error"`` (that file fails), ``"skip"`` (kept,
its input skipped) or ``"overwrite"``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import BatchError
from .report import Job, note_input

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")
FORMATS = ("wav", "flac", "mp3", "ogg", "aiff")
# bit depths pedalboard's AudioFile writes per format (32 = 32-bit float); lossy: none
BIT_DEPTHS = {"wav": (8, 16, 24, 32), "aiff": (8, 16, 24), "aif": (8, 16, 24),
              "flac": (16, 24), "mp3": (), "ogg": ()}
POLICIES = ("error", "skip", "overwrite")


@dataclass
class OutputOptions:
    """How outputs are written: format (default: the input's), bit depth (default: the
    input's, where the format has it), sample rate in Hz (default: the input's) and the
    encoder quality of mp3/ogg."""

    fmt: str | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None
    quality: str | None = None

    def check(self) -> None:
        """Raises :class:`BatchError` (field ``format``, ``bit_depth`` or ``sample_rate``) for
        a format, bit depth or rate that cannot be written."""
        fmt, bits, rate = self.fmt, self.bit_depth, self.sample_rate
        if fmt is not None and fmt.lower() not in FORMATS:
            raise BatchError(f"{fmt!r} is not a supported format; choose one of "
                             f"{', '.join(FORMATS)}", "format")
        if bits is not None and bits not in (8, 16, 24, 32):
            raise BatchError(f"{bits} is not a bit depth; choose 8, 16, 24 or 32 (32 = float)",
                             "bit_depth")
        if rate is not None and not 8000 <= rate <= 384000:
            raise BatchError(f"{rate} Hz is outside 8000..384000 Hz", "sample_rate")
        if fmt is not None and bits is not None:
            try:
                bit_depth_for(fmt, bits, None)
            except ValueError as e:
                raise BatchError(str(e), "bit_depth") from None


def bit_depth_for(ext: str, requested: int | None, source: int | None) -> int | None:
    """The bit depth to write: the requested one (checked against the format), else the
    input's when the format has it, else the format's usual best (24, or 16 for 8-bit-less)."""
    allowed = BIT_DEPTHS.get(ext.lower(), ())
    if not allowed:
        if requested is not None:
            raise ValueError(f"{ext} is a lossy format without a bit depth; leave the bit "
                             "depth unset")
        return None
    if requested is not None:
        if requested not in allowed:
            raise ValueError(f"{ext} files take bit depths {', '.join(map(str, allowed))}, "
                             f"not {requested}")
        return requested
    if source in allowed:
        return source
    return 32 if source == 32 and 32 in allowed else 24


def is_audio(path: Path) -> bool:
    """An audio file by its extension (hidden files are not)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


# ---------------------------------------------------------------------------------------------
# reading


def read_checked(path: Path):
    """(audio (channels, samples) float32, sample rate); bad files raise with a reason."""
    import numpy as np

    from ..audio import read_audio

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    audio, rate = read_audio(path)
    if audio.shape[-1] == 0:
        raise ValueError(f"{path} holds no audio samples")
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"{path} contains NaN or infinite samples")
    return audio, rate


def source_bit_depth(path: Path) -> int | None:
    """The input file's sample format as a bit depth (32 for float), to keep it on output."""
    from pedalboard.io import AudioFile

    try:
        with AudioFile(str(path)) as f:
            dtype = str(f.file_dtype)
    except Exception:  # noqa: BLE001 - a probe only; the read reports real problems
        return None
    return {"int8": 8, "int16": 16, "int24": 24, "int32": 32, "float32": 32}.get(dtype)


def exists_error(job: Job) -> FileExistsError:
    """An existing output under the policy ``"error"``."""
    return FileExistsError(f"{job.output} exists and the policy for existing outputs is "
                           "'error'; 'overwrite' replaces it, 'skip' keeps it")


def read_job(job: Job, policy: str) -> tuple:
    """``(audio, rate)`` of the job's input, or ``()`` when its existing output is kept."""
    if job.output.exists():
        if policy == "skip":
            job.status = "skipped"
            return ()
        if policy != "overwrite":
            raise exists_error(job)
    audio, rate = read_checked(job.source)
    note_input(job, audio, rate)
    return audio, rate


# ---------------------------------------------------------------------------------------------
# writing


def write_output(path: Path, audio, rate: int, out: OutputOptions,
                 source_bits: int | None) -> None:
    """Writes ``audio`` (channels, samples) atomically (:func:`neuralfx.audio.write_audio`) in
    ``out``'s format, bit depth and rate; non-finite audio is an error and writes nothing."""
    import numpy as np

    from ..audio import resample, write_audio

    if not np.all(np.isfinite(audio)):
        raise ValueError("the render produced NaN or infinite samples; nothing was written")
    if out.sample_rate is not None and out.sample_rate != rate:
        audio, rate = resample(audio, rate, out.sample_rate), out.sample_rate
    ext = path.suffix[1:].lower()
    if ext not in BIT_DEPTHS:
        raise ValueError(f"{path.name}: unknown output format {path.suffix!r}; "
                         f"choose one of {', '.join(FORMATS)}")
    bits = bit_depth_for(ext, out.bit_depth, source_bits)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, audio, rate, bit_depth=bits, quality=out.quality)


def committed(staged: Path, output: Path) -> bool:
    """Whether ``staged`` already has the output's name (a retry after its commit)."""
    try:
        return os.path.samefile(staged, output)
    except OSError:
        return False


def commit(staged: Path, job: Job, policy: str) -> str:
    """Gives a staged output (written complete beside it) its name by a hard link: atomic,
    and never replacing a file that appeared meanwhile unless overwriting. Returns the job's
    status."""
    job.output.parent.mkdir(parents=True, exist_ok=True)
    if policy == "overwrite":
        link = staged.with_name(staged.name + ".link")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.link(staged, link)
        os.replace(link, job.output)
        return "ok"
    try:
        os.link(staged, job.output)  # atomic, and fails if the name exists
    except FileExistsError:
        if policy == "skip":
            return "skipped"
        raise exists_error(job) from None
    return "ok"
