"""The .nfxstyle container: round trips, atomic writes, and every kind of bad file refused
with an error that names the file and the problem, without running anything from it."""

import hashlib
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import soundfile as sf
import torch

from neuralfx.trained import stylefile as S
from neuralfx.trained.stylefile import (
    StyleFileError,
    parse_style_file,
    read_style_file,
    style_file_bytes,
    write_style_file,
)

META = {"preset": "mastered", "settings": {"n_fft": 2048, "hop": 512}, "style_sha256": "ab" * 32,
        "duration_seconds": 12.5, "training": {"steps": 300, "loss": [1.5, 0.25]}}


def make_tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"colour.weight": torch.randn(16, 8, generator=g),
            "blend": torch.rand(1025, generator=g).half(),
            "scale": torch.randn(3, 4, generator=g).bfloat16(),
            "gain": torch.tensor(0.5)}


@pytest.fixture
def style_file(tmp_path) -> Path:
    return write_style_file(tmp_path / "usa.nfxstyle", make_tensors(), META)


def header_of(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def with_header(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def handmade(tensors: dict, info: dict) -> bytes:
    """A file built with safetensors directly and the checksum computed from the documented
    rule (independently of the module), so only the check under test can refuse it."""
    raw = safetensors.torch.save(tensors)
    header, body = header_of(raw)
    h = hashlib.sha256()
    for name in sorted(k for k in header if k != "__metadata__"):
        e = header[name]
        h.update(json.dumps([name, e["dtype"], e["shape"]], separators=(",", ":")).encode())
        h.update(body[e["data_offsets"][0]:e["data_offsets"][1]])
    full = {"format": "neuralfx-style", "format_version": 1, "tensors_sha256": h.hexdigest(),
            "created_by": "neuralfx test"} | info
    return safetensors.torch.save(tensors, metadata={"neuralfx": json.dumps(full)})


def refused(tmp_path: Path, data: bytes, *words: str, name: str = "bad.nfxstyle") -> str:
    """Write ``data``, read it back: a StyleFileError naming the file and every word."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(StyleFileError) as e:
        read_style_file(path)
    message = str(e.value)
    assert str(path) in message, message
    for w in words:
        assert w in message, (w, message)
    return message


# --- round trip ------------------------------------------------------------------------------

def test_round_trip_is_bit_exact_for_every_dtype(style_file):
    tensors, meta = read_style_file(style_file)
    original = make_tensors()
    assert sorted(tensors) == sorted(original)
    for name, t in original.items():
        assert tensors[name].dtype == t.dtype and tensors[name].shape == t.shape
        assert tensors[name].device.type == "cpu" and tensors[name].is_contiguous()
        bits = tensors[name].reshape(-1).view(torch.uint8)
        assert torch.equal(bits, t.reshape(-1).view(torch.uint8))
    assert {k: v for k, v in meta.items() if k not in S.RESERVED_KEYS} == META
    assert meta["format"] == S.FORMAT and meta["format_version"] == S.FORMAT_VERSION
    assert meta["created_by"].startswith("neuralfx ")


def test_bytes_and_file_agree_and_are_plain_safetensors(style_file):
    data = style_file.read_bytes()
    assert data == style_file_bytes(make_tensors(), META)  # deterministic
    assert parse_style_file(data)[1] == read_style_file(style_file)[1]
    # any safetensors tool can open it: one metadata key holding our JSON
    header, _ = header_of(data)
    assert list(header["__metadata__"]) == ["neuralfx"]
    assert set(safetensors.torch.load(data)) == set(make_tensors())


def test_non_contiguous_and_shared_tensors_are_written(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    path = write_style_file(tmp_path / "v.nfxstyle", {"t": base.T, "row": base[1]}, {})
    tensors, _ = read_style_file(path)
    assert torch.equal(tensors["t"], base.T) and torch.equal(tensors["row"], base[1])


# --- atomic write ----------------------------------------------------------------------------

def test_write_leaves_no_temporary(tmp_path, style_file):
    assert [p.name for p in tmp_path.iterdir()] == ["usa.nfxstyle"]


def test_existing_file_is_replaced_only_on_success(tmp_path, style_file):
    before = style_file.read_bytes()
    with pytest.raises(StyleFileError):
        write_style_file(style_file, {"w": torch.tensor([float("nan")])}, {})
    assert style_file.read_bytes() == before
    write_style_file(style_file, {"w": torch.ones(2)}, {"preset": "draft"})
    assert read_style_file(style_file)[1]["preset"] == "draft"
    assert [p.name for p in tmp_path.iterdir()] == ["usa.nfxstyle"]


# --- refused on write ------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["format", "format_version", "tensors_sha256", "created_by"])
def test_reserved_metadata_keys_are_refused(tmp_path, key):
    with pytest.raises(StyleFileError, match=f"metadata key '{key}' is not allowed"):
        write_style_file(tmp_path / "x.nfxstyle", {"w": torch.ones(1)}, {key: 1})
    assert not (tmp_path / "x.nfxstyle").exists()


@pytest.mark.parametrize("value", [object(), {1, 2}, float("nan"), b"bytes"])
def test_metadata_must_be_json(tmp_path, value):
    path = tmp_path / "x.nfxstyle"
    with pytest.raises(StyleFileError) as e:
        write_style_file(path, {"w": torch.ones(1)}, {"figures": value})
    assert str(path) in str(e.value)  # the error names the file being written
    assert "metadata field 'figures' is not JSON-serialisable" in str(e.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("tensor", [torch.ones(2, dtype=torch.float64), torch.ones(2).int(),
                                    torch.tensor([1.0, float("inf")])])
def test_unreadable_tensors_are_not_written(tmp_path, tensor):
    with pytest.raises(StyleFileError, match="tensor 'w'"):
        write_style_file(tmp_path / "x.nfxstyle", {"w": tensor}, {})


# --- refused on read: the container ----------------------------------------------------------

def test_missing_and_non_files(tmp_path):
    with pytest.raises(StyleFileError, match="does not exist"):
        read_style_file(tmp_path / "nowhere.nfxstyle")
    with pytest.raises(StyleFileError, match="not a file"):
        read_style_file(tmp_path)


def test_truncated_files_are_refused(tmp_path, style_file):
    data = style_file.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    assert "empty or truncated" in refused(tmp_path, b"")
    for cut in (4, 8 + n // 2, 8 + n + 10, len(data) - 1):
        refused(tmp_path, data[:cut], "truncated")


def test_trailing_garbage_is_refused(tmp_path, style_file):
    refused(tmp_path, style_file.read_bytes() + b"\0" * 16, "16 trailing bytes")


def test_oversized_file_is_refused_before_reading(tmp_path, style_file, monkeypatch):
    monkeypatch.setattr(S, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read an oversized file"))
    with pytest.raises(StyleFileError) as e:
        read_style_file(style_file)
    assert str(style_file) in str(e.value) and "larger than a style file may be" in str(e.value)
    with pytest.raises(StyleFileError, match="larger than"):
        parse_style_file(bytes(101), "blob")


def test_flipped_byte_in_the_data_is_caught_by_the_checksum(tmp_path, style_file):
    data = bytearray(style_file.read_bytes())
    data[-3] ^= 0x01  # the mantissa of the last value: still a finite number
    refused(tmp_path, bytes(data), "corrupted or modified", "tensors_sha256")


def test_flipped_byte_in_the_header_is_refused(tmp_path, style_file):
    data = style_file.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    text, body = data[8:8 + n], data[8 + n:]

    def edit(old: bytes, new: bytes) -> bytes:
        assert old in text
        edited = text.replace(old, new, 1)
        return struct.pack("<Q", len(edited)) + edited + body

    # in the JSON syntax: not JSON any more
    refused(tmp_path, edit(b":", b";"), "not a neuralfx style file", "not UTF-8 JSON")
    refused(tmp_path, edit(b"{", b"\xff"), "not a neuralfx style file", "not UTF-8 JSON")
    # valid JSON that no longer describes the data
    refused(tmp_path, edit(b'"F32"', b'"F64"'), "dtype 'F64' is not allowed")
    refused(tmp_path, edit(b'"shape":[16,8]', b'"shape":[16,9]'), "'colour.weight'", "needs 576")
    # same sizes, other meaning: only the checksum can tell
    for old, new in ((b'"BF16"', b'"F16"'), (b'"shape":[16,8]', b'"shape":[8,16]')):
        refused(tmp_path, edit(old, new), "corrupted or modified")


@pytest.mark.parametrize("entry, words", [
    ({"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}, ["dtype 'I64' is not allowed"]),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, ["shape [-1]"]),
    ({"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}, ["shape [1.5]"]),
    ({"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}, ["elements"]),
    ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, ["data_offsets [4, 0]"]),
    ({"dtype": "F32", "shape": [1], "data_offsets": ["0", 4]}, ["data_offsets"]),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, ["needs 8"]),
    ({"dtype": "F32", "shape": [1]}, ["expected dtype, shape and data_offsets"]),
])
def test_bad_tensor_entries_are_refused(tmp_path, entry, words):
    data = with_header({"__metadata__": {"neuralfx": "{}"}, "w": entry}, bytes(8))
    refused(tmp_path, data, "'w'", *words)


def test_overlapping_or_gapped_offsets_are_refused(tmp_path):
    f32 = {"dtype": "F32", "shape": [1]}
    overlap = {"a": f32 | {"data_offsets": [0, 4]}, "b": f32 | {"data_offsets": [0, 4]}}
    refused(tmp_path, with_header(overlap, bytes(4)), "overlap or leave a gap")
    gap = {"a": f32 | {"data_offsets": [0, 4]}, "b": f32 | {"data_offsets": [8, 12]}}
    refused(tmp_path, with_header(gap, bytes(12)), "overlap or leave a gap")


# --- refused on read: not ours, or from elsewhere --------------------------------------------

class _Trap:
    """Unpickling it would create a marker file: proof that the reader ran code."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_is_refused_and_never_executed(tmp_path):
    trap = _Trap()
    trap.marker = tmp_path / "pwned"
    payload = pickle.dumps(trap)
    refused(tmp_path, payload, "not a neuralfx style file")
    assert not trap.marker.exists()
    # torch.save's zip format too
    torch.save({"w": torch.ones(2), "trap": trap}, tmp_path / "model.pt")
    refused(tmp_path, (tmp_path / "model.pt").read_bytes(), "not a neuralfx style file")
    assert not trap.marker.exists()
    pickle.loads(payload)  # the trap is real: unpickling does create the marker
    assert trap.marker.exists()


def test_zip_and_wav_files_are_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("x.txt", "hello")
    refused(tmp_path, (tmp_path / "a.zip").read_bytes(), "not a neuralfx style file")
    sf.write(tmp_path / "a.wav", np.zeros(1000, np.float32), 22050)
    refused(tmp_path, (tmp_path / "a.wav").read_bytes(), "not a neuralfx style file")


def test_plain_safetensors_without_our_metadata_is_refused(tmp_path):
    plain = safetensors.torch.save({"w": torch.ones(3)})
    refused(tmp_path, plain, "not a neuralfx style file", "without neuralfx metadata")
    other = safetensors.torch.save({"w": torch.ones(3)}, metadata={"format": "pt"})
    refused(tmp_path, other, "not a neuralfx style file")


def test_metadata_problems_are_refused(tmp_path):
    w = {"w": torch.ones(3)}
    bad_json = safetensors.torch.save(w, metadata={"neuralfx": "{not json"})
    refused(tmp_path, bad_json, "neuralfx metadata is not valid JSON")
    refused(tmp_path, handmade(w, {"format": "something-else"}), "not a neuralfx style file",
            "'something-else'")
    for version in ("1", 1.0, True, 0, None):
        refused(tmp_path, handmade(w, {"format_version": version}), "format_version",
                "expected an integer from 1 to 1")
    refused(tmp_path, handmade(w, {"tensors_sha256": None}), "tensors_sha256")


def test_a_newer_format_asks_for_an_upgrade(tmp_path):
    newer = handmade({"w": torch.ones(3)}, {"format_version": 2, "created_by": "neuralfx 9.0"})
    refused(tmp_path, newer, "written by a newer neuralfx (format 2; this one reads up to 1): "
            "upgrade neuralfx", "neuralfx 9.0")


def test_non_finite_tensors_are_refused(tmp_path):
    for bad in (float("nan"), float("inf")):
        data = handmade({"ok": torch.ones(2), "w": torch.tensor([1.0, bad]).half()}, {})
        refused(tmp_path, data, "tensor 'w'", "non-finite")
    # the handmade checksum is right: a finite file built the same way is accepted
    good = handmade({"w": torch.ones(2)}, {"preset": "draft"})
    assert parse_style_file(good, "good")[1]["preset"] == "draft"
