"""Requests (proto) -> what they ask for (SessionSettings, a clip's audio), or a BadRequest naming what is wrong.

Messages quote what the client sent with artalk_service.quoting, cut short: a status message
travels in the trailers, which gRPC limits to about 8 KiB. An inline retarget map is parsed
off the event loop (session_settings, clip_settings, parse_map_off_loop), in one thread of
its own, so that a large map delays only its own call: every other session's loop and
batches go on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import math
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import read_wav
from artalk_service.audio.formats import AudioFormat, AudioFormatError, Encoding
from artalk_service.model import StreamOptions
from artalk_service.quoting import names, quote
from artalk_service.retarget import MapLibrary, RetargetError, RetargetMap
from artalk_service.retarget.loading import check_size
from artalk_service.runtime.session import SessionSettings
from artalk_service.server.limits import Limits
from artalk_service.server.status import BadRequest

ENCODINGS = {pb.AUDIO_ENCODING_PCM_S16LE: Encoding.PCM_S16LE, pb.AUDIO_ENCODING_FLOAT32_LE: Encoding.FLOAT32_LE}
DEFAULT_RETARGET = "arkit61"
# Inline maps are parsed here, one at a time: a map of the largest size (MapLimits) takes about
# 0.15 s as JSON and 1-2 s as YAML, and a second thread would only take more of the CPU (and
# the GIL) the sessions need. The thread starts on first use.
MAP_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="artalk-map-parse")


async def parse_map_off_loop(maps: MapLibrary, text: str) -> RetargetMap:
    """An inline map parsed in the MAP_PARSER thread; RetargetError if it is invalid. Its size
    is checked first, here: a map over the limit costs nothing but its length."""
    check_size(text, maps.limits)
    return await asyncio.get_running_loop().run_in_executor(MAP_PARSER, _parse_without_collections, maps, text)


def _parse_without_collections(maps: MapLibrary, text: str) -> RetargetMap:
    """maps.parse(text) with the cyclic garbage collector paused. A large map makes a few
    hundred thousand objects that live until it is parsed; they would start a full collection
    of the whole heap, which holds the GIL, and so every thread, for 150-200 ms. They are
    freed by their reference counts once the map is built, so nothing is left to collect."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return maps.parse(text)
    finally:
        if paused:
            gc.enable()


async def session_settings(
    config: pb.SessionConfig, model, limits: Limits, maps: MapLibrary, *, need_audio_format: bool = True
) -> SessionSettings:
    """settings_from_proto for a server handler: an inline map is parsed off the event loop,
    once the rest of the config is found valid."""
    if config.retarget.WhichOneof("source") != "inline_map":
        return settings_from_proto(config, model, limits, maps, need_audio_format=need_audio_format)
    checked = settings_from_proto(
        config, model, limits, maps, need_audio_format=need_audio_format, retarget=maps.get(DEFAULT_RETARGET)
    )
    return dataclasses.replace(checked, retarget=await _inline_off_loop(config, maps))


async def clip_settings(
    request: pb.AnimateClipRequest, model, limits: Limits, maps: MapLibrary
) -> tuple[SessionSettings, bytes]:
    """clip_from_proto for a server handler: an inline map is parsed off the event loop."""
    if request.config.retarget.WhichOneof("source") != "inline_map":
        return clip_from_proto(request, model, limits, maps)
    checked, data = clip_from_proto(request, model, limits, maps, retarget=maps.get(DEFAULT_RETARGET))
    return dataclasses.replace(checked, retarget=await _inline_off_loop(request.config, maps)), data


async def _inline_off_loop(config: pb.SessionConfig, maps: MapLibrary) -> RetargetMap:
    try:
        return await parse_map_off_loop(maps, config.retarget.inline_map)
    except RetargetError as err:
        raise BadRequest(f"inline retarget map: {err}") from None


def audio_format_from_proto(fmt: pb.AudioFormat) -> AudioFormat:
    if fmt.encoding not in ENCODINGS:
        name = pb.AudioEncoding.Name(fmt.encoding) if fmt.encoding in pb.AudioEncoding.values() else fmt.encoding
        raise BadRequest(
            f"unsupported audio encoding {name}; accepted: AUDIO_ENCODING_PCM_S16LE or AUDIO_ENCODING_FLOAT32_LE"
        )
    try:
        return AudioFormat(ENCODINGS[fmt.encoding], fmt.sample_rate_hz, fmt.channels)
    except AudioFormatError as err:
        raise BadRequest(f"audio_format: {err}") from None


