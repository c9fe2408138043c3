"""Issue 20, the session, memory and limit items (2, 3, 6, 8, 9), through real servers with
small limits and a short stall timeout: clients that stop reading, floods of echoed chunks and
flushes, rejected large requests, oversized replies and concurrent clips. And a healthy
real-time session beside all of them, every frame within its playout delay."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator

import grpc
import numpy as np
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import AudioFormat, Encoding
from artalk_service.client import AnimationClient, session_config
from artalk_service.runtime.scheduler import SchedulerConfig
from artalk_service.server.config import ServerConfig
from artalk_service.server.limits import Limits

FORMAT = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)
PCM16 = AudioFormat(Encoding.PCM_S16LE, 16000, 1)
STREAM = "/artalk.v1.Animation/Stream"
CLIP = "/artalk.v1.Animation/AnimateClip"
# A small receive window (4 KiB) that does not grow (no BDP probing): unread responses fill it at once.
SMALL_WINDOW = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 4096)]
# The runtime gives up on a client that leaves its responses unread this long (20 s by default).
STALL_S = 1.0


def audio(seconds: float, fmt: AudioFormat = FORMAT) -> bytes:
    t = np.arange(int(seconds * fmt.sample_rate_hz)) / fmt.sample_rate_hz
    wave = 0.1 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    if fmt.encoding is Encoding.PCM_S16LE:
        return (wave * 32767).astype("<i2").tobytes()
    return wave.astype(np.float32).tobytes()


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class RawStream:
    """A Stream on a connection of its own that sends serialized messages and reads nothing
    until asked to. Unless `half_close`, it keeps the call open after its last message."""

    def __init__(self, target: str, messages: Iterable[pb.StreamRequest], half_close: bool = False) -> None:
        self.release = threading.Event()
        self.channel = grpc.insecure_channel(target, options=SMALL_WINDOW)

        def requests() -> Iterator[bytes]:
            for message in messages:
                yield message.SerializeToString()
            if not half_close:
                self.release.wait(60)

        self.call = self.channel.stream_stream(STREAM)(requests(), timeout=60)

    def first(self) -> pb.StreamResponse:
        return pb.StreamResponse.FromString(next(self.call))

    def outcome(self) -> tuple[grpc.StatusCode, str, list[pb.StreamResponse]]:
        """Read everything left: (status, its message, the responses)."""
        responses = []
        try:
            responses += [pb.StreamResponse.FromString(raw) for raw in self.call]
            code, details = grpc.StatusCode.OK, ""
        except grpc.RpcError as err:
            code, details = err.code(), err.details() or ""
        return code, details, responses

    def close(self) -> None:
        self.release.set()
        self.call.cancel()
        self.channel.close()


def non_reader(target: str, seconds: float = 30.0) -> RawStream:
    """Sends `seconds` of audio as fast as it can at 120 fps with native values, reads only SessionStarted."""
    config = session_config(FORMAT, fps=120, include_native_motion=True, session_id="non-reader")
    data = audio(seconds)
    step = len(data) // int(seconds * 2)  # 0.5 s chunks
    chunks = [pb.StreamRequest(audio=pb.AudioChunk(data=data[i : i + step])) for i in range(0, len(data), step)]
    stream = RawStream(target, [pb.StreamRequest(config=config), *chunks])
    assert stream.first().WhichOneof("message") == "started"
    return stream


def flooder(target: str, kind: str, count: int = 20_000) -> RawStream:
    """Floods `count` empty echoed chunks ("echo") or flushes ("flush"), reads only SessionStarted."""
    config = session_config(FORMAT, echo_audio=kind == "echo", session_id=f"flood-{kind}")
    message = pb.StreamRequest(audio=pb.AudioChunk()) if kind == "echo" else pb.StreamRequest(flush=pb.Flush())
    stream = RawStream(target, [pb.StreamRequest(config=config), *([message] * count)])
    assert stream.first().WhichOneof("message") == "started"
    return stream


# An attacker in a process of its own, as it would be: argv target, kind ("non-reader", "echo" or
# "flush"). It prints "started" once it has its SessionStarted, reads nothing until a line comes
# on its stdin, then reads on and prints the status its call ended with.
ATTACKER = """
import sys, threading, time, grpc
from artalk_service.api.artalk.v1 import animation_pb2 as pb
target, kind = sys.argv[1], sys.argv[2]
fmt = pb.AudioFormat(encoding=pb.AUDIO_ENCODING_FLOAT32_LE, sample_rate_hz=16000, channels=1)
if kind == "non-reader":
    config = pb.SessionConfig(audio_format=fmt, output_fps=120, include_native_motion=True)
    rest = [pb.StreamRequest(audio=pb.AudioChunk(data=bytes(32000)))] * 60
