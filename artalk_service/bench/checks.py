"""What every Stream call must satisfy, whatever its client did (fuzz, soak, isolation runs),
and a raw client that makes such calls.

- It ends with OK or a documented status, never INTERNAL or UNKNOWN, and a non-OK status
  says what was wrong.
- An OK call ends with a StreamStatus that counts every frame sent.
- Frames are never lost or reordered: time codes strictly increase over the call, and the
  frames of an utterance are start_time + i / fps for i = 0, 1, ... without gaps; a finished
  (not cancelled) utterance has exactly ceil(duration * fps) of them.
"""

from __future__ import annotations

import math
import os
import platform
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc

from artalk_service.api.artalk.v1 import animation_pb2 as pb

DOCUMENTED_CODES = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAVAILABLE,
    }
)
TIME_TOLERANCE_S = 1e-6
STREAM_METHOD = "/artalk.v1.Animation/Stream"


@dataclass
class CallOutcome:
    code: grpc.StatusCode
    details: str
    seconds: float
    responses: list[pb.StreamResponse] = field(default_factory=list)
    hung: bool = False  # still running at the client's deadline

    @property
    def frames(self) -> int:
        return sum(len(r.frames.frames) for r in self.responses if r.WhichOneof("message") == "frames")


def stream_call(
    channel: grpc.Channel,
    messages: Iterable[bytes],
    timeout: float,
    cancel_after: int | None = None,
    linger_s: float = 0.0,
    close_channel_after_s: float | None = None,
    pause_after: int | None = None,
    pause_s: float = 0.0,
) -> CallOutcome:
    """One Stream call sending `messages` as they are (serialized StreamRequests or any bytes);
    with `cancel_after`, the client cancels the call once it has that many responses, after
    not reading for `linger_s`; with `close_channel_after_s`, the channel (its connection)
    closes under the call that long after it began; with `pause_after`, the client reads
    nothing for `pause_s` once it has that many responses, then reads on to the end."""
    method = channel.stream_stream(STREAM_METHOD)  # no serializers: bytes both ways
    start = time.perf_counter()
    call = method(iter(messages), timeout=timeout)
    if close_channel_after_s is not None:
        threading.Timer(close_channel_after_s, channel.close).start()
    responses = []
    try:
        for raw in call:
            responses.append(pb.StreamResponse.FromString(raw))
            if pause_after is not None and len(responses) == pause_after:
                time.sleep(pause_s)
            if cancel_after is not None and len(responses) >= cancel_after:
                time.sleep(linger_s)
                call.cancel()
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as err:
        code, details = err.code(), err.details() or ""
    seconds = time.perf_counter() - start
    hung = code is grpc.StatusCode.DEADLINE_EXCEEDED and seconds >= 0.99 * timeout
    return CallOutcome(code, details, seconds, responses, hung)


def run_context() -> dict:
    """The machine a run's figures come from."""
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(), "loadavg_at_end": os.getloadavg()}


def call_problems(outcome: CallOutcome, client_cancelled: bool = False) -> list[str]:
    """Everything wrong with one call (empty: nothing)."""
    problems = []
    if outcome.hung:
        problems.append(f"no answer within {outcome.seconds:.1f} s (hang)")
    elif outcome.code not in DOCUMENTED_CODES:
        problems.append(f"undocumented status {outcome.code.name}: {outcome.details}")
    elif outcome.code is not grpc.StatusCode.OK and not outcome.details and not client_cancelled:
        problems.append(f"status {outcome.code.name} without a message")
    if outcome.code is grpc.StatusCode.OK and not client_cancelled:
        last = outcome.responses[-1] if outcome.responses else None
        if last is None or last.WhichOneof("message") != "status":
            problems.append("an OK call did not end with a StreamStatus")
        elif last.status.frames_sent != outcome.frames:
            problems.append(f"StreamStatus counts {last.status.frames_sent} frames, {outcome.frames} were received")
    return problems + timeline_problems(outcome.responses)


def timeline_problems(responses: list[pb.StreamResponse]) -> list[str]:
    """Lost, repeated or reordered frames in one call's responses (empty: none)."""
    problems: list[str] = []
    fps = next((r.started.fps for r in responses if r.WhichOneof("message") == "started"), 0)
    last = -math.inf
    open_utterances: dict[int, list[float]] = {}  # utterance index -> time codes of its frames so far
    for r in responses:
        kind = r.WhichOneof("message")
        if kind == "frames":
            if not fps:
                problems.append("frames before SessionStarted")
                return problems
            for frame in r.frames.frames:
                if frame.time_code <= last:
                    problems.append(f"time code {frame.time_code:.6f} after {last:.6f}")
                last = frame.time_code
                if not r.frames.idle:
                    open_utterances.setdefault(r.frames.utterance_index, []).append(frame.time_code)
        elif kind == "utterance_finished":
            end = r.utterance_finished
            codes = open_utterances.pop(end.utterance_index, [])
            problems += _utterance_problems(end, codes, fps)
    for index, codes in open_utterances.items():  # the call ended inside an utterance
        steps = [b - a for a, b in zip(codes, codes[1:])]
        if any(abs(step - 1 / fps) > TIME_TOLERANCE_S for step in steps):
            problems.append(f"utterance {index} (unfinished): frames not 1/{fps} s apart")
    return problems


def _utterance_problems(end: pb.UtteranceFinished, codes: list[float], fps: int) -> list[str]:
    problems = []
    name = f"utterance {end.utterance_index}"
    if len(codes) != end.frame_count:
        problems.append(f"{name}: {len(codes)} frames received, UtteranceFinished says {end.frame_count}")
    for i, code in enumerate(codes):
        if abs(code - (end.start_time + i / fps)) > TIME_TOLERANCE_S:
            problems.append(
                f"{name}: frame {i} at {code:.6f}, expected {end.start_time + i / fps:.6f} "
                f"(start {end.start_time:.6f} + {i}/{fps})"
            )
            break
    if not end.cancelled:
        expected = math.ceil(round((end.end_time - end.start_time) * fps, 6))
        if len(codes) != expected:
            problems.append(
                f"{name}: {len(codes)} frames for {end.end_time - end.start_time:.6f} s at {fps} fps, "
                f"expected {expected}"
            )
    return problems


__all__ = ["DOCUMENTED_CODES", "CallOutcome", "stream_call", "call_problems", "run_context", "timeline_problems"]
