"""Presets: the built-in library, the TOML format and its errors, overrides, user presets."""

import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pedalboard
import pytest
import torch

try:  # tests/ may or may not be a package
    from .conftest import TINY
except ImportError:
    from conftest import TINY

from neuralfx import presets as P
from neuralfx.cli.overrides import parse_override, parse_overrides
from neuralfx.engine import render
from neuralfx.presets import (
    GROUP_OF,
    GROUPS,
    Preset,
    PresetError,
    PresetNotFoundError,
    builtin_names,
    delete_user_preset,
    dump_preset,
    list_presets,
    load_preset,
    loads_preset,
    save_user_preset,
    user_preset_dir,
)
from neuralfx.presets import library as library_module
from neuralfx.settings import Settings, SettingsError, field_names
from neuralfx.style import compute_style_statistics

REQUIRED = ["texture", "style 0.01", "style 0.001", "style 0.1", "draft", "style+"]


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """A fresh, empty user preset folder for this test only."""
    folder = tmp_path / "user-presets"
    monkeypatch.setenv(P.PRESET_DIR_ENV, str(folder))
    return folder


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- built-in library ------------------------------------------------------------------------

def test_required_builtins_exist_with_one_line_descriptions():
    names = builtin_names()
    assert set(REQUIRED) <= set(names)
    for name in names:
        p = load_preset(name)
        assert p.name == name
        assert p.description and "\n" not in p.description and len(p.description) < 240


