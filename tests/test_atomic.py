"""The one atomic writer: a file appears complete under its name, or not at all."""

import os
import stat

import pytest

from neuralfx.atomic import atomic_path, umask, write_bytes_atomic


def normal_mode() -> int:
    """The permissions of a file created the ordinary way under this process's umask."""
    return 0o666 & ~umask()


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_file_with_normal_permissions(tmp_path):
    target = tmp_path / "out.bin"
    assert write_bytes_atomic(target, b"abc") == target
    assert target.read_bytes() == b"abc"
    assert mode(target) == normal_mode()  # not the 0600 of a temporary file
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_bytes_atomic(tmp_path / "private.bin", b"x")
        (tmp_path / "plain.bin").write_bytes(b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "private.bin") == mode(tmp_path / "plain.bin") == 0o600


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.wav"
    with pytest.raises(RuntimeError, match="encoder failed"):
        with atomic_path(target, suffix=".tmp.wav") as tmp:
            tmp.write_bytes(b"half a file")
            raise RuntimeError("encoder failed")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_untouched_when_the_write_fails(tmp_path):
    target = tmp_path / "preset.toml"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new but incomplete")
            raise KeyboardInterrupt  # an interrupt is cleaned up too
    assert target.read_bytes() == b"old" and mode(target) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["preset.toml"]


def test_an_existing_file_is_replaced_whole_on_success(tmp_path):
    target = tmp_path / "cache.pt"
    target.write_bytes(b"old contents, longer than the new ones")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp")  # beside it, not *.pt
        assert target.read_bytes().startswith(b"old")  # the old file stays until the end
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.pt"]


def test_the_temporary_keeps_a_given_suffix(tmp_path):
    with atomic_path(tmp_path / "song.flac", suffix=".tmp.flac") as tmp:
        assert tmp.suffix == ".flac"
        tmp.write_bytes(b"x")
    assert (tmp_path / "song.flac").read_bytes() == b"x"


def test_a_missing_folder_is_an_error_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_bytes_atomic(tmp_path / "no" / "such" / "file", b"x")
    assert list(tmp_path.iterdir()) == []
