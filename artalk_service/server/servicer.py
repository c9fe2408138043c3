"""The artalk.v1 Animation service: thin handlers over Session and Scheduler.

Handlers raise the errors of server/status.py (and let the runtime's and the validators'
through); CallGuard (server/calls.py) ends each call with the error's status from its table.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import grpc

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.api.artalk.v1 import service_pb2_grpc
from artalk_service.retarget import MapLibrary
from artalk_service.runtime.scheduler import Done, Failed, Scheduler, SessionHandle
from artalk_service.runtime.session import FrameBlock
from artalk_service.server import messages
from artalk_service.server.limits import Limits, SessionSlots, Slot
from artalk_service.server.logs import SESSION_ID
from artalk_service.server.metrics import ServerMetrics
from artalk_service.server.status import AtCapacity, ReplyTooLarge, ShuttingDown
from artalk_service.server.stream_call import DrainStarted, StreamCall, first_config
from artalk_service.server.validation import clip_settings, parse_map_off_loop, session_settings

log = logging.getLogger("artalk.server")


class AnimationServicer(service_pb2_grpc.AnimationServicer):
    def __init__(self, model, scheduler: Scheduler, limits: Limits, maps: MapLibrary, metrics: ServerMetrics) -> None:
        self.model = model
        self.scheduler = scheduler
        self.limits = limits
        self.maps = maps
        self.metrics = metrics
        self.slots = SessionSlots(limits)  # Stream and AnimateClip calls in progress
        metrics.active_sessions.set_function(lambda: self.slots.sessions - self.slots.clips)  # Stream calls
        self.draining = False  # shutting down: no new calls; sessions end after their current utterance
        self._streams: set[SessionHandle] = set()

    @property
    def active_sessions(self) -> int:
        """Calls holding a session slot: Stream sessions and AnimateClip calls."""
        return self.slots.sessions

    def _slot(self, clip: bool) -> Slot:
        slot = self.slots.take(clip)
        if isinstance(slot, str):
            raise AtCapacity(slot)
        return slot

    def start_draining(self) -> None:
        """Refuse new Stream and AnimateClip calls; end each Stream once the utterances it had
        begun are finished (a call ended by end_of_audio ends OK, any other with UNAVAILABLE)."""
        self.draining = True
        for handle in self._streams:
            handle.outbox.put_nowait(DrainStarted())

    async def Stream(self, request_iterator, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.StreamResponse]:
        if self.draining:
            raise ShuttingDown()
        slot = self._slot(clip=False)
        try:
            requests = aiter(request_iterator)
            config = await first_config(requests, self.limits.idle_timeout_seconds)
            settings = await session_settings(config, self.model, self.limits, self.maps)  # a map: off the loop
            handle = await self.scheduler.open(settings)
            SESSION_ID.set(settings.session_id)  # this call's log records carry it
            self.metrics.sessions.inc()
            log.info(
                "session %s started (character %r, style %s, retarget %s)",
                settings.session_id,
                settings.character_id,
                settings.style_name,
                settings.retarget.name,
            )

            def release() -> None:  # once the call is over, or ended while its writer is stuck
                self._streams.discard(handle)
                slot.release()

            call = StreamCall(
                handle, requests, self.limits, self.metrics, lambda: self.draining, context=context, release=release
            )
            self._streams.add(handle)
            try:  # aclosing: the call's session is freed even when the client leaves at a yield
                async with contextlib.aclosing(call.responses(messages.started(self.model, settings))) as responses:
                    async for response in responses:
                        yield response
            finally:
                self._streams.discard(handle)
        finally:
            slot.release()

    async def AnimateClip(self, request: pb.AnimateClipRequest, context) -> pb.AnimateClipResponse:
        if self.draining:
            raise ShuttingDown()
        slot = self._slot(clip=True)  # a clip is a session: it counts against max_sessions, and max_concurrent_clips
        try:
            return await self._animate_clip(request)
        finally:
            slot.release()

    async def _animate_clip(self, request: pb.AnimateClipRequest) -> pb.AnimateClipResponse:
        settings, data = await clip_settings(request, self.model, self.limits, self.maps)
        started = messages.started(self.model, settings)
        self._check_reply(messages.clip_reply_bytes(started, settings, len(data)), settings)  # before any compute
        handle = await self.scheduler.open(settings)
        SESSION_ID.set(settings.session_id)
        frames = []
        try:  # the clip's windows are batched with the live sessions' (earliest deadline first)
            handle.push(data, settings.audio_format.seconds(len(data)))
            handle.end()
            while not isinstance(event := await handle.outbox.get(), Done):
                if isinstance(event, Failed):
                    raise event
                if isinstance(event, FrameBlock):
                    frames.extend(messages.frames(event, settings).frames)
                handle.sent(event)
        finally:
            handle.close()
        reply = pb.AnimateClipResponse(started=started, frames=frames)
        self._check_reply(reply.ByteSize(), settings)  # the estimate is an upper bound; this never fires
        return reply

    def _check_reply(self, size: int, settings) -> None:
        limit = self.limits.max_message_bytes
        if size > limit:
            raise ReplyTooLarge(
                f"the reply would be {size} bytes, over the limit of {limit} bytes (max_message_bytes): "
                f"{len(settings.retarget.names)} values a frame at {settings.output_fps} fps"
                f"{' with native values' if settings.include_native else ''}; ask for fewer frames (a shorter "
                f"clip, a lower output_fps) or fewer values (no include_native_motion, a smaller retarget map), "
                f"or send the clip with Stream, which sends frames as they are made"
            )

    async def Describe(self, request: pb.DescribeRequest, context) -> pb.DescribeResponse:
        return messages.describe(self.model, self.limits, self.maps)

    async def ValidateRetargetMap(
        self, request: pb.ValidateRetargetMapRequest, context
    ) -> pb.ValidateRetargetMapResponse:
        retarget = await parse_map_off_loop(self.maps, request.map)  # invalid: RetargetError, INVALID_ARGUMENT
        return pb.ValidateRetargetMapResponse(
            name=retarget.name, channel_names=retarget.names, rotation_channels=retarget.rotation_names
        )
