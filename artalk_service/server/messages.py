"""The artalk.v1 messages the service answers with, built from the model, the limits and session
events; and the size of an AnimateClip reply, known from its request before anything is computed."""

from __future__ import annotations

import math

import numpy as np

from artalk_service import __version__
from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio.formats import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ
from artalk_service.retarget import MapLibrary
from artalk_service.runtime.session import FrameBlock, Session, SessionSettings, UtteranceEnd
from artalk_service.server.limits import Limits
from artalk_service.server.validation import ENCODINGS


def started(model, settings: SessionSettings) -> pb.SessionStarted:
    layout, retarget = model.layout, settings.retarget
    return pb.SessionStarted(
        session_id=settings.session_id,
        character_id=settings.character_id,
        channel_names=retarget.names,
        fps=settings.output_fps,
        model_id=model.model_id,
        motion_layout=layout.name,
        native_channel_names=layout.channels,
        latency=_latency(model),
        retarget_map=retarget.name,
        style=settings.style_name,
        rotation_channels=retarget.rotation_names,
    )


def frames(block: FrameBlock, settings: SessionSettings) -> pb.FrameBatch:
    native = block.native if settings.include_native else np.zeros((len(block.values), 0), np.float32)
    return pb.FrameBatch(
        utterance_index=block.utterance_index,
        idle=block.idle,
        frames=[
            pb.Frame(time_code=float(t), values=v.tolist(), native_values=n.tolist())
            for t, v, n in zip(block.time_codes, block.values, native, strict=True)
        ],
    )


def clip_reply_bytes(started_message: pb.SessionStarted, settings: SessionSettings, audio_bytes: int) -> int:
    """An upper bound of the serialized size of the AnimateClipResponse for a clip of
    `audio_bytes` in settings.audio_format: one frame per 1/output_fps of its audio (rounded
    up, as the session emits them), each with its time code, values and native values."""
    fmt = settings.audio_format
    samples = audio_bytes // fmt.bytes_per_frame
    frames = -(-samples * settings.output_fps // fmt.sample_rate_hz)
    native = len(started_message.native_channel_names) if settings.include_native else 0
    frame = 1 + 8 + _packed_floats(len(settings.retarget.names)) + _packed_floats(native)  # time_code: tag + double
    return _field(started_message.ByteSize()) + frames * _field(frame)


def _varint_bytes(value: int) -> int:
    return max(1, math.ceil(value.bit_length() / 7))


def _field(length: int) -> int:
    """A length-delimited field (one-byte tag) of `length` bytes."""
    return 1 + _varint_bytes(length) + length


def _packed_floats(count: int) -> int:
    return _field(4 * count) if count else 0


def utterance_finished(end: UtteranceEnd) -> pb.UtteranceFinished:
    return pb.UtteranceFinished(
        utterance_index=end.utterance_index,
        start_time=end.start_time,
        end_time=end.end_time,
        frame_count=end.frame_count,
        cancelled=end.cancelled,
    )


def stream_status(session: Session, frames_sent: int) -> pb.StreamStatus:
    return pb.StreamStatus(
        frames_sent=frames_sent, audio_seconds=session.audio_seconds, utterances=session.totals.utterances, message="ok"
    )


def describe(model, limits: Limits, maps: MapLibrary) -> pb.DescribeResponse:
    layout, lim = model.layout, limits
    return pb.DescribeResponse(
        service_version=__version__,
        api_version="artalk.v1",
        models=[
            pb.ModelInfo(
                model_id=model.model_id,
                motion_layout=layout.name,
                fps=layout.fps,
                latency=_latency(model),
                trained=model.trained,
                device=str(model.device),
                default_guidance=model.guidance,
                max_guidance=model.max_guidance,
            )
        ],
        motion_layouts=[
            pb.MotionLayoutInfo(
                name=layout.name, channels=layout.channels, rotation_channels=layout.rotation_channels, fps=layout.fps
            )
        ],
        retarget_presets=[
            pb.RetargetPresetInfo(name=name, description=m.description, channel_names=m.names)
            for name, m in maps.presets.items()
        ],
        style_presets=[
            pb.StylePresetInfo(name=name, description=f"speaking style {name!r} (reference clip)")
            for name in sorted(model.style_presets)
        ],
        limits=pb.Limits(
            max_chunk_seconds=lim.max_chunk_seconds,
            max_message_bytes=lim.max_message_bytes,
            max_clip_seconds=lim.max_clip_seconds,
            max_session_seconds=lim.max_session_seconds,
            min_sample_rate_hz=MIN_SAMPLE_RATE_HZ,
            max_sample_rate_hz=MAX_SAMPLE_RATE_HZ,
            max_output_fps=lim.max_output_fps,
            max_sessions=lim.max_sessions,
            max_concurrent_clips=lim.max_concurrent_clips,
            max_stream_messages_per_second=lim.max_stream_messages_per_second,
            idle_timeout_seconds=lim.idle_timeout_seconds,
            max_chunk_bytes=lim.max_chunk_bytes,
            sessions_per_minute_per_token=lim.sessions_per_minute_per_token,
        ),
        audio_encodings=sorted(ENCODINGS),
    )


def _latency(model) -> pb.AlgorithmicLatency:
    window = model.window_frames / model.layout.fps
    lookahead = model.lookahead_frames / model.layout.fps
    return pb.AlgorithmicLatency(window_seconds=window, lookahead_seconds=lookahead, total_seconds=window + lookahead)
