"""Faults stay where they happen: a model error ends its own session only (INTERNAL with an
id that is in the log), a client that goes away frees everything, and a shutdown lets
sessions finish their utterances."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import re
import signal
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from live_call import LiveCall, wait_until
from scrape import scrape

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.client import AnimationClient, session_config
from artalk_service.model import ModelConfig, MotionModel
from artalk_service.server.config import ObservabilityConfig, ServerConfig
from artalk_service.server.logs import log_handler

EXPLODING_SEED = 666


class FaultyModel(MotionModel):
    """The fault under test: every model step that holds a window of a session with seed
    EXPLODING_SEED raises, as a device error or a bug triggered by one session's input would."""

    def run_windows(self, jobs):
        if any(job.stream.options.seed == EXPLODING_SEED for job in jobs):
            raise RuntimeError("injected model fault")
        super().run_windows(jobs)


@pytest.fixture(scope="module")
def pcm(speech_wav):
    return read_wav(speech_wav)


@pytest.fixture(scope="module")
def tiny_server(server_thread):
    srv = server_thread(
        MotionModel.untrained(ModelConfig.tiny()),
        ServerConfig(port=0, observability=ObservabilityConfig(metrics_port=0)),
    )
    yield srv
    srv.stop()


def requests(config, data, chunk=3200):
    yield pb.StreamRequest(config=config)
    for i in range(0, len(data), chunk):
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[i : i + chunk]))
    yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())


def native_frames(responses) -> np.ndarray:
    return np.array(
        [f.native_values for r in responses if r.WhichOneof("message") == "frames" for f in r.frames.frames]
    )


def frame_count(fmt, nbytes: int, fps: int = 25) -> int:
    """Frames of an utterance of `nbytes` of audio: ceil(duration * fps)."""
    return math.ceil(round(fmt.seconds(nbytes) * fps, 6))


def server_tasks(srv, name: str) -> int:
    async def count() -> int:
        return sum(task.get_name() == name for task in asyncio.all_tasks())

    return asyncio.run_coroutine_threadsafe(count(), srv.loop).result(timeout=10)


