"""neuralfx.audio: file I/O, resampling, layouts."""

import os

import numpy as np
import pytest

from neuralfx import audio as A


def tone(sr, seconds=0.5, channels=2, freq=440.0):
    t = np.arange(int(sr * seconds)) / sr
    return np.stack([0.25 * np.sin(2 * np.pi * freq * (c + 1) * t)
                     for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("ext,bit_depth,tol", [("wav", 16, 1e-4), ("wav", 24, 1e-6),
                                               ("wav", 32, 0.0), ("flac", 24, 1e-6),
                                               ("aiff", 16, 1e-4)])
def test_write_then_read_round_trip(tmp_path, ext, bit_depth, tol):
    x = tone(44100)
    path = A.write_audio(tmp_path / f"out.{ext}", x, 44100, bit_depth=bit_depth)
    y, sr = A.read_audio(path)
    assert sr == 44100
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= tol


def test_write_accepts_1d_and_str_paths(tmp_path):
    x = tone(8000, channels=1)[0]
    A.write_audio(str(tmp_path / "mono.wav"), x, 8000)
    y, sr = A.read_audio(str(tmp_path / "mono.wav"))
    assert y.shape == (1, x.shape[0]) and sr == 8000


def test_write_is_atomic_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.wav"
    A.write_audio(path, tone(8000), 8000)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        A.write_audio(path, tone(8000), 8000, bit_depth=12)
    with pytest.raises(A.AudioFileError, match="out.flac"):
        A.write_audio(tmp_path / "out.flac", tone(8000), 8000, bit_depth=32)  # FLAC: 16/24
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        A.write_audio(tmp_path / "x.wav", np.full((1, 10), np.nan, np.float32), 8000)
    with pytest.raises(ValueError, match="sample_rate"):
        A.write_audio(tmp_path / "x.wav", tone(8000), 0)
    with pytest.raises(A.AudioFileError, match="x.xyz"):
        A.write_audio(tmp_path / "x.xyz", tone(8000), 8000)
    with pytest.raises(FileNotFoundError, match="missing"):
        A.write_audio(tmp_path / "missing" / "x.wav", tone(8000), 8000)
    assert os.listdir(tmp_path) == []


def test_read_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError) as e:
        A.read_audio(path)
    assert str(path) in str(e.value)


def test_read_undecodable_file_names_the_file(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"not audio at all" * 64)
    with pytest.raises(A.AudioFileError, match="garbage.wav"):
        A.read_audio(path)
    with pytest.raises(A.AudioFileError, match="folder"):
        A.read_audio(tmp_path)


@pytest.mark.parametrize("from_sr,to_sr", [(44100, 22050), (22050, 48000), (8000, 192000),
                                           (96000, 22050), (44100, 44100)])
def test_resample_length_and_content(from_sr, to_sr):
    x = tone(from_sr, seconds=0.25, freq=200.0)
    y = A.resample(x, from_sr, to_sr)
    assert y.dtype == np.float32 and y.shape[0] == 2
    assert abs(y.shape[-1] - x.shape[-1] * to_sr / from_sr) <= 1
    back = A.resample(y, to_sr, from_sr, length=x.shape[-1])
    assert back.shape == x.shape
    # a 200 Hz tone survives the round trip (ignore the filter's edges)
    mid = slice(x.shape[-1] // 4, 3 * x.shape[-1] // 4)
    assert np.max(np.abs(back[:, mid] - x[:, mid])) < 1e-2


def test_resample_1d_empty_and_quality():
    assert A.resample(np.zeros(0, np.float32), 44100, 22050).shape == (0,)
    assert A.resample(tone(8000)[0], 8000, 16000, quality="VHQ").ndim == 1
    with pytest.raises(ValueError, match="quality"):
        A.resample(tone(8000), 8000, 16000, quality="LQ")


def test_fit_length_and_to_mono():
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    assert A.fit_length(x, 3).shape == (2, 3)
    assert np.array_equal(A.fit_length(x, 7)[:, 5:], np.zeros((2, 2)))
    assert np.allclose(A.to_mono(x), x.mean(0))
    assert A.to_mono(x[0]) is not None and A.to_mono(x[0]).shape == (5,)
