"""One streaming session: client audio in, time-coded retargeted frames out.

A Session owns the per-session state (audio ingest, the model's MotionStream,
frame-rate conversion, the utterance timeline). It never runs the model itself:
the Scheduler calls `model.run_windows` on the windows of many sessions at once.
All methods that touch the stream run on the scheduler's model thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from artalk_service.audio import AudioFormat, AudioIngest
from artalk_service.layout import BLINK_CHANNELS, HEAD_CHANNELS
from artalk_service.retarget import RetargetMap
from artalk_service.runtime.framerate import FrameRateConverter


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


@dataclass
class FrameBlock:
    """Consecutive output frames of one utterance."""

    utterance_index: int
    time_codes: np.ndarray  # (n,) seconds on the session timeline
    values: np.ndarray  # (n, output channels)
    native: np.ndarray  # (n, layout channels), interpolated like the values


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
            (() if settings.head_motion else HEAD_CHANNELS) + (() if settings.blinks else BLINK_CHANNELS))
        self.totals = SessionTotals()
        self._utterance = self._new_utterance(0, 0)
        # Smoothing memory spans utterances, as the face does.
        self._retarget_state = settings.retarget.new_state(settings.output_fps)

    # -- timeline
    def _new_utterance(self, index: int, start_sample: int) -> _Utterance:
        fps = self.model.layout.fps
        conv = FrameRateConverter(fps, self.settings.output_fps, self.model.layout.num_channels)
        return _Utterance(index, start_sample, conv)

    def time_of_sample(self, sample: int) -> float:
        return sample / self.settings.audio_format.sample_rate_hz

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
        self.totals.samples += received
        self._utterance.samples += received
        self.stream.push_audio(samples)
        return self.time_of_sample(start)

    def collect(self) -> FrameBlock | None:
        """Frames the model finished since the last call, converted and retargeted."""
        return self._convert(self._utterance.converter.push(self._post(self.stream.pop_frames())))

    def finish_utterance(self) -> tuple[FrameBlock | None, UtteranceEnd]:
        """Flush: finish the last window and emit exactly ceil(duration * fps) frames."""
        utt = self._utterance
        self.stream.push_audio(self._ingest.finish())
        frames = self._post(np.concatenate([self.stream.pop_frames(), self.stream.flush()]))
        idx, values = utt.converter.push(frames)
        total = -(-utt.samples * self.settings.output_fps // self.settings.audio_format.sample_rate_hz)
        tail_idx, tail_values = utt.converter.finish(total)
        block = self._convert((np.concatenate([idx, tail_idx]), np.concatenate([values, tail_values])))
        return block, self._end_utterance(cancelled=False)

    def cancel_utterance(self) -> UtteranceEnd:
        """Barge-in: drop pending audio and unfinished windows."""
        self.stream.cancel()
        self._ingest.reset()
        return self._end_utterance(cancelled=True)

    # -- helpers
    def _end_utterance(self, cancelled: bool) -> UtteranceEnd:
        utt = self._utterance
        end = UtteranceEnd(utt.index, self.time_of_sample(utt.start_sample),
                           self.time_of_sample(utt.start_sample + utt.samples), utt.frames_sent, cancelled)
        self.totals.utterances += 1
        self._utterance = self._new_utterance(utt.index + 1, utt.start_sample + utt.samples)
        return end

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
        times = self.time_of_sample(utt.start_sample) + idx / self.settings.output_fps
        return FrameBlock(utt.index, times, self.settings.retarget.apply(native, self._retarget_state), native)