def test_builtins_have_the_documented_settings():
    classic = load_preset("style 0.01")
    assert classic.settings == Settings()  # the classic = the engine's defaults
    assert (classic.mix, classic.match_loudness, classic.pre, classic.post) == (1.0, True, (), ())
    # more style needs the original's 300 steps (BENCHMARKS.md, The classic at 250 steps)
    assert load_preset("style 0.001").settings == Settings(content_weight=0.001, iterations=300)
    assert load_preset("style 0.1").settings == Settings(content_weight=0.1)
    texture = load_preset("texture").settings
    # from the style's spectrum: from faint noise a 10 s texture of a drum groove put its
    # energy into a few frames at the chunk's ends (BENCHMARKS.md, Textures)
    assert texture.content_weight == 0 and texture.init == "style"
    # every built-in analyses at the seed's rate; the top octave is rebuilt (full_band)
    for name in builtin_names():
        assert load_preset(name).settings.sample_rate == 22050 and load_preset(name).full_band
    # cheap from fewer steps from a warm start, not from a smaller network (which moved away
    # from the style on real music)
    draft = load_preset("draft").settings
    assert draft.n_filters == classic.settings.n_filters and draft.init == "content"
    assert draft.iterations < classic.settings.iterations
    draft_texture = load_preset("draft texture").settings
    assert draft_texture.is_texture and draft_texture.init == "style"
    assert draft_texture.iterations < classic.settings.iterations
    mastered = load_preset("mastered")
    assert [s["plugin"] for s in mastered.post] == ["Compressor", "Limiter"]


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_renders_a_short_signal_with_tiny_overrides(name):
    p = load_preset(name, **TINY)
    s = p.settings
    assert s.n_filters == TINY["n_filters"]
    g = torch.Generator().manual_seed(0)
    sr = s.sample_rate
    t = torch.arange(sr // 2) / sr
    content = (0.3 * torch.sin(2 * torch.pi * 330 * t))[None]
    style = 0.2 * torch.randn(2 * sr, generator=g)  # longer than every receptive field
    out = render(content, compute_style_statistics(style, s), s)
    assert out.shape == content.shape
    assert torch.isfinite(out).all() and out.abs().max() > 1e-4
    if p.pre or p.post:  # the chain builds and runs around the neural effect
        board = pedalboard.Pedalboard([*p.pre_plugins(), *p.post_plugins()])
        y = board(out.numpy(), sr)
        assert y.shape == out.shape and np.isfinite(y).all()


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_survives_dump_and_load(name):
    p = load_preset(name)
    assert loads_preset(dump_preset(p)) == p


def test_style_x_for_any_weight():
    assert load_preset("style 0.05").settings == Settings(content_weight=0.05)
    assert load_preset("style 0").settings.content_weight == 0
    assert load_preset("Style  1e-3").settings.content_weight == 0.001
    assert load_preset("style 2").name == "style 2"
    with pytest.raises(PresetError, match=">= 0"):
        load_preset("style -1")
    with pytest.raises(PresetError, match=">= 0"):
        load_preset("style inf")
    with pytest.raises(PresetNotFoundError, match="style X"):
        load_preset("style loud")


def test_names_are_case_and_space_insensitive():
    assert load_preset("DRAFT") == load_preset("draft")
    assert load_preset("draft   texture") == load_preset("draft texture")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(PresetNotFoundError) as e:
        load_preset("nope")
    assert isinstance(e.value, KeyError)
    assert "'nope'" in str(e.value) and "texture" in str(e.value) and "style+" in str(e.value)


def test_a_retired_preset_says_what_to_use_instead(user_dir):
    with pytest.raises(PresetNotFoundError, match="'hq' was retired.*full_band.*'style\\+'"):
        load_preset("hq")
    save_user_preset(load_preset("draft"), "hq")  # a user's own preset of that name still loads
    assert load_preset("hq").settings == load_preset("draft").settings


def test_adding_a_builtin_is_dropping_in_a_file(tmp_path, monkeypatch):
    library = tmp_path / "presets"
    library.mkdir()
    for entry in P.builtin_preset_dir().iterdir():
        if entry.name.endswith(".toml"):
            (library / entry.name).write_text(entry.read_text("utf-8"))
    (library / "bright.toml").write_text('format_version = 1\nname = "bright"\n'
                                         'description = "d"\n[loss]\ncontent_weight = 0.5\n')
    monkeypatch.setattr(library_module, "builtin_preset_dir", lambda: library)
    monkeypatch.setattr(library_module, "_builtin_cache", None)
    assert "bright" in builtin_names() and "draft" in builtin_names()
    assert load_preset("bright").settings.content_weight == 0.5
    (library / "twin.toml").write_text('format_version = 1\nname = "Bright"\n')
    monkeypatch.setattr(library_module, "_builtin_cache", None)
    with pytest.raises(PresetError, match="second built-in preset named 'Bright'"):
        builtin_names()
    # the real library again after the test
    monkeypatch.setattr(library_module, "_builtin_cache", None)


def test_builtins_come_from_the_top_level_presets_folder():
    """In the source tree the built-ins are the repository's presets/*.toml (an installed
    package carries the same files as neuralfx/builtin_presets/, see test_packaging.py)."""
    root = Path(P.__file__).resolve().parents[2]
    folder = P.builtin_preset_dir()
    if Path(str(folder)).resolve() != (root / "presets").resolve():
        pytest.skip(f"neuralfx is installed ({folder}), not run from the source tree")
    files = sorted(p.name for p in (root / "presets").glob("*.toml"))
    assert len(files) == len(builtin_names()) >= 9
    assert not list((root / "neuralfx").rglob("*.toml"))  # one library, at the top level


def test_every_settings_field_has_a_group():
    grouped = [k for keys in GROUPS.values() for k in keys]
    assert sorted(grouped) == sorted(field_names() + P.OUTPUT_KEYS)
    assert "engine" not in GROUPS  # a new Settings field should get a proper group here


# --- the file format ------------------------------------------------------------------------

def test_a_file_may_omit_fields_and_gets_the_classic(tmp_path):
    p = load_preset(write(tmp_path, 'format_version = 1\nname = "mine"\n[loss]\n'
                                    'content_weight = 0\n'))
    assert p.settings == Settings(content_weight=0.0)
    assert isinstance(p.settings.content_weight, float)
    assert p.description == "" and p.mix == 1.0


def test_a_full_file_with_chain_and_style(tmp_path):
    (tmp_path / "s.wav").write_bytes(b"RIFF")
    text = """format_version = 1
name = "full"
description = "d"
style = "s.wav"
[analysis]
sample_rate = 44100
n_fft = 4096
hop_length = 1024
[network]
kernel_sizes = [3, 11]
[output]
mix = 0.5
match_loudness = false
[[chain.pre]]
plugin = "HighpassFilter"
cutoff_frequency_hz = 40
[[chain.post]]
plugin = "Limiter"
threshold_db = -1
"""
    p = load_preset(write(tmp_path, text))
    assert p.settings.sample_rate == 44100 and p.settings.kernel_sizes == (3, 11)
    assert (p.mix, p.match_loudness) == (0.5, False)
    assert p.style == str(tmp_path.resolve() / "s.wav")  # relative to the preset file
    assert p.style_path() == tmp_path.resolve() / "s.wav"
    assert p.pre == ({"plugin": "HighpassFilter", "cutoff_frequency_hz": 40.0},)
    assert isinstance(p.pre_plugins()[0], pedalboard.HighpassFilter)
    assert p.post_plugins()[0].threshold_db == -1
    again = loads_preset(dump_preset(p))
    assert again == p


BAD_FILES = [
    # (text after the header, words the message must hold)
    ("[loss]\ncontent_weight = -1\n", ["loss.content_weight", "-1", ">= 0"]),
    ("[loss]\ncontent_weight = 'x'\n", ["loss.content_weight", "'x'"]),
    ("[loss]\nstyle_weight = nan\n", ["loss.style_weight", "nan", "finite"]),
    ("[optimiser]\niterations = 1.5\n", ["optimiser.iterations", "1.5", "integer"]),
    ("[optimiser]\noptimizer = 'sgd'\n", ["optimiser.optimizer", "'sgd'", "lbfgs"]),
    ("[optimiser]\noptimizer = 3\n", ["optimiser.optimizer", "3", "text"]),
    ("[analysis]\nn_fft = 512\nhop_length = 1024\n", ["analysis.hop_length", "1024", "256"]),
    ("[network]\nkernel_sizes = [11, 11]\n", ["network.kernel_sizes", "distinct"]),
    ("[network]\nkernel_sizes = 'wide'\n", ["network.kernel_sizes"]),
    ("[output]\nmix = 1.5\n", ["output.mix", "1.5", "0 to 1"]),
    ("[output]\nmatch_loudness = 'yes'\n", ["output.match_loudness", "'yes'", "true or false"]),
    ("[loss]\ncontent_weigth = 0\n", ["unknown key loss.content_weigth", "content_weight"]),
    ("[loss]\niterations = 3\n", ["unknown key loss.iterations", "belongs in [optimiser]"]),
    ("[mixer]\nx = 1\n", ["unknown key 'mixer'", "analysis", "output"]),
    ("iterations = 3\n", ["unknown key 'iterations'", "belongs in [optimiser]"]),
    ("loss = 3\n", ["loss = 3", "table"]),
    ("[chain]\nmiddle = []\n", ["chain.middle", "pre, post"]),
    ("[[chain.post]]\nplugin = 'Compressor'\nratio = 0.1\n", ["chain.post[0]", "ratio"]),
    ("[[chain.pre]]\nplugin = 'VST3Plugin'\n", ["chain.pre[0]", "VST3Plugin", "Compressor"]),
    ("[[chain.pre]]\nplugin = 'Gain'\nvolume = 2\n", ["chain.pre[0]", "volume", "gain_db"]),
    ("[style]\npath = 3\n", ["style.path", "3"]),
    ("[style]\npath = 'a.wav'\nsha256 = 'abc'\n", ["style.sha256", "'abc'", "64"]),
    ("[style]\nurl = 'http://x'\n", ["style.url", "path, sha256"]),
]


@pytest.mark.parametrize("body, words", BAD_FILES)
def test_each_invalid_file_names_file_field_value_and_allowed(tmp_path, body, words):
    path = write(tmp_path, 'format_version = 1\nname = "bad"\n' + body, "bad-preset.toml")
    with pytest.raises(PresetError) as e:
        load_preset(path)
    message = str(e.value)
    assert isinstance(e.value, SettingsError) and isinstance(e.value, ValueError)
    assert "bad-preset.toml" in message
    for w in words:
        assert w in message, (w, message)


@pytest.mark.parametrize("text, words", [
    ('name = "x"\n', ["format_version is missing", "format_version = 1"]),
    ('format_version = 2\nname = "x"\n', ["format_version = 2", "newer", "upgrade"]),
    ('format_version = 0\nname = "x"\n', ["format_version = 0"]),
    ('format_version = "1"\nname = "x"\n', ["format_version = '1'"]),
    ("format_version = 1\n", ["name is missing"]),
    ('format_version = 1\nname = "a/b"\n', ["name = 'a/b'", "letters"]),
    ('format_version = 1\nname = ""\n', ["name = ''"]),
    ('format_version = 1\nname = "x"\ndescription = 3\n', ["description = 3"]),
    ('format_version = 1\nname = "x"\n[loss\n', ["not valid TOML"]),
])
def test_header_errors(tmp_path, text, words):
    path = write(tmp_path, text, "head.toml")
    with pytest.raises(PresetError) as e:
        load_preset(path)
    assert "head.toml" in str(e.value)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(PresetNotFoundError, match="does not exist"):
        load_preset(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PresetError, match="UTF-8"):
        load_preset(tmp_path / "bin.toml")


def test_style_hash_is_checked(tmp_path):
    (tmp_path / "s.wav").write_bytes(b"one")
    p = load_preset(write(tmp_path, 'format_version = 1\nname = "x"\n[style]\npath = "s.wav"\n'
                                    f'sha256 = "{"0" * 64}"\n'))
    with pytest.raises(PresetError, match="changed"):
        p.style_path()
    gone = dataclasses.replace(p, style=str(tmp_path / "gone.wav"))
    with pytest.raises(PresetNotFoundError, match="does not exist"):
        gone.style_path()


def test_preset_is_immutable_and_picklable():
    p = load_preset("mastered")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.mix = 0.5
    with pytest.raises(TypeError):
        p.post[0]["ratio"] = 10
    assert pickle.loads(pickle.dumps(p)) == p
    assert hash(p) == hash(load_preset("mastered"))


# --- overrides -------------------------------------------------------------------------------

def test_overrides_apply_and_validate():
    p = load_preset("style 0.01", iterations=100, mix=0.5)
    assert p.settings.iterations == 100 and p.mix == 0.5
    assert load_preset("style 0.01").settings.iterations == 250  # the library is untouched
    assert load_preset("draft", n_fft=4096, hop_length=1024).settings.n_fft == 4096  # a pair
    with pytest.raises(SettingsError, match="iterations = -1"):
        load_preset("draft", iterations=-1)
    with pytest.raises(SettingsError, match="mix = 2"):
        load_preset("draft", mix=2)
    with pytest.raises(SettingsError, match="iteratons"):
        load_preset("draft", iteratons=3)
    with pytest.raises(SettingsError, match="hop_length"):
        load_preset("draft", hop_length=2048)  # hop 2048 > n_fft/2


@pytest.mark.parametrize("text, expected", [
    ("iterations=100", ("iterations", 100)),
    (" iterations = 100 ", ("iterations", 100)),
    ("optimiser.iterations=7", ("iterations", 7)),
    ("content_weight=0", ("content_weight", 0.0)),
    ("loss.content_weight=1e-3", ("content_weight", 0.001)),
    ("kernel_sizes=3,11,31", ("kernel_sizes", (3, 11, 31))),
    ("kernel_sizes=[3, 11]", ("kernel_sizes", (3, 11))),
    ("kernel_sizes=11", ("kernel_sizes", (11,))),
    ("match_loudness=false", ("match_loudness", False)),
    ("match_loudness=Yes", ("match_loudness", True)),
    ("mix=0.25", ("mix", 0.25)),
    ("device=cuda:1", ("device", "cuda:1")),
    ("optimizer='adam'", ("optimizer", "adam")),
])
def test_parse_override(text, expected):
    key, value = parse_override(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])
    load_preset("style 0.01", **{key: value})  # and it applies


