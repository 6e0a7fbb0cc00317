"""The batch's errors: :class:`BatchError` for the batch as a whole, and the text a failed
file is reported with (the same with every executor)."""

from __future__ import annotations

from pathlib import Path


class BatchError(ValueError):
    """A problem with the batch as a whole (an option, no inputs, no Ray): nothing was
    processed. ``field`` names the setting concerned (``"style"``, ``"format"``,
    ``"bit_depth"``, ``"sample_rate"``, ``"name_template"``, ``"executor"``, ``"address"``,
    ``"inputs"``, ...), so that a front end can point at its own option for it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def message(e: BaseException) -> str:
    """An exception's text (KeyError's str() adds quotes around the message)."""
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    return str(e) or type(e).__name__


def describe_error(e: BaseException) -> str:
    """The reason a file failed, as reported (the same text with every executor)."""
    text = message(e)
    if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)) and e.filename:
        text = f"{e.strerror or text}: {e.filename}" if e.strerror else text
    return text if isinstance(e, (ValueError, OSError, RuntimeError)) else (
        f"{type(e).__name__}: {text}")


def with_path(path: Path, error: str) -> str:
    """``error`` led by the file's path, once."""
    return error if str(path) in error else f"{path}: {error}"