def settings_from_proto(
    config: pb.SessionConfig,
    model,
    limits: Limits,
    maps: MapLibrary,
    *,
    need_audio_format: bool = True,
    retarget: RetargetMap | None = None,
) -> SessionSettings:
    """The session a config asks for, or BadRequest. An inline map is parsed on the calling
    thread unless `retarget` is given (a server handler uses session_settings)."""
    fmt = audio_format_from_proto(config.audio_format) if need_audio_format or config.HasField("audio_format") else None
    output_fps = config.output_fps or model.layout.fps
    if output_fps > limits.max_output_fps:
        raise BadRequest(
            f"output_fps {output_fps} is out of range; accepted: 1 to {limits.max_output_fps}, "
            f"or 0 for native {model.layout.fps}"
        )
    for name, value in (("temperature", config.temperature), ("top_p", config.top_p), ("guidance", config.guidance)):
        if not math.isfinite(value):
            raise BadRequest(f"{name} is {value}; accepted: a finite number")
    if not 0.0 <= config.temperature <= 2.0:
        raise BadRequest(f"temperature {config.temperature} is out of range; accepted: 0 (greedy) to 2")
    if not 0.0 <= config.top_p <= 1.0:
        raise BadRequest(f"top_p {config.top_p} is out of range; accepted: (0, 1], or 0 for off")
    if config.guidance:
        try:
            model.check_guidance(config.guidance)
        except ValueError:  # the model's one error for a guidance it cannot use
            untrained = "" if model.guides else f" (model {model.model_id} was trained without guidance)"
            raise BadRequest(
                f"guidance {config.guidance:g} is out of range; accepted: 0 (the model's default, "
                f"{model.guidance:g}) or 1 (off) to {model.max_guidance:g}{untrained}"
            ) from None
    for name in ("session_id", "character_id"):
        if len(getattr(config, name)) > limits.max_id_chars:
            raise BadRequest(f"{name} is longer than {limits.max_id_chars} characters")
    style_name, style = _style(config, model)
    options = StreamOptions(
        style=style,
        seed=config.seed % 2**63,
        temperature=float(config.temperature),
        top_p=float(config.top_p) or 1.0,
        guidance=float(config.guidance) or None,
    )
    return SessionSettings(
        audio_format=fmt,
        output_fps=output_fps,
        retarget=_retarget(config, maps) if retarget is None else retarget,
        style_name=style_name,
        stream_options=options,
        head_motion=config.head_motion if config.HasField("head_motion") else True,
        blinks=config.blinks if config.HasField("blinks") else True,
        session_id=config.session_id or uuid.uuid4().hex,
        character_id=config.character_id,
        include_native=config.include_native_motion,
        echo_audio=config.echo_audio,
        idle_motion=config.idle_motion,
    )


def clip_from_proto(
    request: pb.AnimateClipRequest, model, limits: Limits, maps: MapLibrary, *, retarget: RetargetMap | None = None
) -> tuple[SessionSettings, bytes]:
    """An AnimateClipRequest -> its session's settings and its audio in settings.audio_format
    (a WAV the server cannot read raises AudioFormatError)."""
    which = request.WhichOneof("audio")
    if which is None:
        raise BadRequest(
            "AnimateClipRequest needs audio: set `wav` (a WAV file) or `pcm` (raw samples in config.audio_format)"
        )
    settings = settings_from_proto(
        request.config, model, limits, maps, need_audio_format=which == "pcm", retarget=retarget
    )
    data = request.pcm
    if which == "wav":
        data, fmt = read_wav(request.wav)
        settings = dataclasses.replace(settings, audio_format=fmt)
    seconds = settings.audio_format.seconds(len(data))
    if seconds > limits.max_clip_seconds:
        raise BadRequest(f"clip of {seconds:.1f} s exceeds the maximum of {limits.max_clip_seconds:g} s; use Stream")
    return dataclasses.replace(settings, echo_audio=False, idle_motion=False), data


def _retarget(config: pb.SessionConfig, maps: MapLibrary) -> RetargetMap:
    which = config.retarget.WhichOneof("source")
    if which == "inline_map":
        try:
            return maps.parse(config.retarget.inline_map)
        except RetargetError as err:
            raise BadRequest(f"inline retarget map: {err}") from None
    try:
        return maps.get(config.retarget.preset if which == "preset" else DEFAULT_RETARGET)
    except KeyError as err:  # no such preset, or its file is invalid: the message says which
        raise BadRequest(err.args[0]) from None


def _style(config: pb.SessionConfig, model) -> tuple[str, str | np.ndarray | None]:
    which = config.style.WhichOneof("source")
    if which == "preset":
        name = config.style.preset
        if name not in model.style_presets:
            raise BadRequest(f"unknown style preset {quote(name)}; available: {names(sorted(model.style_presets))}")
        return name, name
    if which == "reference_clip":
        return "reference_clip", _clip(config.style.reference_clip, model)
    return "neutral", None


def _clip(clip: pb.MotionClip, model) -> np.ndarray:
    layout = model.layout
    if clip.layout != layout.name:
        raise BadRequest(
            f"reference_clip.layout {quote(clip.layout)} does not match the model's layout {layout.name!r}"
        )
    if clip.fps != layout.fps:
        raise BadRequest(f"reference_clip.fps {clip.fps} must be the layout's native {layout.fps}")
    if clip.num_channels != layout.num_channels:
        raise BadRequest(
            f"reference_clip.num_channels {clip.num_channels} must be {layout.num_channels} for {layout.name}"
        )
    values = np.asarray(clip.values, dtype=np.float32)
    if values.size == 0 or values.size % layout.num_channels:
        raise BadRequest(
            f"reference_clip.values must hold whole frames of {layout.num_channels} values (got {values.size})"
        )
    if not np.isfinite(values).all():
        raise BadRequest("reference_clip.values contains NaN or Inf; accepted: finite numbers")
    return values.reshape(-1, layout.num_channels)
