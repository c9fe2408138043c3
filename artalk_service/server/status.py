"""Every way a call can fail, and the one table that gives each its gRPC status.

Handlers raise these errors (and let the runtime's `Failed`, audio-format and retarget-map
errors through); CallGuard (server/calls.py) ends the call with `abort_with`. The message is
the error's own: it says what was wrong and what is accepted. An error the table does not
name is a bug: INTERNAL, with an id that finds its traceback in the log, so that a bug is
never reported as the client's fault.

An error that ended a call holds nothing of it afterwards (`forget`): its traceback's frames
hold the request and the session, gRPC keeps the abort (and through it the error) for as long
as the call lives in its transport, and a frame that holds the error it is in the traceback of
is a cycle only the garbage collector frees.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from typing import NoReturn

import grpc

from artalk_service.audio.formats import AudioFormatError
from artalk_service.retarget import RetargetError
from artalk_service.runtime.scheduler import Failed, FailureKind

log = logging.getLogger("artalk.server")
SHUTTING_DOWN = "the server is shutting down; connect to another instance"


class BadRequest(Exception):
    """The client sent what the contract does not allow; the message says what is accepted."""


class IdleTimeout(Exception):
    """A Stream's client sent nothing for Limits.idle_timeout_seconds."""


class ClientGone(Exception):
    """Reading the client's request stream failed: it cancelled the call or went away."""


class AtCapacity(Exception):
    """The server holds as many sessions as it may; the client may retry later."""


class ReplyTooLarge(Exception):
    """The reply the request asks for would be larger than Limits.max_message_bytes (found
    from the request, before anything is computed)."""


class ShuttingDown(Exception):
    """The server is draining: it takes no new calls, and ends sessions once their utterances are done."""

    def __init__(self, message: str = SHUTTING_DOWN) -> None:
        super().__init__(message)


class CallOver(asyncio.CancelledError):
    """The call ended before its handler answered: gRPC answered it (a message over the size
    limit) or the client left. There is no one to answer, and nothing to count or log."""


STATUS: dict[type[Exception] | FailureKind, grpc.StatusCode] = {
    # what the client sent
    BadRequest: grpc.StatusCode.INVALID_ARGUMENT,
    AudioFormatError: grpc.StatusCode.INVALID_ARGUMENT,  # an AnimateClip WAV
    RetargetError: grpc.StatusCode.INVALID_ARGUMENT,  # ValidateRetargetMap
    FailureKind.BAD_AUDIO: grpc.StatusCode.INVALID_ARGUMENT,  # found as the model thread decodes it
    # how the client behaves
    IdleTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
    ClientGone: grpc.StatusCode.CANCELLED,
    FailureKind.CLIENT_TOO_SLOW: grpc.StatusCode.RESOURCE_EXHAUSTED,
    # the server's state
    AtCapacity: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ReplyTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,  # as gRPC answers a message over its limit
    ShuttingDown: grpc.StatusCode.UNAVAILABLE,
    FailureKind.SHUTTING_DOWN: grpc.StatusCode.UNAVAILABLE,
    # a bug, or a device error, in one session's computation: only that session ends
    FailureKind.FAULT: grpc.StatusCode.INTERNAL,
}


def code_for(err: BaseException) -> grpc.StatusCode:
    """The status a call that ended with `err` gets: INTERNAL for any error the table does not name."""
    if isinstance(err, Failed):
        return STATUS[err.kind]
    return next(
        (code for kind, code in STATUS.items() if isinstance(kind, type) and isinstance(err, kind)),
        grpc.StatusCode.INTERNAL,
    )


def status_for(err: BaseException) -> tuple[grpc.StatusCode, str]:
    """(status, message) for a call that ended with `err`. An INTERNAL error is logged with its
    traceback under a new id; the client gets the id, never the error's own words."""
    code = code_for(err)
    if code is not grpc.StatusCode.INTERNAL:
        return code, str(err)
    cause = err.error if isinstance(err, Failed) and err.error is not None else err
    error_id = uuid.uuid4().hex[:12]
    log.error("internal error %s: %s", error_id, type(cause).__name__, exc_info=cause, extra={"error_id": error_id})
    return code, f"internal error (id {error_id}); the server log has details"


async def abort_with(context: grpc.aio.ServicerContext, err: BaseException) -> NoReturn:
    """End the call with err's status; an abort already made passes through. `err` is
    forgotten (see `forget`) before the status is sent: sending waits for a client that does
    not read, and the call's request and session need not wait with it."""
    if isinstance(err, grpc.aio.AbortError):
        raise err
    if code_for(err) is grpc.StatusCode.INTERNAL and context.done():  # e.g. the client left while it was computed
        forget(err)
        raise CallOver(type(err).__name__)
    code, details = status_for(err)
    forget(err)
    await context.abort(code, details)


def forget(err: BaseException | None) -> None:
    """Make an error that ended a call hold nothing of the call: the local variables of the
    finished frames in its traceback (and in those of the errors it chains to, and a Failed's
    cause) are cleared, and the tracebacks and chains are dropped. Frames still running are
    left alone; the traceback text already logged is unaffected."""
    pending, seen = [err], set()
    while pending:
        e = pending.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        pending += [e.__cause__, e.__context__, e.error if isinstance(e, Failed) else None]
        if e.__traceback__ is not None:
            traceback.clear_frames(e.__traceback__)
            e.__traceback__ = None
        e.__cause__ = e.__context__ = None


__all__ = [
    "BadRequest",
    "IdleTimeout",
    "ClientGone",
    "AtCapacity",
    "ShuttingDown",
    "ReplyTooLarge",
    "CallOver",
    "STATUS",
    "code_for",
    "status_for",
    "abort_with",
    "forget",
]
