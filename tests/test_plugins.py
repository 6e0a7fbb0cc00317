"""Pedalboard plugins as data: whitelist, round trips, the CLI's spec parser, errors."""

import pickle

import numpy as np
import pedalboard
import pytest

from neuralfx.presets.plugins import (
    PLUGINS,
    PluginError,
    PluginSpec,
    build_chain,
    format_plugin_spec,
    normalise_spec,
    parameters,
    parse_plugin_spec,
    plugin_from_dict,
    plugin_to_dict,
)

REQUIRED = {"Compressor", "Reverb", "Limiter", "Gain", "Delay", "Chorus", "Distortion",
            "HighpassFilter", "LowpassFilter", "HighShelfFilter", "LowShelfFilter", "PeakFilter",
            "NoiseGate", "Phaser", "Bitcrush", "Clipping", "LadderFilter"}


def test_whitelist_has_the_usual_effects_and_nothing_that_loads_code_or_files():
    assert REQUIRED <= set(PLUGINS)
    for unsafe in ("VST3Plugin", "AudioUnitPlugin", "ExternalPlugin", "Convolution", "Chain",
                   "Pedalboard", "Mix", "Plugin"):
        assert unsafe not in PLUGINS


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_every_plugin_round_trips_through_its_dict(name):
    plugin = PLUGINS[name]()
    spec = plugin_to_dict(plugin)
    assert spec["plugin"] == name
    assert set(spec) - {"plugin"} == set(parameters(name))
    rebuilt = plugin_from_dict(spec)
    assert type(rebuilt) is type(plugin)
    assert plugin_to_dict(rebuilt) == spec
    assert parse_plugin_spec(format_plugin_spec(spec)) == spec


def test_to_dict_reads_back_clean_values_and_enum_names():
    spec = plugin_to_dict(pedalboard.Reverb(room_size=0.3, wet_level=0.4))
    assert spec["room_size"] == 0.3 and spec["wet_level"] == 0.4  # not 0.30000001192092896
    ladder = plugin_to_dict(pedalboard.LadderFilter(mode=pedalboard.LadderFilter.Mode.HPF24))
    assert ladder["mode"] == "HPF24"


def test_parse_cli_spec_builds_the_configured_plugin():
    spec = parse_plugin_spec("Compressor(threshold_db=-18, ratio=4)")
    assert spec == {"plugin": "Compressor", "threshold_db": -18.0, "ratio": 4.0}
    comp = plugin_from_dict(spec)
    assert isinstance(comp, pedalboard.Compressor)
    assert comp.threshold_db == -18 and comp.ratio == 4
    assert parse_plugin_spec("Invert") == {"plugin": "Invert"}
    assert parse_plugin_spec(" Gain( gain_db = -3.5 ) ")["gain_db"] == -3.5
    assert parse_plugin_spec("LadderFilter(mode='HPF12', cutoff_hz=300)")["mode"] == "HPF12"
    assert parse_plugin_spec("LadderFilter(mode=BPF24)")["mode"] == "BPF24"


@pytest.mark.parametrize("text, words", [
    ("Foo(x=1)", ["'Foo'", "Compressor", "Reverb"]),
    ("Compressor(bogus=1)", ["bogus", "threshold_db", "ratio"]),
    ("Compressor(-18)", ["by name", "threshold_db"]),
    ("Compressor(ratio=0.5)", ["Compressor", "ratio", "1.0"]),
    ("Compressor(ratio='x')", ["Compressor.ratio", "'x'", "number"]),
    ("Compressor(ratio=True)", ["Compressor.ratio", "number"]),
    ("Gain(gain_db=1+2)", ["Gain.gain_db", "1 + 2"]),
    ("Gain(gain_db=float('nan'))", ["Gain.gain_db"]),
    ("HighpassFilter(cutoff_frequency_hz=-5)", ["cutoff_frequency_hz", "> 0"]),
    ("LadderFilter(mode='XYZ')", ["LadderFilter.mode", "'XYZ'", "HPF12"]),
    ("Reverb(room_size=2)", ["Reverb", "room_size"]),
    ("Compressor(ratio=2, ratio=3)", ["twice"]),
    ("__import__('os').system('true')", ["expected"]),
    ("pedalboard.Gain()", ["expected"]),
    ("Gain(**{'gain_db': 1})", ["expected"]),
    ("Compressor(threshold_db=-18", ["cannot read"]),
    ("VST3Plugin(path_to_plugin_file='/x.vst3')", ["VST3Plugin", "Compressor"]),
])
def test_bad_specs_name_the_plugin_parameter_and_allowed_values(text, words):
    with pytest.raises(PluginError) as e:
        parse_plugin_spec(text)
    assert isinstance(e.value, ValueError)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


@pytest.mark.parametrize("spec, words", [
    ({"threshold_db": -18}, ["no 'plugin' key", "Compressor"]),
    ({"plugin": "Convolution", "impulse_response_filename": "/etc/passwd"}, ["Convolution"]),
    ("Compressor", ["table"]),
])
def test_bad_dicts(spec, words):
    with pytest.raises(PluginError) as e:
        normalise_spec(spec)
    for w in words:
        assert w in str(e.value)


def test_spec_is_read_only_hashable_and_picklable():
    spec = normalise_spec({"plugin": "Gain", "gain_db": 3})
    assert isinstance(spec, PluginSpec) and spec["gain_db"] == 3.0
    with pytest.raises(TypeError):
        spec["gain_db"] = 1
    with pytest.raises(TypeError):
        spec.update(gain_db=1)
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert hash(spec) == hash(normalise_spec({"plugin": "Gain", "gain_db": 3.0}))


def test_build_chain_processes_audio_in_order():
    chain = build_chain([{"plugin": "Gain", "gain_db": -6}, {"plugin": "Invert"}])
    x = np.full((1, 1000), 0.5, np.float32)
    y = pedalboard.Pedalboard(chain)(x, 22050)
    np.testing.assert_allclose(y, -0.5 * 10 ** (-6 / 20), rtol=1e-4)
