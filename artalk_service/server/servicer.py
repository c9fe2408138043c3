"""The artalk.v1 Animation service: thin handlers over Session and Scheduler."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import AsyncIterator

import grpc
import numpy as np

from artalk_service import __version__
from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.api.artalk.v1 import service_pb2_grpc
from artalk_service.audio import read_wav
from artalk_service.audio.formats import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, AudioFormatError
from artalk_service.retarget import MapLibrary, RetargetError
from artalk_service.runtime.scheduler import Done, Echo, Failed, Scheduler, SessionHandle
from artalk_service.runtime.session import FrameBlock, SessionSettings, UtteranceEnd
from artalk_service.server.calls import abort_internal
from artalk_service.server.limits import Limits
from artalk_service.server.logs import SESSION_ID
from artalk_service.server.metrics import ServerMetrics
from artalk_service.server.validation import ENCODINGS, InvalidRequest, settings_from_proto

log = logging.getLogger("artalk.server")


class IdleTimeout(Exception):
    """Answered with DEADLINE_EXCEEDED: the client sent nothing for Limits.idle_timeout_seconds."""


class DrainStarted:
    """Wakes a Stream's writer to check whether its call may end (graceful shutdown)."""


SHUTTING_DOWN = "the server is shutting down; connect to another instance"


