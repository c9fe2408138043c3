"""Minimal RIFF/WAVE reader for PCM16 and float32 files (the formats the service accepts),
and the one loader every tool uses to read a WAV at the model's sample rate."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from artalk_service.audio.formats import AudioFormat, AudioFormatError, Encoding
from artalk_service.audio.ingest import AudioIngest
from artalk_service.timebase import SAMPLE_RATE

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def read_wav(source: bytes | str | Path) -> tuple[bytes, AudioFormat]:
    """Return (raw sample bytes, their AudioFormat) from a WAV file or its bytes."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError("not a RIFF/WAVE file; accepted: WAV with PCM 16-bit or IEEE float 32-bit samples")
    fmt: AudioFormat | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(body)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError("WAV data chunk comes before its fmt chunk")
            usable = len(body) - len(body) % fmt.bytes_per_frame  # tolerate a truncated last frame
            return body[:usable], fmt
        pos += 8 + size + (size & 1)  # chunks are padded to even sizes
    raise AudioFormatError("WAV file has no data chunk")


def load_wav_16k(source: bytes | str | Path) -> np.ndarray:
    """A WAV file (or its bytes) -> float32 mono samples at SAMPLE_RATE, resampled and
    down-mixed exactly as a session does with the same audio streamed in."""
    data, fmt = read_wav(source)
    ingest = AudioIngest(fmt, SAMPLE_RATE)
    return np.concatenate([ingest.push(data), ingest.finish()])


def _parse_fmt(body: bytes) -> AudioFormat:
    if len(body) < 16:
        raise AudioFormatError("WAV fmt chunk is truncated")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    if tag == _WAVE_FORMAT_PCM and bits == 16:
        encoding = Encoding.PCM_S16LE
    elif tag == _WAVE_FORMAT_IEEE_FLOAT and bits == 32:
        encoding = Encoding.FLOAT32_LE
    else:
        raise AudioFormatError(
            f"unsupported WAV sample format (tag {tag}, {bits} bits); accepted: PCM 16-bit or IEEE float 32-bit"
        )
    return AudioFormat(encoding, rate, channels)


def write_wav(path: str | Path, pcm16: bytes, sample_rate_hz: int, channels: int = 1) -> None:
    """Write PCM16 bytes as a WAV file."""
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate_hz)
        out.writeframes(pcm16)
