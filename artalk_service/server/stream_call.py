"""One Stream call once its session is open: a reader task checks the client's messages and
queues them as session commands, and the writer (the call's response generator) turns the
session's events into responses.

Neither ever blocks the model thread or another session (see runtime/scheduler.py for the
backpressure rules: every event the writer hands to gRPC is reported to the session, so that
its outbox stays bounded). Whatever ends the call early, a message the contract does not
allow, an idle or vanished client, the runtime giving up on the session, or a shutdown,
reaches the writer as an error, which it raises; the call ends with the error's status
(server/status.py).

A writer can be stuck handing a response to gRPC: its client stopped reading and the
transport's window is full. An error that finds the writer stuck for STUCK_WRITE_S ends the
call from outside (calls.end_stuck_call): the slot and the session are freed at once, and
the client gets the status once it reads again (responses still in flight may be lost).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable

import grpc

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.runtime.scheduler import Done, Echo, Failed, SessionHandle
from artalk_service.runtime.session import FrameBlock, UtteranceEnd
from artalk_service.server import messages
from artalk_service.server.calls import end_stuck_call
from artalk_service.server.limits import Limits, MessagePace
from artalk_service.server.metrics import ServerMetrics
from artalk_service.server.status import BadRequest, ClientGone, IdleTimeout, ShuttingDown

log = logging.getLogger("artalk.server")
STREAM_METHOD = "/artalk.v1.Animation/Stream"
# An error that ends the call waits this long for a writer stuck handing a response to gRPC;
# a writer whose client reads is never stuck that long on one response.
STUCK_WRITE_S = 1.0


class DrainStarted:
    """Wakes a Stream's writer to check whether its call may end (graceful shutdown)."""


async def next_request(requests, idle_timeout_s: float) -> pb.StreamRequest | None:
    """The client's next message (None after its half-close). Only waiting for the client
    counts as idle: a reader held back by backpressure is not waiting here."""
    try:  # asyncio.timeout, not wait_for: no extra task per client message
        async with asyncio.timeout(idle_timeout_s):
            return await anext(requests, None)
    except TimeoutError:
        raise IdleTimeout(
            f"the client sent nothing for {idle_timeout_s:g} s while the session was open "
            f"(idle_timeout_seconds); send audio (silence counts) to keep a session alive, "
            f"or end it with end_of_audio"
        ) from None


async def first_config(requests, idle_timeout_s: float) -> pb.SessionConfig:
    first = await next_request(requests, idle_timeout_s)
    if first is None or first.WhichOneof("message") != "config":
        raise BadRequest("the first message of a Stream must be a SessionConfig (StreamRequest.config)")
    return first.config


