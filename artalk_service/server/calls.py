"""Every call's outcome, whatever the service: a documented status, counted.

`CallGuard` wraps every method handler of the server:
- a request that is not a valid protobuf message is answered with INVALID_ARGUMENT (gRPC
  itself would answer UNKNOWN);
- an error a handler raises ends the call with its status from server/status.py's table; an
  error the table does not name, with INTERNAL and an error id that finds the traceback in
  the log (gRPC itself would answer UNKNOWN);
- the status every call ends with is counted in the metrics (artalk_errors_total);
- an ended call's error and abort hold nothing of the call (status.forget): gRPC keeps the
  abort as long as the call lives in its transport, and the last call's until the next one.

`end_stuck_call` ends a call whose handler is stuck handing a response to a client that
does not read (server/stream_call.py), counted the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from dataclasses import dataclass

import grpc

from artalk_service.server.metrics import ServerMetrics
from artalk_service.server.status import BadRequest, CallOver, abort_with, forget, status_for

log = logging.getLogger("artalk.server")
_BEHAVIORS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a request message that did not parse."""

    message: str


class CallGuard(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None:  # no such method: UNIMPLEMENTED
            return None
        kind = _BEHAVIORS[handler.request_streaming, handler.response_streaming]
        behavior = getattr(handler, kind)
        decode = _lenient(handler.request_deserializer, details.method, boxed=handler.request_streaming)
        if inspect.isasyncgenfunction(behavior):
            wrapped = self._generator(behavior, details.method, handler.request_streaming)
        else:  # a coroutine (responses, if streamed, go through context.write)
            wrapped = self._coroutine(behavior, details.method, handler.request_streaming)
        return handler._replace(request_deserializer=decode, **{kind: wrapped})

    def _coroutine(self, behavior, method: str, request_streaming: bool):
        async def call(request, context):
            async with self._outcome(context, method):
                return await behavior(_decoded(request, request_streaming), context)

        return call

    def _generator(self, behavior, method: str, request_streaming: bool):
        async def call(request, context):
            async with self._outcome(context, method):
                responses = behavior(_decoded(request, request_streaming), context)
                async with contextlib.aclosing(responses):  # the handler's clean-up runs however the call ends
                    async for response in responses:
                        yield response

        return call

    @contextlib.asynccontextmanager
    async def _outcome(self, context, method: str):
        try:
            try:  # an error becomes an abort (status.py's table) ...
                yield
            except Exception as err:  # noqa: BLE001 - its status from the table: a bug is INTERNAL, never UNKNOWN
                await abort_with(context, err)
        except grpc.aio.AbortError as abort:  # ... and every abort is counted
            self._ended(method, context.code(), context.details())
            # Not raised on: gRPC raises the abort it keeps once the handler returns. Raised from
            # here, it would carry this call's frames (the request, the error) for as long as gRPC keeps it.
            forget(abort)
        except CallOver:
            raise
        except asyncio.CancelledError:
            self._ended(method, grpc.StatusCode.CANCELLED, "the client cancelled the call or went away")
            raise
        else:
            self._ended(method, context.code(), context.details())

    def _ended(self, method: str, code: grpc.StatusCode | None, details: str | None) -> None:
        count_outcome(self.metrics, method, code, details)


def count_outcome(metrics: ServerMetrics, method: str, code: grpc.StatusCode | None, details: str | None) -> None:
    """Count (and log) a call that ended with a status other than OK."""
    if code is None or code is grpc.StatusCode.OK:
        return
    metrics.errors.labels(code.name).inc()
    detail = details or ""  # our own words, but they may quote what a client sent: kept short
    log.info("%s ended with %s: %s", method, code.name, detail[:200] + ("..." if len(detail) > 200 else ""))


_ENDING: set[asyncio.Task] = set()  # aborts of stuck calls, waiting for their clients


def end_stuck_call(
    context: grpc.aio.ServicerContext, task: asyncio.Task, err: BaseException, metrics: ServerMetrics, method: str
) -> None:
    """End a call whose handler (`task`) is stuck handing a response to gRPC because its client
    reads nothing: err's status is queued behind the responses gRPC already holds (the client
    gets it once it reads again, and may lose the responses in flight; the call ends there, or
    when the client cancels), and the handler's task is cancelled, which frees what the call
    holds. Counted like any other outcome."""
    code, details = status_for(err)
    forget(err)
    count_outcome(metrics, method, code, details)
    ending = asyncio.get_running_loop().create_task(_abort_quietly(context, code, details), name="artalk-end-stuck")
    _ENDING.add(ending)
    ending.add_done_callback(_ENDING.discard)
    task.cancel()


async def _abort_quietly(context: grpc.aio.ServicerContext, code: grpc.StatusCode, details: str) -> None:
    try:
        await context.abort(code, details)
    except Exception:  # noqa: BLE001 - AbortError once the status is out; a failed batch once the client left
        pass


class _Received:
    """A streamed request message on its way to the handler. gRPC's request reader keeps the
    last thing it yielded, in a reference cycle of its own that only the garbage collector
    frees; it keeps this box, emptied once the handler has the message (`_checked`)."""

    __slots__ = ("message",)

    def __init__(self, message) -> None:
        self.message = message


def _lenient(deserializer, method: str, boxed: bool = False):
    if deserializer is None:  # the method takes raw bytes
        return None

    def decode(data: bytes):
        try:
            message = deserializer(data)
        except Exception as err:  # noqa: BLE001 - answered with INVALID_ARGUMENT by the handler wrapper
            message = Undecodable(
                f"a request message of {method} is not a valid protobuf message ({err}); "
                f"send the serialized request type of the method"
            )
        return _Received(message) if boxed else message

    return decode


def _decoded(request, request_streaming: bool):
    if request_streaming:
        return _checked(request)
    if isinstance(request, Undecodable):
        raise BadRequest(request.message)
    return request


async def _checked(requests):
    """The request stream, out of its boxes; an undecodable message raises BadRequest where the handler reads it."""
    async for received in requests:
        request, received.message = received.message, None
        if isinstance(request, Undecodable):
            raise BadRequest(request.message)
        yield request


__all__ = ["CallGuard", "count_outcome", "end_stuck_call"]
