"""Retarget maps through a real server: presets, inline maps, validation RPC, hot reload."""

from __future__ import annotations

import json
import os
import threading
import time

import grpc
import numpy as np
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.client import AnimationClient, session_config
from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS, get_preset, parse_map

SMOOTHED_WITH_BONES = json.dumps(
    {
        "name": "smoothed",
        "extends": "mouth_simple",
        "targets": [{"name": "open", "smoothing": 0.08}, {"name": "yaw_deg", "sources": {"HeadYaw": 57.29578}}],
        "bones": [
            {"bone": "head", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "convention": "unity", "smoothing": 0.05}
        ],
    }
)


@pytest.fixture(scope="module")
def client(server):
    with AnimationClient(server.target) as c:
        yield c


def test_describe_lists_every_preset_with_its_channels(client):
    presets = {p.name: p for p in client.describe().retarget_presets}
    assert set(presets) == set(PRESETS)
    for name, preset in PRESETS.items():
        assert list(presets[name].channel_names) == preset.names and presets[name].description


def test_validate_returns_the_resolved_channels(client):
    reply = client.stub.ValidateRetargetMap(pb.ValidateRetargetMapRequest(map=SMOOTHED_WITH_BONES), timeout=10)
    assert reply.name == "smoothed"
    assert list(reply.channel_names) == [
        "open",
        "wide",
        "round",
        "closed",
        "yaw_deg",
        "head.qx",
        "head.qy",
        "head.qz",
        "head.qw",
    ]
    assert list(reply.rotation_channels) == ["yaw_deg"]


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
            "targets:\n  - name: a\n    sources: {JawOpen: 1}\n"
            "    curve: {type: piecewise, points: [[1, 0], [0, 1]]}\n",
            "bad piecewise curve",
        ),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "offset": NaN}]}', "offset must be a finite number"),
        (
            '{"targets": [{"name": "a", "sources": {"JawOpen": 1}, "clamp": [2, 1]}]}',
            "clamp range [2.0, 1.0] is inverted",
        ),
    ],
)
def test_validate_rejects_with_invalid_argument_and_the_exact_reason(client, text, message):
    with pytest.raises(grpc.RpcError) as err:
        client.stub.ValidateRetargetMap(pb.ValidateRetargetMapRequest(map=text), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.value.details()


@pytest.mark.parametrize("preset", ["oculus_visemes", "vrm_expressions", "mouth_simple"])
def test_a_session_sends_the_presets_channels_from_its_native_motion(client, speech_wav, preset):
    result = client.animate_wav(speech_wav, retarget=preset, include_native_motion=True)
    assert result.names == PRESETS[preset].names
    values = np.array(result.values)
    assert values.min() >= 0 and values.max() <= 1
    expected = PRESETS[preset].apply(np.array(result.native_values, np.float32))
    np.testing.assert_allclose(values, expected, atol=1e-5)


def test_inline_smoothing_and_bones_do_not_depend_on_chunking(client, speech_wav):
    data, fmt = read_wav(speech_wav)
    config = session_config(fmt, fps=30, include_native_motion=True)
    config.retarget.inline_map = SMOOTHED_WITH_BONES
    fine = client.animate_pcm(data, config, chunk_seconds=0.05)
    coarse = client.animate_pcm(data, config, chunk_seconds=0.731)
    np.testing.assert_allclose(fine.values, coarse.values, atol=1e-5)
    # The session's smoothing equals one pass over the whole clip at the output rate.
    retarget = parse_map(SMOOTHED_WITH_BONES, ARKIT61, get_preset)
    whole = retarget.apply(np.array(fine.native_values, np.float32), retarget.new_state(30))
    np.testing.assert_allclose(fine.values, whole, atol=1e-5)
    assert list(fine.started.rotation_channels) == ["yaw_deg"]
    quaternions = np.array(fine.values)[:, 5:9]
    np.testing.assert_allclose(np.linalg.norm(quaternions, axis=1), 1.0, atol=1e-3)


def test_bad_inline_map_fails_the_session_whole(client, speech_wav):
    data, fmt = read_wav(speech_wav)
    config = session_config(fmt)
    config.retarget.inline_map = '{"extends": "arkit61", "targets": [{"name": "JawOpen", "curve": {"type": "power"}}]}'
    with pytest.raises(grpc.RpcError) as err:
        client.animate_pcm(data, config)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "inline retarget map: target 'JawOpen': bad power curve" in err.value.details()


# ---------------------------------------------------------------- hot reload
def _save(path, spec) -> None:
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    stamp = time.time_ns() + 1_000_000_000  # a distinct mtime however fast the edits come
    os.utime(path, ns=(stamp, stamp))


def _wait_for(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the server did not reload the retarget folder in time")


def _preset(client, name):
    return next((p for p in client.describe().retarget_presets if p.name == name), None)


@pytest.fixture
def folder_server(server, model, tmp_path):
    """A second real server, built like the session's one, serving the maps in tmp_path."""
    _save(tmp_path / "rig.json", {"targets": [{"name": "jaw", "sources": {"JawOpen": 1}}]})
    srv = type(server)(model, retarget_dir=tmp_path, poll_seconds=0.05)
    yield srv
    srv.stop()


def test_hot_reload_without_restart_keeps_the_last_good_map_and_running_sessions(folder_server, tmp_path, speech_wav):
    rig, server = tmp_path / "rig.json", folder_server
    with AnimationClient(server.target) as client:
        assert list(_preset(client, "rig").channel_names) == ["jaw"]
        _save(tmp_path / "second.yaml", "extends: rig\ntargets:\n  - name: pucker\n    sources: {MouthPucker: 1}\n")
        _wait_for(lambda: _preset(client, "second"))
        assert list(_preset(client, "second").channel_names) == ["jaw", "pucker"]

        _save(rig, {"targets": [{"name": "jaw", "sources": {"JawOpn": 1}}]})  # a broken edit
        _wait_for(lambda: "rig" in server.running.maps.errors)
        assert "did you mean 'JawOpen'" in server.running.maps.errors["rig"]
        assert list(_preset(client, "rig").channel_names) == ["jaw"]
        assert client.animate_wav(speech_wav, retarget="rig").names == ["jaw"]

        started, values = _session_across_a_reload(
            client,
            speech_wav,
            lambda: _save(
                rig,
                {
                    "targets": [
                        {"name": "jaw", "sources": {"JawOpen": 1}},
                        {"name": "funnel", "sources": {"MouthFunnel": 1}},
                    ]
                },
            ),
            lambda: len(_preset(client, "rig").channel_names) == 2,
        )
        assert list(started.channel_names) == ["jaw"]
        assert values and {len(v) for v in values} == {1}  # the running session kept its map
        assert client.animate_wav(speech_wav, retarget="rig").names == ["jaw", "funnel"]


def _session_across_a_reload(client, speech_wav, edit, reloaded) -> tuple[pb.SessionStarted, list[list[float]]]:
    """A session that starts before `edit` and sends half its audio after the server reloaded."""
    data, fmt = read_wav(speech_wav)
    half = (len(data) // 4) * 2
    go_on = threading.Event()

    def requests():
        yield pb.StreamRequest(config=session_config(fmt, retarget="rig"))
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[:half]))
        go_on.wait(timeout=30)
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[half:]))
        yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())

    responses = client.stream(requests(), timeout=120)
    started = next(responses).started
    edit()
    _wait_for(reloaded)
    go_on.set()
    frames = [list(f.values) for r in responses if r.WhichOneof("message") == "frames" for f in r.frames.frames]
    return started, frames
