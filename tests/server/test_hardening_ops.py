"""Hardening of the running service (issue 20): logs, TLS start-up, stderr and float audio.

Each test is named for the item of the attack report it closes."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import AudioFormat, Encoding, decode_samples
from artalk_service.audio.formats import AudioFormatError
from artalk_service.client import AnimationClient, session_config
from artalk_service.server.logs import log_handler

SERVE = [sys.executable, "-m", "artalk_service.server.cli", "serve", "--untrained", "--backend", "torch"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_item12_a_newline_in_a_client_id_forges_no_text_log_line():
    stream = io.StringIO()
    logger = logging.getLogger("artalk.test.item12")
    logger.addHandler(handler := log_handler("text", stream))
    logger.propagate = False
    try:
        forged = "npc\n2026-12-04 10:00:00 ERROR artalk.server: forged\r\x1b[2K"
        logger.warning("session %s started (character %r)", forged, forged, extra={"session_id": forged})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "session_id=npc\\n2026" in lines[0] and "\\r\\x1b[2K" in lines[0] and "\x1b" not in lines[0]


def test_item12_a_newline_in_a_session_id_through_the_server_stays_on_one_line(server_thread, tiny_model):
    stream = io.StringIO()
    root = logging.getLogger()
    root.addHandler(handler := log_handler("text", stream))
    level, root.level = root.level, logging.INFO
    srv = server_thread(tiny_model)
    try:
        fmt = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)
        config = session_config(fmt)
        config.session_id = "a\nb\nc\nd"
        with AnimationClient(srv.target) as client:
            audio = np.zeros(16000, np.float32).tobytes()
            client.stub.AnimateClip(pb.AnimateClipRequest(config=config, pcm=audio), timeout=60)
    finally:
        srv.stop()
        root.removeHandler(handler)
        root.level = level
    lines = stream.getvalue().splitlines()
    assert lines and all(" artalk." in line or line.startswith(" ") for line in lines), lines
    assert not any(line in ("b", "c", "d") or line.startswith(("b ", "c ", "d ")) for line in lines)


@pytest.mark.parametrize("case", ["mismatched_key", "not_a_key"])
def test_item13_a_bad_tls_key_is_a_one_line_configuration_error_before_the_model_loads(certs, tmp_path, case):
    key = certs.stranger_key if case == "mismatched_key" else tmp_path / "garbage.key"
    if case == "not_a_key":
        key.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    started = time.monotonic()
    proc = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--tls-cert", str(certs.server), "--tls-key", str(key)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "bind" not in proc.stderr, proc.stderr[-2000:]
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("configuration error: tls.cert_file") and str(key) in message, proc.stderr[-2000:]
    assert "serving model" not in proc.stderr  # refused before the model was built and the port bound
    assert time.monotonic() - started < 60


def test_item15_stderr_holds_json_records_only_while_tls_handshakes_fail(certs):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), "--tls-cert", str(certs.server), "--tls-key", str(certs.server_key)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "listening" in proc.stdout.readline()  # printed once the port is bound
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")  # a plaintext client: every handshake fails
        with pytest.raises(grpc.FutureTimeoutError):
            grpc.channel_ready_future(channel).result(timeout=3)
        channel.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    lines = err.splitlines()
    assert lines, "the server logged nothing"
    for line in lines:
        json.loads(line)  # fails on gRPC core's plain-text handshake lines


def test_item15_python_warnings_become_log_records(capsys, restored_logging):
    import warnings

    from artalk_service.server.logs import configure_logging

    configure_logging("json", "info")
    warnings.warn("overflow encountered in cast", RuntimeWarning, stacklevel=1)
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["logger"] == "py.warnings" and "overflow encountered" in record["message"]


def test_item15_float32_audio_far_outside_full_scale_is_refused():
    fmt = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)
    with pytest.raises(AudioFormatError, match=r"magnitude 3e\+38; accepted: samples in \[-1, 1\]"):
        decode_samples(np.array([0.1, 3e38, -0.2], np.float32).tobytes(), fmt)
    clipped = decode_samples(np.array([0.5, 1.5, -1.9], np.float32).tobytes(), fmt)
    np.testing.assert_array_equal(clipped, np.array([0.5, 1.0, -1.0], np.float32))


def test_item15_float32_audio_far_outside_full_scale_is_invalid_argument(server_thread, tiny_model):
    srv = server_thread(tiny_model)
    try:
        fmt = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)
        audio = np.full(8000, 3e38, np.float32).tobytes()
        with AnimationClient(srv.target) as client, pytest.raises(grpc.RpcError) as caught:
            client.stub.AnimateClip(pb.AnimateClipRequest(config=session_config(fmt), pcm=audio), timeout=60)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "accepted: samples in [-1, 1]" in caught.value.details()
    finally:
        srv.stop()


def test_item14_a_second_server_on_a_port_in_use_is_refused(server_thread, tiny_model):
    from artalk_service.server.config import ServerConfig

    port = free_port()
    first = server_thread(tiny_model, ServerConfig(port=port))
    try:
        with pytest.raises(OSError, match=rf"could not bind 127.0.0.1:{port}: in use by another process"):
            server_thread(tiny_model, ServerConfig(port=port))
    finally:
        first.stop()
    port = free_port()  # asked for on both: several processes share the port
    shared = [server_thread(tiny_model, ServerConfig(port=port, reuse_port=True)) for _ in range(2)]
    for srv in shared:
        srv.stop()
