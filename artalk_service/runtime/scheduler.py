"""Cross-session dynamic batching: one model thread, earliest deadline first.

Every model operation runs on one dedicated thread. Sessions talk to it through a
`SessionHandle`: the gRPC handler queues commands (audio, flush, cancel, end) without
waiting, and reads events (echo, frames, utterance ends, errors) from the handle's outbox.
The model thread loops:

1. apply each session's queued commands in order (ingest is cheap; a flush makes the
   utterance's last windows ready and holds the session's later commands until they are done);
2. gather the sessions whose next window is ready, earliest deadline first, at most
   `max_batch`, and compute all of them in one `model.run_windows` call (one speech encoder
   pass and one transformer pass per scale for the whole batch);
3. hand each of those sessions its new frames (converted, retargeted) through its outbox;
4. emit idle frames for sessions that asked for them, at real-time pace.

A window's deadline is when its frames are due if the utterance plays from the moment its
first audio arrived: that arrival time + the audio time of the window's end (lookahead
included) + one window period. A client sending far ahead of real time (a TTS clip at once)
thus gets later deadlines for its later windows and never pushes a real-time session out of
a full batch, while a session that fell behind gets the earliest deadlines. When a client's
audio arrives slower than real time, its utterance's clock is held back by as much (as a
client's jitter buffer re-buffers): the server is not late for audio it has not got.

A frame is late when the model thread hands it out after its own deadline on that clock:
its time + the model's algorithmic latency (window + lookahead) + one window period of
compute (the same budget the window deadlines give). Late frames are reported to the
scheduler's observer (the server's metrics).

Faults stay in their session: when a batched model step raises, each session of the batch
is computed alone, and only a session whose own windows still fail is ended (a FAULT).

A session the runtime gives up on gets a `Failed` event naming the `FailureKind`; the runtime
says what happened, the server decides the status the client sees (server/status.py).

The model thread never waits for a client. Backpressure is per session and bounded, and
one bounded outbox holds every event kind (frames, echoed chunks, utterance ends):
- input: a handler stops reading the client's messages while more than
  `max_input_backlog_s` of its audio is accepted but not yet animated, or while its queued
  commands and unsent events together pass `max_unsent_events` (gRPC flow control then slows
  the client down): a flood of empty echoed chunks or of flushes waits in the transport;
- output: a session with more than `max_unsent_s` of frames, or `max_unsent_events`
  events, its client has not read is paused (no compute is spent on it);
  paused for longer than `stall_timeout_s`, it is ended (CLIENT_TOO_SLOW) and its state freed.
  The handle's `on_end` hook tells the event loop at once, so that the call can be ended even
  while its writer is stuck handing a response to a client that does not read.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from artalk_service.audio.formats import AudioFormatError
from artalk_service.runtime.session import FrameBlock, Session, UtteranceEnd

T = TypeVar("T")
log = logging.getLogger("artalk.scheduler")


@dataclass(frozen=True)
class SchedulerConfig:
    # windows per model step; 0 = by device: 8 on CPU, where larger batches no longer lower the
    # cost per window (measured) but lengthen every step, 64 on GPU
    max_batch: int = 0
    encode_ahead: int = 1  # speech-encode up to this many ready windows of one session per step
    max_input_backlog_s: float = 10.0  # audio accepted but not animated, per session, before reading pauses
    max_unsent_s: float = 10.0  # frames not read by the client, per session, before it is paused
    # events of any kind (frame batches, echoed chunks, utterance ends) not read by the client, per
    # session, before it is paused; the handler stops reading the client's messages at this bound too
    max_unsent_events: int = 512
    stall_timeout_s: float = 20.0  # paused that long: the session ends (CLIENT_TOO_SLOW)
    idle_lead_s: float = 0.1  # idle frames are sent this far ahead of the wall clock
    stats_window: int = 4096  # model steps kept for statistics


class SchedulerObserver:
    """Hooks the model thread calls (the server's metrics); these defaults ignore them."""

    def step(self, stats: StepStats) -> None:
        """A model step finished."""

    def frames_late(self, count: int) -> None:
        """`count` utterance frames were handed out after their deadline."""


@dataclass
class Echo:
    time_code: float
    data: bytes


@dataclass
class Done:
    """end_of_audio handled: every frame and utterance end is out."""


class FailureKind(enum.Enum):
    """Why the runtime gave up on a session."""

    BAD_AUDIO = enum.auto()  # the client's audio does not match its declared format
    CLIENT_TOO_SLOW = enum.auto()  # the client left its responses unread for stall_timeout_s
    SHUTTING_DOWN = enum.auto()  # the server ended every session to stop (end_all)
    FAULT = enum.auto()  # a model step or session operation raised: a bug or a device error


class Failed(Exception):
    """The session cannot go on (its last event); an exception, so that the call's handler can raise it."""

    def __init__(self, kind: FailureKind, message: str, error: BaseException | None = None) -> None:
        super().__init__(message)
        self.kind, self.error = kind, error  # error: what raised, for BAD_AUDIO and FAULT


@dataclass
class StepStats:
    batch: int
    seconds: float
    ended_at: float


class PlayoutClock:
    """The wall time at which an utterance's audio time 0 plays: its first audio's arrival,
    moved later whenever a chunk arrives later than real time after it."""

    def __init__(self) -> None:
        self.origin: float | None = None  # wall time of utterance time 0 (None: no audio yet)
        self._time0 = 0.0  # session time code of the utterance's first sample

    def heard(self, wall: float, time_code: float, first: bool) -> None:
        """A chunk whose first sample has `time_code` arrived at `wall`."""
        if first or self.origin is None:
            self.origin, self._time0 = wall, time_code
        else:
            self.origin = max(self.origin, wall - (time_code - self._time0))

    def late(self, time_codes, now: float, budget_s: float) -> int:
        """How many of these frames are later than their time + `budget_s`."""
        if self.origin is None:
            return 0
        return int((now > self.origin + (time_codes - self._time0) + budget_s).sum())


class SessionHandle:
    """One session as seen by both sides. Commands go in from the event loop, events come
    out to it; the handler reports each event it hands to gRPC (`sent`), so that the outbox
    stays bounded (see the module docstring)."""

    def __init__(self, scheduler: Scheduler, session: Session, loop: asyncio.AbstractEventLoop):
        self.scheduler, self.session, self.loop = scheduler, session, loop
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.commands: collections.deque = collections.deque()
        # Each counter is written by one thread only, so none can lose an update.
        self.produced = 0  # frames put in the outbox (model thread)
        self.written = 0  # frames handed to gRPC (event loop)
        self.emitted = 0  # events of any kind put in the outbox (model thread)
        self.events_sent = 0  # ... and handed to gRPC (event loop)
        self.queued_in = 0.0  # audio seconds queued (event loop)
        self.queued_out = 0.0  # ... and applied (model thread)
        self.backlog_s = 0.0  # audio seconds accepted but not yet animated (published by the model thread)
        self.closed = False
        self.dropped: set[int] = set()  # cancelled utterances (event loop side)
        self.pending_done = False
        self.failure: Failed | None = None  # set when the scheduler gave up on the session
        self.on_end: Callable[[Failed], None] | None = None  # called on the event loop when it does
        self.paused_since: float | None = None
        self.clock = PlayoutClock()  # of the current utterance (model thread)
        self.idle_wall0 = time.monotonic()  # wall time the current idle period began
        # Utterances the client began, as the event loop saw them: each flush and cancel is
        # answered by one UtteranceEnd, and so is a last utterance with audio at end_of_audio.
        self.utterances_closed = 0
        self.speaking = False  # audio queued since the last flush or cancel
        self.ended = False  # end_of_audio (or the client's half-close) queued
        fps = session.settings.output_fps
        self._max_unsent = max(1, int(scheduler.config.max_unsent_s * fps))
        self._max_events = max(1, scheduler.config.max_unsent_events)

    # ---- event loop side
    def push(self, data: bytes, seconds: float) -> None:
        self.queued_in += seconds
        self.speaking = self.speaking or bool(data)
        self._command("audio", data, seconds, time.monotonic())

    def flush(self) -> None:
        self._close_utterance()
        self._command("flush")

    def cancel(self) -> None:
        self._close_utterance()
        self._command("cancel")

    def _close_utterance(self) -> None:
        self.utterances_closed += 1
        self.speaking = False

    @property
    def utterances_begun(self) -> int:
        """UtteranceEnd events this session will have sent once its current utterance ends."""
        return self.utterances_closed + self.speaking

    def end(self) -> None:
        self.ended = True
        self._command("end")

    def input_backlog_s(self) -> float:
        return self.queued_in - self.queued_out + self.backlog_s

    def sent(self, event: Any) -> None:
        """The handler passed an event of the outbox to gRPC (or dropped it)."""
        paused = self.paused
        self.events_sent += 1
        if isinstance(event, FrameBlock):
            self.written += len(event.time_codes)
        if paused and not self.paused:
            self.scheduler._wake()  # it may compute again

    @property
    def unsent_events(self) -> int:
        return self.emitted - self.events_sent

    def input_room(self) -> bool:
        """Whether the handler may queue another client message (backpressure, input side)."""
        return self.closed or (
            self.input_backlog_s() <= self.scheduler.config.max_input_backlog_s
            and len(self.commands) + self.unsent_events < self._max_events
        )

    async def wait_for_input_room(self) -> None:
        """Backpressure: return once this session's unanimated audio is under its bound, and
        its queued commands and unsent events are under theirs (each command makes events)."""
        while not self.input_room():
            await asyncio.sleep(0.01)

    def close(self) -> None:
        """The call is over: forget the session (queued work is dropped)."""
        self.closed = True
        self.scheduler._remove(self)

    def _command(self, *command) -> None:
        if self.closed:  # the session is over: nothing would apply it
            return
        self.commands.append(command)
        self.scheduler._wake()

    # ---- model thread side
    @property
    def paused(self) -> bool:
        return self.produced - self.written > self._max_unsent or self.emitted - self.events_sent >= self._max_events

    def emit(self, event: Any) -> None:
        if isinstance(event, FrameBlock):
            self.produced += len(event.time_codes)
        self.emitted += 1
        try:
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, event)
        except RuntimeError:  # the event loop is closed: the server is gone
            self.closed = True

    def _ended(self) -> None:
        """Event loop: the scheduler gave up on this session (its Failed is in the outbox)."""
        if self.on_end is not None and self.failure is not None:
            self.on_end(self.failure)


