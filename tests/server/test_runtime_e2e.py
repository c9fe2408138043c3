"""The streaming runtime through the real server: random chunking, cancel, a stalled
client next to a live one, idle frames."""

from __future__ import annotations

import math
import time

import grpc
import numpy as np
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.client import AnimationClient, session_config
from artalk_service.runtime.scheduler import SchedulerConfig


@pytest.fixture(scope="module")
def pcm(speech_wav):
    return read_wav(speech_wav.read_bytes())


@pytest.fixture(scope="module")
def strict_server(model, server_thread):
    """Tight backpressure bounds so that a stalled client is given up on within seconds."""
    srv = server_thread(
        model, scheduler_config=SchedulerConfig(max_unsent_s=1.0, stall_timeout_s=2.0, max_input_backlog_s=2.0)
    )
    yield srv
    srv.stop()


def requests_for(config, chunks, pace_bps: float | None = None, sent_at: dict | None = None):
    yield pb.StreamRequest(config=config)
    start = time.perf_counter()
    offset = 0
    for chunk in chunks:
        if isinstance(chunk, pb.StreamRequest):
            if sent_at is not None:
                sent_at[chunk.WhichOneof("message")] = time.perf_counter()
            yield chunk
            continue
        offset += len(chunk)
        if pace_bps:
            time.sleep(max(0.0, start + offset / pace_bps - time.perf_counter()))
        yield pb.StreamRequest(audio=pb.AudioChunk(data=chunk))
    yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())


def frames_of(responses, idle=None):
    return [
        f
        for r in responses
        if r.WhichOneof("message") == "frames" and (idle is None or r.frames.idle == idle)
        for f in r.frames.frames
    ]


def random_chunks(data: bytes, rng, frame_bytes: int, max_seconds: float, rate: int) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = int(rng.integers(1, int(max_seconds * rate) + 1)) * frame_bytes
        out.append(data[i : i + n])
        i += n
    return out


def test_streamed_equals_offline_under_random_chunking(server, pcm):
    data, fmt = pcm
    config = session_config(fmt, fps=25, include_native_motion=True)
    with AnimationClient(server.target) as client:
        offline = client.stub.AnimateClip(pb.AnimateClipRequest(config=config, pcm=data), timeout=120)
        reference = np.array([f.native_values for f in offline.frames])
        assert len(reference) == math.ceil(fmt.seconds(len(data)) * 25)
        rng = np.random.default_rng(7)
        for max_seconds in (0.003, 0.13, 1.7):
            chunks = random_chunks(data, rng, 2, max_seconds, fmt.sample_rate_hz)
            responses = list(client.stream(requests_for(config, chunks), timeout=120))
            streamed = np.array([f.native_values for f in frames_of(responses)])
            np.testing.assert_allclose(streamed, reference, atol=1e-4)


def test_cancel_stops_frames_within_one_window(server, pcm, model):
    data, fmt = pcm
    bps = fmt.sample_rate_hz * 2
    chunk = bps // 10
    first = [data[i : i + chunk] for i in range(0, bps * 2, chunk)]  # 2 s at real-time pace, then cancel
    second = [data[i : i + chunk] for i in range(0, bps, chunk)]
    sent_at: dict[str, float] = {}
    config = session_config(fmt, fps=25)
    arrivals = []
    with AnimationClient(server.target) as client:
        for r in client.stream(
            requests_for(
                config, first + [pb.StreamRequest(cancel=pb.Cancel())] + second, pace_bps=bps, sent_at=sent_at
            ),
            timeout=120,
        ):
            arrivals.append((time.perf_counter(), r))
    finished = [r.utterance_finished for _, r in arrivals if r.WhichOneof("message") == "utterance_finished"]
    assert finished[0].cancelled and not finished[1].cancelled
    utt0 = [
        (t, f)
        for t, r in arrivals
        if r.WhichOneof("message") == "frames" and r.frames.utterance_index == 0
        for f in r.frames.frames
    ]
    assert finished[0].frame_count == len(utt0) > 0
    after_cancel = [f for t, f in utt0 if t > sent_at["cancel"]]
    assert len(after_cancel) <= model.window_frames  # at most the window in flight
    # nothing of utterance 0 comes after its UtteranceFinished
    end_index = next(i for i, (_, r) in enumerate(arrivals) if r.WhichOneof("message") == "utterance_finished")
    assert all(
        not (r.WhichOneof("message") == "frames" and r.frames.utterance_index == 0) for _, r in arrivals[end_index:]
    )
    assert finished[1].frame_count == 25  # the next utterance is whole (1 s at 25 fps)