def test_a_model_error_ends_only_its_own_session(server_thread, pcm, caplog):
    data, fmt = pcm
    srv = server_thread(
        FaultyModel.untrained(ModelConfig.tiny()),
        ServerConfig(port=0, observability=ObservabilityConfig(metrics_port=0)),
    )
    long_speech = data * 3  # ~20 s: the good session has a window ready in every model step for a while
    good_config = session_config(fmt, include_native_motion=True, seed=1, session_id="good-session")
    bad_config = session_config(fmt, seed=EXPLODING_SEED, session_id="bad-session")
    log = io.StringIO()
    logging.getLogger().addHandler(handler := log_handler("json", log))
    try:
        with AnimationClient(srv.target) as client:
            reference = native_frames(client.stub.Stream(requests(good_config, long_speech), timeout=120))
            caplog.set_level(logging.INFO)
            good = LiveCall(srv.target, good_config)
            good.audio(long_speech)
            good.send(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
            good.half_close()
            assert wait_until(lambda: good.frames())
            with pytest.raises(grpc.RpcError) as failure:
                list(client.stub.Stream(requests(bad_config, data), timeout=60))
            assert good.result() == (grpc.StatusCode.OK, "")
            # the server goes on serving
            after = native_frames(client.stub.Stream(requests(good_config, data), timeout=60))
            assert len(after) == frame_count(fmt, len(data))
        good.close()
        assert failure.value.code() == grpc.StatusCode.INTERNAL
        error_id = re.fullmatch(
            r"internal error \(id ([0-9a-f]{12})\); the server log has details", failure.value.details()
        ).group(1)
        # the good session was in the failing batch, was recomputed alone, and lost nothing
        assert any("computing each session alone" in r.getMessage() for r in caplog.records)
        streamed = native_frames(good.responses)
        assert streamed.shape == reference.shape
        np.testing.assert_allclose(streamed, reference, atol=1e-4)
        # the operator's log: one JSON line with the id, the session and the traceback
        [logged] = [r for r in map(json.loads, log.getvalue().splitlines()) if r.get("error_id") == error_id]
        assert logged["level"] == "ERROR" and logged["session_id"] == "bad-session"
        assert "RuntimeError: injected model fault" in logged["exception"]
        assert scrape(srv.running.metrics_port)['artalk_errors_total{code="INTERNAL"}'] == 1
    finally:
        logging.getLogger().removeHandler(handler)
        srv.stop()


CLIENT_PROCESS = """
import sys, time
import grpc
from artalk_service.api.artalk.v1 import animation_pb2 as pb, service_pb2_grpc
def requests():
    yield pb.StreamRequest(config=pb.SessionConfig(audio_format=pb.AudioFormat(
        encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=16000, channels=1)))
    while True:  # speech-like noise at real time, forever
        yield pb.StreamRequest(audio=pb.AudioChunk(data=bytes(range(256)) * 12 + bytes(128)))
        time.sleep(0.1)
for response in service_pb2_grpc.AnimationStub(grpc.insecure_channel(sys.argv[1])).Stream(requests()):
    if response.WhichOneof("message") == "frames":
        print("frames", flush=True)
"""


@pytest.mark.parametrize("how", ["client process killed", "call cancelled", "cancelled while starting"])
def test_a_client_that_goes_away_mid_stream_frees_everything(tiny_server, how):
    srv = tiny_server
    config = pb.SessionConfig(
        audio_format=pb.AudioFormat(encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=16000, channels=1)
    )
    if how == "client process killed":  # the kernel closes its TCP connection
        client = subprocess.Popen([sys.executable, "-c", CLIENT_PROCESS, srv.target], stdout=subprocess.PIPE, text=True)
        assert client.stdout.readline().strip() == "frames"
        assert srv.running.scheduler.sessions == 1 and server_tasks(srv, "artalk-stream-reader") == 1
        assert scrape(srv.running.metrics_port)["artalk_active_sessions"] == 1
        client.kill()
        client.wait(timeout=10)
    elif how == "cancelled while starting":  # some while the server sends its first response
        for i in range(60):
            call = LiveCall(srv.target, config)
            time.sleep(i % 9 * 0.0005)
            call.cancel()
            call.close()
    else:
        call = LiveCall(srv.target, config)
        call.audio(bytes(range(256)) * 250)
        assert wait_until(lambda: call.frames())
        assert srv.running.scheduler.sessions == 1
        call.cancel()
        assert call.result()[0] == grpc.StatusCode.CANCELLED
        call.close()
    assert wait_until(lambda: srv.running.scheduler.sessions == 0)
    assert wait_until(lambda: srv.running.servicer.active_sessions == 0)
    assert wait_until(lambda: server_tasks(srv, "artalk-stream-reader") == 0)
    assert scrape(srv.running.metrics_port)["artalk_active_sessions"] == 0


def start_drain(srv, seconds: float):
    return asyncio.run_coroutine_threadsafe(srv.running.drain(seconds), srv.loop)


def health_status(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        return (
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(service="artalk.v1.Animation"), timeout=10)
            .status
        )


def test_drain_lets_begun_utterances_finish_then_ends_every_session(server_thread, pcm):
    data, fmt = pcm
    fps = 30
    srv = server_thread(MotionModel.untrained(ModelConfig.tiny()))
    config = session_config(fmt, fps=fps)
    half = fmt.bytes_per_frame * (len(data) // fmt.bytes_per_frame // 2)
    speaking, idle = LiveCall(srv.target, config), LiveCall(srv.target, config)
    try:
        speaking.audio(data[:half])
        assert wait_until(lambda: speaking.frames())
        assert wait_until(lambda: idle.of_kind("started"))
        drained = start_drain(srv, 30.0)
        assert wait_until(lambda: srv.running.servicer.draining)
        assert health_status(srv.target) == health_pb2.HealthCheckResponse.NOT_SERVING
        with AnimationClient(srv.target) as client:
            with pytest.raises(grpc.RpcError) as refused:
                list(client.stub.Stream(requests(config, data), timeout=30))
            assert client.stub.Describe(pb.DescribeRequest(), timeout=10).api_version == "artalk.v1"  # still answers
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in refused.value.details()
        # no utterance under way: ended at once
        assert idle.result(timeout=5)[0] == grpc.StatusCode.UNAVAILABLE
        # the utterance under way finishes, with every frame; then the call ends
        speaking.audio(data[half:])
        speaking.send(pb.StreamRequest(flush=pb.Flush()))
        code, details = speaking.result()
        assert (code, "shutting down" in details) == (grpc.StatusCode.UNAVAILABLE, True)
        [finished] = speaking.of_kind("utterance_finished")
        assert not finished.cancelled
        assert finished.frame_count == len(speaking.frames()) == frame_count(fmt, len(data), fps)
        drained.result(timeout=10)
    finally:
        speaking.close()
        idle.close()


def test_drain_ends_sessions_still_speaking_at_its_deadline(server_thread, pcm):
    data, fmt = pcm
    srv = server_thread(MotionModel.untrained(ModelConfig.tiny()))
    call = LiveCall(srv.target, session_config(fmt))
    try:
        call.audio(data[:32000])
        assert wait_until(lambda: call.frames())
        start = time.monotonic()
        start_drain(srv, 1.0).result(timeout=15)
        code, details = call.result(timeout=5)
        assert code == grpc.StatusCode.UNAVAILABLE and "drain time of 1 s is over" in details
        assert 0.9 < time.monotonic() - start < 5
        assert srv.running.scheduler.sessions == 0
    finally:
        call.close()


def test_sigterm_finishes_the_utterance_reports_not_serving_and_exits_0(pcm, tmp_path):
    """The real command: `artalk-service serve --untrained` (the full-size architecture)."""
    data, fmt = pcm
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "artalk_service.server.cli",
            "serve",
            "--untrained",
            "--backend",
            "torch",
            "--port",
            "0",
            "--drain-seconds",
            "60",
            "--log-format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "server.log", "w"),
        text=True,
    )
    try:
        line = server.stdout.readline()
        target = re.search(r"listening on (\S+:\d+)", line).group(1)
        call = LiveCall(target, session_config(fmt, session_id="draining-session"))
        half = fmt.bytes_per_frame * (len(data) // fmt.bytes_per_frame // 2)
        call.audio(data[:half])
        assert wait_until(lambda: call.frames(), timeout=60)
        server.send_signal(signal.SIGTERM)
        assert wait_until(lambda: health_status(target) == health_pb2.HealthCheckResponse.NOT_SERVING)
        call.audio(data[half:])
        call.send(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
        call.half_close()
        assert call.result(timeout=60)[0] == grpc.StatusCode.OK  # ended by end_of_audio: a normal end
        [finished] = call.of_kind("utterance_finished")
        assert finished.frame_count == len(call.frames()) == frame_count(fmt, len(data))
        assert call.of_kind("status")[0].frames_sent == finished.frame_count
        call.close()
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
    records = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines() if line.startswith("{")]
    assert any(r["message"].startswith("draining") for r in records)
    session_records = [r for r in records if r.get("session_id") == "draining-session"]
    assert session_records and all({"time", "level", "logger", "message"} <= set(r) for r in session_records)
