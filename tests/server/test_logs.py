"""Structured logs: one JSON object a line, with session ids; never audio or tokens."""

from __future__ import annotations

import contextvars
import io
import json
import logging

import grpc
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.client import AnimationClient
from artalk_service.model import ModelConfig, MotionModel
from artalk_service.server.config import AuthConfig, ServerConfig
from artalk_service.server.logs import SESSION_ID, log_handler


@pytest.fixture
def captured():
    """Every log record of the process, as the server's handler writes them (JSON)."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler, level = log_handler("json", stream), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_ids(captured):
    log = logging.getLogger("artalk.test")

    def in_session() -> None:
        SESSION_ID.set("session-7")
        log.info("frames for %s", "someone")
        try:
            raise ValueError("boom")
        except ValueError:
            log.error("failed", exc_info=True, extra={"error_id": "abc123"})

    log.info("outside")
    contextvars.copy_context().run(in_session)
    log.warning("other thread", extra={"session_id": "session-8"})
    outside, inside, failed, other = lines(captured)
    assert set(outside) == {"time", "level", "logger", "message"}
    assert outside["logger"] == "artalk.test" and outside["time"].endswith("Z")
    assert (inside["message"], inside["session_id"], inside["level"]) == ("frames for someone", "session-7", "INFO")
    assert failed["error_id"] == "abc123" and "ValueError: boom" in failed["exception"]
    assert other["session_id"] == "session-8"


def test_text_format_shows_the_ids():
    stream = io.StringIO()
    log = logging.getLogger("artalk.test.text")
    log.addHandler(handler := log_handler("text", stream))
    log.propagate = False
    try:
        log.warning("hello", extra={"session_id": "s1", "error_id": "e1"})
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert stream.getvalue().rstrip().endswith("WARNING artalk.test.text [session_id=s1 error_id=e1]: hello")


def test_server_logs_hold_no_audio_and_no_tokens(server_thread, tmp_path, captured):
    tokens = tmp_path / "tokens"
    tokens.write_text("token-for-the-log-test-0123456789\n")
    srv = server_thread(
        MotionModel.untrained(ModelConfig.tiny()), ServerConfig(port=0, auth=AuthConfig(tokens_file=tokens))
    )
    audio = b"AUDIO-CONTENT-MARKER" * 800  # valid PCM16: 0.5 s at 16 kHz
    config = pb.SessionConfig(
        session_id="logged-session",
        audio_format=pb.AudioFormat(encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=16000, channels=1),
    )
    messages = [
        pb.StreamRequest(config=config),
        pb.StreamRequest(audio=pb.AudioChunk(data=audio)),
        pb.StreamRequest(end_of_audio=pb.EndOfAudio()),
    ]
    try:
        with AnimationClient(srv.target) as client:
            good = [("authorization", "Bearer token-for-the-log-test-0123456789")]
            list(client.stub.Stream(iter(messages), metadata=good, timeout=60))
            with pytest.raises(grpc.RpcError) as refused:
                list(
                    client.stub.Stream(
                        iter(messages), metadata=[("authorization", "Bearer wrong-token-42")], timeout=60
                    )
                )
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.RpcError):  # audio of a broken length: a session that fails
                list(
                    client.stub.Stream(
                        iter([messages[0], pb.StreamRequest(audio=pb.AudioChunk(data=audio[:-1]))]),
                        metadata=good,
                        timeout=60,
                    )
                )
    finally:
        srv.stop()
    text = captured.getvalue()
    records = lines(captured)
    assert any(r.get("session_id") == "logged-session" for r in records)
    assert any("PERMISSION_DENIED" in r["message"] for r in records)
    for secret in ("AUDIO-CONTENT-MARKER", "token-for-the-log-test", "wrong-token-42"):
        assert secret not in text


def test_third_party_info_stays_quiet_unless_debug(capsys, restored_logging):
    from artalk_service.server.logs import configure_logging

    chatty, own = logging.getLogger("some_optimiser"), logging.getLogger("artalk.test")
    chatty.setLevel(logging.INFO)  # as the ONNX optimiser sets itself
    try:
        configure_logging("json", "info")
        chatty.info("pass 17 of 678")
        own.info("listening")
        chatty.warning("a real problem")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(r["logger"], r["message"]) for r in lines] == [
            ("artalk.test", "listening"),
            ("some_optimiser", "a real problem"),
        ]
        configure_logging("json", "debug")
        chatty.info("pass 18 of 678")
        assert "pass 18 of 678" in capsys.readouterr().err
        configure_logging("text", "warning")
        own.info("not shown")
        assert capsys.readouterr().err == ""
    finally:
        chatty.setLevel(logging.NOTSET)


def test_an_unknown_log_level_names_the_accepted_ones():
    from artalk_service.server.logs import parse_level

    assert parse_level("debug") == logging.DEBUG and parse_level(" Warning ") == logging.WARNING
    with pytest.raises(ValueError, match="accepted: debug, info, warning"):
        parse_level("loud")


def test_first_export_says_so_in_one_line_among_json_logs(tmp_path):
    """What a first `serve --backend onnxruntime` prints while it exports: JSON lines only (no
    optimiser chatter, no progress bars off a terminal), one of them saying what is going on."""
    import subprocess
    import sys

    script = (
        "from artalk_service.server.logs import configure_logging\n"
        "from artalk_service.model import ModelConfig, MotionModel\n"
        "from artalk_service.export import ensure_exported\n"
        "configure_logging('json', 'info')\n"
        f"ensure_exported(MotionModel.untrained(ModelConfig.tiny()), {str(tmp_path)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # fails on any line that is not a JSON record
    exporting = [r for r in records if "exporting model" in r["message"]]
    assert len(exporting) == 1 and "about a minute" in exporting[0]["message"]
    assert len(records) <= 5, lines
    assert (tmp_path / "manifest.json").is_file()
