"""A small synchronous client for the artalk.v1 Animation service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.api.artalk.v1 import service_pb2_grpc
from artalk_service.audio import AudioFormat, Encoding, read_wav

_ENCODINGS = {Encoding.PCM_S16LE: pb.AUDIO_ENCODING_PCM_S16LE, Encoding.FLOAT32_LE: pb.AUDIO_ENCODING_FLOAT32_LE}


def session_config(
    fmt: AudioFormat,
    *,
    fps: int = 0,
    style: str | None = None,
    retarget: str | None = None,
    seed: int = 0,
    temperature: float = 0.0,
    **extra,
) -> pb.SessionConfig:
    """A SessionConfig for audio in `fmt`; extra keyword arguments set SessionConfig fields."""
    config = pb.SessionConfig(
        audio_format=pb.AudioFormat(
            encoding=_ENCODINGS[fmt.encoding], sample_rate_hz=fmt.sample_rate_hz, channels=fmt.channels
        ),
        output_fps=fps,
        seed=seed,
        temperature=temperature,
        **extra,
    )
    if style:
        config.style.preset = style
    if retarget:
        config.retarget.preset = retarget
    return config


@dataclass
class AnimationResult:
    """Everything a Stream returned, with client-side timing."""

    started: pb.SessionStarted
    time_codes: list[float] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)
    native_values: list[list[float]] = field(default_factory=list)
    utterances: list[pb.UtteranceFinished] = field(default_factory=list)
    status: pb.StreamStatus | None = None
    first_frame_latency_s: float | None = None  # first audio sent -> first frame received
    lateness_s: list[float] = field(default_factory=list)  # arrival - (stream start + time code), per frame

    @property
    def fps(self) -> int:
        return self.started.fps

    @property
    def names(self) -> list[str]:
        return list(self.started.channel_names)

    def to_json_dict(self) -> dict:
        return {"fps": self.fps, "names": self.names, "frames": self.values}


class AnimationClient:
    """A channel to the service. TLS is on when `tls_ca` (the CA that signed the server's
    certificate; None: the system's roots) or a client certificate is given; `tls_cert` and
    `tls_key` (PEM files) answer a mutual-TLS server. `token` is sent as a bearer token."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        max_message_bytes: int = 32 * 1024 * 1024,
        *,
        tls_ca: str | Path | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        token: str | None = None,
    ) -> None:
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together (a client certificate and its private key)")
        if tls_ca is None and tls_cert is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:

            def read(path):
                return Path(path).read_bytes() if path is not None else None

            credentials = grpc.ssl_channel_credentials(read(tls_ca), read(tls_key), read(tls_cert))
            self.channel = grpc.secure_channel(target, credentials, options=options)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.stub = service_pb2_grpc.AnimationStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> AnimationClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self, timeout: float = 30.0) -> pb.DescribeResponse:
        return self.stub.Describe(pb.DescribeRequest(), timeout=timeout, metadata=self.metadata)

    def stream(self, requests: Iterator[pb.StreamRequest], timeout: float | None = None) -> Iterator[pb.StreamResponse]:
        """The raw bidirectional Stream call."""
        return self.stub.Stream(requests, timeout=timeout, metadata=self.metadata)

    def animate_pcm(
        self,
        data: bytes,
        config: pb.SessionConfig,
        *,
        chunk_seconds: float = 0.1,
        realtime: bool = False,
        timeout: float | None = None,
    ) -> AnimationResult:
        """Stream `data` (in config's audio format) in chunks and collect every frame."""
        fmt = config.audio_format
        bytes_per_second = fmt.sample_rate_hz * fmt.channels * (2 if fmt.encoding == pb.AUDIO_ENCODING_PCM_S16LE else 4)
        frame_bytes = bytes_per_second // fmt.sample_rate_hz
        chunk = max(frame_bytes, int(chunk_seconds * fmt.sample_rate_hz) * frame_bytes)
        clock: dict[str, float] = {}

        def requests() -> Iterator[pb.StreamRequest]:
            yield pb.StreamRequest(config=config)
            clock["start"] = time.perf_counter()
            for offset in range(0, len(data), chunk):
                if realtime:  # pace like a live source: a chunk is sent once it has been "spoken"
                    due = clock["start"] + (offset + chunk) / bytes_per_second
                    time.sleep(max(0.0, due - time.perf_counter()))
                yield pb.StreamRequest(audio=pb.AudioChunk(data=data[offset : offset + chunk]))
            yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())

        result: AnimationResult | None = None
        for response in self.stream(requests(), timeout=timeout):
            kind = response.WhichOneof("message")
            now = time.perf_counter()
            if kind == "started":
                result = AnimationResult(started=response.started)
            elif kind == "frames":
                if result.first_frame_latency_s is None:
                    result.first_frame_latency_s = now - clock["start"]
                for frame in response.frames.frames:
                    result.time_codes.append(frame.time_code)
                    result.values.append(list(frame.values))
                    if frame.native_values:
                        result.native_values.append(list(frame.native_values))
                    result.lateness_s.append(now - clock["start"] - frame.time_code)
            elif kind == "utterance_finished":
                result.utterances.append(response.utterance_finished)
            elif kind == "status":
                result.status = response.status
        return result

    def animate_wav(self, path: str | Path, **kwargs) -> AnimationResult:
        """Stream a WAV file; keyword arguments go to `session_config` and `animate_pcm`."""
        data, fmt = read_wav(path)
        stream_args = {k: kwargs.pop(k) for k in ("chunk_seconds", "realtime", "timeout") if k in kwargs}
        return self.animate_pcm(data, session_config(fmt, **kwargs), **stream_args)

    def animate_clip(
        self, path: str | Path, config: pb.SessionConfig | None = None, timeout: float | None = None
    ) -> pb.AnimateClipResponse:
        """The unary AnimateClip call on a whole WAV file."""
        request = pb.AnimateClipRequest(config=config or pb.SessionConfig(), wav=Path(path).read_bytes())
        return self.stub.AnimateClip(request, timeout=timeout, metadata=self.metadata)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")