@pytest.mark.parametrize("text, words", [
    ("iterations", ["key=value"]),
    ("iterations=lots", ["optimiser.iterations", "'lots'", "integer"]),
    ("iterations=1.5", ["optimiser.iterations", "integer"]),
    ("content_weight=big", ["loss.content_weight", "number"]),
    ("content_weight=nan", ["finite"]),
    ("match_loudness=maybe", ["output.match_loudness", "true or false"]),
    ("kernel_sizes=3,x", ["network.kernel_sizes", "integers"]),
    ("kernel_sizes=", ["network.kernel_sizes"]),
    ("colour=red", ["unknown parameter 'colour'", "iterations"]),
    ("loss.iterations=3", ["unknown parameter 'loss.iterations'", "optimiser.iterations"]),
])
def test_parse_override_errors(text, words):
    with pytest.raises(PresetError) as e:
        parse_override(text)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_range_errors_come_when_applied():
    overrides = parse_overrides(["iterations=-5", "seed=1"])
    assert overrides == {"iterations": -5, "seed": 1}
    with pytest.raises(SettingsError, match="iterations = -5"):
        load_preset("draft", **overrides)


# --- user presets ----------------------------------------------------------------------------

def test_user_folder_comes_from_the_environment(user_dir):
    assert user_preset_dir() == user_dir
    assert [r for r in list_presets() if r.kind == "user"] == []