class AnimationServicer(service_pb2_grpc.AnimationServicer):
    def __init__(self, model, scheduler: Scheduler, limits: Limits, maps: MapLibrary,
                 metrics: ServerMetrics) -> None:
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

    # ------------------------------------------------------------ Stream
    async def Stream(self, request_iterator, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.StreamResponse]:
        if self.draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        if self.active_sessions >= self.limits.max_sessions:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"the server is at its limit of {self.limits.max_sessions} concurrent sessions; retry later")
        self.active_sessions += 1
        try:
            async for response in self._stream(request_iterator, context):
                yield response
        except Exception as err:  # noqa: BLE001 - one session's failure must not reach the others
            await abort_internal(context, err)
        finally:
            self.active_sessions -= 1

    async def _stream(self, requests, context) -> AsyncIterator[pb.StreamResponse]:
        """The call's writer: reads the session's events from the scheduler and yields them.
        A reader task feeds the scheduler; neither ever blocks the model thread or another
        session (see runtime/scheduler.py for the backpressure rules)."""
        requests = aiter(requests)
        try:
            first = await self._next(requests)
        except IdleTimeout as err:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(err))
        except InvalidRequest as err:  # not a StreamRequest at all (server/calls.py)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        if first is None or first.WhichOneof("message") != "config":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "the first message of a Stream must be a SessionConfig (StreamRequest.config)")
        handle = await self._open_session(first.config, context)
        settings = handle.session.settings
        reader = asyncio.create_task(self._read(requests, handle), name="artalk-stream-reader")
        self._streams.add(handle)
        written: dict[int, int] = {}  # utterance -> frames sent
        sent = finished = 0  # frames and utterance ends sent
        drain_until = None  # draining: the call ends once this many utterances are finished
        try:  # from here on, however the call ends (a client gone at the first yield too), the session is freed
            yield pb.StreamResponse(started=self._started(settings))
            while True:
                if self.draining:
                    drain_until = handle.utterances_begun if drain_until is None else drain_until
                    if finished >= drain_until and not handle.ended:  # after end_of_audio: Done, OK
                        await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
                event = await handle.outbox.get()
                if handle.failure is not None:  # given up on: skip what is still queued
                    event = handle.failure
                if isinstance(event, FrameBlock):
                    n = len(event.time_codes)
                    if not event.idle and event.utterance_index in handle.dropped:
                        handle.wrote(n)  # cancelled: its frames still queued are not sent
                        continue
                    written[event.utterance_index] = written.get(event.utterance_index, 0) + (0 if event.idle else n)
                    yield pb.StreamResponse(frames=self._frames(event, settings))
                    handle.wrote(n)
                    sent += n
                    self.metrics.frames_sent.inc(n)
                elif isinstance(event, Echo):
                    yield pb.StreamResponse(audio_echo=pb.AudioEcho(time_code=event.time_code, data=event.data))
                elif isinstance(event, UtteranceEnd):
                    event = dataclasses.replace(event, frame_count=written.pop(event.utterance_index, 0))
                    yield pb.StreamResponse(utterance_finished=_utterance_finished(event))
                    finished += 1
                elif isinstance(event, Done):
                    yield pb.StreamResponse(status=self._status(handle, sent))
                    await reader  # a message after end_of_audio still ends the call with an error
                    while not handle.outbox.empty():
                        if isinstance(failed := handle.outbox.get_nowait(), Failed):
                            await context.abort(getattr(grpc.StatusCode, failed.code), failed.message)
                    return
                elif isinstance(event, Failed):
                    if event.code == "INTERNAL" and event.error is not None:
                        await abort_internal(context, event.error)
                    await context.abort(getattr(grpc.StatusCode, event.code), event.message)
        finally:
            self._streams.discard(handle)
            handle.close()
            reader.cancel()

    async def _read(self, requests, handle: SessionHandle) -> None:
        """The call's reader: validates client messages and queues them as commands.
        Protocol errors go to the writer as Failed events (it ends the call)."""
        fmt, audio_seconds, utterance = handle.session.settings.audio_format, 0.0, 0
        try:
            while (request := await self._next(requests)) is not None:
                kind = request.WhichOneof("message")
                if kind == "config":
                    raise InvalidRequest("config sent twice; a Stream takes exactly one SessionConfig, "
                                         "as its first message")
                if kind == "audio":
                    data = request.audio.data
                    if len(data) > self.limits.max_chunk_bytes:
                        raise InvalidRequest(
                            f"audio chunk of {len(data)} bytes exceeds the maximum of {self.limits.max_chunk_bytes} "
                            f"bytes per chunk (max_chunk_bytes); send smaller chunks")
                    seconds = fmt.seconds(len(data))
                    if seconds > self.limits.max_chunk_seconds:
                        raise InvalidRequest(
                            f"audio chunk of {len(data)} bytes ({seconds:.2f} s) exceeds the maximum of "
                            f"{self.limits.max_chunk_seconds:g} s per chunk; send smaller chunks")
                    if audio_seconds + seconds > self.limits.max_session_seconds:
                        raise InvalidRequest(
                            f"session audio would exceed the maximum of {self.limits.max_session_seconds:g} s")
                    audio_seconds += seconds
                    await handle.wait_for_input_room()
                    handle.push(data, seconds)
                elif kind in ("flush", "cancel"):
                    if kind == "cancel":  # the writer drops this utterance's queued frames at once
                        handle.dropped.add(utterance)
                        handle.cancel()
                    else:
                        handle.flush()
                    utterance += 1
                elif kind == "end_of_audio":
                    handle.end()
                    try:
                        extra = await self._next(requests)
                    except IdleTimeout:  # no half-close: the session is complete, it just ends
                        return
                    if extra is not None:
                        raise InvalidRequest(f"received {extra.WhichOneof('message') or 'an empty message'} after "
                                             f"end_of_audio; nothing may follow end_of_audio")
                    return
                else:
                    raise InvalidRequest("empty StreamRequest; set one of config, audio, flush, cancel, end_of_audio")
            handle.end()  # half-close without end_of_audio ends the audio too
        except InvalidRequest as err:
            handle.outbox.put_nowait(Failed("INVALID_ARGUMENT", str(err)))
        except IdleTimeout as err:
            handle.outbox.put_nowait(Failed("DEADLINE_EXCEEDED", str(err)))
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - e.g. the call was cancelled by the client
            handle.outbox.put_nowait(Failed("CANCELLED", f"reading the request stream failed: {err}"))

    async def _next(self, requests) -> pb.StreamRequest | None:
        """The client's next message (None after its half-close). Only waiting for the client
        counts as idle: a reader held back by backpressure is not waiting here."""
        timeout = self.limits.idle_timeout_seconds
        try:  # asyncio.timeout, not wait_for: no extra task per client message
            async with asyncio.timeout(timeout):
                return await anext(requests, None)
        except TimeoutError:
            raise IdleTimeout(f"the client sent nothing for {timeout:g} s while the session was open "
                              f"(idle_timeout_seconds); send audio (silence counts) to keep a session alive, "
                              f"or end it with end_of_audio") from None

    async def _open_session(self, config: pb.SessionConfig, context) -> SessionHandle:
        try:
            settings = settings_from_proto(config, self.model, self.limits, self.maps)
            handle = await self.scheduler.open(settings)
        except (InvalidRequest, ValueError) as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        SESSION_ID.set(settings.session_id)  # this call's log records carry it
        self.metrics.sessions.inc()
        log.info("session %s started (character %r, style %s, retarget %s)", settings.session_id,
                 settings.character_id, settings.style_name, settings.retarget.name)
        return handle

    @staticmethod
    def _status(handle: SessionHandle, sent: int) -> pb.StreamStatus:
        session, totals = handle.session, handle.session.totals
        log.info("session %s ended: %d frames, %.2f s audio", session.settings.session_id,
                 totals.frames_sent, session.audio_seconds)
        return pb.StreamStatus(frames_sent=sent, audio_seconds=session.audio_seconds,
                               utterances=totals.utterances, message="ok")

    # ------------------------------------------------------- AnimateClip
    async def AnimateClip(self, request: pb.AnimateClipRequest, context) -> pb.AnimateClipResponse:
        if self.draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        try:
            return await self._animate_clip(request, context)
        except Exception as err:  # noqa: BLE001
            await abort_internal(context, err)

    async def _animate_clip(self, request: pb.AnimateClipRequest, context) -> pb.AnimateClipResponse:
        which = request.WhichOneof("audio")
        try:
            if which is None:
                raise InvalidRequest("AnimateClipRequest needs audio: set `wav` (a WAV file) or `pcm` (raw samples in config.audio_format)")
            settings = settings_from_proto(request.config, self.model, self.limits, self.maps,
                                           need_audio_format=which == "pcm")
            data = request.pcm
            if which == "wav":
                data, fmt = read_wav(request.wav)
                settings = dataclasses.replace(settings, audio_format=fmt)
        except (InvalidRequest, AudioFormatError) as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        seconds = settings.audio_format.seconds(len(data))
        if seconds > self.limits.max_clip_seconds:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"clip of {seconds:.1f} s exceeds the maximum of {self.limits.max_clip_seconds:g} s; use Stream")
        try:
            handle = await self.scheduler.open(dataclasses.replace(settings, echo_audio=False, idle_motion=False))
        except ValueError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        SESSION_ID.set(settings.session_id)
        frames = []
        try:  # the clip's windows are batched with the live sessions' (earliest deadline first)
            handle.push(data, seconds)
            handle.end()
            while not isinstance(event := await handle.outbox.get(), Done):
                if isinstance(event, Failed):
                    if event.code == "INTERNAL" and event.error is not None:
                        await abort_internal(context, event.error)
                    await context.abort(getattr(grpc.StatusCode, event.code), event.message)
                if isinstance(event, FrameBlock):
                    frames.extend(self._frames(event, settings).frames)
                    handle.wrote(len(event.time_codes))
        finally:
            handle.close()
        return pb.AnimateClipResponse(started=self._started(settings), frames=frames)

    # ---------------------------------------------------------- Describe
    async def Describe(self, request: pb.DescribeRequest, context) -> pb.DescribeResponse:
        model, layout, lim = self.model, self.model.layout, self.limits
        return pb.DescribeResponse(
            service_version=__version__, api_version="artalk.v1",
            models=[pb.ModelInfo(model_id=model.model_id, motion_layout=layout.name, fps=layout.fps,
                                 latency=_latency(model), trained=model.trained, device=str(model.device),
                                 default_guidance=model.guidance,
                                 max_guidance=model.max_guidance)],
            motion_layouts=[pb.MotionLayoutInfo(name=layout.name, channels=layout.channels,
                                                rotation_channels=layout.rotation_channels, fps=layout.fps)],
            retarget_presets=[pb.RetargetPresetInfo(name=name, description=m.description, channel_names=m.names)
                              for name, m in self.maps.presets.items()],
            style_presets=[pb.StylePresetInfo(name=name, description=f"speaking style {name!r} (reference clip)")
                           for name in sorted(model.style_presets)],
            limits=pb.Limits(max_chunk_seconds=lim.max_chunk_seconds, max_message_bytes=lim.max_message_bytes,
                             max_clip_seconds=lim.max_clip_seconds, max_session_seconds=lim.max_session_seconds,
                             min_sample_rate_hz=MIN_SAMPLE_RATE_HZ, max_sample_rate_hz=MAX_SAMPLE_RATE_HZ,
                             max_output_fps=lim.max_output_fps, max_sessions=lim.max_sessions,
                             idle_timeout_seconds=lim.idle_timeout_seconds, max_chunk_bytes=lim.max_chunk_bytes,
                             sessions_per_minute_per_token=lim.sessions_per_minute_per_token),
            audio_encodings=sorted(ENCODINGS))

    # ----------------------------------------------- ValidateRetargetMap
    async def ValidateRetargetMap(self, request: pb.ValidateRetargetMapRequest,
                                  context) -> pb.ValidateRetargetMapResponse:
        try:
            retarget = self.maps.parse(request.map)
        except RetargetError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        except Exception as err:  # noqa: BLE001
            await abort_internal(context, err)
        return pb.ValidateRetargetMapResponse(name=retarget.name, channel_names=retarget.names,
                                              rotation_channels=retarget.rotation_names)

    # ----------------------------------------------------------- helpers
    def _started(self, settings: SessionSettings) -> pb.SessionStarted:
        layout, retarget = self.model.layout, settings.retarget
        return pb.SessionStarted(
            session_id=settings.session_id, character_id=settings.character_id, channel_names=retarget.names,
            fps=settings.output_fps, model_id=self.model.model_id, motion_layout=layout.name,
            native_channel_names=layout.channels, latency=_latency(self.model), retarget_map=retarget.name,
            style=settings.style_name, rotation_channels=retarget.rotation_names)

    @staticmethod
    def _frames(block: FrameBlock, settings: SessionSettings) -> pb.FrameBatch:
        native = block.native if settings.include_native else np.zeros((len(block.values), 0), np.float32)
        return pb.FrameBatch(utterance_index=block.utterance_index, idle=block.idle, frames=[
            pb.Frame(time_code=float(t), values=v.tolist(), native_values=n.tolist())
            for t, v, n in zip(block.time_codes, block.values, native)])


def _latency(model) -> pb.AlgorithmicLatency:
    window = model.window_frames / model.layout.fps
    lookahead = model.lookahead_frames / model.layout.fps
    return pb.AlgorithmicLatency(window_seconds=window, lookahead_seconds=lookahead, total_seconds=window + lookahead)


def _utterance_finished(end: UtteranceEnd) -> pb.UtteranceFinished:
    return pb.UtteranceFinished(utterance_index=end.utterance_index, start_time=end.start_time,
                                end_time=end.end_time, frame_count=end.frame_count, cancelled=end.cancelled)
