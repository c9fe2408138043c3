"""Limits every request is checked against (reported by Describe)."""
from __future__ import annotations

from dataclasses import dataclass

from artalk_service.audio.formats import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ


@dataclass(frozen=True)
class Limits:
    max_chunk_seconds: float = 10.0  # as Audio2Face-3D
    max_message_bytes: int = 32 * 1024 * 1024  # fits a 300 s 16 kHz PCM16 clip with room to spare
    max_clip_seconds: float = 300.0
    max_session_seconds: float = 3600.0
    max_output_fps: int = 120
    max_sessions: int = 64
    idle_timeout_seconds: float = 30.0
    max_id_chars: int = 128
    min_sample_rate_hz: int = MIN_SAMPLE_RATE_HZ
    max_sample_rate_hz: int = MAX_SAMPLE_RATE_HZ
