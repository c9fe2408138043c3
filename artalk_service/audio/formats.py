"""Client audio formats and their decoding to float32 mono."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

MIN_SAMPLE_RATE_HZ = 8000
MAX_SAMPLE_RATE_HZ = 48000
# float32 samples are in [-1, 1]; a little beyond (inter-sample peaks of a mastered line) is
# clipped to it, and beyond FLOAT_MAX_ABS (6 dB over full scale) is not audio in [-1, 1].
FLOAT_MAX_ABS = 2.0


class AudioFormatError(ValueError):
    """Audio that does not match its declared format; the message says what is accepted."""


class Encoding(enum.Enum):
    PCM_S16LE = "pcm_s16le"
    FLOAT32_LE = "float32_le"

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self is Encoding.PCM_S16LE else 4


@dataclass(frozen=True)
class AudioFormat:
    encoding: Encoding
    sample_rate_hz: int
    channels: int

    def __post_init__(self) -> None:
        if not MIN_SAMPLE_RATE_HZ <= self.sample_rate_hz <= MAX_SAMPLE_RATE_HZ:
            raise AudioFormatError(
                f"unsupported sample rate {self.sample_rate_hz} Hz; accepted: "
                f"{MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz"
            )
        if self.channels not in (1, 2):
            raise AudioFormatError(f"unsupported channel count {self.channels}; accepted: 1 (mono) or 2 (stereo)")

    @property
    def bytes_per_frame(self) -> int:
        """Bytes of one sample frame (one sample of every channel)."""
        return self.encoding.bytes_per_sample * self.channels

    def seconds(self, num_bytes: int) -> float:
        return num_bytes / (self.bytes_per_frame * self.sample_rate_hz)


def decode_samples(data: bytes, fmt: AudioFormat) -> np.ndarray:
    """Bytes in `fmt` -> float32 mono samples in [-1, 1] (stereo averaged)."""
    if len(data) % fmt.bytes_per_frame:
        raise AudioFormatError(
            f"chunk of {len(data)} bytes is not a whole number of sample frames: "
            f"{fmt.encoding.value} {fmt.channels}-channel audio needs a multiple of {fmt.bytes_per_frame} bytes"
        )
    if fmt.encoding is Encoding.PCM_S16LE:
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    else:
        samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if not np.isfinite(samples).all():
            raise AudioFormatError("float32 audio contains NaN or Inf; accepted: finite samples in [-1, 1]")
        if samples.size and (peak := float(np.abs(samples).max())) > FLOAT_MAX_ABS:
            raise AudioFormatError(
                f"float32 audio has a sample of magnitude {peak:.3g}; accepted: samples in [-1, 1] "
                f"(up to ±{FLOAT_MAX_ABS:g} is clipped to ±1)"
            )
        np.clip(samples, -1.0, 1.0, out=samples)
    if fmt.channels == 2:
        samples = samples.reshape(-1, 2).mean(axis=1)
    return samples
