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
from artalk_service.server.limits import Limits
from artalk_service.server.logs import SESSION_ID
from artalk_service.server.metrics import ServerMetrics
from artalk_service.server.status import AtCapacity, ShuttingDown
from artalk_service.server.stream_call import DrainStarted, StreamCall, first_config
from artalk_service.server.validation import clip_from_proto, settings_from_proto

log = logging.getLogger("artalk.server")


class AnimationServicer(service_pb2_grpc.AnimationServicer):
    def __init__(self, model, scheduler: Scheduler, limits: Limits, maps: MapLibrary, metrics: ServerMetrics) -> None:
        self.model = model
        self.scheduler = scheduler
        self.limits = limits
        self.maps = maps
        self.metrics = metrics
        self.active_sessions = 0
        metrics.active_sessions.set_function(lambda: self.active_sessions)
        self.draining = False  # shutting down: no new calls; sessions end after their current utterance
        self._streams: set[SessionHandle] = set()

    def start_draining(self) -> None:
        """Refuse new Stream and AnimateClip calls; end each Stream once the utterances it had
        begun are finished (a call ended by end_of_audio ends OK, any other with UNAVAILABLE)."""
        self.draining = True
        for handle in self._streams:
            handle.outbox.put_nowait(DrainStarted())

    async def Stream(self, request_iterator, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.StreamResponse]:
        if self.draining:
            raise ShuttingDown()
        if self.active_sessions >= self.limits.max_sessions:
            raise AtCapacity(
                f"the server is at its limit of {self.limits.max_sessions} concurrent sessions; retry later"
            )
        self.active_sessions += 1
        try:
            requests = aiter(request_iterator)
            config = await first_config(requests, self.limits.idle_timeout_seconds)
            settings = settings_from_proto(config, self.model, self.limits, self.maps)
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
            call = StreamCall(handle, requests, self.limits, self.metrics, draining=lambda: self.draining)
            self._streams.add(handle)
            try:  # aclosing: the call's session is freed even when the client leaves at a yield
                async with contextlib.aclosing(call.responses(messages.started(self.model, settings))) as responses:
                    async for response in responses:
                        yield response
            finally:
                self._streams.discard(handle)
        finally:
            self.active_sessions -= 1

    async def AnimateClip(self, request: pb.AnimateClipRequest, context) -> pb.AnimateClipResponse:
        if self.draining:
            raise ShuttingDown()
        settings, data = clip_from_proto(request, self.model, self.limits, self.maps)
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
                    handle.wrote(len(event.time_codes))
        finally:
            handle.close()
        return pb.AnimateClipResponse(started=messages.started(self.model, settings), frames=frames)

    async def Describe(self, request: pb.DescribeRequest, context) -> pb.DescribeResponse:
        return messages.describe(self.model, self.limits, self.maps)

    async def ValidateRetargetMap(
        self, request: pb.ValidateRetargetMapRequest, context
    ) -> pb.ValidateRetargetMapResponse:
        retarget = self.maps.parse(request.map)  # an invalid map raises RetargetError: INVALID_ARGUMENT
        return pb.ValidateRetargetMapResponse(
            name=retarget.name, channel_names=retarget.names, rotation_channels=retarget.rotation_names
        )
