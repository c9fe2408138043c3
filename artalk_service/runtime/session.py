"""One streaming session: client audio in, time-coded retargeted frames out.

A Session owns the per-session state (audio ingest, the model's MotionStream,
frame-rate conversion, the utterance timeline). It never runs the model itself:
the Scheduler calls `model.run_windows` on the windows of many sessions at once.
All methods that touch the stream run on the scheduler's model thread.

Timeline: time codes are seconds since the session's first audio sample, plus, for a
session with idle_motion, the idle time emitted before it: each idle period advances the
timeline so that the next utterance starts one frame period after the last idle frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artalk_service.audio import AudioFormat, AudioIngest
from artalk_service.layout import BLINK_CHANNELS, HEAD_CHANNELS
from artalk_service.retarget import RetargetMap
from artalk_service.retarget.framerate import FrameRateConverter
from artalk_service.runtime.idle import IdleFace


@dataclass(frozen=True)
class SessionSettings:
    """Everything a validated SessionConfig decides."""

    audio_format: AudioFormat
    output_fps: int
    retarget: RetargetMap
    style_name: str
    stream_options: object  # artalk_service.model.StreamOptions
    head_motion: bool = True
    blinks: bool = True
    session_id: str = ""
    character_id: str = ""
    include_native: bool = False
    echo_audio: bool = False
    idle_motion: bool = False


@dataclass
class FrameBlock:
    """Consecutive output frames of one utterance."""

    utterance_index: int
    time_codes: np.ndarray  # (n,) seconds on the session timeline
    values: np.ndarray  # (n, output channels)
    native: np.ndarray  # (n, layout channels), interpolated like the values
    idle: bool = False  # idle frames between utterances


@dataclass
class UtteranceEnd:
    utterance_index: int
    start_time: float
    end_time: float
    frame_count: int
    cancelled: bool


@dataclass
class _Utterance:
    index: int
    start_sample: int  # session timeline position of its first sample, at the client rate
    converter: FrameRateConverter
    start_time: float = 0.0  # its first sample's time code
    samples: int = 0  # client-rate samples received
    frames_sent: int = 0


@dataclass
class SessionTotals:
    frames_sent: int = 0
    samples: int = 0
    utterances: int = 0


class Session:
    def __init__(self, settings: SessionSettings, model) -> None:
        self.settings = settings
        self.model = model
        self.stream = model.open_stream(settings.stream_options)
        self._ingest = AudioIngest(settings.audio_format, model.sample_rate)
        self._muted = model.layout.indices(
            (() if settings.head_motion else HEAD_CHANNELS) + (() if settings.blinks else BLINK_CHANNELS)
        )
        self.totals = SessionTotals()
        self._offset = 0.0  # idle time inserted into the timeline so far
        self._utterance = self._new_utterance(0, 0)
        # Smoothing memory spans utterances, as the face does.
        self._retarget_state = settings.retarget.new_state(settings.output_fps)
        self._idle = IdleFace(model.layout, settings.stream_options.seed) if settings.idle_motion else None
        self._idle_sent = 0  # idle frames of the current idle period
        self._last_face = np.zeros(model.layout.num_channels, np.float32)
        self.ending = False  # a flush is in progress (begin_finish called, complete_finish not yet)

    # -- timeline
    def _new_utterance(self, index: int, start_sample: int) -> _Utterance:
        fps = self.model.layout.fps
        conv = FrameRateConverter(fps, self.settings.output_fps, self.model.layout.num_channels)
        return _Utterance(index, start_sample, conv, self.time_of_sample(start_sample))

    def time_of_sample(self, sample: int) -> float:
        return sample / self.settings.audio_format.sample_rate_hz + self._offset

    @property
    def utterance_has_audio(self) -> bool:
        return self._utterance.samples > 0

    @property
    def audio_seconds(self) -> float:
        return self.time_of_sample(self.totals.samples)

    # -- model-thread operations
    def push_audio(self, data: bytes) -> float:
        """Ingest a chunk; return the time code of its first sample."""
        start = self.totals.samples
        samples = self._ingest.push(data)
        received = self._ingest.samples_in - start
        if received:  # the utterance starts after the idle frames sent before it
            self._absorb_idle()
        self.totals.samples += received
        self._utterance.samples += received
        self.stream.push_audio(samples)
        return self.time_of_sample(start)

    def collect(self) -> FrameBlock | None:
        """Frames the model finished since the last call, converted and retargeted."""
        return self._convert(self._utterance.converter.push(self._post(self.stream.pop_frames())))

    def finish_utterance(self) -> tuple[FrameBlock | None, UtteranceEnd]:
        """Flush: finish the last window and emit exactly ceil(duration * fps) frames."""
        first = self.begin_finish()
        self.stream.run_to_end()
        block, end = self.complete_finish()
        if first is not None:
            block = (
                first
                if block is None
                else FrameBlock(
                    block.utterance_index,
                    np.concatenate([first.time_codes, block.time_codes]),
                    np.concatenate([first.values, block.values]),
                    np.concatenate([first.native, block.native]),
                )
            )
        return block, end

    def begin_finish(self) -> FrameBlock | None:
        """Flush, step 1: the utterance's audio ends here; its last windows become ready for
        the scheduler (step 2: run them; step 3: complete_finish()). Returns frames now due."""
        self.stream.push_audio(self._ingest.finish())
        self.stream.end_audio()
        self.ending = True
        return self.collect()

    def complete_finish(self) -> tuple[FrameBlock | None, UtteranceEnd]:
        """Flush, step 3 (stream.end_complete): the rest of the exactly ceil(duration * fps) frames."""
        utt = self._utterance
        frames = self._post(self.stream.close_utterance())
        self.ending = False
        idx, values = utt.converter.push(frames)
        total = -(-utt.samples * self.settings.output_fps // self.settings.audio_format.sample_rate_hz)
        tail_idx, tail_values = utt.converter.finish(total)
        block = self._convert((np.concatenate([idx, tail_idx]), np.concatenate([values, tail_values])))
        return block, self._end_utterance(cancelled=False)

    def cancel_utterance(self) -> UtteranceEnd:
        """Barge-in: drop pending audio and unfinished windows."""
        self.stream.cancel()
        self._ingest.reset()
        self.ending = False
        return self._end_utterance(cancelled=True)

    # -- idle face
    @property
    def idle(self) -> bool:
        """Opted in to idle motion and between utterances (no audio in the current one)."""
        return self._idle is not None and self._utterance.samples == 0 and not self.ending

    def idle_frames(self, count: int) -> FrameBlock | None:
        """The next `count` idle frames (only while `idle`)."""
        if not self.idle or count <= 0:
            return None
        fps = self.settings.output_fps
        t = (self._idle_sent + np.arange(count)) / fps
        native = self._post(self._idle.frames(t, self._last_face))
        times = self._utterance.start_time + t
        self._idle_sent += count
        self.totals.frames_sent += count
        return FrameBlock(
            self._utterance.index, times, self.settings.retarget.apply(native, self._retarget_state), native, idle=True
        )

    # -- helpers
    def _end_utterance(self, cancelled: bool) -> UtteranceEnd:
        utt = self._utterance
        end = UtteranceEnd(
            utt.index, utt.start_time, self.time_of_sample(utt.start_sample + utt.samples), utt.frames_sent, cancelled
        )
        self.totals.utterances += 1
        self._absorb_idle()
        self._utterance = self._new_utterance(utt.index + 1, utt.start_sample + utt.samples)
        return end

    def _absorb_idle(self) -> None:
        """Idle frames sent in the current (still empty) utterance advance the timeline."""
        if self._idle_sent:
            self._offset += self._idle_sent / self.settings.output_fps
            self._utterance.start_time = self.time_of_sample(self._utterance.start_sample)
            self._idle_sent = 0

    def _post(self, native: np.ndarray) -> np.ndarray:
        if self._muted and len(native):
            native = native.copy()
            native[:, self._muted] = 0.0
        return native

    def _convert(self, converted: tuple[np.ndarray, np.ndarray]) -> FrameBlock | None:
        idx, native = converted
        if len(idx) == 0:
            return None
        utt = self._utterance
        utt.frames_sent += len(idx)
        self.totals.frames_sent += len(idx)
        self._last_face = native[-1]
        times = utt.start_time + idx / self.settings.output_fps
        return FrameBlock(utt.index, times, self.settings.retarget.apply(native, self._retarget_state), native)