class Scheduler:
    def __init__(
        self, model, config: SchedulerConfig = SchedulerConfig(), observer: SchedulerObserver = SchedulerObserver()
    ) -> None:
        self.model = model
        self.config = config
        self.observer = observer
        window_s = model.window_frames / model.layout.fps
        self._late_budget_s = model.latency_s + window_s  # see the module docstring
        self._handles: list[SessionHandle] = []
        self._calls: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._dirty = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.stats: collections.deque[StepStats] = collections.deque(maxlen=config.stats_window)

    @property
    def max_batch(self) -> int:
        if self.config.max_batch:
            return self.config.max_batch
        return 8 if self.model.device.type == "cpu" else 64

    # ------------------------------------------------------------ control
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="artalk-model", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    async def call(self, fn: Callable[..., T], *args) -> T:
        """Run `fn(*args)` on the model thread, between two model steps."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._calls.append((fn, args, loop, future))
        self._wake()
        return await future

    async def open(self, settings) -> SessionHandle:
        session = await self.call(Session, settings, self.model)
        handle = SessionHandle(self, session, asyncio.get_running_loop())
        with self._cond:
            self._handles.append(handle)
        self._wake()
        return handle

    @property
    def sessions(self) -> int:
        return len(self._handles)

    def _remove(self, handle: SessionHandle) -> None:
        with self._cond:
            if handle in self._handles:
                self._handles.remove(handle)

    def _wake(self) -> None:
        with self._cond:
            self._dirty = True
            self._cond.notify()

    # ------------------------------------------------------- model thread
    def _main(self) -> None:
        while True:
            with self._cond:
                if not (self._dirty or self._stopping):  # a timeout runs a pass: idle frames, stall checks
                    self._cond.wait(timeout=self._idle_wait())
                if self._stopping:
                    return
                self._dirty = False
                handles = list(self._handles)
            try:
                self._pass(handles)
            except Exception:  # noqa: BLE001 - a failed step is reported to its sessions; keep serving
                log.exception("model step failed")

    def _pass(self, handles: list[SessionHandle]) -> None:
        while self._calls:
            fn, args, loop, future = self._calls.popleft()
            try:
                result, error = fn(*args), None
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                result, error = None, err
            loop.call_soon_threadsafe(_resolve, future, result, error)
        now = time.monotonic()
        for h in handles:
            if not h.closed:
                self._apply(h, now)
        batch = self._pick([h for h in handles if not h.closed], now)
        if batch:
            self._step(batch)
            self._dirty = True  # more windows may be ready
        now = time.monotonic()
        for h in handles:
            if not h.closed:
                try:
                    self._idle(h, now)
                    self._check_stall(h, now)
                    h.backlog_s = h.session.stream.ready_windows() * self.model.window_frames / self.model.layout.fps
                except Exception as err:  # noqa: BLE001 - ends this session only
                    self._fail(h, err)

    def _apply(self, h: SessionHandle, now: float) -> None:
        """Apply queued commands in order; a flush in progress holds the rest."""
        s = h.session
        try:
            while h.commands and not s.ending:
                kind, *args = h.commands.popleft()
                if kind == "audio":
                    data, seconds, wall = args
                    h.queued_out += seconds
                    first = not s.utterance_has_audio
                    time_code = s.push_audio(data)
                    h.clock.heard(wall, time_code, first)
                    if s.settings.echo_audio:
                        h.emit(Echo(time_code, data))
                elif kind == "flush":
                    self._begin_finish(h)
                elif kind == "cancel":
                    h.emit(s.cancel_utterance())
                    h.idle_wall0 = now
                elif kind == "end":
                    h.pending_done = True
                    if s.utterance_has_audio:
                        self._begin_finish(h)
                    else:
                        h.emit(Done())
        except Exception as err:  # noqa: BLE001 - bad audio ends this session only
            self._fail(h, err)

    def _begin_finish(self, h: SessionHandle) -> None:
        self._emit_block(h, h.session.begin_finish())
        self._maybe_complete(h)

    def _maybe_complete(self, h: SessionHandle) -> None:
        s = h.session
        if s.ending and s.stream.end_complete:
            block, end = s.complete_finish()
            self._emit_block(h, block)
            h.emit(end)
            h.idle_wall0 = time.monotonic()
            if h.pending_done:
                h.emit(Done())
                h.pending_done = False

    def _deadline(self, h: SessionHandle, now: float) -> float:
        s = h.session
        window_s = self.model.window_frames / self.model.layout.fps
        if h.clock.origin is None:
            return now + window_s
        due = h.clock.origin + s.stream.next_window_end / self.model.sample_rate
        return due + window_s

    def _pick(self, handles: list[SessionHandle], now: float) -> list[SessionHandle]:
        ready = [h for h in handles if not h.paused and h.session.stream.has_ready_job]
        ready.sort(key=lambda h: self._deadline(h, now))
        return ready[: self.max_batch]

    def _step(self, batch: list[SessionHandle]) -> None:
        work = []
        for h in batch:
            try:  # may run the speech encoder (encode_ahead)
                work.append((h, h.session.stream.ready_jobs(self.config.encode_ahead)))
            except Exception as err:  # noqa: BLE001 - ends this session only
                self._fail(h, err)
        jobs = [job for _, session_jobs in work for job in session_jobs]
        t0 = time.perf_counter()
        try:
            self.model.run_windows(jobs)
        except Exception as err:  # noqa: BLE001 - find the session(s) at fault
            batch = self._isolate(work, err)
        else:
            stats = StepStats(len(jobs), time.perf_counter() - t0, time.monotonic())
            self.stats.append(stats)
            self.observer.step(stats)
            batch = [h for h, _ in work]
        for h in batch:
            try:
                self._emit_block(h, h.session.collect())
                self._maybe_complete(h)
            except Exception as err:  # noqa: BLE001
                self._fail(h, err)

    def _isolate(self, work: list[tuple[SessionHandle, list]], err: Exception) -> list[SessionHandle]:
        """A batched step raised: compute each session's windows alone and end only the
        sessions whose own windows fail. Returns the sessions that computed."""
        if len(work) == 1:
            self._fail(work[0][0], err)
            return []
        log.warning(
            "a model step of %d sessions failed (%s); computing each session alone to find the faulty one",
            len(work),
            type(err).__name__,
        )
        computed = []
        for h, jobs in work:
            try:
                self.model.run_windows(jobs)
            except Exception as own:  # noqa: BLE001 - this session's windows fail on their own
                self._fail(h, own)
            else:
                computed.append(h)
        return computed

    def _emit_block(self, h: SessionHandle, block: FrameBlock | None) -> None:
        if block is not None:
            if not block.idle:
                late = h.clock.late(block.time_codes, time.monotonic(), self._late_budget_s)
                if late:
                    self.observer.frames_late(late)
            h.emit(block)

    # ---- idle face
    def _idle_count(self, h: SessionHandle, now: float) -> int:
        s = h.session
        if h.closed or h.pending_done or h.commands or not s.idle or h.paused:
            return 0
        fps = s.settings.output_fps
        due = int((now - h.idle_wall0 + self.config.idle_lead_s) * fps) + 1
        return due - s._idle_sent

    def _idle(self, h: SessionHandle, now: float) -> None:
        count = self._idle_count(h, now)
        if count > 0:
            self._emit_block(h, h.session.idle_frames(count))

    def _idle_wait(self) -> float | None:
        """Seconds until the next idle frame of any session is due (None: no idle session)."""
        waits = [
            h.idle_wall0
            + h.session._idle_sent / h.session.settings.output_fps
            - self.config.idle_lead_s
            - time.monotonic()
            for h in self._handles
            if h.session.idle and not h.pending_done
        ]
        if any(h.paused for h in self._handles):
            waits.append(0.25)  # check stalled clients now and then
        return max(0.001, min(waits)) if waits else None

    # ---- failures
    def _check_stall(self, h: SessionHandle, now: float) -> None:
        if not h.paused:
            h.paused_since = None
        elif h.paused_since is None:
            h.paused_since = now
        elif now - h.paused_since > self.config.stall_timeout_s:
            unsent = (h.produced - h.written) / h.session.settings.output_fps
            self._end(
                h,
                Failed(
                    FailureKind.CLIENT_TOO_SLOW,
                    f"the client did not read its responses ({h.unsent_events} messages, {unsent:.1f} s of "
                    f"frames) for {self.config.stall_timeout_s:g} s; read the stream as fast as responses arrive",
                ),
            )

    def end_all(self, kind: FailureKind, message: str) -> None:
        """End every session, as `kind` (graceful shutdown; run it on the model thread)."""
        for h in list(self._handles):
            self._end(h, Failed(kind, message))

    def _fail(self, h: SessionHandle, err: Exception) -> None:
        """End a session whose operation raised `err`. Its traceback starts below the frame
        that caught it: that frame holds the handle, and the handle the failure (a cycle that
        only the garbage collector would free, with the session's state)."""
        kind = FailureKind.BAD_AUDIO if isinstance(err, AudioFormatError) else FailureKind.FAULT
        tb = err.__traceback__
        self._end(h, Failed(kind, str(err), err.with_traceback(tb.tb_next if tb is not None else None)))

    def _end(self, h: SessionHandle, failure: Failed) -> None:
        h.failure = failure
        h.emit(failure)
        h.commands.clear()
        h.closed = True
        self._remove(h)
        try:
            h.loop.call_soon_threadsafe(h._ended)
        except RuntimeError:  # the event loop is closed: the server is gone
            pass


def _resolve(future: asyncio.Future, result, error) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


__all__ = [
    "Scheduler",
    "SchedulerConfig",
    "SchedulerObserver",
    "SessionHandle",
    "PlayoutClock",
    "Echo",
    "Done",
    "Failed",
    "FailureKind",
    "UtteranceEnd",
    "StepStats",
]
