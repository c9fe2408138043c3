"""Hostile retarget maps and client-quoted messages through a real server (issue 20, items 1, 4,
5, 7, 10 and 11): each is refused with INVALID_ARGUMENT and a short message, quickly, while the
event loop keeps serving everyone else; no frame carries NaN or Inf; the folder of maps does not
follow links nor tell clients what a rejected file holds.

The loop's lag is measured with a probe coroutine on the server's own loop (bench/fuzz.LoopLag);
the parser side of the same items is tests/retarget/test_map_limits.py.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import grpc
import numpy as np
import pytest
import yaml

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import AudioFormat, Encoding
from artalk_service.bench.checks import stream_call
from artalk_service.bench.fuzz import LoopLag, alias_bomb
from artalk_service.client import AnimationClient, session_config
from artalk_service.retarget.limits import LIMITS, OUTPUT_LIMIT
from artalk_service.server.config import ServerConfig

MAX_STALL_MS = 250.0  # a parse on the loop stalls it 0.45 s (1 MB JSON) to 10 s (YAML); off it, ~15-40 ms here
FLOAT16K = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)


@pytest.fixture(scope="module")
def srv(server_thread, tiny_model):
    s = server_thread(tiny_model, ServerConfig(port=0))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(srv):
    with AnimationClient(srv.target) as c:
        yield c


def validate(client, text: str) -> tuple[grpc.StatusCode, str, float]:
    start = time.perf_counter()
    try:
        client.stub.ValidateRetargetMap(pb.ValidateRetargetMapRequest(map=text), timeout=60)
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as err:
        code, details = err.code(), err.details() or ""
    return code, details, time.perf_counter() - start


def open_session(client, config: pb.SessionConfig, audio: bytes = b"") -> tuple[grpc.StatusCode, str, float]:
    """A Stream call of `config` (and audio): how it ended, and how long that took."""
    messages = [pb.StreamRequest(config=config)]
    if audio:
        messages.append(pb.StreamRequest(audio=pb.AudioChunk(data=audio)))
    messages.append(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
    outcome = stream_call(client.channel, [m.SerializeToString() for m in messages], timeout=60)
    return outcome.code, outcome.details, outcome.seconds


def inline(text: str, **fields) -> pb.SessionConfig:
    config = session_config(FLOAT16K, **fields)
    config.retarget.inline_map = text
    return config


def both_ways(client, text: str) -> list[tuple[grpc.StatusCode, str, float]]:
    """The map through ValidateRetargetMap and as a session's inline map."""
    return [validate(client, text), open_session(client, inline(text))]


# ------------------------------------------------------------------ item 1
@pytest.mark.parametrize("levels", [5, 9])
def test_item01_yaml_alias_bomb_is_refused_fast(srv, client, levels):
    text = alias_bomb(levels, 9)
    assert len(text) < 600  # nine levels: the 543 bytes that stood for 9**9 strings
    lag = LoopLag(srv.loop).start()
    for code, details, seconds in both_ways(client, text):
        assert code == grpc.StatusCode.INVALID_ARGUMENT, details[:300]
        assert "YAML aliases stand for more than the limit of 10,000 nodes" in details
        assert seconds < 2.0
    assert lag.stop()["max_ms"] < MAX_STALL_MS


# ------------------------------------------------------------------ item 4
def max_size_map(as_yaml: bool) -> str:
    """A valid map of 2,048 targets with curves, as close under the byte limit as whole curve points allow."""
    channels = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "EyeBlinkLeft", "BrowInnerUp")

    def text(points: int, targets: int = LIMITS.max_channels) -> str:
        def curve():  # one object per target: YAML would write a shared one as an anchor and aliases
            return {
                "type": "piecewise",
                "points": [[round(i / points, 4), round((i % 3) / 2, 2)] for i in range(points)],
            }

        spec = {
            "name": "big",
            "targets": [
                {"name": f"t{i:04d}", "sources": {c: 0.25 for c in channels}, "clamp": [0, 1], "curve": curve()}
                for i in range(targets)
            ],
        }
        return yaml.safe_dump(spec, default_flow_style=None, width=200) if as_yaml else json.dumps(spec)

    def size(points: int) -> int:  # every target takes the same bytes: two small maps tell the whole one's size
        one, two = len(text(points, 1).encode()), len(text(points, 2).encode())
        return one + (LIMITS.max_channels - 1) * (two - one)

    points = max(p for p in range(2, LIMITS.max_curve_points + 1) if size(p) <= LIMITS.max_bytes)
    return text(points)


