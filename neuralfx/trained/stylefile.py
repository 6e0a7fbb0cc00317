"""The ``.nfxstyle`` file: a trained style's tensors and metadata, safe to share.

A standard safetensors file (``u64 LE header length | JSON header | raw tensor bytes``), so any
safetensors tool can inspect it. Its ``__metadata__`` holds one key, ``"neuralfx"``: the JSON
object ``{"format": "neuralfx-style", "format_version": 1, "tensors_sha256": ..., "created_by":
"neuralfx <version>", **metadata}`` (the checksum is defined by :func:`tensors_sha256`).

A shared style must not be able to run code: the file is never given to ``torch.load``, pickle
or anything else that executes what it reads. The header is checked here first (size, layout,
dtypes, shapes, offsets, format, version, checksum); only then does ``safetensors.torch.load``
copy the raw numbers. What the tensors mean is the generator's business, not this module's.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_safetensors
from safetensors.torch import save as _save_safetensors

from .._version import __version__
from ..atomic import write_bytes_atomic

SUFFIX = ".nfxstyle"
FORMAT = "neuralfx-style"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 64 << 20    # a trained style is a few MB at most; more is not one of ours
MAX_HEADER_BYTES = 1 << 20   # tensor table and metadata: a few KB in practice
DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}
RESERVED_KEYS = ("format", "format_version", "tensors_sha256", "created_by")
_META_KEY = "neuralfx"

Entry = tuple[str, str, list[int], int, int]  # name, dtype, shape, begin, end in the data


class StyleFileError(ValueError):
    """A style file is unreadable, malformed, corrupted, tampered with or from a newer
    neuralfx; the message names the file and the problem."""


def style_file_bytes(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any]) -> bytes:
    """The bytes of a style file holding ``tensors`` (float32, float16 or bfloat16, finite, on
    any device) and ``metadata`` (JSON-serialisable, string keys but :data:`RESERVED_KEYS`)."""
    return _encode(tensors, metadata, "style file to write")


def write_style_file(path: str | Path, tensors: Mapping[str, torch.Tensor],
                     metadata: Mapping[str, Any]) -> Path:
    """Write a style file to ``path`` atomically (its folder must exist); returns ``path``.
    Nothing is written when the tensors or metadata are refused."""
    path = Path(path).expanduser()
    return write_bytes_atomic(path, _encode(tensors, metadata, str(path)))


def read_style_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Check and load a style file (see :func:`parse_style_file`); its size is checked before
    anything is read."""
    path = Path(path).expanduser()
    try:
        if not path.is_file():
            raise StyleFileError(f"style file {str(path)!r} does not exist or is not a file")
        _check_size(path.stat().st_size, str(path))
        data = path.read_bytes()
    except OSError as e:
        raise StyleFileError(f"{path}: cannot read the style file ({e})") from None
    return parse_style_file(data, str(path))


