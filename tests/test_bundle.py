"""Preset bundles: export/import round trip with a render, and hostile bundles refused."""

import hashlib
import io
import json
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

try:  # tests/ may or may not be a package
    from .conftest import TINY
except ImportError:
    from conftest import TINY

from neuralfx.presets import bundle as B
from neuralfx.presets import dump_preset, load_preset
from neuralfx.presets.bundle import BundleError, export_bundle, import_bundle, read_bundle

SR = 22050


@pytest.fixture
def style_wav(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    t = np.arange(2 * SR) / SR
    gate = rng.random(t.shape) > 0.5
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * gate + 0.05 * rng.standard_normal(t.shape)
    path = tmp_path / "my style.wav"
    sf.write(path, x.astype(np.float32), SR, subtype="FLOAT")
    return path


@pytest.fixture
def bundle_path(tmp_path, style_wav) -> Path:
    preset = load_preset("mastered", **TINY)
    return export_bundle(preset, tmp_path / "out" / "shared.zip", style_path=style_wav)


def test_bundle_layout(bundle_path, style_wav):
    sha = hashlib.sha256(style_wav.read_bytes()).hexdigest()
    with zipfile.ZipFile(bundle_path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        toml = zf.read("preset.toml").decode()
    assert sorted(names) == sorted(["manifest.json", "preset.toml", f"styles/{sha}.wav"])
    assert manifest["format_version"] == B.BUNDLE_VERSION
    assert manifest["style"] == f"styles/{sha}.wav"
    assert f'sha256 = "{sha}"' in toml and "[[chain.post]]" in toml
    assert [p.name for p in bundle_path.parent.iterdir()] == ["shared.zip"]  # no temporary left


def test_export_is_deterministic(tmp_path, style_wav):
    p = load_preset("draft")
    a = export_bundle(p, tmp_path / "a.zip", style_path=style_wav).read_bytes()
    b = export_bundle(p, tmp_path / "b.zip", style_path=style_wav).read_bytes()
    assert a == b


def test_round_trip_renders_the_same(tmp_path, bundle_path, style_wav, monkeypatch):
    from neuralfx.chain import Pedalboard
    from neuralfx.effect import NeuralStyle

    original = load_preset("mastered", **TINY)
    clean = tmp_path / "clean-presets"
    monkeypatch.setenv("NEURALFX_PRESET_DIR", str(clean))
    imported, style = import_bundle(bundle_path)
    assert style.parent == clean / "styles" and style.read_bytes() == style_wav.read_bytes()
    assert imported.settings == original.settings
    assert (imported.pre, imported.post, imported.mix) == (original.pre, original.post,
                                                           original.mix)
    assert load_preset("mastered", prefer_user=True) == imported  # installed as a user preset

    t = np.arange(SR // 2) / SR
    content = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    a = NeuralStyle(style_wav, preset=original)(content, SR)
    b = NeuralStyle(preset=imported)(content, SR)  # the style comes from the preset
    assert a.shape == content.shape and np.abs(a).max() > 1e-4
    np.testing.assert_array_equal(a, b)

    board = Pedalboard.from_preset(imported)  # the whole shared chain, ready to run
    kinds = [type(p).__name__ for p in board]
    assert kinds == ["HighpassFilter", "NeuralStyle", "Compressor", "Limiter"]
    assert board[1].iterations == TINY["iterations"]


def test_bundle_without_style_and_renamed_import(tmp_path):
    path = export_bundle(load_preset("draft", seed=5), tmp_path / "nostyle.zip")
    p, style = import_bundle(path, tmp_path / "presets", name="draft five")
    assert style is None and p.style is None and p.name == "draft five"
    assert p.settings.seed == 5
    assert (tmp_path / "presets" / "draft_five.toml").exists()


def test_reimport_is_fine_but_a_different_preset_is_not_overwritten(tmp_path, bundle_path):
    folder = tmp_path / "p"
    import_bundle(bundle_path, folder)
    import_bundle(bundle_path, folder)  # identical: fine
    other = export_bundle(load_preset("mastered", iterations=9), tmp_path / "other.zip")
    with pytest.raises(FileExistsError, match="overwrite"):
        import_bundle(other, folder)
    p, _ = import_bundle(other, folder, overwrite=True)
    assert p.settings.iterations == 9


def test_read_bundle_writes_nothing(tmp_path, bundle_path, monkeypatch):
    monkeypatch.setenv("NEURALFX_PRESET_DIR", str(tmp_path / "untouched"))
    preset, manifest = read_bundle(bundle_path)
    assert preset.name == "mastered" and manifest["style"].startswith("styles/")
    assert not (tmp_path / "untouched").exists()


def test_export_checks_the_style(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(BundleError, match=r"\.txt"):
        export_bundle(load_preset("draft"), tmp_path / "x.zip", style_path=tmp_path / "notes.txt")
    with pytest.raises(BundleError, match="does not exist"):
        export_bundle(load_preset("draft"), tmp_path / "x.zip", style_path=tmp_path / "no.wav")
    assert not (tmp_path / "x.zip").exists()


# --- hostile bundles -------------------------------------------------------------------------

def make_bundle(path: Path, members: dict, manifest: dict | None = None, *,
                fix_manifest: bool = True, compress=zipfile.ZIP_DEFLATED) -> Path:
    """A bundle with arbitrary members; by default a manifest that matches them."""
    files = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
             for n, d in members.items()}
    styles = [n for n in members if n.startswith("styles/")]
    m = {"format": "neuralfx-bundle", "format_version": 1, "preset": "preset.toml",
         "style": styles[0] if styles else None, "files": files}
    if manifest:
        m.update(manifest)
    with zipfile.ZipFile(path, "w", compress) as zf:
        if fix_manifest:
            zf.writestr("manifest.json", json.dumps(m))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def preset_text(**style) -> bytes:
    p = load_preset("draft")
    if style:
        import dataclasses
        p = dataclasses.replace(p, **style)
    return dump_preset(p).encode()


def assert_refused(path: Path, folder: Path, *words: str) -> None:
    with pytest.raises(BundleError) as e:
        import_bundle(path, folder)
    assert str(path) in str(e.value)  # the error names the bundle file
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert not folder.exists() or not any(folder.rglob("*")), "nothing may be written"


@pytest.mark.parametrize("evil", ["../evil.toml", "/etc/evil.toml", "styles/../../evil.wav",
                                  "..\\evil.toml", "C:/evil.toml", "styles/evil.wav",
                                  "preset.toml/../x", "extra.txt"])
def test_zip_slip_and_unexpected_members_are_refused(tmp_path, evil):
    path = make_bundle(tmp_path / "evil.zip", {"preset.toml": preset_text(), evil: b"x"})
    assert_refused(path, tmp_path / "p", "unexpected member", repr(evil))
    assert not (tmp_path / "evil.toml").exists()


def test_symlink_member_is_refused(tmp_path):
    data = b"RIFF"
    name = f"styles/{hashlib.sha256(data).hexdigest()}.wav"
    path = make_bundle(tmp_path / "link.zip", {"preset.toml": preset_text()})
    with zipfile.ZipFile(path, "a") as zf:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, data)
    assert_refused(path, tmp_path / "p", "not a regular file")


def test_oversize_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "MAX_STYLE_BYTES", 1000)
    data = np.random.default_rng(0).bytes(5000)
    name = f"styles/{hashlib.sha256(data).hexdigest()}.wav"
    path = make_bundle(tmp_path / "big.zip", {
        "preset.toml": preset_text(style=name, style_sha256=name[7:71]), name: data})
    assert_refused(path, tmp_path / "p", "5000 bytes", "at most 1000")
    big_text = make_bundle(tmp_path / "bigtext.zip", {"preset.toml": b"#" * (B.MAX_TEXT_BYTES + 1)})
    assert_refused(big_text, tmp_path / "p", "preset.toml", "at most")


def test_zip_bomb_is_refused(tmp_path):
    data = bytes(4 << 20)  # 4 MiB of zeros deflate about 1000:1
    name = f"styles/{hashlib.sha256(data).hexdigest()}.wav"
    path = make_bundle(tmp_path / "bomb.zip", {
        "preset.toml": preset_text(style=name, style_sha256=name[7:71]), name: data})
    assert_refused(path, tmp_path / "p", "zip bomb")


def test_lying_header_is_refused(tmp_path, monkeypatch):
    # a member that inflates to more than its header declares: the reader stops early
    path = make_bundle(tmp_path / "lie.zip", {"preset.toml": preset_text()})
    real = zipfile.ZipFile.open

    def open_lying(self, name, *a, **k):
        f = real(self, name, *a, **k)
        if isinstance(name, zipfile.ZipInfo) and name.filename == "preset.toml":
            return io.BytesIO(f.read() + b"# more")
        return f

    monkeypatch.setattr(zipfile.ZipFile, "open", open_lying)
    assert_refused(path, tmp_path / "p", "more data than its header declares")


def test_corrupted_bundles_are_refused(tmp_path, bundle_path):
    data = bytearray(bundle_path.read_bytes())
    # flip bytes inside the style member's compressed data: CRC or deflate error
    with zipfile.ZipFile(bundle_path) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("styles/"))
    start = info.header_offset + 30 + len(info.filename) + 100
    data[start:start + 64] = bytes(b ^ 0xFF for b in data[start:start + 64])
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    assert_refused(flipped, tmp_path / "p1", "corrupted")

    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(bundle_path.read_bytes()[: len(data) // 2])
    assert_refused(truncated, tmp_path / "p2", "not a readable zip")

    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"definitely not a zip file")
    assert_refused(garbage, tmp_path / "p3", "not a neuralfx bundle")

    assert_refused(tmp_path / "missing.zip", tmp_path / "p4", "does not exist")


def test_wrong_checksums_are_refused(tmp_path):
    text = preset_text()
    wrong = make_bundle(tmp_path / "sum.zip", {"preset.toml": text}, {
        "files": {"preset.toml": {"sha256": "0" * 64, "size": len(text)}}})
    assert_refused(wrong, tmp_path / "p", "checksum mismatch", "preset.toml")

    # style bytes that do not match the hash in their name (manifest rewritten to agree)
    data, other = b"RIFF-one", b"RIFF-two"
    name = f"styles/{hashlib.sha256(other).hexdigest()}.wav"
    path = make_bundle(tmp_path / "swap.zip", {
        "preset.toml": preset_text(style=name, style_sha256=hashlib.sha256(data).hexdigest()),
        name: data})
    assert_refused(path, tmp_path / "p", "altered")
    # and a preset whose recorded hash is not the bundled audio's
    path = make_bundle(tmp_path / "swap2.zip", {
        "preset.toml": preset_text(style=name, style_sha256=name[7:71]), name: data})
    assert_refused(path, tmp_path / "p", "is not the bundled style")


def test_manifest_problems_are_refused(tmp_path):
    text = preset_text()
    assert_refused(make_bundle(tmp_path / "a.zip", {"preset.toml": text}, fix_manifest=False),
                   tmp_path / "p", "manifest.json is missing")
    assert_refused(make_bundle(tmp_path / "b.zip", {"preset.toml": text},
                               {"format": "something-else"}), tmp_path / "p", "neuralfx bundle")
    assert_refused(make_bundle(tmp_path / "c.zip", {"preset.toml": text},
                               {"files": {}}), tmp_path / "p", "lists")
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        zf.writestr("manifest.json", "{not json")
        zf.writestr("preset.toml", text)
    assert_refused(tmp_path / "d.zip", tmp_path / "p", "not valid JSON")


def test_newer_versions_get_a_clear_message(tmp_path):
    newer = make_bundle(tmp_path / "new.zip", {"preset.toml": preset_text()},
                        {"format_version": 99, "created_by": "neuralfx 9.0"})
    assert_refused(newer, tmp_path / "p", "format_version 99", "newer", "neuralfx 9.0",
                   "upgrade")
    text = preset_text().replace(b"format_version = 1", b"format_version = 7")
    newer_preset = make_bundle(tmp_path / "newp.zip", {"preset.toml": text})
    assert_refused(newer_preset, tmp_path / "p", "format_version = 7", "newer", "upgrade")


def test_preset_must_refer_to_the_bundled_style(tmp_path):
    data = b"RIFF"
    name = f"styles/{hashlib.sha256(data).hexdigest()}.wav"
    path = make_bundle(tmp_path / "x.zip", {"preset.toml": preset_text(style="/etc/passwd"),
                                            name: data})
    assert_refused(path, tmp_path / "p", "is not the bundled style")


# --- trained styles --------------------------------------------------------------------------

def trained_style(path: Path) -> Path:
    import torch

    from neuralfx.trained.stylefile import write_style_file
    tensors = {"blend": torch.linspace(-1.0, 1.0, 64), "gain": torch.ones(4, 3).half()}
    return write_style_file(path, tensors, {"preset": "draft", "duration_seconds": 2.0})


def test_trained_style_round_trip(tmp_path):
    import torch

    from neuralfx.trained.stylefile import SUFFIX, read_style_file

    assert B.TRAINED_SUFFIX == SUFFIX
    style = trained_style(tmp_path / "usa.nfxstyle")
    sha = hashlib.sha256(style.read_bytes()).hexdigest()
    path = export_bundle(load_preset("draft"), tmp_path / "trained.zip", style_path=style)
    preset, manifest = read_bundle(path)
    assert manifest["style"] == preset.style == f"styles/{sha}.nfxstyle"

    imported, dest = import_bundle(path, tmp_path / "p")
    assert dest == tmp_path / "p" / "styles" / f"{sha}.nfxstyle"
    assert dest.read_bytes() == style.read_bytes()
    assert imported.style == str(dest.resolve()) and imported.style_sha256 == sha
    assert imported.style_path() == dest.resolve()  # the recorded hash checks out
    tensors, meta = read_style_file(dest)
    assert torch.equal(tensors["blend"], torch.linspace(-1.0, 1.0, 64))
    assert meta["preset"] == "draft"


def test_tampered_trained_style_is_refused(tmp_path):
    good = trained_style(tmp_path / "usa.nfxstyle").read_bytes()
    data = bytearray(good)
    data[-5] ^= 0x01  # one tensor bit: the zip CRC and manifest agree, only the style file knows
    sha = hashlib.sha256(data).hexdigest()
    name = f"styles/{sha}.nfxstyle"
    path = make_bundle(tmp_path / "tampered.zip", {
        "preset.toml": preset_text(style=name, style_sha256=sha), name: bytes(data)})
    assert_refused(path, tmp_path / "p", repr(name), "tensors_sha256", "corrupted or modified")
    with pytest.raises(BundleError, match="corrupted or modified"):
        read_bundle(path)
    # the same bundle with the original bytes is fine
    sha = hashlib.sha256(good).hexdigest()
    name = f"styles/{sha}.nfxstyle"
    fine = make_bundle(tmp_path / "fine.zip", {
        "preset.toml": preset_text(style=name, style_sha256=sha), name: good})
    assert import_bundle(fine, tmp_path / "p")[1].read_bytes() == good


def test_a_pickle_named_nfxstyle_is_refused(tmp_path):
    import pickle

    data = pickle.dumps({"weights": [1.0, 2.0]})
    sha = hashlib.sha256(data).hexdigest()
    name = f"styles/{sha}.nfxstyle"
    path = make_bundle(tmp_path / "pickle.zip", {
        "preset.toml": preset_text(style=name, style_sha256=sha), name: data})
    assert_refused(path, tmp_path / "p", repr(name), "not a neuralfx style file")

    (tmp_path / "fake.nfxstyle").write_bytes(data)  # nor is one exported
    with pytest.raises(BundleError, match="not a neuralfx style file"):
        export_bundle(load_preset("draft"), tmp_path / "x.zip",
                      style_path=tmp_path / "fake.nfxstyle")
    assert not (tmp_path / "x.zip").exists()


def test_oversize_trained_style_member_is_refused_before_reading(tmp_path, monkeypatch):
    from neuralfx.trained import stylefile

    data = trained_style(tmp_path / "usa.nfxstyle").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    name = f"styles/{sha}.nfxstyle"
    path = make_bundle(tmp_path / "big.zip", {
        "preset.toml": preset_text(style=name, style_sha256=sha), name: data})
    monkeypatch.setattr(stylefile, "MAX_FILE_BYTES", 100)
    assert_refused(path, tmp_path / "p", repr(name), f"{len(data)} bytes", "at most 100")
