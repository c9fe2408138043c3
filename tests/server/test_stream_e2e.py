"""End to end: the real server on a free port, real speech through the real pipeline."""

from __future__ import annotations

import math
import threading

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.client import AnimationClient
from artalk_service.layout import ARKIT61, BLINK_CHANNELS, HEAD_CHANNELS


@pytest.fixture(scope="module")
def client(server):
    with AnimationClient(server.target) as c:
        yield c


@pytest.fixture(scope="module")
def pcm(speech_wav):
    data, fmt = read_wav(speech_wav)
    return data, fmt


def duration(pcm_and_fmt) -> float:
    data, fmt = pcm_and_fmt
    return fmt.seconds(len(data))


def config(fmt, **fields) -> pb.SessionConfig:
    from artalk_service.client import session_config

    return session_config(fmt, **fields)


def run(client, requests) -> tuple[list[pb.StreamResponse], grpc.RpcError | None]:
    responses = []
    try:
        for r in client.stream(iter(requests), timeout=120):
            responses.append(r)
    except grpc.RpcError as err:
        return responses, err
    return responses, None


def frames_of(responses) -> list[pb.Frame]:
    return [f for r in responses if r.WhichOneof("message") == "frames" for f in r.frames.frames]


def test_health_reports_serving(server):
    with grpc.insecure_channel(server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "artalk.v1.Animation"):
            assert (
                stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
                == health_pb2.HealthCheckResponse.SERVING
            )


def test_reflection_lists_the_service(server):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(server.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        reply = next(
            stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        )
        names = {s.name for s in reply.list_services_response.service}
    assert {"artalk.v1.Animation", "grpc.health.v1.Health"} <= names


def test_describe(client, model):
    d = client.describe()
    assert d.api_version == "artalk.v1"
    assert d.models[0].model_id == model.model_id and d.models[0].fps == 25
    assert list(d.motion_layouts[0].channels) == list(ARKIT61.channels)
    assert {"arkit61", "arkit_camel"} <= {p.name for p in d.retarget_presets}
    assert d.limits.max_chunk_seconds == 10 and d.limits.max_clip_seconds == 300
    assert d.models[0].latency.total_seconds > 0


@pytest.mark.parametrize("fps", [0, 30, 60])
def test_stream_frames(client, speech_wav, pcm, fps):
    result = client.animate_wav(speech_wav, fps=fps, chunk_seconds=0.137)
    out_fps = fps or 25
    assert result.fps == out_fps
    assert abs(len(result.values) - math.ceil(duration(pcm) * out_fps)) <= 1
    assert np.all(np.diff(result.time_codes) > 0)
    assert result.time_codes[0] == 0.0
    assert result.names == list(ARKIT61.channels)
    values = np.array(result.values)
    assert values.shape == (len(result.time_codes), 61) and np.isfinite(values).all()
    assert values[:, :52].min() >= 0 and values[:, :52].max() <= 1
    assert result.status.frames_sent == len(result.values)
    assert [u.frame_count for u in result.utterances] == [len(result.values)]
    started = result.started
    assert started.motion_layout == "arkit61" and list(started.native_channel_names) == list(ARKIT61.channels)
    assert set(started.rotation_channels) == set(ARKIT61.rotation_channels)
    assert started.latency.total_seconds == pytest.approx(
        started.latency.window_seconds + started.latency.lookahead_seconds
    )


def test_camel_case_retarget_and_switches(client, speech_wav):
    result = client.animate_wav(
        speech_wav, retarget="arkit_camel", head_motion=False, blinks=False, include_native_motion=True
    )
    assert result.names[17] == "jawOpen"
    native = np.array(result.native_values)
    assert native.shape == (len(result.values), 61)
    assert np.all(native[:, ARKIT61.indices(HEAD_CHANNELS)] == 0)
    assert np.all(native[:, ARKIT61.indices(BLINK_CHANNELS)] == 0)
    np.testing.assert_allclose(np.array(result.values)[:, 52:], native[:, 52:], atol=1e-6)


def test_streamed_frames_do_not_depend_on_chunking(client, speech_wav):
    a = client.animate_wav(speech_wav, chunk_seconds=0.05, seed=3)
    b = client.animate_wav(speech_wav, chunk_seconds=0.731, seed=3)
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)


def test_animate_clip_matches_stream(client, speech_wav):
    streamed = client.animate_wav(speech_wav, seed=5)
    clip = client.animate_clip(speech_wav, pb.SessionConfig(seed=5))
    assert [f.time_code for f in clip.frames] == pytest.approx(streamed.time_codes)
    np.testing.assert_allclose([list(f.values) for f in clip.frames], streamed.values, atol=1e-5)


