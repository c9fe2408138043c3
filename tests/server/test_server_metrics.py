"""The Prometheus endpoint, scraped over HTTP after real sessions."""

from __future__ import annotations

import logging
import math
import time

import grpc
import pytest
from live_call import LiveCall, wait_until
from scrape import scrape

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.bench.checks import stream_call
from artalk_service.client import AnimationClient, session_config
from artalk_service.model import ModelConfig, MotionModel
from artalk_service.server.config import ObservabilityConfig, ServerConfig
from artalk_service.server.limits import Limits

WITH_METRICS = ServerConfig(port=0, observability=ObservabilityConfig(metrics_port=0))


class SlowModel(MotionModel):
    """A model that needs 0.6 s per step: more than a tiny-model window's real-time budget."""

    def run_windows(self, jobs):
        time.sleep(0.6)
        super().run_windows(jobs)


@pytest.fixture(scope="module")
def pcm(speech_wav):
    return read_wav(speech_wav)


def requests(config, data, chunk=4410):
    yield pb.StreamRequest(config=config)
    for i in range(0, len(data), chunk):
        yield pb.StreamRequest(audio=pb.AudioChunk(data=data[i : i + chunk]))
    yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())


def test_metrics_count_sessions_frames_model_steps_and_errors(server_thread, pcm):
    data, fmt = pcm
    model = MotionModel.untrained(ModelConfig.tiny())
    srv = server_thread(model, WITH_METRICS)
    try:
        port = srv.running.metrics_port
        assert scrape(port)["artalk_sessions_total"] == 0
        live = LiveCall(srv.target, session_config(fmt))
        live.audio(data)
        assert wait_until(lambda: live.frames())
        assert scrape(port)["artalk_active_sessions"] == 1
        live.send(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
        live.half_close()
        assert live.result()[0] == grpc.StatusCode.OK
        frames = len(live.frames())
        with AnimationClient(srv.target) as client:
            for fps in (25, 60):
                responses = list(client.stub.Stream(requests(session_config(fmt, fps=fps), data), timeout=60))
                frames += sum(len(r.frames.frames) for r in responses if r.WhichOneof("message") == "frames")
            with pytest.raises(grpc.RpcError):  # audio before the config
                list(client.stub.Stream(iter([pb.StreamRequest(flush=pb.Flush())]), timeout=10))
            with pytest.raises(grpc.RpcError):  # no protobuf message at all
                list(client.channel.stream_stream("/artalk.v1.Animation/Stream")(iter([b"\xff\xff"]), timeout=10))
        live.close()
        assert wait_until(lambda: scrape(port)["artalk_active_sessions"] == 0)  # calls end just after their clients
        m = scrape(port)
        assert m["artalk_sessions_total"] == 3
        assert m["artalk_frames_sent_total"] == frames
        assert m['artalk_errors_total{code="INVALID_ARGUMENT"}'] == 2
        # every window of the three utterances computed once: ceil(native frames / window frames)
        native = math.ceil(round(fmt.seconds(len(data)) * model.layout.fps, 6))
        assert m["artalk_batch_size_sum"] == 3 * math.ceil(native / model.window_frames)
        assert m["artalk_window_latency_seconds_count"] == m["artalk_batch_size_count"] > 0
        assert m["artalk_late_frames_total"] == 0  # the clients sent faster than real time
    finally:
        srv.stop()


def test_late_frames_count_what_a_slow_model_delivers_late_to_a_real_time_client(server_thread, pcm):
    data, fmt = pcm
    seconds = 2
    data = data[: fmt.bytes_per_frame * seconds * fmt.sample_rate_hz]
    late = {}
    for model in (MotionModel.untrained(ModelConfig.tiny()), SlowModel.untrained(ModelConfig.tiny())):
        srv = server_thread(model, WITH_METRICS)  # two servers in one process: separate registries
        try:
            call = LiveCall(srv.target, session_config(fmt))
            call.audio(
                data,
                chunk_bytes=fmt.bytes_per_frame * fmt.sample_rate_hz // 10,
                pace_bps=fmt.bytes_per_frame * fmt.sample_rate_hz,
            )
            call.send(pb.StreamRequest(end_of_audio=pb.EndOfAudio()))
            call.half_close()
            assert call.result()[0] == grpc.StatusCode.OK
            call.close()
            late[type(model).__name__] = scrape(srv.running.metrics_port)["artalk_late_frames_total"]
        finally:
            srv.stop()
    frames = seconds * 25
    assert late["MotionModel"] == 0
    assert frames / 2 < late["SlowModel"] <= frames


def test_no_metrics_endpoint_unless_configured(server):
    assert server.running.metrics_port is None


def test_a_message_grpc_refuses_itself_is_no_internal_error(server_thread, caplog):
    """gRPC answers a message over max_message_bytes itself (RESOURCE_EXHAUSTED) and the handler
    finds its call over: nothing is counted or logged as the service's error."""
    srv = server_thread(
        MotionModel.untrained(ModelConfig.tiny()),
        ServerConfig(
            port=0,
            limits=Limits(max_message_bytes=1000, max_chunk_bytes=500),
            observability=ObservabilityConfig(metrics_port=0),
        ),
    )
    try:
        with grpc.insecure_channel(srv.target) as channel:
            outcome = stream_call(channel, [bytes(5000)], timeout=10)
        assert outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert wait_until(lambda: srv.running.servicer.active_sessions == 0)
        assert not [name for name in scrape(srv.running.metrics_port) if name.startswith("artalk_errors_total")]
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        srv.stop()
