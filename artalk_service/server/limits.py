"""Limits every request is checked against (reported by Describe), the session slots they
bound, and the per-token session rate."""

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
    max_sessions: int = 64  # concurrent sessions: Stream calls and AnimateClip calls together
    max_concurrent_clips: int = 8  # of those, AnimateClip calls (each holds a clip and its reply, up to 2 messages)
    idle_timeout_seconds: float = 30.0
    max_id_chars: int = 128
    sessions_per_minute_per_token: float = 600.0  # 0: no rate limit
    # Messages of one Stream the server reads a second, in bursts of as many; more wait in the
    # transport (backpressure, not an error): a flood costs the server a bounded share of its CPU.
    # 0: no limit. Audio in 10 ms chunks is 100 a second.
    max_stream_messages_per_second: float = 500.0


class Slot:
    """One call's place among the concurrent calls; release() is idempotent."""

    def __init__(self, slots: SessionSlots, clip: bool) -> None:
        self._slots, self.clip, self.released = slots, clip, False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._slots._free(self)


class SessionSlots:
    """The calls in progress that count against max_sessions (Stream and AnimateClip) and,
    for AnimateClip, against max_concurrent_clips. Used on the event loop only."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.sessions = 0  # Stream and AnimateClip calls holding a slot
        self.clips = 0  # ... of which AnimateClip calls

    def take(self, clip: bool) -> Slot | str:
        """A slot, or why there is none (the limit reached, for the client's message)."""
        lim = self.limits
        if self.sessions >= lim.max_sessions:
            return (
                f"the server is at its limit of {lim.max_sessions} concurrent sessions (Stream and "
                f"AnimateClip calls together, max_sessions); retry later"
            )
        if clip and self.clips >= lim.max_concurrent_clips:
            return (
                f"the server is at its limit of {lim.max_concurrent_clips} concurrent AnimateClip calls "
                f"(max_concurrent_clips); retry later, or stream the clip with Stream"
            )
        self.sessions += 1
        self.clips += clip
        return Slot(self, clip)

    def _free(self, slot: Slot) -> None:
        self.sessions -= 1
        self.clips -= slot.clip


class MessagePace:
    """A token bucket of `per_second` messages, refilled at `per_second` a second (0: no limit)."""

    def __init__(self, per_second: float, now: float) -> None:
        self.per_second = per_second
        self._left, self._then = max(1.0, per_second), now

    def delay(self, now: float) -> float:
        """Count one message; the seconds to wait before reading it (0.0: at once)."""
        if self.per_second <= 0:
            return 0.0
        self._left = min(max(1.0, self.per_second), self._left + (now - self._then) * self.per_second)
        self._then = now
        self._left -= 1.0
        return 0.0 if self._left >= 0 else -self._left / self.per_second


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
