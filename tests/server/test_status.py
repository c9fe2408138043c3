"""The status table (server/status.py): every error kind has its documented status and keeps
its own message; anything else is a bug, answered INTERNAL with an id that is in the log,
never as the client's fault."""

from __future__ import annotations

import asyncio
import logging
import re

import grpc
import pytest

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.audio.formats import AudioFormatError
from artalk_service.client import AnimationClient, session_config
from artalk_service.model import ModelConfig, MotionModel
from artalk_service.retarget import RetargetError
from artalk_service.runtime.scheduler import Failed, FailureKind
from artalk_service.server.status import (
    STATUS,
    AtCapacity,
    BadRequest,
    CallOver,
    ClientGone,
    IdleTimeout,
    ReplyTooLarge,
    ShuttingDown,
    abort_with,
    code_for,
    status_for,
)

Code = grpc.StatusCode
INTERNAL_MESSAGE = re.compile(r"internal error \(id ([0-9a-f]{12})\); the server log has details")
BUG_SEED = 4242

# The status each error is documented with (README, "Limits and errors"), error by error.
DOCUMENTED = [
    (BadRequest("config sent twice"), Code.INVALID_ARGUMENT),
    (AudioFormatError("not a RIFF/WAVE file"), Code.INVALID_ARGUMENT),
    (RetargetError("the map has no targets"), Code.INVALID_ARGUMENT),
    (Failed(FailureKind.BAD_AUDIO, "float32 audio contains NaN or Inf"), Code.INVALID_ARGUMENT),
    (IdleTimeout("the client sent nothing for 30 s"), Code.DEADLINE_EXCEEDED),
    (ClientGone("reading the request stream failed"), Code.CANCELLED),
    (Failed(FailureKind.CLIENT_TOO_SLOW, "the client did not read 10 s of frames"), Code.RESOURCE_EXHAUSTED),
    (AtCapacity("the server is at its limit of 64 concurrent sessions"), Code.RESOURCE_EXHAUSTED),
    (ReplyTooLarge("the reply would be 57700000 bytes, over the limit of 33554432 bytes"), Code.RESOURCE_EXHAUSTED),
    (ShuttingDown(), Code.UNAVAILABLE),
    (Failed(FailureKind.SHUTTING_DOWN, "its drain time of 30 s is over"), Code.UNAVAILABLE),
]


def test_every_failure_kind_has_a_status():
    assert [kind for kind in FailureKind if kind not in STATUS] == []
    assert STATUS[FailureKind.FAULT] is Code.INTERNAL


def test_every_entry_of_the_table_is_documented():
    documented = {err.kind if isinstance(err, Failed) else type(err) for err, _ in DOCUMENTED}
    assert set(STATUS) - {FailureKind.FAULT} == documented


@pytest.mark.parametrize(
    "err, code",
    DOCUMENTED,
    ids=[err.kind.name if isinstance(err, Failed) else type(err).__name__ for err, _ in DOCUMENTED],
)
def test_each_error_gets_its_documented_status_and_keeps_its_message(err, code):
    assert status_for(err) == (code, str(err))


@pytest.mark.parametrize(
    "err",
    [
        ValueError("bad value"),
        KeyError("key"),
        RuntimeError("device lost"),
        Failed(FailureKind.FAULT, "device lost", RuntimeError("device lost")),
    ],
)
def test_anything_else_is_internal_with_an_id_that_finds_its_traceback(err, caplog):
    caplog.set_level(logging.ERROR, logger="artalk.server")
    code, message = status_for(err)
    assert code is Code.INTERNAL and str(err) not in message
    error_id = INTERNAL_MESSAGE.fullmatch(message).group(1)
    [logged] = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
    cause = err.error if isinstance(err, Failed) else err
    assert logged.exc_info[1] is cause


def test_a_value_error_is_never_the_clients_fault():
    """Validation raises BadRequest; a ValueError from anywhere else is a bug."""
    assert code_for(ValueError("from a bug")) is Code.INTERNAL
    assert not issubclass(BadRequest, ValueError)


class OverContext:
    """A call the client has already left."""

    def done(self) -> bool:
        return True

    async def abort(self, code, details):
        raise AssertionError("no one is left to answer")


def test_a_bug_on_a_call_already_over_is_neither_answered_nor_logged(caplog):
    caplog.set_level(logging.ERROR, logger="artalk.server")
    with pytest.raises(CallOver):
        asyncio.run(abort_with(OverContext(), RuntimeError("while the client left")))
    assert not caplog.records


class BuggyModel(MotionModel):
    """A bug where a ValueError once passed for the client's fault: opening a session with
    BUG_SEED raises ValueError, past the request's validation."""

    def open_stream(self, options):
        if options.seed == BUG_SEED:
            raise ValueError("a bug in opening the stream")
        return super().open_stream(options)


@pytest.fixture(scope="module")
def buggy_server(server_thread):
    srv = server_thread(BuggyModel.untrained(ModelConfig.tiny(), seed=0))
    yield srv
    srv.stop()


def requests(config: pb.SessionConfig, data: bytes):
    yield pb.StreamRequest(config=config)
    yield pb.StreamRequest(audio=pb.AudioChunk(data=data[:32000]))
    yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())


def test_a_value_error_raised_by_a_bug_in_a_handler_ends_as_internal(buggy_server, speech_wav, caplog):
    data, fmt = read_wav(speech_wav)
    caplog.set_level(logging.ERROR, logger="artalk.server")
    with AnimationClient(buggy_server.target) as client:
        with pytest.raises(grpc.RpcError) as streamed:
            list(client.stub.Stream(requests(session_config(fmt, seed=BUG_SEED), data), timeout=60))
        with pytest.raises(grpc.RpcError) as clipped:
            client.stub.AnimateClip(
                pb.AnimateClipRequest(config=session_config(fmt, seed=BUG_SEED), pcm=data[:32000]), timeout=60
            )
        ok = list(client.stub.Stream(requests(session_config(fmt, seed=1), data), timeout=60))  # serving on
    assert ok[-1].WhichOneof("message") == "status"
    for failure in (streamed.value, clipped.value):
        assert failure.code() is Code.INTERNAL, failure.details()
        error_id = INTERNAL_MESSAGE.fullmatch(failure.details()).group(1)
        [logged] = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
        assert isinstance(logged.exc_info[1], ValueError)
