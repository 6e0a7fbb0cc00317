"""Shareable preset bundles: one zip file with a preset, its style audio and its chain.

Layout (nothing else is accepted on import)::

    manifest.json              {"format": "neuralfx-bundle", "format_version": 1,
                                "created_by": "neuralfx 0.1.0", "preset": "preset.toml",
                                "style": "styles/<sha256>.wav" or null,
                                "files": {name: {"sha256": ..., "size": ...}}}
    preset.toml                the preset (its chain inside), style.path = "styles/<sha256>.wav"
    styles/<sha256>.<ext>      the style audio, or a trained style (.nfxstyle), named by the
                               sha256 of its bytes

:func:`import_bundle` treats the file as hostile: members must have exactly these names (so no
path traversal, absolute paths or links), sizes and compression ratios are bounded (checked on
the declared sizes and again while reading, since headers can lie), every checksum is verified,
newer format versions are refused with a clear message, a trained style is checked as a whole
style file, and nothing is written until all checks pass; files are written atomically. The
style lands in ``<preset folder>/styles/`` (shared by content hash), the preset in the user
preset folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import stat
import zipfile
from pathlib import Path
from typing import Any

from .._version import __version__
from ..atomic import atomic_path
from .codec import dump_preset, loads_preset, read_preset_file
from .library import save_user_preset, user_file, user_preset_dir
from .preset import Preset, PresetError, file_sha256

BUNDLE_FORMAT = "neuralfx-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
PRESET_MEMBER = "preset.toml"
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff")
TRAINED_SUFFIX = ".nfxstyle"  # neuralfx.trained.stylefile.SUFFIX, spelled here: that needs torch
_STYLE_MEMBER = re.compile(r"styles/([0-9a-f]{64})(\.(?:wav|flac|mp3|ogg|aif|aiff|nfxstyle))")

MAX_TEXT_BYTES = 1 << 20        # manifest and preset: a few hundred bytes in practice
MAX_STYLE_BYTES = 512 << 20     # about 48 minutes of 24-bit stereo at 48 kHz
MAX_TOTAL_BYTES = MAX_STYLE_BYTES + 2 * MAX_TEXT_BYTES
MAX_RATIO = 200                 # audio barely compresses; a bomb compresses 1000:1
RATIO_FLOOR = 1 << 20           # tiny members may compress well (a silent clip), ignore them
_DATE = (1980, 1, 1, 0, 0, 0)   # fixed timestamps: the same preset gives the same bundle bytes


class BundleError(PresetError):
    """A bundle is malformed, unsafe, corrupted or from a newer neuralfx."""


# ---------------------------------------------------------------------------------------------
# export

def export_bundle(preset: Preset, path: str | Path, style_path: str | Path | None = None
                  ) -> Path:
    """Write ``preset`` (with its chain) and its style audio to the zip file ``path``.

    The style is ``style_path`` if given, else the preset's own (checked against its recorded
    hash); a preset without a style is bundled alone. Returns the path written (atomically).
    """
    path = Path(path).expanduser()
    style = Path(style_path).expanduser() if style_path is not None else preset.style_path()
    files: dict[str, bytes] = {}
    member = None
    if style is not None:
        if not style.is_file():
            raise BundleError(f"style file {str(style)!r} does not exist")
        suffix = style.suffix.lower()
        if suffix not in AUDIO_SUFFIXES + (TRAINED_SUFFIX,):
            raise BundleError(f"style file {str(style)!r}: {suffix or 'no extension'} is not "
                              f"allowed in a bundle; expected one of {', '.join(AUDIO_SUFFIXES)}"
                              f" or {TRAINED_SUFFIX}")
        size = style.stat().st_size
        if size > MAX_STYLE_BYTES:
            raise BundleError(f"style file {str(style)!r} is {size} bytes; a bundle holds at "
                              f"most {MAX_STYLE_BYTES} bytes of style audio")
        data = style.read_bytes()
        if suffix == TRAINED_SUFFIX:  # never share a trained style that would not load
            _parse_trained_style(data, str(style))
        sha = hashlib.sha256(data).hexdigest()
        member = f"styles/{sha}{suffix}"
        files[member] = data
        preset = dataclasses.replace(preset, style=member, style_sha256=sha)
    else:
        preset = dataclasses.replace(preset, style=None, style_sha256=None)
    files[PRESET_MEMBER] = dump_preset(preset).encode("utf-8")
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "created_by": f"neuralfx {__version__}",
        "preset": PRESET_MEMBER,
        "style": member,
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for name, data in files.items()},
    }
    files = {MANIFEST: json.dumps(manifest, indent=2).encode("utf-8")} | files

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_DATE)
            # compressed audio formats gain nothing from deflate
            info.compress_type = (zipfile.ZIP_STORED if name.endswith((".mp3", ".ogg", ".flac"))
                                  else zipfile.ZIP_DEFLATED)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    return path


# ---------------------------------------------------------------------------------------------
# import

def _check_members(zf: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    """Name, type and size checks on the central directory, before anything is read."""
    infos = zf.infolist()
    if len(infos) > 3:
        raise BundleError(f"{where}: {len(infos)} members; a bundle holds at most 3 "
                          f"({MANIFEST}, {PRESET_MEMBER} and one styles/<sha256>.<ext>)")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if name not in (MANIFEST, PRESET_MEMBER) and not _STYLE_MEMBER.fullmatch(name):
            raise BundleError(
                f"{where}: unexpected member {name!r} (a bundle holds only {MANIFEST}, "
                f"{PRESET_MEMBER} and styles/<sha256>.<ext>; paths outside it are refused)")
        if name in members:
            raise BundleError(f"{where}: member {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise BundleError(f"{where}: member {name!r} is encrypted")
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG):
            raise BundleError(f"{where}: member {name!r} is not a regular file (a link or "
                              f"device); refused")
        limit = MAX_STYLE_BYTES if name.startswith("styles/") else MAX_TEXT_BYTES
        if name.endswith(TRAINED_SUFFIX):
            limit = _stylefile().MAX_FILE_BYTES
        if info.file_size > limit:
            raise BundleError(f"{where}: member {name!r} is {info.file_size} bytes; at most "
                              f"{limit} are allowed")
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise BundleError(f"{where}: member {name!r} expands {ratio:.0f}-fold (at most "
                              f"{MAX_RATIO}); refused as a likely zip bomb")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleError(f"{where}: more than {MAX_TOTAL_BYTES} bytes uncompressed")
        members[name] = info
    for required in (MANIFEST, PRESET_MEMBER):
        if required not in members:
            raise BundleError(f"{where}: {required} is missing; not a neuralfx bundle")
    return members


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, sink) -> tuple[str, int]:
    """Copy a member to ``sink(bytes)``; returns (sha256, size). Stops as soon as more bytes
    come out than the header declared (a lying header); zipfile checks the CRC at the end."""
    h, size = hashlib.sha256(), 0
    try:
        with zf.open(info) as f:
            while block := f.read(1 << 20):
                size += len(block)
                if size > info.file_size:
                    raise BundleError(f"{where}: member {info.filename!r} holds more data than "
                                      f"its header declares; refused")
                h.update(block)
                sink(block)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
        if isinstance(e, BundleError):
            raise
        raise BundleError(f"{where}: member {info.filename!r} is corrupted ({e})") from None
    return h.hexdigest(), size


def _read_small(zf, info, where) -> bytes:
    parts: list[bytes] = []
    _stream(zf, info, where, parts.append)
    return b"".join(parts)


def _check_manifest(data: bytes, members: dict[str, zipfile.ZipInfo], where: str
                    ) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{where}: {MANIFEST} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{where}: {MANIFEST} does not describe a neuralfx bundle "
                          f"(expected \"format\": \"{BUNDLE_FORMAT}\")")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleError(f"{where}: format_version = {version!r} is not allowed: expected an "
                          f"integer from 1 to {BUNDLE_VERSION}")
    if version > BUNDLE_VERSION:
        raise BundleError(
            f"{where}: bundle format_version {version} was written by a newer neuralfx "
            f"({manifest.get('created_by', 'unknown version')}); this neuralfx ({__version__}) "
            f"reads up to {BUNDLE_VERSION}: upgrade neuralfx to import it")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{where}: {MANIFEST} has no \"files\" table")
    listed, present = set(files), set(members) - {MANIFEST}
    if listed != present:
        raise BundleError(f"{where}: {MANIFEST} lists {sorted(listed)} but the bundle holds "
                          f"{sorted(present)}")
    for name, entry in files.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                and isinstance(entry.get("size"), int)):
            raise BundleError(f"{where}: {MANIFEST} entry for {name!r} needs sha256 and size")
        if entry["size"] != members[name].file_size:
            raise BundleError(f"{where}: {name!r} is {members[name].file_size} bytes, the "
                              f"manifest says {entry['size']}")
    style = manifest.get("style")
    styles = [n for n in members if n.startswith("styles/")]
    if manifest.get("preset") != PRESET_MEMBER or style != (styles[0] if styles else None):
        raise BundleError(f"{where}: {MANIFEST} preset/style entries do not match the members")
    return manifest


def _verify(name: str, sha: str, size: int, manifest: dict, where: str) -> None:
    entry = manifest["files"][name]
    if sha != entry["sha256"] or size != entry["size"]:
        raise BundleError(f"{where}: checksum mismatch for {name!r} (sha256 {sha}, the manifest "
                          f"says {entry['sha256']}); the bundle is corrupted or was altered")
    m = _STYLE_MEMBER.fullmatch(name)
    if m and m.group(1) != sha:
        raise BundleError(f"{where}: {name!r} does not hold the audio its name promises "
                          f"(sha256 {sha}); the bundle was altered")


def read_bundle(path: str | Path) -> tuple[Preset, dict[str, Any]]:
    """Check a bundle and return its preset (style path still relative to the bundle) and
    manifest, without writing anything. The style audio is verified too."""
    path = Path(path).expanduser()
    where = str(path)
    with _open(path) as zf:
        members = _check_members(zf, where)
        manifest = _check_manifest(_read_small(zf, members[MANIFEST], where), members, where)
        preset = _read_preset(zf, members, manifest, where)
        if manifest["style"]:
            info = members[manifest["style"]]
            sha, size = _stream(zf, info, where, lambda b: None)
            _verify(info.filename, sha, size, manifest, where)
            _check_trained_style(zf, info, manifest, where)
    return preset, manifest


def _stylefile():
    """The style-file module, imported only when a bundle holds a trained style (it needs
    torch, which the preset floor does not otherwise load)."""
    from ..trained import stylefile
    return stylefile


def _parse_trained_style(data: bytes, source: str) -> None:
    stylefile = _stylefile()
    try:
        stylefile.parse_style_file(data, source)
    except stylefile.StyleFileError as e:  # one error type for callers of this module
        raise BundleError(str(e)) from None


def _check_trained_style(zf, info, manifest, where) -> None:
    """A trained style member (.nfxstyle) is checked as a whole style file (layout, version,
    checksum, values) before anything is written; audio members are left to the decoder."""
    if info.filename.endswith(TRAINED_SUFFIX):
        data = _read_small(zf, info, where)
        _verify(info.filename, hashlib.sha256(data).hexdigest(), len(data), manifest, where)
        _parse_trained_style(data, f"{where}: member {info.filename!r}")


def _open(path: Path) -> zipfile.ZipFile:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BundleError(f"bundle {str(path)!r} does not exist") from None
    if size > MAX_TOTAL_BYTES:
        raise BundleError(f"{path}: {size} bytes is larger than a bundle may be "
                          f"({MAX_TOTAL_BYTES})")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise BundleError(f"{path}: not a neuralfx bundle (not a readable zip file: {e})"
                          ) from None


def _read_preset(zf, members, manifest, where) -> Preset:
    data = _read_small(zf, members[PRESET_MEMBER], where)
    sha = hashlib.sha256(data).hexdigest()
    _verify(PRESET_MEMBER, sha, len(data), manifest, where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BundleError(f"{where}: {PRESET_MEMBER} is not UTF-8 text ({e})") from None
    try:
        preset = loads_preset(text, f"{where}:{PRESET_MEMBER}")
    except PresetError as e:  # a bad preset makes a bad bundle: one error type for callers
        raise BundleError(str(e)) from None
    style = manifest["style"]
    if preset.style != style or (style and preset.style_sha256 != manifest["files"][style][
            "sha256"]):
        raise BundleError(f"{where}: the preset's style ({preset.style!r}) is not the bundled "
                          f"style ({style!r})")
    return preset


def import_bundle(path: str | Path, preset_dir: str | Path | None = None, *,
                  name: str | None = None, overwrite: bool = False
                  ) -> tuple[Preset, Path | None]:
    """Install a bundle: the style into ``<preset_dir>/styles/``, the preset (renamed to
    ``name`` if given) into ``preset_dir`` (default: the user preset folder).

    An existing user preset of that name is an error unless it is identical or ``overwrite``.
    Returns the installed preset (as loaded back from its file) and its style path (or None).
    Raises BundleError (a ValueError) naming the problem; nothing is written then.
    """
    path = Path(path).expanduser()
    where = str(path)
    folder = Path(preset_dir).expanduser() if preset_dir is not None else user_preset_dir()
    with _open(path) as zf:
        members = _check_members(zf, where)
        manifest = _check_manifest(_read_small(zf, members[MANIFEST], where), members, where)
        preset = _read_preset(zf, members, manifest, where)
        if name is not None:
            preset = dataclasses.replace(preset, name=name)
        existing = user_file(preset.name, folder) if folder.is_dir() else None

        style_dest = None
        if manifest["style"]:
            info = members[manifest["style"]]
            _check_trained_style(zf, info, manifest, where)
            style_dest = folder / info.filename  # styles/<sha256>.<ext>, checked above
            preset = dataclasses.replace(preset, style=str(style_dest.resolve()))
        if existing is not None and not overwrite:
            if read_preset_file(existing) != preset:
                raise FileExistsError(
                    f"a different user preset named {preset.name!r} already exists "
                    f"({existing}); import with overwrite=True (CLI: --force) or another name")

        if style_dest is not None and not (
                style_dest.is_file() and file_sha256(style_dest) == manifest["files"][
                    info.filename]["sha256"]):
            # folders made here are removed again if the style turns out bad
            made = [d for d in (folder, style_dest.parent) if not d.exists()]
            style_dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with atomic_path(style_dest) as tmp:
                    with open(tmp, "wb") as out:
                        sha, size = _stream(zf, info, where, out.write)
                    _verify(info.filename, sha, size, manifest, where)
            except BaseException:
                for d in reversed(made):
                    try:
                        d.rmdir()
                    except OSError:
                        pass
                raise
    saved = save_user_preset(preset, overwrite=True, preset_dir=folder)
    return read_preset_file(saved, source=f"user:{saved}"), style_dest


__all__ = ["BundleError", "export_bundle", "import_bundle", "read_bundle"]
