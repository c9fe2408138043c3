import numpy as np
import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS, RetargetError, get_preset, parse_map


def parse(text):
    return parse_map(text, ARKIT61, get_preset)


def test_identity_preset_passes_values_through_and_clamps_blendshapes():
    frames = np.linspace(-0.5, 1.5, 61 * 2, dtype=np.float32).reshape(2, 61)
    out = get_preset("arkit61").apply(frames.copy())
    assert get_preset("arkit61").names == list(ARKIT61.channels)
    np.testing.assert_allclose(out[:, 52:], frames[:, 52:])  # rotations are not clamped
    np.testing.assert_allclose(out[:, :52], np.clip(frames[:, :52], 0, 1))


def test_weighted_sum_gain_offset_clamp():
    m = parse('{"targets": [{"name": "mouth", "sources": {"JawOpen": 0.5, "MouthFunnel": 1.0},'
              ' "gain": 2.0, "offset": 0.1, "clamp": [0, 0.9]}]}')
    frames = np.zeros((2, 61), np.float32)
    frames[0, ARKIT61.index("JawOpen")] = 0.2
    frames[1, ARKIT61.index("MouthFunnel")] = 1.0
    np.testing.assert_allclose(m.apply(frames)[:, 0], [0.3, 0.9], atol=1e-6)


def test_yaml_extends_and_override_keeps_order():
    m = parse("extends: arkit_camel\ntargets:\n  - name: jawOpen\n    sources: {JawOpen: 2.0}\n")
    assert m.names == PRESETS["arkit_camel"].map.names
    assert dict(m.targets[m.names.index("jawOpen")].sources) == {"JawOpen": 2.0}


@pytest.mark.parametrize("text, message", [
    ('{"targets": [{"name": "a", "sources": {"JawOpn": 1}}]}', "did you mean 'JawOpen'"),
    ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}}, {"name": "a", "sources": {"JawOpen": 1}}]}', "duplicate target 'a'"),
    ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "clamp": [1, 0]}]}', "inverted"),
    ('{"targets": [{"name": "a", "sources": {"JawOpen": NaN}}]}', "finite"),
    ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "gain": "x"}]}', "finite"),
    ('{"extends": "nope", "targets": []}', "unknown retarget preset 'nope'"),
    ('{"targets": []}', "no targets"),
    ("[1, 2", "neither valid JSON nor YAML"),
])
def test_invalid_maps_are_rejected_whole(text, message):
    with pytest.raises(RetargetError, match=message):
        parse(text)