else:
    config = pb.SessionConfig(audio_format=fmt, echo_audio=kind == "echo")
    rest = [pb.StreamRequest(audio=pb.AudioChunk()) if kind == "echo" else pb.StreamRequest(flush=pb.Flush())] * 20000
done = threading.Event()
def requests():
    yield pb.StreamRequest(config=config).SerializeToString()
    for message in rest:
        yield message.SerializeToString()
    done.wait(120)
options = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 4096)]
with grpc.insecure_channel(target, options=options) as channel:
    call = channel.stream_stream("/artalk.v1.Animation/Stream")(requests(), timeout=120)
    next(call)
    print("started", flush=True)
    sys.stdin.readline()
    try:
        for _ in call:
            pass
        print("OK", flush=True)
    except grpc.RpcError as err:
        print(err.code().name, flush=True)
    done.set()
"""


def slots_in_use(srv) -> int:
    return srv.running.servicer.active_sessions


def open_stream(client: AnimationClient):
    """A Stream that has its SessionStarted; (responses, send, close)."""
    import queue

    outgoing: queue.Queue = queue.Queue()
    responses = client.stream(iter(outgoing.get, None), timeout=60)
    outgoing.put(pb.StreamRequest(config=session_config(FORMAT)))
    assert next(responses).WhichOneof("message") == "started"
    return responses, outgoing


@pytest.fixture
def stall_server(tiny_model, server_thread):
    """Three slots; a client that leaves 0.3 s of frames unread for 1 s is given up on."""
    srv = server_thread(
        tiny_model,
        ServerConfig(port=0, limits=Limits(max_sessions=3)),
        scheduler_config=SchedulerConfig(max_unsent_s=0.3, stall_timeout_s=STALL_S, max_input_backlog_s=0.5),
    )
    yield srv
    srv.stop()


# ------------------------------------------------------------------ item 2


def test_item02_a_client_that_stops_reading_gets_resource_exhausted_and_frees_its_slot(stall_server):
    srv = stall_server
    stalled = [non_reader(srv.target) for _ in range(3)]  # every slot
    try:
        assert slots_in_use(srv) == 3
        # given up on after the stall timeout: the call ends and its slot is free
        assert wait_for(lambda: slots_in_use(srv) == 0, 10 * STALL_S + 5), slots_in_use(srv)
        assert srv.running.scheduler.sessions == 0
        with AnimationClient(srv.target) as client:  # a new client gets a slot
            result = client.animate_pcm(audio(0.4), session_config(FORMAT), timeout=30)
            assert result.status is not None and len(result.time_codes) == 10
        for stream in stalled:  # reading again, each gets the documented status (frames in flight may be lost)
            code, details, _ = stream.outcome()
            assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, (code, details)
            assert "did not read" in details
    finally:
        for stream in stalled:
            stream.close()


def test_item02_a_silent_client_that_stops_reading_gets_deadline_exceeded_and_frees_its_slot(tiny_model, server_thread):
    """The idle timeout ends the call of a client that neither sends nor reads (the stall
    timeout is far away here): its slot is free at once, not when the client reads again."""
    srv = server_thread(
        tiny_model,
        ServerConfig(port=0, limits=Limits(max_sessions=1, idle_timeout_seconds=1.0)),
        scheduler_config=SchedulerConfig(max_unsent_s=0.3, stall_timeout_s=60.0),
    )
    stream = None
    try:
        stream = non_reader(srv.target, seconds=3.0)  # then it sends nothing and reads nothing
        assert wait_for(lambda: slots_in_use(srv) == 0, 6.0), slots_in_use(srv)
        with AnimationClient(srv.target) as client:
            assert client.animate_pcm(audio(0.2), session_config(FORMAT), timeout=30).status is not None
        code, details, _ = stream.outcome()
        assert code is grpc.StatusCode.DEADLINE_EXCEEDED and "idle_timeout_seconds" in details, (code, details)
    finally:
        if stream is not None:
            stream.close()
        srv.stop()


# ------------------------------------------------------------------ item 3


def held_requests(min_bytes: int) -> int:
    """Request messages of at least `min_bytes` alive in this process (the server's: the client sends bytes)."""
    kinds = (pb.StreamRequest, pb.SessionConfig, pb.AudioChunk, pb.AnimateClipRequest)
    with warnings.catch_warnings():  # isinstance on some of torch's lazy objects warns
        warnings.simplefilter("ignore")
        return sum(1 for o in gc.get_objects() if isinstance(o, kinds) and o.ByteSize() >= min_bytes)


def test_item03_rejected_large_requests_are_not_held_after_their_calls_end(tiny_model, server_thread):
    """Rejected Streams (an oversized chunk, an oversized session_id) and rejected AnimateClips
    (a clip too long) of 2 MB each: once each call has ended, the server holds none of them,
    with the garbage collector off (nothing may wait for a collection to be freed)."""
    limits = Limits(max_message_bytes=4 * 1024 * 1024, max_chunk_bytes=64 * 1024, max_clip_seconds=1.0)
    srv = server_thread(tiny_model, ServerConfig(port=0, limits=limits))
    big = audio(30.0)  # 1.9 MB of float32
    config = session_config(FORMAT)
    calls = {
        "oversized chunk": (STREAM, [pb.StreamRequest(config=config), pb.StreamRequest(audio=pb.AudioChunk(data=big))]),
        "oversized session_id": (STREAM, [pb.StreamRequest(config=session_config(FORMAT, session_id="x" * len(big)))]),
        "clip too long": (CLIP, pb.AnimateClipRequest(config=config, pcm=big)),
    }
    gc.collect()
    gc.disable()
    try:
        with grpc.insecure_channel(srv.target) as channel:
            for name, (method, request) in calls.items():
                for _ in range(3):
                    try:
                        if method == STREAM:
                            raw = [m.SerializeToString() for m in request]
                            list(channel.stream_stream(method)(iter(raw), timeout=30))
                        else:
                            channel.unary_unary(method)(request.SerializeToString(), timeout=30)
                        code = grpc.StatusCode.OK
                    except grpc.RpcError as err:
                        code = err.code()
                    assert code is grpc.StatusCode.INVALID_ARGUMENT, (name, code)
            del calls, request
            held = 0
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and (held := held_requests(len(big) // 2)):
                time.sleep(0.2)
        assert held == 0, f"{held} rejected requests are still held"
    finally:
        gc.enable()
        srv.stop()


# ------------------------------------------------------------------ item 6


@pytest.mark.parametrize("kind", ["echo", "flush"])
def test_item06_echoes_and_utterance_ends_a_client_does_not_read_are_bounded_and_freed(stall_server, kind):
    """20,000 empty echoed chunks, or 20,000 flushes, from a client that reads nothing: the
    session's outbox stays bounded (the server stops reading the client), the runtime gives up
    on the session after the stall timeout, and its slot and queued events are freed."""
    srv = stall_server
    stream = flooder(srv.target, kind)
    try:
        most = 0
        deadline = time.monotonic() + 10 * STALL_S + 10
        while time.monotonic() < deadline and slots_in_use(srv) and most <= 2000:
            most = max([most, *(h.outbox.qsize() for h in list(srv.running.servicer._streams))])
            time.sleep(0.01)
        assert most <= 2000, f"{most} events queued for a client that reads nothing"
        assert slots_in_use(srv) == 0 and srv.running.scheduler.sessions == 0
        assert not srv.running.servicer._streams
        code, details, _ = stream.outcome()
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED and "did not read" in details, (code, details)
    finally:
        stream.close()


# ------------------------------------------------------------------ item 8


def test_item08_an_animate_clip_whose_reply_would_exceed_the_message_limit_is_refused_before_compute(
    tiny_model, server_thread
):
    """2 s at 120 fps with native values is a ~120 KB reply: over a 100 KB message limit, it is
    refused with RESOURCE_EXHAUSTED naming the limit, before any model step; a reply that fits is served."""
    limits = Limits(max_message_bytes=100_000, max_chunk_bytes=65_536)
    srv = server_thread(tiny_model, ServerConfig(port=0, limits=limits))
    try:
        data = audio(2.0, PCM16)  # 64,000 bytes: the request fits
        big = pb.AnimateClipRequest(config=session_config(PCM16, fps=120, include_native_motion=True), pcm=data)
        steps = len(srv.running.scheduler.stats)
        with AnimationClient(srv.target) as client:
            began = time.perf_counter()
            with pytest.raises(grpc.RpcError) as caught:
                client.stub.AnimateClip(big, timeout=30)
            seconds = time.perf_counter() - began
            err = caught.value
            assert err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED, err.details()
            assert "max_message_bytes" in err.details() and "100000" in err.details(), err.details()
            assert len(srv.running.scheduler.stats) == steps and seconds < 2.0  # nothing was computed
            small = pb.AnimateClipRequest(config=session_config(PCM16, fps=25), pcm=data)
            assert len(client.stub.AnimateClip(small, timeout=30).frames) == 50
    finally:
        srv.stop()


# ------------------------------------------------------------------ item 9


def test_item09_animate_clip_counts_against_max_sessions(tiny_model, server_thread):
    srv = server_thread(tiny_model, ServerConfig(port=0, limits=Limits(max_sessions=2)))
    try:
        clip = pb.AnimateClipRequest(config=session_config(PCM16), pcm=audio(0.4, PCM16))
        with AnimationClient(srv.target) as client:
            streams = [open_stream(client) for _ in range(2)]  # every slot
            with pytest.raises(grpc.RpcError) as caught:
                client.stub.AnimateClip(clip, timeout=30)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "limit of 2 concurrent sessions" in caught.value.details()
            for responses, outgoing in streams:
                outgoing.put(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
                outgoing.put(None)
                list(responses)
            assert wait_for(lambda: slots_in_use(srv) == 0, 5.0)
            assert len(client.stub.AnimateClip(clip, timeout=30).frames) == 10  # a freed slot serves a clip
    finally:
        srv.stop()


def test_item09_concurrent_animate_clips_have_a_limit_of_their_own_reported_by_describe(tiny_model, server_thread):
    srv = server_thread(tiny_model, ServerConfig(port=0, limits=Limits(max_sessions=8, max_concurrent_clips=1)))
    try:
        clip = pb.AnimateClipRequest(config=session_config(PCM16), pcm=audio(0.4, PCM16))
        with AnimationClient(srv.target) as client:
            assert client.describe().limits.max_concurrent_clips == 1
            # hold the model thread so that a first clip stays in flight
            held = asyncio.run_coroutine_threadsafe(srv.running.scheduler.call(time.sleep, 1.5), srv.loop)
            first: dict = {}
            thread = threading.Thread(target=lambda: first.update(reply=client.stub.AnimateClip(clip, timeout=30)))
            thread.start()
            assert wait_for(lambda: slots_in_use(srv) == 1, 1.0)
            with pytest.raises(grpc.RpcError) as caught:
                client.stub.AnimateClip(clip, timeout=30)
            thread.join()
            held.result(timeout=10)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "limit of 1 concurrent AnimateClip calls (max_concurrent_clips)" in caught.value.details()
            assert len(first["reply"].frames) == 10
            _, outgoing = open_stream(client)  # a Stream is not a clip: it gets a slot meanwhile
            outgoing.put(None)
    finally:
        srv.stop()


# ------------------------------------------------------------------ isolation


def test_a_healthy_realtime_session_gets_every_frame_within_its_playout_delay_beside_these_attacks(
    tiny_model, server_thread, speechlike
):
    """Two clients that stop reading, an echo flood and a flush flood, each in a process of its
    own, run while a healthy client streams 3.1 s of speech at real time in 0.1 s chunks: each of
    its frames arrives within the playout delay (window + lookahead + 0.5 s) of its time code;
    afterwards every slot is free, and each attacker gets RESOURCE_EXHAUSTED once it reads."""
    srv = server_thread(
        tiny_model,
        ServerConfig(port=0, limits=Limits(max_sessions=8)),
        scheduler_config=SchedulerConfig(max_unsent_s=0.5, stall_timeout_s=STALL_S, max_input_backlog_s=1.0),
    )
    attackers = []
    try:
        for kind in ("non-reader", "non-reader", "echo", "flush"):
            attackers.append(
                subprocess.Popen(
                    [sys.executable, "-c", ATTACKER, srv.target, kind],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        assert [a.stdout.readline().strip() for a in attackers] == ["started"] * 4
        with AnimationClient(srv.target) as client:
            result = client.animate_pcm(
                speechlike.tobytes(), session_config(FORMAT), chunk_seconds=0.1, realtime=True, timeout=60
            )
        delay = tiny_model.latency_s + 0.5
        assert len(result.lateness_s) == 78 and result.status is not None
        assert max(result.lateness_s) <= delay, (max(result.lateness_s), delay)
        assert wait_for(lambda: slots_in_use(srv) == 0, 10 * STALL_S + 10), slots_in_use(srv)
        outcomes = [a.communicate("read\n", timeout=60)[0].strip() for a in attackers]
        assert outcomes == ["RESOURCE_EXHAUSTED"] * 4
    finally:
        for attacker in attackers:
            attacker.kill()
        srv.stop()