def _parse_beside_a_healthy_session(srv, client, text: str, audio: bytes) -> dict:
    """Validate `text`, and open a session with it, while a real-time session streams `audio`:
    -> the loop's lag figures meanwhile, with the healthy session's latest frame (s late)."""
    healthy: dict = {}

    def healthy_session():
        with AnimationClient(srv.target) as other:
            config = session_config(FLOAT16K, retarget="mouth_simple")
            healthy["result"] = other.animate_pcm(audio, config, realtime=True, timeout=90)

    lag = LoopLag(srv.loop).start()
    runner = threading.Thread(target=healthy_session)
    runner.start()
    time.sleep(0.3)  # the session is under way
    code, details, validate_s = validate(client, text)
    assert code == grpc.StatusCode.OK, details
    code, details, session_s = open_session(client, inline(text), audio[:6400])
    assert code == grpc.StatusCode.OK, details
    figures = lag.stop()
    runner.join(timeout=90)
    result = healthy["result"]  # it ran to its end, every frame sent
    assert result.status is not None and len(result.values) == result.status.frames_sent > 0
    return {
        **figures,
        "validate_s": round(validate_s, 3),
        "session_s": round(session_s, 3),
        "healthy_latest_frame_s": round(max(result.lateness_s), 3),
        "healthy_playout_s": round(result.started.latency.total_seconds + 0.5, 3),
    }


@pytest.mark.parametrize("as_yaml", [False, True], ids=["json", "yaml"])
def test_item04_a_max_size_inline_map_is_parsed_off_the_event_loop(srv, client, speechlike, as_yaml):
    """The loop's lag stays under 100 ms while a map of the largest size is parsed (a few
    hundred ms as JSON, seconds as YAML) beside a real-time session. On a shared machine the
    OS alone can stall a thread now and then, so the best of three tries counts: a parse on
    the loop stalls it in every try, by the whole parse."""
    text = max_size_map(as_yaml)
    assert 0.9 * LIMITS.max_bytes < len(text.encode()) <= LIMITS.max_bytes
    audio = np.tile(speechlike, 3 if as_yaml else 1).tobytes()  # longer than the parse
    tries = []
    for _ in range(3):
        tries.append(_parse_beside_a_healthy_session(srv, client, text, audio))
        if tries[-1]["max_ms"] < MAX_STALL_MS:
            break
    print(f"item 4, {'YAML' if as_yaml else 'JSON'} map of {len(text.encode()):,} bytes: {tries}")  # pytest -s
    assert tries[-1]["max_ms"] < MAX_STALL_MS, tries


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"targets": [{"name": "a", "sources": {"JawOpen": 1}}], "description": "' + "x" * (8 << 20) + '"}',
            "over the limit of 1,048,576 bytes",
        ),
        (
            json.dumps(
                {
                    "targets": [
                        {
                            "name": "a",
                            "sources": {"JawOpen": 1},
                            "curve": {"type": "piecewise", "points": [[i, 0] for i in range(1_000_000)]},
                        }
                    ]
                }
            ),
            "over the limit of 1,048,576 bytes",
        ),
        (
            json.dumps(
                {
                    "targets": [
                        {
                            "name": "a",
                            "sources": {"JawOpen": 1},
                            "curve": {"type": "piecewise", "points": [[i, 0] for i in range(20_000)]},
                        }
                    ]
                }
            ),
            "20,000 points; the limit is 256 points per curve",
        ),
        (
            json.dumps({"targets": [{"name": f"t{i}", "sources": {"JawOpen": 1}} for i in range(5000)]}),
            "'targets' has 5,000 entries; the limit is 2,048 output channels",
        ),
    ],
    ids=["8MB", "1M-points", "20k-points", "5000-targets"],
)
def test_item04_an_over_limit_map_is_refused_naming_the_limit(srv, client, text, message):
    lag = LoopLag(srv.loop).start()
    for code, details, seconds in both_ways(client, text):
        assert code == grpc.StatusCode.INVALID_ARGUMENT, details[:300]
        assert message in details
        assert seconds < 5.0
    assert lag.stop()["max_ms"] < MAX_STALL_MS