class StreamCall:
    """One Stream call, from its open session on."""

    def __init__(
        self,
        handle: SessionHandle,
        requests,
        limits: Limits,
        metrics: ServerMetrics,
        draining: Callable[[], bool],
        context: grpc.aio.ServicerContext | None = None,
        release: Callable[[], None] = lambda: None,
    ) -> None:
        self.handle = handle
        self.requests = requests
        self.limits = limits
        self.metrics = metrics
        self.draining = draining  # the server is shutting down
        self.context = context  # None: a call that is never ended from outside (no stuck writer is looked for)
        self.release = release  # frees the call's session slot; idempotent
        self._written: dict[int, int] = {}  # utterance -> frames sent
        self._sent = self._finished = 0  # frames and utterance ends sent
        self._drain_until: int | None = None  # draining: the call ends once this many utterances are finished
        self._task: asyncio.Task | None = None  # the handler's task (gRPC's), which runs the writer
        self._reader: asyncio.Task | None = None
        self._writing = False  # the writer is at a yield: gRPC holds its response until the client has room
        self._yields = 0  # responses gRPC has taken
        self._over = False  # the writer is done, or the call was ended from outside
        self._ender: asyncio.Task | None = None  # ends the call if its writer stays stuck

    async def responses(self, started: pb.SessionStarted) -> AsyncIterator[pb.StreamResponse]:
        """The call's writer; however the call ends (a client gone at the first yield too), the session is freed."""
        handle = self.handle
        self._task = asyncio.current_task()
        handle.on_end = self._end_with  # the runtime gave up on the session (its Failed is in the outbox)
        self._reader = reader = asyncio.create_task(self._read(), name="artalk-stream-reader")
        try:
            self._writing = True
            yield pb.StreamResponse(started=started)
            self._took()
            while True:
                self._check_drain()
                event = await handle.outbox.get()
                if handle.failure is not None:  # given up on: skip what is still queued
                    event = handle.failure
                if isinstance(event, Exception):
                    raise event
                if isinstance(event, Done):
                    self._writing = True
                    yield pb.StreamResponse(status=self._status())
                    self._took()
                    await reader  # a message after end_of_audio still ends the call with an error
                    while not handle.outbox.empty():
                        if isinstance(event := handle.outbox.get_nowait(), Exception):
                            raise event
                    return
                if (response := self._response(event)) is not None:
                    self._writing = True
                    yield response
                    self._took()
                    if isinstance(event, FrameBlock):
                        self._wrote(event)
                    else:
                        handle.sent(event)
        finally:
            self._over = True
            handle.on_end = None
            handle.close()
            reader.cancel()
            if self._ender is not None:
                self._ender.cancel()
            # A cancelled task keeps its CancelledError, whose traceback holds this call: no cycle.
            self._reader = self._ender = None

    def _took(self) -> None:
        """gRPC took the response the writer yielded."""
        self._writing = False
        self._yields += 1

    def _end_with(self, err: Exception) -> None:
        """`err` ends the call: the writer raises it when it reads it from the outbox (a Failed
        is there already). Should the writer be stuck at a yield meanwhile, the call is ended
        from outside once it has been stuck for STUCK_WRITE_S."""
        if not isinstance(err, Failed):
            self.handle.outbox.put_nowait(err)
        if self._ender is None and not self._over and self.context is not None:
            self._ender = asyncio.get_running_loop().create_task(self._end_if_stuck(err), name="artalk-stream-ender")

    async def _end_if_stuck(self, err: Exception) -> None:
        while not self._over:
            taken = self._yields
            await asyncio.sleep(STUCK_WRITE_S)
            if not self._over and self._writing and self._yields == taken:
                self._over = True
                self.handle.on_end = None
                self.handle.close()  # the session's state goes, its slot is free
                self.release()
                self._reader.cancel()
                log.info(
                    "session %s: its client reads nothing; ending the call", self.handle.session.settings.session_id
                )
                end_stuck_call(self.context, self._task, err, self.metrics, STREAM_METHOD)
                return

    def _check_drain(self) -> None:
        if self.draining():
            handle = self.handle
            self._drain_until = handle.utterances_begun if self._drain_until is None else self._drain_until
            if self._finished >= self._drain_until and not handle.ended:  # after end_of_audio: Done, OK
                raise ShuttingDown()

    def _response(self, event) -> pb.StreamResponse | None:
        """The response that sends `event` (None: nothing to send)."""
        settings = self.handle.session.settings
        if isinstance(event, FrameBlock):
            n = len(event.time_codes)
            if not event.idle and event.utterance_index in self.handle.dropped:
                self.handle.sent(event)  # cancelled: its frames still queued are not sent
                return None
            written = self._written.get(event.utterance_index, 0)
            self._written[event.utterance_index] = written + (0 if event.idle else n)
            return pb.StreamResponse(frames=messages.frames(event, settings))
        if isinstance(event, Echo):
            return pb.StreamResponse(audio_echo=pb.AudioEcho(time_code=event.time_code, data=event.data))
        if isinstance(event, UtteranceEnd):
            self.handle.dropped.discard(event.utterance_index)  # none of its frames are left in the outbox
            event = dataclasses.replace(event, frame_count=self._written.pop(event.utterance_index, 0))
            self._finished += 1
            return pb.StreamResponse(utterance_finished=messages.utterance_finished(event))
        return None  # DrainStarted: only wakes the writer

    def _wrote(self, block: FrameBlock) -> None:
        """`block` reached gRPC."""
        n = len(block.time_codes)
        self.handle.sent(block)
        self._sent += n
        self.metrics.frames_sent.inc(n)

    def _status(self) -> pb.StreamStatus:
        session = self.handle.session
        log.info(
            "session %s ended: %d frames, %.2f s audio",
            session.settings.session_id,
            session.totals.frames_sent,
            session.audio_seconds,
        )
        return messages.stream_status(session, self._sent)

    async def _read(self) -> None:
        """The call's reader: checks client messages and queues them as commands. What ends
        the call goes to the writer through the outbox, as an error."""
        handle = self.handle
        pace = MessagePace(self.limits.max_stream_messages_per_second, time.monotonic())
        try:
            while True:
                # Backpressure for every message kind: a flood of flushes or of empty echoed
                # chunks waits in the transport, as audio does, while the session's outbox is
                # full, and the server reads at most max_stream_messages_per_second of them.
                await handle.wait_for_input_room()
                if (wait := pace.delay(time.monotonic())) > 0:
                    await asyncio.sleep(wait)
                if handle.closed:  # given up on: the writer ends the call
                    return
                if (request := await self._next()) is None:
                    break
                if await self._apply(request):
                    return
            handle.end()  # half-close without end_of_audio ends the audio too
        except Exception as err:  # noqa: BLE001 - the writer raises it: its status, or INTERNAL for a bug
            self._end_with(err)

    async def _apply(self, request: pb.StreamRequest) -> bool:
        """Queue one client message; True once the session's audio is complete (end_of_audio)."""
        handle, kind = self.handle, request.WhichOneof("message")
        if kind == "config":
            raise BadRequest("config sent twice; a Stream takes exactly one SessionConfig, as its first message")
        if kind == "audio":
            data = request.audio.data
            handle.push(data, self._check_chunk(data))
        elif kind == "flush":
            handle.flush()
        elif kind == "cancel":  # the writer drops this utterance's queued frames at once
            handle.dropped.add(handle.utterances_closed)  # the current utterance's index
            handle.cancel()
        elif kind == "end_of_audio":
            handle.end()
            try:
                extra = await self._next()
            except IdleTimeout:  # no half-close: the session is complete, it just ends
                return True
            if extra is not None:
                raise BadRequest(
                    f"received {extra.WhichOneof('message') or 'an empty message'} after "
                    f"end_of_audio; nothing may follow end_of_audio"
                )
            return True
        else:
            raise BadRequest("empty StreamRequest; set one of config, audio, flush, cancel, end_of_audio")
        return False

    def _check_chunk(self, data: bytes) -> float:
        """The chunk's seconds, within the limits."""
        lim, session = self.limits, self.handle.session
        if len(data) > lim.max_chunk_bytes:
            raise BadRequest(
                f"audio chunk of {len(data)} bytes exceeds the maximum of {lim.max_chunk_bytes} "
                f"bytes per chunk (max_chunk_bytes); send smaller chunks"
            )
        seconds = session.settings.audio_format.seconds(len(data))
        if seconds > lim.max_chunk_seconds:
            raise BadRequest(
                f"audio chunk of {len(data)} bytes ({seconds:.2f} s) exceeds the maximum of "
                f"{lim.max_chunk_seconds:g} s per chunk; send smaller chunks"
            )
        if self.handle.queued_in + seconds > lim.max_session_seconds:
            raise BadRequest(f"session audio would exceed the maximum of {lim.max_session_seconds:g} s")
        return seconds

    async def _next(self) -> pb.StreamRequest | None:
        try:
            return await next_request(self.requests, self.limits.idle_timeout_seconds)
        except (BadRequest, IdleTimeout):  # an undecodable message (server/calls.py), a silent client
            raise
        except Exception as err:  # noqa: BLE001 - the request stream broke: the client cancelled or went away
            raise ClientGone(f"reading the request stream failed: {err}") from err
