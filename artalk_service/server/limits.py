"""Limits every request is checked against (reported by Describe), and the per-token session rate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_chunk_seconds: float = 10.0  # as Audio2Face-3D
    max_chunk_bytes: int = 4 * 1024 * 1024  # 10 s of 48 kHz stereo float32 is 3.84 MB
    max_message_bytes: int = 32 * 1024 * 1024  # fits a 300 s 16 kHz PCM16 clip with room to spare
    max_clip_seconds: float = 300.0
    max_session_seconds: float = 3600.0
    max_output_fps: int = 120
    max_sessions: int = 64
    idle_timeout_seconds: float = 30.0
    max_id_chars: int = 128
    sessions_per_minute_per_token: float = 600.0  # 0: no rate limit


class SessionRate:
    """A token bucket per client identity: it holds up to `per_minute` session starts
    and refills at `per_minute` a minute. Keys are authenticated identities only, so
    the table is as small as the token list."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self.capacity = max(1.0, per_minute)
        self._buckets: dict[bytes, tuple[float, float]] = {}  # identity -> (starts left, at time)

    def take(self, identity: bytes, now: float) -> float:
        """Count one session start; 0.0 if it may start, else the seconds until one may."""
        if self.per_minute <= 0:
            return 0.0
        left, then = self._buckets.get(identity, (self.capacity, now))
        left = min(self.capacity, left + (now - then) * self.per_minute / 60.0)
        if left < 1.0:
            self._buckets[identity] = (left, now)
            return (1.0 - left) * 60.0 / self.per_minute
        self._buckets[identity] = (left - 1.0, now)
        return 0.0
