"""Every call's outcome, whatever the service: a documented status, counted.

`CallGuard` wraps every method handler of the server:
- a request that is not a valid protobuf message is answered with INVALID_ARGUMENT (gRPC
  itself would answer UNKNOWN);
- an exception a handler did not turn into a status ends the call with INTERNAL and an
  error id that finds the traceback in the log (gRPC itself would answer UNKNOWN);
- the status every call ends with is counted in the metrics (artalk_errors_total).
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from dataclasses import dataclass

import grpc

from artalk_service.server.metrics import ServerMetrics
from artalk_service.server.validation import InvalidRequest

log = logging.getLogger("artalk.server")
_BEHAVIORS = {(False, False): "unary_unary", (False, True): "unary_stream",
              (True, False): "stream_unary", (True, True): "stream_stream"}


class CallOver(asyncio.CancelledError):
    """The call ended before its handler answered: gRPC answered it (a message over the size
    limit) or the client left. There is no one to answer, and nothing to count or log."""


async def abort_internal(context, err: Exception) -> None:
    """End the call with INTERNAL and an id that finds the traceback in the log; aborts pass through."""
    if isinstance(err, grpc.aio.AbortError):
        raise err
    if context.done():
        raise CallOver(type(err).__name__) from err
    error_id = uuid.uuid4().hex[:12]
    log.error("internal error %s: %s", error_id, type(err).__name__, exc_info=err, extra={"error_id": error_id})
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (id {error_id}); the server log has details")


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
        decode = _lenient(handler.request_deserializer, details.method)
        if inspect.isasyncgenfunction(behavior):
            wrapped = self._generator(behavior, details.method, handler.request_streaming)
        else:  # a coroutine (responses, if streamed, go through context.write)
            wrapped = self._coroutine(behavior, details.method, handler.request_streaming)
        return handler._replace(request_deserializer=decode, **{kind: wrapped})

    def _coroutine(self, behavior, method: str, request_streaming: bool):
        async def call(request, context):
            async with self._outcome(context, method):
                return await behavior(await _decoded(request, context, request_streaming), context)
        return call

    def _generator(self, behavior, method: str, request_streaming: bool):
        async def call(request, context):
            async with self._outcome(context, method):
                responses = behavior(await _decoded(request, context, request_streaming), context)
                async with contextlib.aclosing(responses):  # the handler's clean-up runs however the call ends
                    async for response in responses:
                        yield response
        return call

    @contextlib.asynccontextmanager
    async def _outcome(self, context, method: str):
        try:
            yield
        except grpc.aio.AbortError:
            self._ended(method, context.code(), context.details())
            raise
        except CallOver:
            raise
        except asyncio.CancelledError:
            self._ended(method, grpc.StatusCode.CANCELLED, "the client cancelled the call or went away")
            raise
        except InvalidRequest as err:  # e.g. an undecodable message in another service's request stream
            self._ended(method, grpc.StatusCode.INVALID_ARGUMENT, str(err))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        except Exception as err:  # noqa: BLE001 - a handler bug: INTERNAL, never UNKNOWN (logged with its id)
            if not context.done():
                self.metrics.errors.labels(grpc.StatusCode.INTERNAL.name).inc()
            await abort_internal(context, err)
        else:
            self._ended(method, context.code(), context.details())

    def _ended(self, method: str, code: grpc.StatusCode | None, details: str | None) -> None:
        """Count (and log) a call that ended with a status other than OK."""
        if code is None or code is grpc.StatusCode.OK:
            return
        self.metrics.errors.labels(code.name).inc()
        detail = details or ""  # our own words, but they may quote what a client sent: kept short
        log.info("%s ended with %s: %s", method, code.name, detail[:200] + ("..." if len(detail) > 200 else ""))


def _lenient(deserializer, method: str):
    if deserializer is None:  # the method takes raw bytes
        return None

    def decode(data: bytes):
        try:
            return deserializer(data)
        except Exception as err:  # noqa: BLE001 - answered with INVALID_ARGUMENT by the handler wrapper
            return Undecodable(f"a request message of {method} is not a valid protobuf message ({err}); "
                               f"send the serialized request type of the method")
    return decode


async def _decoded(request, context, request_streaming: bool):
    if request_streaming:
        return _checked(request)
    if isinstance(request, Undecodable):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
    return request


async def _checked(requests):
    """The request stream; an undecodable message raises InvalidRequest where the handler reads it."""
    async for request in requests:
        if isinstance(request, Undecodable):
            raise InvalidRequest(request.message)
        yield request


__all__ = ["CallGuard", "abort_internal"]
