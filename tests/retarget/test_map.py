import json

import numpy as np
import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS, RetargetError, get_preset, parse_map


def parse(text_or_dict):
    return parse_map(text_or_dict if isinstance(text_or_dict, str) else json.dumps(text_or_dict), ARKIT61, get_preset)


def frames_with(n=1, **values) -> np.ndarray:
    frames = np.zeros((n, ARKIT61.num_channels), np.float32)
    for name, value in values.items():
        frames[:, ARKIT61.index(name)] = value
    return frames


def test_identity_preset_passes_values_through_and_clamps_blendshapes():
    frames = np.linspace(-0.5, 1.5, 61 * 2, dtype=np.float32).reshape(2, 61)
    out = get_preset("arkit61").apply(frames.copy())
    assert get_preset("arkit61").names == list(ARKIT61.channels)
    np.testing.assert_allclose(out[:, 52:], frames[:, 52:])  # rotations are not clamped
    np.testing.assert_allclose(out[:, :52], np.clip(frames[:, :52], 0, 1))


def test_weighted_sum_gain_offset_clamp():
    m = parse(
        '{"targets": [{"name": "mouth", "sources": {"JawOpen": 0.5, "MouthFunnel": 1.0},'
        ' "gain": 2.0, "offset": 0.1, "clamp": [0, 0.9]}]}'
    )
    frames = np.zeros((2, 61), np.float32)
    frames[0, ARKIT61.index("JawOpen")] = 0.2
    frames[1, ARKIT61.index("MouthFunnel")] = 1.0
    np.testing.assert_allclose(m.apply(frames)[:, 0], [0.3, 0.9], atol=1e-6)


def test_curve_runs_after_gain_and_offset_and_before_clamp():
    m = parse(
        {
            "targets": [
                {
                    "name": "a",
                    "sources": {"JawOpen": 1},
                    "gain": 2,
                    "offset": -0.2,
                    "curve": {"type": "power", "exponent": 2},
                    "clamp": [0, 0.5],
                }
            ]
        }
    )
    jaw = np.array([0.2, 0.3, 0.6], np.float32)
    frames = frames_with(3)
    frames[:, ARKIT61.index("JawOpen")] = jaw
    out = m.apply(frames)[:, 0]
    np.testing.assert_allclose(out, np.clip(np.sign(2 * jaw - 0.2) * (2 * jaw - 0.2) ** 2, 0, 0.5), atol=1e-6)


def test_yaml_extends_and_override_keeps_order_and_other_keys():
    base = parse(
        {
            "name": "base",
            "targets": [
                {"name": "jaw", "sources": {"JawOpen": 1}, "clamp": [0, 1], "smoothing": 0.05},
                {"name": "funnel", "sources": {"MouthFunnel": 1}},
            ],
        }
    )
    m = parse_map(
        "extends: base\ntargets:\n  - name: jaw\n    gain: 2.0\n  - name: new\n    sources: {MouthPucker: 1}\n",
        ARKIT61,
        {"base": base}.__getitem__,
    )
    assert m.names == ["jaw", "funnel", "new"]
    jaw = m.targets[0]
    assert (jaw.gain, jaw.clamp, jaw.smoothing, dict(jaw.sources)) == (2.0, (0, 1), 0.05, {"JawOpen": 1.0})


def test_override_can_drop_an_inherited_value_and_remove_drops_targets():
    m = parse(
        {"extends": "arkit_camel", "remove": ["tongueOut", "headRoll"], "targets": [{"name": "jawOpen", "clamp": None}]}
    )
    assert "tongueOut" not in m.names and "headRoll" not in m.names and len(m.names) == 59
    assert m.targets[m.names.index("jawOpen")].clamp is None


def test_mirror_twin_swaps_sides_and_reverses_yaw_and_roll():
    m = parse(
        {
            "targets": [
                {"name": "blink_L", "sources": {"EyeBlinkLeft": 1, "JawOpen": 0.5}, "mirror": "blink_R"},
                {"name": "look_L", "sources": {"LeftEyeYaw": 1, "LeftEyePitch": 1, "HeadRoll": 2}, "mirror": "look_R"},
            ]
        }
    )
    assert m.names == ["blink_L", "blink_R", "look_L", "look_R"]
    assert dict(m.targets[1].sources) == {"EyeBlinkRight": 1.0, "JawOpen": 0.5}
    assert dict(m.targets[3].sources) == {"RightEyeYaw": -1.0, "RightEyePitch": 1.0, "HeadRoll": -2.0}


def test_swap_sides_mirrors_every_target_including_inherited():
    m = parse({"extends": "arkit_camel", "swap_sides": True})
    out = m.apply(frames_with(EyeBlinkLeft=0.8, HeadYaw=0.3))[0]
    assert out[m.names.index("eyeBlinkRight")] == pytest.approx(0.8)
    assert out[m.names.index("eyeBlinkLeft")] == 0
    assert out[m.names.index("headYaw")] == pytest.approx(-0.3)