def test_utterances_flush_cancel_and_echo(client, pcm):
    data, fmt = pcm
    half = (len(data) // 4) * 2
    audio = lambda b: pb.StreamRequest(audio=pb.AudioChunk(data=b))  # noqa: E731
    responses, err = run(
        client,
        [
            pb.StreamRequest(config=config(fmt, echo_audio=True, fps=30)),
            audio(data[:half]),
            pb.StreamRequest(flush=pb.Flush()),
            audio(data[half:]),
            pb.StreamRequest(cancel=pb.Cancel()),
            audio(data),
            pb.StreamRequest(end_of_audio=pb.EndOfAudio()),
        ],
    )
    assert err is None
    kinds = [r.WhichOneof("message") for r in responses]
    assert kinds[0] == "started" and kinds[-1] == "status"
    finished = [r.utterance_finished for r in responses if r.WhichOneof("message") == "utterance_finished"]
    assert [u.cancelled for u in finished] == [False, True, False]
    assert finished[0].frame_count == math.ceil(fmt.seconds(half) * 30)
    assert finished[2].start_time == pytest.approx(fmt.seconds(len(data)))
    assert finished[2].frame_count == math.ceil(fmt.seconds(len(data)) * 30)
    times = [f.time_code for f in frames_of(responses)]
    assert np.all(np.diff(times) > 0)
    echoes = [r.audio_echo for r in responses if r.WhichOneof("message") == "audio_echo"]
    assert [e.data for e in echoes] == [data[:half], data[half:], data]
    assert echoes[2].time_code == pytest.approx(fmt.seconds(len(data)))


def _error(client, requests) -> grpc.RpcError:
    _, err = run(client, requests)
    assert err is not None, "expected the call to fail"
    return err


def _bad_inputs(fmt, data):
    good = pb.StreamRequest(config=config(fmt))
    audio = pb.StreamRequest(audio=pb.AudioChunk(data=data[:3200]))
    with_config = lambda **f: pb.StreamRequest(config=config(fmt, **f))  # noqa: E731
    raw = lambda fmt_pb: pb.StreamRequest(config=pb.SessionConfig(audio_format=fmt_pb))  # noqa: E731
    nan_style = pb.SessionConfig(audio_format=good.config.audio_format)
    nan_style.style.reference_clip.CopyFrom(
        pb.MotionClip(layout="arkit61", fps=25, num_channels=61, values=[math.nan] * 61)
    )
    return {
        "config missing": ([audio], "first message of a Stream must be a SessionConfig"),
        "config sent twice": ([good, good], "config sent twice"),
        "sample rate": ([raw(pb.AudioFormat(encoding=1, sample_rate_hz=96000, channels=1))], "8000 to 48000"),
        "encoding": ([raw(pb.AudioFormat(encoding=0, sample_rate_hz=16000, channels=1))], "AUDIO_ENCODING_PCM_S16LE"),
        "channels": ([raw(pb.AudioFormat(encoding=1, sample_rate_hz=16000, channels=6))], "1 (mono) or 2"),
        "odd bytes": ([good, pb.StreamRequest(audio=pb.AudioChunk(data=b"\x00\x01\x02"))], "multiple of 2 bytes"),
        "nan audio": (
            [
                pb.StreamRequest(
                    config=pb.SessionConfig(audio_format=pb.AudioFormat(encoding=2, sample_rate_hz=16000, channels=1))
                ),
                pb.StreamRequest(audio=pb.AudioChunk(data=np.array([0, np.nan], "<f4").tobytes())),
            ],
            "NaN or Inf",
        ),
        "nan temperature": ([with_config(temperature=math.nan)], "temperature"),
        "inf top_p": ([with_config(top_p=math.inf)], "top_p"),
        "nan guidance": ([with_config(guidance=math.nan)], "guidance"),
        "guidance too high": ([with_config(guidance=9.0)], "guidance 9 is out of range"),
        "negative guidance": ([with_config(guidance=-1.0)], "guidance -1 is out of range"),
        "nan style clip": ([pb.StreamRequest(config=nan_style)], "NaN or Inf"),
        "unknown style": ([with_config(style="no_such_style")], "unknown style preset 'no_such_style'"),
        "unknown retarget": ([with_config(retarget="no_such_rig")], "unknown retarget preset 'no_such_rig'"),
        "bad inline map": (
            [
                pb.StreamRequest(
                    config=pb.SessionConfig(
                        audio_format=good.config.audio_format,
                        retarget=pb.RetargetSelection(inline_map='{"targets":[{"name":"a","sources":{"JawOpn":1}}]}'),
                    )
                )
            ],
            "did you mean 'JawOpen'",
        ),
        "chunk too big": (
            [
                good,
                pb.StreamRequest(audio=pb.AudioChunk(data=b"\x00" * (fmt.bytes_per_frame * fmt.sample_rate_hz * 11))),
            ],
            "exceeds the maximum of 10 s",
        ),
        "after end_of_audio": (
            [good, audio, pb.StreamRequest(end_of_audio=pb.EndOfAudio()), audio],
            "after end_of_audio",
        ),
        "fps too high": ([with_config(fps=121)], "output_fps 121"),
    }


def test_every_bad_input_gets_invalid_argument(client, pcm):
    data, fmt = pcm
    for name, (requests, message) in _bad_inputs(fmt, data).items():
        err = _error(client, requests)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{name}: {err.code()} {err.details()}"
        assert message in err.details(), f"{name}: {err.details()!r} lacks {message!r}"


def test_bad_sessions_do_not_disturb_a_good_one(client, speech_wav, pcm):
    reference = client.animate_wav(speech_wav, seed=11)
    data, fmt = pcm
    bad = list(_bad_inputs(fmt, data).values())
    errors: list = []

    def hammer():
        for requests, _ in bad * 2:
            errors.append(_error(client, requests).code())

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    during = client.animate_wav(speech_wav, seed=11, chunk_seconds=0.05)
    for t in threads:
        t.join()
    np.testing.assert_allclose(during.values, reference.values, atol=1e-5)
    assert set(errors) == {grpc.StatusCode.INVALID_ARGUMENT}
    assert client.describe().models  # the server still answers
