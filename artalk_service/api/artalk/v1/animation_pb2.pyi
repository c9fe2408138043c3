from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_PCM_S16LE: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_FLOAT32_LE: _ClassVar[AudioEncoding]
AUDIO_ENCODING_UNSPECIFIED: AudioEncoding
AUDIO_ENCODING_PCM_S16LE: AudioEncoding
AUDIO_ENCODING_FLOAT32_LE: AudioEncoding

class AudioFormat(_message.Message):
    __slots__ = ("encoding", "sample_rate_hz", "channels")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    encoding: AudioEncoding
    sample_rate_hz: int
    channels: int
    def __init__(self, encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rate_hz: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class RetargetSelection(_message.Message):
    __slots__ = ("preset", "inline_map")
    PRESET_FIELD_NUMBER: _ClassVar[int]
    INLINE_MAP_FIELD_NUMBER: _ClassVar[int]
    preset: str
    inline_map: str
    def __init__(self, preset: _Optional[str] = ..., inline_map: _Optional[str] = ...) -> None: ...

class MotionClip(_message.Message):
    __slots__ = ("layout", "fps", "num_channels", "values")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    NUM_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    layout: str
    fps: int
    num_channels: int
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, layout: _Optional[str] = ..., fps: _Optional[int] = ..., num_channels: _Optional[int] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class StyleSelection(_message.Message):
    __slots__ = ("preset", "reference_clip")
    PRESET_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_CLIP_FIELD_NUMBER: _ClassVar[int]
    preset: str
    reference_clip: MotionClip
    def __init__(self, preset: _Optional[str] = ..., reference_clip: _Optional[_Union[MotionClip, _Mapping]] = ...) -> None: ...

class SessionConfig(_message.Message):
    __slots__ = ("audio_format", "output_fps", "retarget", "style", "seed", "temperature", "top_p", "head_motion", "blinks", "session_id", "character_id", "include_native_motion", "echo_audio", "idle_motion", "guidance")
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FPS_FIELD_NUMBER: _ClassVar[int]
    RETARGET_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    HEAD_MOTION_FIELD_NUMBER: _ClassVar[int]
    BLINKS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CHARACTER_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_NATIVE_MOTION_FIELD_NUMBER: _ClassVar[int]
    ECHO_AUDIO_FIELD_NUMBER: _ClassVar[int]
    IDLE_MOTION_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    audio_format: AudioFormat
    output_fps: int
    retarget: RetargetSelection
    style: StyleSelection
    seed: int
    temperature: float
    top_p: float
    head_motion: bool
    blinks: bool
    session_id: str
    character_id: str
    include_native_motion: bool
    echo_audio: bool
    idle_motion: bool
    guidance: float
    def __init__(self, audio_format: _Optional[_Union[AudioFormat, _Mapping]] = ..., output_fps: _Optional[int] = ..., retarget: _Optional[_Union[RetargetSelection, _Mapping]] = ..., style: _Optional[_Union[StyleSelection, _Mapping]] = ..., seed: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., head_motion: _Optional[bool] = ..., blinks: _Optional[bool] = ..., session_id: _Optional[str] = ..., character_id: _Optional[str] = ..., include_native_motion: _Optional[bool] = ..., echo_audio: _Optional[bool] = ..., idle_motion: _Optional[bool] = ..., guidance: _Optional[float] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class Flush(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Cancel(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EndOfAudio(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("config", "audio", "flush", "cancel", "end_of_audio")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FLUSH_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    END_OF_AUDIO_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    audio: AudioChunk
    flush: Flush
    cancel: Cancel
    end_of_audio: EndOfAudio
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., flush: _Optional[_Union[Flush, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ..., end_of_audio: _Optional[_Union[EndOfAudio, _Mapping]] = ...) -> None: ...

class AlgorithmicLatency(_message.Message):
    __slots__ = ("window_seconds", "lookahead_seconds", "total_seconds")
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    window_seconds: float
    lookahead_seconds: float
    total_seconds: float
    def __init__(self, window_seconds: _Optional[float] = ..., lookahead_seconds: _Optional[float] = ..., total_seconds: _Optional[float] = ...) -> None: ...

class SessionStarted(_message.Message):
    __slots__ = ("session_id", "character_id", "channel_names", "fps", "model_id", "motion_layout", "native_channel_names", "latency", "retarget_map", "style", "rotation_channels")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CHARACTER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MOTION_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    NATIVE_CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    RETARGET_MAP_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    ROTATION_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    character_id: str
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    fps: int
    model_id: str
    motion_layout: str
    native_channel_names: _containers.RepeatedScalarFieldContainer[str]
    latency: AlgorithmicLatency
    retarget_map: str
    style: str
    rotation_channels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., character_id: _Optional[str] = ..., channel_names: _Optional[_Iterable[str]] = ..., fps: _Optional[int] = ..., model_id: _Optional[str] = ..., motion_layout: _Optional[str] = ..., native_channel_names: _Optional[_Iterable[str]] = ..., latency: _Optional[_Union[AlgorithmicLatency, _Mapping]] = ..., retarget_map: _Optional[str] = ..., style: _Optional[str] = ..., rotation_channels: _Optional[_Iterable[str]] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("time_code", "values", "native_values")
    TIME_CODE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    NATIVE_VALUES_FIELD_NUMBER: _ClassVar[int]
    time_code: float
    values: _containers.RepeatedScalarFieldContainer[float]
    native_values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, time_code: _Optional[float] = ..., values: _Optional[_Iterable[float]] = ..., native_values: _Optional[_Iterable[float]] = ...) -> None: ...

class FrameBatch(_message.Message):
    __slots__ = ("utterance_index", "frames", "idle")
    UTTERANCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    IDLE_FIELD_NUMBER: _ClassVar[int]
    utterance_index: int
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    idle: bool
    def __init__(self, utterance_index: _Optional[int] = ..., frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ..., idle: _Optional[bool] = ...) -> None: ...

class AudioEcho(_message.Message):
    __slots__ = ("time_code", "data")
    TIME_CODE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    time_code: float
    data: bytes
    def __init__(self, time_code: _Optional[float] = ..., data: _Optional[bytes] = ...) -> None: ...

class UtteranceFinished(_message.Message):
    __slots__ = ("utterance_index", "start_time", "end_time", "frame_count", "cancelled")
    UTTERANCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    utterance_index: int
    start_time: float
    end_time: float
    frame_count: int
    cancelled: bool
    def __init__(self, utterance_index: _Optional[int] = ..., start_time: _Optional[float] = ..., end_time: _Optional[float] = ..., frame_count: _Optional[int] = ..., cancelled: _Optional[bool] = ...) -> None: ...

class StreamStatus(_message.Message):
    __slots__ = ("frames_sent", "audio_seconds", "utterances", "message")
    FRAMES_SENT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UTTERANCES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    frames_sent: int
    audio_seconds: float
    utterances: int
    message: str
    def __init__(self, frames_sent: _Optional[int] = ..., audio_seconds: _Optional[float] = ..., utterances: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ("started", "frames", "audio_echo", "utterance_finished", "status")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    AUDIO_ECHO_FIELD_NUMBER: _ClassVar[int]
    UTTERANCE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    started: SessionStarted
    frames: FrameBatch
    audio_echo: AudioEcho
    utterance_finished: UtteranceFinished
    status: StreamStatus
    def __init__(self, started: _Optional[_Union[SessionStarted, _Mapping]] = ..., frames: _Optional[_Union[FrameBatch, _Mapping]] = ..., audio_echo: _Optional[_Union[AudioEcho, _Mapping]] = ..., utterance_finished: _Optional[_Union[UtteranceFinished, _Mapping]] = ..., status: _Optional[_Union[StreamStatus, _Mapping]] = ...) -> None: ...

class AnimateClipRequest(_message.Message):
    __slots__ = ("config", "wav", "pcm")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    WAV_FIELD_NUMBER: _ClassVar[int]
    PCM_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    wav: bytes
    pcm: bytes
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., wav: _Optional[bytes] = ..., pcm: _Optional[bytes] = ...) -> None: ...

class AnimateClipResponse(_message.Message):
    __slots__ = ("started", "frames")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    started: SessionStarted
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    def __init__(self, started: _Optional[_Union[SessionStarted, _Mapping]] = ..., frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("model_id", "motion_layout", "fps", "latency", "trained", "device", "default_guidance", "max_guidance")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MOTION_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    TRAINED_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    MAX_GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    motion_layout: str
    fps: int
    latency: AlgorithmicLatency
    trained: bool
    device: str
    default_guidance: float
    max_guidance: float
    def __init__(self, model_id: _Optional[str] = ..., motion_layout: _Optional[str] = ..., fps: _Optional[int] = ..., latency: _Optional[_Union[AlgorithmicLatency, _Mapping]] = ..., trained: _Optional[bool] = ..., device: _Optional[str] = ..., default_guidance: _Optional[float] = ..., max_guidance: _Optional[float] = ...) -> None: ...

class MotionLayoutInfo(_message.Message):
    __slots__ = ("name", "channels", "rotation_channels", "fps")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    ROTATION_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    rotation_channels: _containers.RepeatedScalarFieldContainer[str]
    fps: int
    def __init__(self, name: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., rotation_channels: _Optional[_Iterable[str]] = ..., fps: _Optional[int] = ...) -> None: ...

class RetargetPresetInfo(_message.Message):
    __slots__ = ("name", "description", "channel_names")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., channel_names: _Optional[_Iterable[str]] = ...) -> None: ...

class StylePresetInfo(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_chunk_seconds", "max_message_bytes", "max_clip_seconds", "max_session_seconds", "min_sample_rate_hz", "max_sample_rate_hz", "max_output_fps", "max_sessions", "idle_timeout_seconds", "max_chunk_bytes", "sessions_per_minute_per_token", "max_concurrent_clips", "max_stream_messages_per_second")
    MAX_CHUNK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CLIP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_FPS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_PER_MINUTE_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_CLIPS_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAM_MESSAGES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    max_chunk_seconds: float
    max_message_bytes: int
    max_clip_seconds: float
    max_session_seconds: float
    min_sample_rate_hz: int
    max_sample_rate_hz: int
    max_output_fps: int
    max_sessions: int
    idle_timeout_seconds: float
    max_chunk_bytes: int
    sessions_per_minute_per_token: float
    max_concurrent_clips: int
    max_stream_messages_per_second: float
    def __init__(self, max_chunk_seconds: _Optional[float] = ..., max_message_bytes: _Optional[int] = ..., max_clip_seconds: _Optional[float] = ..., max_session_seconds: _Optional[float] = ..., min_sample_rate_hz: _Optional[int] = ..., max_sample_rate_hz: _Optional[int] = ..., max_output_fps: _Optional[int] = ..., max_sessions: _Optional[int] = ..., idle_timeout_seconds: _Optional[float] = ..., max_chunk_bytes: _Optional[int] = ..., sessions_per_minute_per_token: _Optional[float] = ..., max_concurrent_clips: _Optional[int] = ..., max_stream_messages_per_second: _Optional[float] = ...) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("service_version", "api_version", "models", "motion_layouts", "retarget_presets", "style_presets", "limits", "audio_encodings")
    SERVICE_VERSION_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    MOTION_LAYOUTS_FIELD_NUMBER: _ClassVar[int]
    RETARGET_PRESETS_FIELD_NUMBER: _ClassVar[int]
    STYLE_PRESETS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_ENCODINGS_FIELD_NUMBER: _ClassVar[int]
    service_version: str
    api_version: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    motion_layouts: _containers.RepeatedCompositeFieldContainer[MotionLayoutInfo]
    retarget_presets: _containers.RepeatedCompositeFieldContainer[RetargetPresetInfo]
    style_presets: _containers.RepeatedCompositeFieldContainer[StylePresetInfo]
    limits: Limits
    audio_encodings: _containers.RepeatedScalarFieldContainer[AudioEncoding]
    def __init__(self, service_version: _Optional[str] = ..., api_version: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., motion_layouts: _Optional[_Iterable[_Union[MotionLayoutInfo, _Mapping]]] = ..., retarget_presets: _Optional[_Iterable[_Union[RetargetPresetInfo, _Mapping]]] = ..., style_presets: _Optional[_Iterable[_Union[StylePresetInfo, _Mapping]]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., audio_encodings: _Optional[_Iterable[_Union[AudioEncoding, str]]] = ...) -> None: ...

class ValidateRetargetMapRequest(_message.Message):
    __slots__ = ("map",)
    MAP_FIELD_NUMBER: _ClassVar[int]
    map: str
    def __init__(self, map: _Optional[str] = ...) -> None: ...

class ValidateRetargetMapResponse(_message.Message):
    __slots__ = ("name", "channel_names", "rotation_channels")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    ROTATION_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    rotation_channels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., channel_names: _Optional[_Iterable[str]] = ..., rotation_channels: _Optional[_Iterable[str]] = ...) -> None: ...