def test_default_user_folder_is_the_platform_data_folder(monkeypatch):
    import platformdirs

    monkeypatch.delenv(P.PRESET_DIR_ENV)
    expected = Path(platformdirs.user_data_dir("neuralfx")) / "presets"
    assert user_preset_dir() == expected


def test_save_list_load_delete(user_dir):
    mine = load_preset("draft", iterations=12)
    path = save_user_preset(mine, "my draft")
    assert path.parent == user_dir and path.exists()
    rows = {(r.name, r.kind) for r in list_presets()}
    assert ("my draft", "user") in rows and ("draft", "builtin") in rows
    loaded = load_preset("my draft")
    assert loaded.settings.iterations == 12 and loaded.name == "my draft"
    assert load_preset("user:My Draft") == loaded
    with pytest.raises(FileExistsError, match="overwrite"):
        save_user_preset(mine, "my draft")
    save_user_preset(load_preset("draft", iterations=13), "my draft", overwrite=True)
    assert load_preset("my draft").settings.iterations == 13
    assert delete_user_preset("my draft") == path and not path.exists()
    with pytest.raises(PresetNotFoundError):
        load_preset("my draft")
    with pytest.raises(PresetNotFoundError, match="no user preset"):
        delete_user_preset("my draft")


def test_user_presets_shadow_builtins_only_when_asked(user_dir):
    save_user_preset(load_preset("draft", iterations=7), "draft")
    assert load_preset("draft") == load_preset("builtin:draft")  # the built-in by default
    assert load_preset("draft").settings.iterations == 40
    assert load_preset("draft", prefer_user=True).settings.iterations == 7
    assert load_preset("user:draft").settings.iterations == 7
    row = [r for r in list_presets() if r.kind == "user"][0]
    assert row.name == "draft" and row.shadows
    save_user_preset(load_preset("draft"), "style 0.5")  # the "style X" rule wins, too
    assert load_preset("style 0.5").settings.iterations == 250
    assert load_preset("user:style 0.5").settings.iterations == 40
    assert {r.name: r.shadows for r in list_presets() if r.kind == "user"}["style 0.5"]
    with pytest.raises(PresetNotFoundError):
        load_preset("user:texture")  # no user preset of that name
    assert load_preset("texture", prefer_user=True) == load_preset("texture")  # falls back


