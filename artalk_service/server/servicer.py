"""The artalk.v1 Animation service: thin handlers over Session and Scheduler."""
from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import AsyncIterator

import grpc
import numpy as np

from artalk_service import __version__
from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.api.artalk.v1 import service_pb2_grpc
from artalk_service.audio import read_wav
from artalk_service.audio.formats import AudioFormatError
from artalk_service.retarget import MapLibrary, RetargetError
from artalk_service.runtime.scheduler import Scheduler
from artalk_service.runtime.session import FrameBlock, Session, SessionSettings, UtteranceEnd
from artalk_service.server.limits import Limits
from artalk_service.server.validation import ENCODINGS, InvalidRequest, settings_from_proto

log = logging.getLogger("artalk.server")


class AnimationServicer(service_pb2_grpc.AnimationServicer):
    def __init__(self, model, scheduler: Scheduler, limits: Limits, maps: MapLibrary) -> None:
        self.model = model
        self.scheduler = scheduler
        self.limits = limits
        self.maps = maps
        self.active_sessions = 0

    # ------------------------------------------------------------ Stream
    async def Stream(self, request_iterator, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.StreamResponse]:
        if self.active_sessions >= self.limits.max_sessions:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"the server is at its limit of {self.limits.max_sessions} concurrent sessions; retry later")
        self.active_sessions += 1
        try:
            async for response in self._stream(request_iterator, context):
                yield response
        except Exception as err:  # noqa: BLE001 - one session's failure must not reach the others
            await _abort_internal(context, err)
        finally:
            self.active_sessions -= 1

    async def _stream(self, requests, context) -> AsyncIterator[pb.StreamResponse]:
        requests = aiter(requests)
        first = await anext(requests, None)
        if first is None or first.WhichOneof("message") != "config":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "the first message of a Stream must be a SessionConfig (StreamRequest.config)")
        session = await self._open_session(first.config, context)
        yield pb.StreamResponse(started=self._started(session.settings))
        ended = False
        async for request in requests:
            kind = request.WhichOneof("message")
            if ended:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"received {kind or 'an empty message'} after end_of_audio; nothing may follow end_of_audio")
            if kind == "config":
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    "config sent twice; a Stream takes exactly one SessionConfig, as its first message")
            elif kind == "audio":
                async for response in self._audio(session, request.audio.data, context):
                    yield response
            elif kind == "flush":
                for response in await self._finish(session, cancel=False):
                    yield response
            elif kind == "cancel":
                for response in await self._finish(session, cancel=True):
                    yield response
            elif kind == "end_of_audio":
                ended = True
                for response in await self._end(session):
                    yield response
            else:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    "empty StreamRequest; set one of config, audio, flush, cancel, end_of_audio")
        if not ended:  # half-close without end_of_audio ends the audio too
            for response in await self._end(session):
                yield response

    async def _open_session(self, config: pb.SessionConfig, context) -> Session:
        try:
            settings = settings_from_proto(config, self.model, self.limits, self.maps)
            session = await self.scheduler.call(Session, settings, self.model)
        except (InvalidRequest, ValueError) as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        log.info("session %s started (character %r, style %s, retarget %s)", settings.session_id,
                 settings.character_id, settings.style_name, settings.retarget.name)
        return session

    async def _audio(self, session: Session, data: bytes, context) -> AsyncIterator[pb.StreamResponse]:
        fmt = session.settings.audio_format
        seconds = fmt.seconds(len(data))
        if seconds > self.limits.max_chunk_seconds:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"audio chunk of {len(data)} bytes ({seconds:.2f} s) exceeds the maximum of "
                                f"{self.limits.max_chunk_seconds:g} s per chunk; send smaller chunks")
        if session.audio_seconds + seconds > self.limits.max_session_seconds:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"session audio would exceed the maximum of {self.limits.max_session_seconds:g} s")
        try:
            time_code = await self.scheduler.call(session.push_audio, data)
        except AudioFormatError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        if session.settings.echo_audio:
            yield pb.StreamResponse(audio_echo=pb.AudioEcho(time_code=time_code, data=data))
        await self.scheduler.advance(session)
        block = await self.scheduler.call(session.collect)
        if block is not None:
            yield pb.StreamResponse(frames=self._frames(block, session.settings))

    async def _finish(self, session: Session, cancel: bool) -> list[pb.StreamResponse]:
        if cancel:
            block, end = None, await self.scheduler.call(session.cancel_utterance)
        else:
            block, end = await self.scheduler.call(session.finish_utterance)
        responses = [pb.StreamResponse(frames=self._frames(block, session.settings))] if block else []
        return responses + [pb.StreamResponse(utterance_finished=_utterance_finished(end))]

    async def _end(self, session: Session) -> list[pb.StreamResponse]:
        responses = await self._finish(session, cancel=False) if session.utterance_has_audio else []
        totals = session.totals
        status = pb.StreamStatus(frames_sent=totals.frames_sent, audio_seconds=session.audio_seconds,
                                 utterances=totals.utterances, message="ok")
        log.info("session %s ended: %d frames, %.2f s audio", session.settings.session_id,
                 totals.frames_sent, session.audio_seconds)
        return responses + [pb.StreamResponse(status=status)]

    # ------------------------------------------------------- AnimateClip
    async def AnimateClip(self, request: pb.AnimateClipRequest, context) -> pb.AnimateClipResponse:
        try:
            return await self._animate_clip(request, context)
        except Exception as err:  # noqa: BLE001
            await _abort_internal(context, err)

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
            session = await self.scheduler.call(Session, settings, self.model)
            await self.scheduler.call(session.push_audio, data)
        except (ValueError, AudioFormatError) as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        await self.scheduler.advance(session)
        first = await self.scheduler.call(session.collect)
        last, _ = await self.scheduler.call(session.finish_utterance)
        frames = [f for block in (first, last) if block for f in self._frames(block, settings).frames]
        return pb.AnimateClipResponse(started=self._started(settings), frames=frames)

    # ---------------------------------------------------------- Describe
    async def Describe(self, request: pb.DescribeRequest, context) -> pb.DescribeResponse:
        model, layout, lim = self.model, self.model.layout, self.limits
        return pb.DescribeResponse(
            service_version=__version__, api_version="artalk.v1",
            models=[pb.ModelInfo(model_id=model.model_id, motion_layout=layout.name, fps=layout.fps,
                                 latency=_latency(model), trained=model.trained, device=str(model.device))],
            motion_layouts=[pb.MotionLayoutInfo(name=layout.name, channels=layout.channels,
                                                rotation_channels=layout.rotation_channels, fps=layout.fps)],
            retarget_presets=[pb.RetargetPresetInfo(name=name, description=m.description, channel_names=m.names)
                              for name, m in self.maps.presets.items()],
            style_presets=[pb.StylePresetInfo(name=name, description=f"speaking style {name!r} (reference clip)")
                           for name in sorted(model.style_presets)],
            limits=pb.Limits(max_chunk_seconds=lim.max_chunk_seconds, max_message_bytes=lim.max_message_bytes,
                             max_clip_seconds=lim.max_clip_seconds, max_session_seconds=lim.max_session_seconds,
                             min_sample_rate_hz=lim.min_sample_rate_hz, max_sample_rate_hz=lim.max_sample_rate_hz,
                             max_output_fps=lim.max_output_fps, max_sessions=lim.max_sessions,
                             idle_timeout_seconds=lim.idle_timeout_seconds),
            audio_encodings=sorted(ENCODINGS))

    # ----------------------------------------------- ValidateRetargetMap
    async def ValidateRetargetMap(self, request: pb.ValidateRetargetMapRequest,
                                  context) -> pb.ValidateRetargetMapResponse:
        try:
            retarget = self.maps.parse(request.map)
        except RetargetError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        except Exception as err:  # noqa: BLE001
            await _abort_internal(context, err)
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
        return pb.FrameBatch(utterance_index=block.utterance_index, frames=[
            pb.Frame(time_code=float(t), values=v.tolist(), native_values=n.tolist())
            for t, v, n in zip(block.time_codes, block.values, native)])


def _latency(model) -> pb.AlgorithmicLatency:
    window = model.window_frames / model.layout.fps
    lookahead = model.lookahead_frames / model.layout.fps
    return pb.AlgorithmicLatency(window_seconds=window, lookahead_seconds=lookahead, total_seconds=window + lookahead)


def _utterance_finished(end: UtteranceEnd) -> pb.UtteranceFinished:
    return pb.UtteranceFinished(utterance_index=end.utterance_index, start_time=end.start_time,
                                end_time=end.end_time, frame_count=end.frame_count, cancelled=end.cancelled)


async def _abort_internal(context, err: Exception) -> None:
    """End the call with INTERNAL and an id that finds the traceback in the log; aborts pass through."""
    if isinstance(err, grpc.aio.AbortError):
        raise err
    error_id = uuid.uuid4().hex[:12]
    log.exception("internal error %s", error_id, exc_info=err)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (id {error_id}); the server log has details")