def test_smoothing_is_a_low_pass_whose_state_makes_any_block_split_identical():
    m = parse(
        {
            "targets": [
                {"name": "jaw", "sources": {"JawOpen": 1}, "smoothing": 0.1},
                {"name": "raw", "sources": {"JawOpen": 1}},
            ]
        }
    )
    rng = np.random.default_rng(0)
    frames = frames_with(50)
    frames[:, ARKIT61.index("JawOpen")] = rng.random(50)
    whole = m.apply(frames, m.new_state(30))
    state = m.new_state(30)
    split = np.concatenate([m.apply(frames[a:b], state) for a, b in ((0, 1), (1, 7), (7, 7), (7, 33), (33, 50))])
    np.testing.assert_allclose(split, whole, atol=1e-6)
    np.testing.assert_allclose(whole[:, 1], frames[:, ARKIT61.index("JawOpen")], atol=1e-6)  # unsmoothed
    assert whole[0, 0] == pytest.approx(frames[0, ARKIT61.index("JawOpen")])  # starts at the first frame
    assert np.abs(np.diff(whole[:, 0])).max() < 0.5 * np.abs(np.diff(whole[:, 1])).max()
    step = m.apply(np.concatenate([frames_with(1), frames_with(30, JawOpen=1.0)]), m.new_state(30))[:, 0]
    assert step[3] == pytest.approx(1 - np.exp(-3 / (30 * 0.1)), abs=1e-5)  # time constant in seconds


def test_bones_follow_the_targets_in_the_output():
    m = parse(
        {
            "targets": [{"name": "jaw", "sources": {"JawOpen": 1}}],
            "bones": [
                {
                    "bone": "head",
                    "from": ["HeadYaw", "HeadPitch", "HeadRoll"],
                    "convention": "unreal",
                    "output": "euler_degrees",
                    "gain": 0.5,
                },
                {"bone": "eyeL", "from": ["LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll"]},
            ],
        }
    )
    assert m.names == ["jaw", "head.pitch", "head.yaw", "head.roll", "eyeL.qx", "eyeL.qy", "eyeL.qz", "eyeL.qw"]
    assert m.rotation_names == []
    out = m.apply(frames_with(JawOpen=0.4, HeadYaw=0.2, HeadPitch=-0.1))[0]
    np.testing.assert_allclose(out[:4], [0.4, np.degrees(0.05), -np.degrees(0.1), 0.0], atol=1e-4)
    np.testing.assert_allclose(out[4:], [0, 0, 0, 1], atol=1e-6)


def test_to_spec_round_trips_every_preset():
    for name, preset in PRESETS.items():
        again = parse(preset.to_spec())
        assert again == preset, name


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"targets": [{"name": "a", "sources": {"JawOpn": 1}}]}',
            "unknown source channel 'JawOpn'; did you mean 'JawOpen'?",
        ),
        (
            '{"targets": [{"name": "a", "sources": {"JawOpen": 1}}, {"name": "a", "sources": {"JawOpen": 1}}]}',
            "duplicate target 'a'",
        ),
        (
            '{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "mirror": "b"},'
            ' {"name": "b", "sources": {"JawOpen": 1}}]}',
            "duplicate output channel 'b'",
        ),
        (
            '{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "clamp": [1, 0]}]}',
            "target 'a': clamp range [1.0, 0.0] is inverted",
        ),
        (
            '{"targets": [{"name": "a", "sources": {"JawOpen": NaN}}]}',
            "weight of 'JawOpen' must be a finite number, got nan",
        ),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "gain": Infinity}]}', "gain must be a finite number"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "gain": "x"}]}', "finite"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "curve": {"type": "cubic"}}]}', "bad curve"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "smoothing": -1}]}', "smoothing -1.0 must be >= 0"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "gian": 1}]}', "unknown key(s) ['gian']"),
        ('{"targets": [{"name": "a"}]}', "'sources' must be a non-empty object"),
        ('{"extends": "nope", "targets": []}', "unknown retarget preset 'nope'"),
        ('{"extends": "arkit61", "remove": ["JawOpn"]}', "'remove': 'JawOpn' is not an inherited target"),
        ('{"layout": "flame", "targets": [{"name": "a", "sources": {"JawOpen": 1}}]}', "model's layout is 'arkit61'"),
        ('{"targets": []}', "no targets"),
        ("[1, 2", "neither valid JSON nor YAML"),
        (
            '{"bones": [{"bone": "head", "from": ["HeadYaw", "JawOpen", "HeadRoll"]}]}',
            "'JawOpen' is not a rotation channel",
        ),
        ('{"bones": [{"bone": "head", "from": ["HeadYaw", "HeadPitch"]}]}', "'from' must be [yaw, pitch, roll]"),
        (
            '{"bones": [{"bone": "head", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "convention": "maya"}]}',
            "unknown convention 'maya'; accepted: gltf, unity, unreal",
        ),
        (
            '{"bones": [{"bone": "head", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "convention": "gltf",'
            ' "output": "euler_degrees"}]}',
            "gltf rotations are quaternions only",
        ),
    ],
)
def test_invalid_maps_are_rejected_whole(text, message):
    with pytest.raises(RetargetError) as err:
        parse(text)
    assert message in str(err.value)