def test_user_folders_are_isolated(tmp_path, monkeypatch):
    monkeypatch.setenv(P.PRESET_DIR_ENV, str(tmp_path / "a"))
    save_user_preset(load_preset("draft"), "only in a")
    assert load_preset("only in a").name == "only in a"
    monkeypatch.setenv(P.PRESET_DIR_ENV, str(tmp_path / "b"))
    with pytest.raises(PresetNotFoundError):
        load_preset("only in a")
    assert not (tmp_path / "b").exists()  # listing and loading create nothing


def test_broken_user_file_is_listed_not_fatal(user_dir):
    user_dir.mkdir()
    (user_dir / "broken.toml").write_text("format_version = 1\nname = 'x'\n[loss]\nfoo = 1\n")
    save_user_preset(load_preset("texture"), "fine")
    rows = {r.name: r for r in list_presets() if r.kind == "user"}
    assert rows["fine"].error is None
    assert "loss.foo" in rows["broken"].error
    assert load_preset("fine").settings.content_weight == 0


def test_saved_style_path_is_relative_to_the_user_folder(user_dir):
    styles = user_dir / "styles"
    styles.mkdir(parents=True)
    (styles / "a.wav").write_bytes(b"x")
    p = dataclasses.replace(load_preset("draft"), style=str(styles / "a.wav"))
    path = save_user_preset(p, "with style")
    assert 'path = "styles/a.wav"' in path.read_text()
    assert load_preset("with style").style_path() == (styles / "a.wav").resolve()


def test_preset_constructor_validates():
    with pytest.raises(PresetError, match="name"):
        Preset("../etc", "")
    with pytest.raises(SettingsError, match="mix"):
        Preset("ok", "", mix=-0.1)
    with pytest.raises(SettingsError, match="plugin"):
        Preset("ok", "", pre=({"plugin": "Nope"},))
    assert set(GROUP_OF) >= set(field_names())