# ------------------------------------------------------------------ item 5
@pytest.mark.parametrize(
    "text",
    [
        '{"targets": ' + "[" * 1000 + "]" * 1000 + "}",
        "targets: " + "[" * 1000 + "]" * 1000,
        "".join(f"{' ' * i}k{i}:\n" for i in range(1000)) + " " * 1000 + "x: 1\n",
        '{"targets": [{"name": "a", "sources": {"JawOpen": 1' + "0" * 309 + "}}]}",
        '{"targets": [{"name": "a", "sources": {"JawOpen": 1' + "0" * 5000 + "}}]}",
        "targets: [{name: a, sources: {JawOpen: 1" + "0" * 309 + "}}]",
        "targets: [{name: a, sources: {JawOpen: 1" + "0" * 5000 + "}}]",
        "{1: x, a: y}",
        "targets: [{name: a, sources: {JawOpen: 1}}]\nbones: [{bone: b, from: [HeadYaw, HeadPitch, HeadRoll], "
        "convention: [x]}]",
    ],
    ids=["json-1000-deep", "yaml-flow-1000-deep", "yaml-block-1000-deep", "json-1e309", "json-5000-digits",
         "yaml-1e309", "yaml-5000-digits", "mixed-key-types", "unhashable-convention"],
)  # fmt: skip
def test_item05_invalid_maps_end_with_invalid_argument_never_internal(client, text):
    for code, details, _ in both_ways(client, text):
        assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details[:300]}"
        assert 0 < len(details) < 1000


# ------------------------------------------------------------------ item 7
LONG = "x" * 15_000
WIDE = "é" * 6_000  # 12 KB of UTF-8; each byte percent-encoded in the trailer


def _with(**fields):
    def build():
        config = session_config(FLOAT16K)
        for path, value in fields.items():
            target = config
            *parents, leaf = path.split("__")
            for parent in parents:
                target = getattr(target, parent)
            setattr(target, leaf, value)
        return config

    return build


@pytest.mark.parametrize(
    "build, fragment",
    [
        (_with(retarget__preset=LONG), "unknown retarget preset 'xxxx"),
        (_with(retarget__preset=WIDE), "unknown retarget preset 'éééé"),
        (_with(style__preset=LONG), "unknown style preset 'xxxx"),
        (_with(style__reference_clip__layout=LONG), "reference_clip.layout 'xxxx"),
        (_with(retarget__inline_map=json.dumps({"targets": [{"name": LONG, "sources": {"JawOpen": 1}}]})), "'name'"),
        (_with(retarget__inline_map=json.dumps({"targets": [{"name": "a", "sources": {LONG: 1}}]})), "channel 'xx"),
        (_with(retarget__inline_map=json.dumps({"targets": [{"name": "a", "sources": {WIDE: 1}}]})), "channel 'éé"),
        (_with(retarget__inline_map=json.dumps({"extends": LONG})), "'extends' 'xxxx"),
        (_with(retarget__inline_map=json.dumps({"targets": [{"name": "a", LONG: 1}]})), "unknown key(s) ['xxxx"),
        (_with(retarget__inline_map="targets: [{name: a, sources: {JawOpen: " + LONG + "}}]"), "finite number"),
        (_with(session_id=LONG), "session_id is longer than"),
    ],
    ids=["preset", "preset-utf8", "style", "clip-layout", "target-name", "channel", "channel-utf8", "extends",
         "key", "weight", "session-id"],
)  # fmt: skip
def test_item07_long_client_input_is_quoted_short_and_stays_invalid_argument(client, build, fragment):
    code, details, _ = open_session(client, build())
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details[:200]}"
    assert fragment in details and len(details.encode()) < 1000, details[:300]


def test_item07_validate_retarget_map_quotes_short_too(client):
    code, details, _ = validate(client, json.dumps({"targets": [{"name": "a", "sources": {WIDE: 1}}]}))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and len(details.encode()) < 1000


# ------------------------------------------------------------------ item 10
@pytest.mark.parametrize(
    "target",
    [
        {"sources": {"JawOpen": 1e39}},
        {"sources": {"JawOpen": 1}, "gain": 1e200},
        {"sources": {"JawOpen": 1}, "curve": {"type": "power", "exponent": 1e30}},
    ],
    ids=["weight-1e39", "gain-1e200", "exponent-1e30"],
)
def test_item10_maps_that_would_overflow_are_refused(client, target):
    for code, details, _ in both_ways(client, json.dumps({"targets": [{"name": "a", **target}]})):
        assert code == grpc.StatusCode.INVALID_ARGUMENT, details[:200]
        assert "is out of range" in details


