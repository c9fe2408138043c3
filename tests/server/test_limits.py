"""Every limit through a real server, each with its status: concurrent sessions, chunk bytes,
gRPC message size, audio per session, the idle timeout, the messages of a Stream read a
second; and the session-rate and message-pace token buckets."""

from __future__ import annotations

import queue
import threading
import time

import grpc
import numpy as np
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import AudioFormat, Encoding
from artalk_service.client import AnimationClient, session_config
from artalk_service.runtime.scheduler import SchedulerConfig
from artalk_service.server.config import ServerConfig
from artalk_service.server.limits import Limits, MessagePace, SessionRate

FORMAT = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)
CONFIG = session_config(FORMAT)
SMALL = Limits(max_sessions=2, max_chunk_bytes=32 * 1024, max_message_bytes=64 * 1024, max_session_seconds=1.0)


def audio(seconds: float) -> bytes:
    t = np.arange(int(seconds * FORMAT.sample_rate_hz)) / FORMAT.sample_rate_hz
    return (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32).tobytes()


class OpenStream:
    """A Stream whose messages the test sends one at a time; close() half-closes it."""

    def __init__(self, client: AnimationClient) -> None:
        self._outgoing: queue.Queue = queue.Queue()
        self.responses = client.stream(iter(self._outgoing.get, None), timeout=60)

    def send(self, **message) -> None:
        self._outgoing.put(pb.StreamRequest(**message))

    def close(self) -> None:
        self._outgoing.put(None)

    def started(self) -> pb.SessionStarted:
        self.send(config=CONFIG)
        return next(self.responses).started

    def finish(self) -> list[pb.StreamResponse]:
        self.send(end_of_audio=pb.EndOfAudio())
        self.close()
        return list(self.responses)

    def error(self) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as caught:
            list(self.responses)
        return caught.value


@pytest.fixture(scope="module")
def limited_server(tiny_model, server_thread):
    srv = server_thread(tiny_model, ServerConfig(port=0, limits=SMALL))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def impatient_server(tiny_model, server_thread):
    """A 0.5 s idle timeout, and tight backpressure bounds that pause a session whose client stops reading."""
    srv = server_thread(
        tiny_model,
        ServerConfig(port=0, limits=Limits(idle_timeout_seconds=0.5)),
        scheduler_config=SchedulerConfig(max_unsent_s=0.2, max_input_backlog_s=0.2, stall_timeout_s=30.0),
    )
    yield srv
    srv.stop()


# ------------------------------------------------------------ sizes


def test_session_limit_is_resource_exhausted_until_a_slot_frees(limited_server):
    with AnimationClient(limited_server.target) as client:
        first, second = OpenStream(client), OpenStream(client)
        assert first.started().session_id and second.started().session_id
        with pytest.raises(grpc.RpcError) as caught:
            client.animate_pcm(audio(0.2), CONFIG)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "limit of 2 concurrent sessions" in caught.value.details()
        assert first.finish()[-1].WhichOneof("message") == "status"
        assert client.animate_pcm(audio(0.2), CONFIG).status is not None  # the freed slot is usable
        second.finish()


def test_chunk_over_max_chunk_bytes_is_invalid_argument(limited_server):
    with AnimationClient(limited_server.target) as client:
        stream = OpenStream(client)
        stream.started()
        stream.send(audio=pb.AudioChunk(data=audio(0.75)))  # 48000 bytes, 0.75 s: only the byte limit is hit
        stream.close()
        err = stream.error()
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "audio chunk of 48000 bytes exceeds the maximum of 32768 bytes per chunk (max_chunk_bytes)" in err.details()


def test_message_over_max_message_bytes_is_refused_by_grpc(limited_server):
    big = audio(1.25)  # 80000 bytes > 64 KiB
    with AnimationClient(limited_server.target) as client:
        with pytest.raises(grpc.RpcError) as caught:
            client.stub.AnimateClip(pb.AnimateClipRequest(config=CONFIG, pcm=big), timeout=30)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        stream = OpenStream(client)
        stream.started()
        stream.send(audio=pb.AudioChunk(data=big))
        stream.close()
        assert stream.error().code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_audio_over_max_session_seconds_is_invalid_argument(limited_server):
    with AnimationClient(limited_server.target) as client:
        stream = OpenStream(client)
        stream.started()
        for _ in range(3):  # 0.4 s each: the third would pass 1 s
            stream.send(audio=pb.AudioChunk(data=audio(0.4)))
        stream.close()
        err = stream.error()
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "session audio would exceed the maximum of 1 s" in err.details()


def test_describe_reports_the_configured_limits(limited_server):
    with AnimationClient(limited_server.target) as client:
        limits = client.describe().limits
    assert (limits.max_chunk_bytes, limits.max_message_bytes, limits.max_sessions) == (32 * 1024, 64 * 1024, 2)
    assert limits.sessions_per_minute_per_token == SMALL.sessions_per_minute_per_token
    assert limits.idle_timeout_seconds == SMALL.idle_timeout_seconds
    assert limits.max_concurrent_clips == SMALL.max_concurrent_clips
    assert limits.max_stream_messages_per_second == SMALL.max_stream_messages_per_second


