"""Streaming ingest: client chunks -> float32 mono at the model's sample rate."""

from __future__ import annotations

import numpy as np
import soxr

from artalk_service.audio.formats import AudioFormat, decode_samples


class AudioIngest:
    """Decodes and resamples one session's audio, chunk by chunk.

    The resampler keeps its filter state across chunks, so the output does not
    depend on how the client cut its audio; `finish` drains the filter's delay
    at the end of an utterance.
    """

    def __init__(self, fmt: AudioFormat, target_rate_hz: int) -> None:
        self.format = fmt
        self.target_rate_hz = target_rate_hz
        self._resampler = self._new_resampler()
        self.samples_in = 0  # sample frames received at the client's rate

    def _new_resampler(self) -> soxr.ResampleStream | None:
        if self.format.sample_rate_hz == self.target_rate_hz:
            return None
        return soxr.ResampleStream(self.format.sample_rate_hz, self.target_rate_hz, 1, dtype="float32", quality="HQ")

    def push(self, data: bytes) -> np.ndarray:
        samples = decode_samples(data, self.format)
        self.samples_in += len(samples)
        if self._resampler is None:
            return samples
        return self._resampler.resample_chunk(samples)

    def finish(self) -> np.ndarray:
        """Drain the resampler at the end of an utterance and start afresh."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._resampler = self._new_resampler()
        return tail

    def reset(self) -> None:
        """Drop the resampler's state (barge-in)."""
        self._resampler = self._new_resampler()