def parse_style_file(data: bytes, source: str = "<bytes>"
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Check the bytes of a style file; return its tensors (contiguous, on the CPU) by name and
    its metadata: the writer's, plus the reserved ``format``, ``format_version``,
    ``tensors_sha256`` and ``created_by``. Raises StyleFileError naming ``source``."""
    _check_size(len(data), source)
    header, body = _split(data, source)
    entries = _entries(header, len(body), source)
    info = _neuralfx_metadata(header, source)
    if info.get("tensors_sha256") != tensors_sha256(entries, body):
        raise StyleFileError(f"{source}: the tensors do not match their checksum "
                             f"(tensors_sha256); the file is corrupted or modified")
    try:
        tensors = _load_safetensors(bytes(data))
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise StyleFileError(f"{source}: the tensors cannot be decoded ({e})") from None
    for name, t in tensors.items():
        if not torch.isfinite(t).all():
            raise StyleFileError(f"{source}: tensor {name!r} holds non-finite values (NaN or inf)")
    return {n: t.contiguous() for n, t in tensors.items()}, info


def tensors_sha256(entries: Iterable[Entry], data: bytes) -> str:
    """The sha256 over the tensors of the data section ``data``, in name order: for each, the
    compact JSON ``[name, dtype, shape]`` (ASCII), then its raw little-endian bytes."""
    h = hashlib.sha256()
    for name, dtype, shape, begin, end in sorted(entries):
        h.update(json.dumps([name, dtype, shape], separators=(",", ":")).encode("ascii"))
        h.update(data[begin:end])
    return h.hexdigest()


def _encode(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any], where: str
            ) -> bytes:
    for key, value in metadata.items():
        if not isinstance(key, str) or key in RESERVED_KEYS:
            raise StyleFileError(f"{where}: metadata key {key!r} is not allowed (keys are "
                                 f"strings other than the reserved {', '.join(RESERVED_KEYS)})")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise StyleFileError(f"{where}: metadata field {key!r} is not JSON-serialisable "
                                 f"({e})") from None
    cpu: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise StyleFileError(f"{where}: tensor name {name!r} is not allowed")
        if not isinstance(t, torch.Tensor) or t.dtype not in {d for d, _ in DTYPES.values()}:
            raise StyleFileError(f"{where}: tensor {name!r} must be a float32, float16 or "
                                 f"bfloat16 tensor, not {getattr(t, 'dtype', type(t).__name__)}")
        cpu[name] = t.detach().to("cpu").contiguous().clone()  # clone: no shared storage
    # the checksum is taken from the serialised bytes, exactly as a reader will see them
    header, body = _split(_save_safetensors(cpu), where)
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "created_by":
            f"neuralfx {__version__}", **metadata,
            "tensors_sha256": tensors_sha256(_entries(header, len(body), where), body)}
    data = _save_safetensors(cpu, metadata={_META_KEY: json.dumps(info, allow_nan=False)})
    parse_style_file(data, where)  # a file that would be refused on reading is not written
    return data


def _check_size(size: int, source: str) -> None:
    if size > MAX_FILE_BYTES:
        raise StyleFileError(f"{source}: {size} bytes is larger than a style file may be "
                             f"({MAX_FILE_BYTES} bytes)")


def _split(data: bytes, source: str) -> tuple[dict[str, Any], bytes]:
    """The header as a JSON object, and the data section after it."""
    if len(data) < 8:
        raise StyleFileError(f"{source}: not a neuralfx style file (only {len(data)} bytes: "
                             f"empty or truncated)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:  # a pickle, zip or wav file lands here: its magic is a huge length
        raise StyleFileError(f"{source}: not a neuralfx style file (header length {n} bytes; "
                             f"at most {MAX_HEADER_BYTES})")
    if 8 + n > len(data):
        raise StyleFileError(f"{source}: truncated (a header of {n} bytes announced, "
                             f"{len(data) - 8} bytes follow)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise StyleFileError(f"{source}: not a neuralfx style file (the header is not UTF-8 "
                             f"JSON: {e})") from None
    if not isinstance(header, dict):
        raise StyleFileError(f"{source}: not a neuralfx style file (the header is not a JSON "
                             f"object)")
    return header, data[8 + n:]


def _entries(header: dict[str, Any], size: int, source: str) -> list[Entry]:
    """The tensor table, checked to tile the data section of ``size`` bytes exactly: no gaps,
    no overlaps, nothing missing or left over."""
    entries = []
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        name = f"{source}: tensor {key[:80]!r}"  # a hostile name may be long
        if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}):
            raise StyleFileError(f"{name}: expected dtype, shape and data_offsets, got "
                                 f"{entry!r:.200}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise StyleFileError(f"{name}: dtype {dtype!r:.20} is not allowed (expected one "
                                 f"of {', '.join(DTYPES)})")
        if not (isinstance(shape, list) and len(shape) <= 8 and all(
                _is_int(d) and 0 <= d <= MAX_FILE_BYTES for d in shape)
                and math.prod(shape) <= MAX_FILE_BYTES):
            raise StyleFileError(f"{name}: shape {shape!r:.200} is not allowed (at most 8 "
                                 f"sizes >= 0, at most {MAX_FILE_BYTES} elements)")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(_is_int(o) for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise StyleFileError(f"{name}: data_offsets {offsets!r:.200} are not two "
                                 f"increasing non-negative integers")
        span, needed = offsets[1] - offsets[0], math.prod(shape) * DTYPES[dtype][1]
        if span != needed:
            raise StyleFileError(f"{name}: data_offsets {offsets} span {span} bytes; shape "
                                 f"{shape} of {dtype} needs {needed}")
        entries.append((key, dtype, shape, offsets[0], offsets[1]))
    end = 0
    for key, _, _, begin, stop in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != end:
            raise StyleFileError(f"{source}: tensor {key[:80]!r} starts at byte {begin} of the "
                                 f"data, expected {end} (tensors overlap or leave a gap)")
        end = stop
    if end > size:
        raise StyleFileError(f"{source}: truncated (the tensors need {end} bytes of data, "
                             f"{size} are present)")
    if end < size:
        raise StyleFileError(f"{source}: {size - end} trailing bytes after the tensor data; "
                             f"the file is corrupted or modified")
    return entries


def _neuralfx_metadata(header: dict[str, Any], source: str) -> dict[str, Any]:
    """The ``neuralfx`` metadata object, with its format and version checked."""
    meta = header.get("__metadata__")
    text = meta.get(_META_KEY) if isinstance(meta, dict) else None
    if not isinstance(text, str) or len(meta) != 1:
        raise StyleFileError(f"{source}: not a neuralfx style file (a safetensors file without "
                             f"neuralfx metadata: one string {_META_KEY!r} in __metadata__)")
    try:
        info = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise StyleFileError(f"{source}: its neuralfx metadata is not valid JSON ({e})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else info
        raise StyleFileError(f"{source}: not a neuralfx style file (format {found!r:.80}; "
                             f"expected {FORMAT!r})")
    version = info.get("format_version")
    if not _is_int(version) or version < 1:
        raise StyleFileError(f"{source}: format_version {version!r:.80} is not allowed: "
                             f"expected an integer from 1 to {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise StyleFileError(
            f"{source}: written by a newer neuralfx (format {version}; this one reads up to "
            f"{FORMAT_VERSION}): upgrade neuralfx (it says it was made by "
            f"{info.get('created_by', 'an unknown writer')!s:.80}; this is {__version__})")
    return info  # a missing or malformed tensors_sha256 fails the comparison with the tensors


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_FILE_BYTES", "RESERVED_KEYS", "SUFFIX",
           "StyleFileError", "parse_style_file", "read_style_file", "style_file_bytes",
           "tensors_sha256", "write_style_file"]