def test_stalled_client_does_not_delay_another_session(strict_server, pcm, model):
    data, fmt = pcm
    bps = fmt.sample_rate_hz * 2
    config = session_config(fmt, fps=25)
    # A small receive window (no BDP growth) so that the unread frames fill it quickly.
    channel = grpc.insecure_channel(strict_server.target, options=[("grpc.http2.bdp_probe", 0)])
    with channel, AnimationClient(strict_server.target) as client:
        # A sends 60 s of audio as fast as it can (at 120 fps, with native values) and never reads a frame.
        long = (data * 24)[: bps * 60]
        stalled = channel.stream_stream(
            "/artalk.v1.Animation/Stream", pb.StreamRequest.SerializeToString, pb.StreamResponse.FromString
        )(
            requests_for(
                session_config(fmt, fps=120, include_native_motion=True),
                [long[i : i + bps] for i in range(0, len(long), bps)],
            ),
            timeout=60,
        )
        time.sleep(0.5)
        # B streams 4 s at real-time pace and measures when each frame arrives.
        chunk = bps // 10
        live = [(data * 2)[i : i + chunk] for i in range(0, bps * 4, chunk)]
        start = time.perf_counter()
        lateness = []
        for r in client.stream(requests_for(config, live, pace_bps=bps), timeout=60):
            if r.WhichOneof("message") == "frames":
                now = time.perf_counter() - start
                lateness += [now - f.time_code for f in r.frames.frames]
        assert len(lateness) == 100
        # every frame arrives within the algorithmic latency (window + lookahead) plus 1 s of slack
        assert max(lateness) < model.latency_s + 1.0, max(lateness)
        # A is given up on: its state and compute are freed within the stall timeout ...
        deadline = time.time() + 15
        while strict_server.running.scheduler.sessions and time.time() < deadline:
            time.sleep(0.1)
        assert strict_server.running.scheduler.sessions == 0
        # ... and once it reads again it gets what was in flight, then RESOURCE_EXHAUSTED
        with pytest.raises(grpc.RpcError) as err:
            for _ in stalled:
                pass
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.value


def test_idle_motion_between_utterances(server, pcm):
    data, fmt = pcm
    bps = fmt.sample_rate_hz * 2

    def requests():
        yield pb.StreamRequest(config=session_config(fmt, fps=30, idle_motion=True))
        time.sleep(0.5)
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[:bps]))
        yield pb.StreamRequest(flush=pb.Flush())
        time.sleep(0.6)
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[bps : bps + bps // 2]))
        yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())

    with AnimationClient(server.target) as client:
        responses = list(client.stream(requests(), timeout=60))
    times = [f.time_code for f in frames_of(responses)]
    assert all(b > a for a, b in zip(times, times[1:]))
    idle = [r.frames for r in responses if r.WhichOneof("message") == "frames" and r.frames.idle]
    assert {b.utterance_index for b in idle} == {0, 1}
    assert sum(len(b.frames) for b in idle) >= 20  # ~0.5 s + ~0.6 s at 30 fps, paced by the wall clock
    finished = [r.utterance_finished for r in responses if r.WhichOneof("message") == "utterance_finished"]
    assert [u.frame_count for u in finished] == [30, 15]
    status = responses[-1].status
    assert status.frames_sent == len(times)


def test_without_idle_motion_no_idle_frames(server, pcm):
    data, fmt = pcm

    def requests():
        yield pb.StreamRequest(config=session_config(fmt, fps=25))
        time.sleep(0.3)
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[: fmt.sample_rate_hz]))
        yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())

    with AnimationClient(server.target) as client:
        responses = list(client.stream(requests(), timeout=60))
    assert not frames_of(responses, idle=True)
    assert frames_of(responses)[0].time_code == 0.0