def test_a_stream_is_read_at_most_max_stream_messages_per_second(tiny_model, server_thread):
    """100 flushes at 40 a second (in bursts of 40) take about 1.5 s to be read; none is refused."""
    srv = server_thread(tiny_model, ServerConfig(port=0, limits=Limits(max_stream_messages_per_second=40)))
    try:
        with AnimationClient(srv.target) as client:
            requests = [pb.StreamRequest(config=CONFIG)] + [pb.StreamRequest(flush=pb.Flush())] * 100
            began = time.perf_counter()
            responses = list(client.stream(iter([*requests, pb.StreamRequest(end_of_audio=pb.EndOfAudio())])))
            seconds = time.perf_counter() - began
    finally:
        srv.stop()
    assert sum(r.WhichOneof("message") == "utterance_finished" for r in responses) == 100
    assert responses[-1].WhichOneof("message") == "status"
    assert 1.3 < seconds < 10.0, seconds  # 102 messages: 40 at once, then 62 at 40 a second


# ------------------------------------------------------------- idle


def test_idle_session_ends_while_an_active_neighbour_goes_on(impatient_server):
    with AnimationClient(impatient_server.target) as client:
        neighbour: dict = {}
        # 2 s of audio in 0.1 s chunks at the pace of speech: never 0.5 s without a message
        talker = threading.Thread(
            target=lambda: neighbour.update(
                result=client.animate_pcm(audio(2.0), CONFIG, chunk_seconds=0.1, realtime=True, timeout=60)
            )
        )
        talker.start()
        idle = OpenStream(client)
        idle.started()
        idle.send(audio=pb.AudioChunk(data=audio(0.1)))
        began = time.perf_counter()
        err = idle.error()  # then nothing more is sent
        waited = time.perf_counter() - began
        talker.join()
        idle.close()
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "sent nothing for 0.5 s" in err.details() and "idle_timeout_seconds" in err.details()
    assert 0.4 < waited < 5.0
    result = neighbour["result"]
    assert result.status is not None and len(result.values) == 50  # 2 s at 25 fps, complete


def test_a_stream_that_never_sends_its_config_times_out(impatient_server):
    with AnimationClient(impatient_server.target) as client:
        stream = OpenStream(client)
        err = stream.error()
        stream.close()
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_no_half_close_after_end_of_audio_ends_the_call_normally(impatient_server):
    with AnimationClient(impatient_server.target) as client:
        stream = OpenStream(client)
        stream.started()
        stream.send(audio=pb.AudioChunk(data=audio(0.4)))
        stream.send(end_of_audio=pb.EndOfAudio())
        responses = list(stream.responses)  # never half-closed: the server ends it after the idle timeout
        stream.close()
    assert responses[-1].WhichOneof("message") == "status" and responses[-1].status.frames_sent == 10


def test_a_session_held_back_by_backpressure_is_not_idle(impatient_server):
    """The client stops reading for 3 s: the session pauses, its reader stops reading, and
    the client's messages wait in transport; none of that is the client being idle."""
    fps, seconds = 120, 12.0
    # A small receive window (no BDP growth) that the unread frames fill.
    channel = grpc.insecure_channel(impatient_server.target, options=[("grpc.http2.bdp_probe", 0)])
    with channel:
        call = channel.stream_stream(
            "/artalk.v1.Animation/Stream", pb.StreamRequest.SerializeToString, pb.StreamResponse.FromString
        )
        requests = [pb.StreamRequest(config=session_config(FORMAT, fps=fps, include_native_motion=True))]
        data = audio(seconds)
        step = len(data) // 60
        requests += [pb.StreamRequest(audio=pb.AudioChunk(data=data[i : i + step])) for i in range(0, len(data), step)]
        requests.append(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
        responses = call(iter(requests), timeout=60)
        assert next(responses).WhichOneof("message") == "started"
        time.sleep(3.0)
        rest = list(responses)
    frames = sum(len(r.frames.frames) for r in rest if r.WhichOneof("message") == "frames")
    assert rest[-1].WhichOneof("message") == "status" and frames == int(seconds * fps)


# ------------------------------------------------------------- rate


def test_session_rate_bucket_refills_at_its_rate():
    rate = SessionRate(per_minute=3)
    assert [rate.take(b"a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]  # a full bucket
    assert rate.take(b"a", now=0.0) == pytest.approx(20.0)  # one start every 20 s
    assert rate.take(b"b", now=0.0) == 0.0  # buckets are per identity
    assert rate.take(b"a", now=10.0) == pytest.approx(10.0)  # half refilled
    assert rate.take(b"a", now=20.0) == 0.0
    assert rate.take(b"a", now=1000.0) == 0.0 and rate.take(b"a", now=1000.0) == 0.0  # capped at 3
    assert rate.take(b"a", now=1000.0) == 0.0 and rate.take(b"a", now=1000.0) > 0
    assert all(SessionRate(per_minute=0).take(b"a", now=0.0) == 0.0 for _ in range(100))  # 0: no limit


def test_message_pace_lets_a_burst_through_then_spaces_messages():
    pace = MessagePace(per_second=10, now=0.0)
    assert [pace.delay(now=0.0) for _ in range(10)] == [0.0] * 10  # a burst of 10
    assert pace.delay(now=0.0) == pytest.approx(0.1)  # the 11th waits a tenth of a second
    assert pace.delay(now=0.1) == pytest.approx(0.1)  # it took that slot: the next waits as long
    assert pace.delay(now=10.0) == 0.0  # refilled, up to the burst
    assert all(MessagePace(per_second=0, now=0.0).delay(now=0.0) == 0.0 for _ in range(100))  # 0: no limit