LOUD_MAP = json.dumps(
    {
        "targets": [
            {"name": "sum", "sources": {"JawOpen": 1e6, "MouthClose": -1e6, "HeadYaw": 1e6}, "gain": 1e6},
            {"name": "power", "sources": {"JawOpen": 1e6}, "gain": 1e6, "curve": {"type": "power", "exponent": 100}},
            {"name": "steep", "sources": {"JawOpen": 1e6}, "curve": {"type": "smoothstep", "edges": [0, 1e-6]}},
            {"name": "smooth", "sources": {"EyeBlinkLeft": 1e6}, "gain": 1e6, "smoothing": 1e-300},
        ],
        "bones": [
            {"bone": "head", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "gain": 1e6, "output": "euler_degrees"}
        ],
    }
)


def test_item10_a_map_at_the_bounds_sends_finite_frames_only(client, speechlike, speech_wav):
    result = client.animate_pcm(speechlike.tobytes(), inline(LOUD_MAP, include_native_motion=True), timeout=60)
    values = np.array(result.values)
    assert values.shape == (len(result.time_codes), 7) and len(values) > 50
    assert np.isfinite(values).all() and np.abs(values).max() <= OUTPUT_LIMIT
    assert np.abs(values[:, 1]).max() == OUTPUT_LIMIT  # the power overflows, and is limited
    config = pb.SessionConfig()
    config.retarget.inline_map = LOUD_MAP  # AnimateClip parses its map the same way
    clip = client.animate_clip(speech_wav, config, timeout=60)
    clip_values = np.array([f.values for f in clip.frames])
    assert len(clip_values) > 50 and np.isfinite(clip_values).all()


# ------------------------------------------------------------------ item 11
SECRET = "hunter2_TOKEN_123"


@pytest.fixture
def folder_server(server_thread, tiny_model, tmp_path, caplog):
    folder, outside = tmp_path / "maps", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"targets: [{{name: {SECRET}, sources: {{JawOpen: 1}}}}]\n")
    os.symlink(outside / "secret.yaml", folder / "linked.yaml")
    (folder / "broken.yaml").write_text(f"targets:\n  - name: a\n  password: {SECRET} [\n")
    (folder / "child.json").write_text(json.dumps({"extends": "nope", "targets": []}))
    (folder / "good.json").write_text(json.dumps({"targets": [{"name": "jaw", "sources": {"JawOpen": 1}}]}))
    caplog.set_level(logging.INFO, logger="artalk.retarget")  # (artalk-retarget's CLI quiets it, in-process)
    with caplog.at_level(logging.INFO):
        s = server_thread(tiny_model, ServerConfig(port=0), retarget_dir=folder, poll_seconds=0.05)
        s.start_log = caplog.text  # what the server logged as it read the folder
        yield s
        s.stop()


def test_item11_the_folder_follows_no_link_and_clients_never_see_a_rejected_file(folder_server, caplog):
    with AnimationClient(folder_server.target) as client:
        offered = {p.name for p in client.describe().retarget_presets}
        assert "good" in offered and not offered & {"linked", "broken", "child"}
        for config, fragment in [
            (session_config(FLOAT16K, retarget="linked"), "unknown retarget preset 'linked'"),
            (session_config(FLOAT16K, retarget="broken"), "retarget preset 'broken' is not available"),
            (session_config(FLOAT16K, retarget="child"), "retarget preset 'child' is not available"),
            (session_config(FLOAT16K, retarget="nope"), "unknown retarget preset 'nope'"),
            (inline('{"extends": "broken"}'), "'extends': retarget preset 'broken' is not available"),
        ]:
            code, details, _ = open_session(client, config)
            assert code == grpc.StatusCode.INVALID_ARGUMENT and fragment in details, details
            assert SECRET not in details and "line 3" not in details
            assert "'good'" in details and "'linked'" not in details.split("available:")[-1]
            assert "'broken'," not in details and "'child'," not in details
    log = folder_server.start_log + caplog.text
    assert "linked.yaml is a symbolic link" in log
    assert "broken.yaml: retarget map is neither valid JSON nor YAML: YAML line 3" in log
    assert SECRET not in log
