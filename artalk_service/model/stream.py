"""One session's stream (`MotionStream`) and the jobs it hands out (`WindowJob`).

A stream buffers audio and hands out one `WindowJob` at a time, as soon as the window's
audio and its lookahead have arrived. `MotionModel.run_windows` computes the ready
windows of many streams in one batched pass and hands each stream its frames.

Timeline of an utterance (W = window frames, L = lookahead frames, FRAME_SAMPLES = 640
samples a frame): window w covers frames [wW, wW + W) and is ready once
(wW + W + L) * 640 samples are in; its speech encoder context is the `context_frames` of
audio ending there (silence before the utterance start). flush() pads silence to finish
the last window and trims the output to ceil(samples / 640) frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .blinks import BlinkProcess

if TYPE_CHECKING:
    from .motion_model import MotionModel


@dataclass(frozen=True)
class StreamOptions:
    style: str | np.ndarray | None = None  # preset name, reference clip (frames, channels) at layout fps, or None
    seed: int = 0
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    guidance: float | None = None  # classifier-free guidance of the audio; None = the model's default


@dataclass(frozen=True, eq=False)
class WindowJob:
    """One window of one stream, ready to compute: everything it depends on, frozen."""

    stream: MotionStream
    utterance: int
    window: int
    audio: np.ndarray  # (context_frames * 640,) float32 speech encoder context
    prev_bits: torch.Tensor  # (N, D) bool codes of the window before
    ada: list[torch.Tensor] | None = None  # its conditions (ARTalk.conditions), if computed ahead


def utterance_samples(buffer: np.ndarray, start: int, end: int, buffer_start: int = 0) -> np.ndarray:
    """Utterance samples [start, end) from `buffer`, whose first sample is utterance sample
    `buffer_start`; silence outside it (float32)."""
    out = np.zeros(end - start, np.float32)
    lo, hi = max(start, buffer_start), min(end, buffer_start + buffer.size)
    if hi > lo:
        out[lo - start : hi - start] = buffer[lo - buffer_start : hi - buffer_start]
    return out


class MotionStream:
    """One session's stream. Not thread-safe; cheap to create."""

    def __init__(
        self,
        model: MotionModel,
        options: StreamOptions,
        style_C: torch.Tensor,
        initial_bits_ND: torch.Tensor,
        guidance: float = 1.0,
    ):
        self.model, self.options, self.style_C, self.guidance = model, options, style_C, guidance
        self._bits_ND = initial_bits_ND  # motion context: the previous window's codes
        self._blinks = BlinkProcess(model.layout, model.blink_rate(options.style), options.seed)
        self._utterance = 0
        self._new_utterance()

    def _new_utterance(self) -> None:
        self._window = 0  # next window to compute
        self._samples = 0  # samples pushed in this utterance
        self._audio = np.zeros(0, np.float32)  # buffered tail of the utterance audio ...
        self._audio_start = 0  # ... starting at this utterance sample
        self._frames: list[np.ndarray] = []  # completed, not yet popped
        self._ada: dict[int, list[torch.Tensor]] = {}  # conditions computed ahead, by window
        self._popped = 0  # frames popped in this utterance
        self._handed_out = False  # a job for the next window is out
        self._end: tuple[int, int] | None = None  # after end_audio(): (frames, windows) of the utterance

    def push_audio(self, samples_16k: np.ndarray) -> None:
        if self._end is not None and np.size(samples_16k):
            raise RuntimeError("audio pushed after end_audio(); close_utterance() first")
        samples = np.asarray(samples_16k)
        if not np.issubdtype(samples.dtype, np.floating):
            raise ValueError(f"audio must be float samples in [-1, 1], got {samples.dtype} (int16 PCM: / 32768)")
        samples = samples.astype(np.float32, copy=False)
        if samples.ndim != 1:
            raise ValueError(f"audio must be mono 1-D samples, got shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise ValueError("audio contains NaN or infinity")
        self._audio = np.concatenate([self._audio, samples])
        self._samples += samples.size

    def _window_end(self, window: int) -> int:
        return self.model.config.window.audio_span(window, self.model.frame_samples)[1]

    def _ready(self) -> bool:
        return self._samples >= self._window_end(self._window)

    def _window_audio(self, window: int, buffer: np.ndarray | None = None, buffer_start: int = 0) -> np.ndarray:
        """The window's speech encoder context, from the stream's audio (or `buffer`, whose
        first sample is utterance sample `buffer_start`)."""
        start, end = self.model.config.window.audio_span(window, self.model.frame_samples)
        return self._samples_between(start, end, buffer, buffer_start)

    def _samples_between(
        self, start: int, end: int, buffer: np.ndarray | None = None, buffer_start: int = 0
    ) -> np.ndarray:
        """Utterance samples [start, end), silence before the utterance."""
        if buffer is None:
            buffer, buffer_start = self._audio, self._audio_start
        return utterance_samples(buffer, start, end, buffer_start)

    def ready_windows(self) -> int:
        """How many windows, from the next one on, have all their audio."""
        fs, w = self.model.frame_samples, self.model.config.window
        if self._samples < self._window_end(self._window):
            return 0
        last = (self._samples // fs - w.frames - w.lookahead_frames) // w.frames  # last w with end <= samples
        return last - self._window + 1

    def _make_job(self, encode_ahead: int = 1) -> WindowJob:
        """The next window's job; with encode_ahead > 1 and more windows ready, their speech
        conditions are computed now in one batched pass and kept for their own jobs."""
        w = self._window
        if w not in self._ada and encode_ahead > 1:
            ahead = [v for v in range(w, w + min(encode_ahead, self.ready_windows())) if v not in self._ada]
            if len(ahead) > 1:
                ada = self.model.conditions([self._window_audio(v) for v in ahead])
                self._ada.update({v: [a[i] for a in ada] for i, v in enumerate(ahead)})
        return WindowJob(self, self._utterance, w, self._window_audio(w), self._bits_ND, self._ada.pop(w, None))

    def window_audio_reader(self) -> Callable[[int], np.ndarray]:
        """Reads windows' speech encoder contexts from the audio buffered now. Safe from another
        thread while windows commit: a commit replaces the buffer, never changes it in place."""
        buffer, buffer_start = self._audio, self._audio_start
        return lambda window: self._window_audio(window, buffer, buffer_start)

    def job_with_conditions(self, ada: list[torch.Tensor]) -> WindowJob:
        """The next window's job with its speech conditions computed elsewhere (its audio unused)."""
        return WindowJob(self, self._utterance, self._window, np.zeros(0, np.float32), self._bits_ND, ada)

    @property
    def utterance_windows(self) -> int:
        """After end_audio(): how many windows the utterance has."""
        if self._end is None:
            raise RuntimeError("utterance_windows is known only after end_audio()")
        return self._end[1]

    @property
    def motion_codes(self) -> torch.Tensor:
        """Codes (N, D) of the window computed last: the next window's motion context."""
        return self._bits_ND

    @property
    def has_ready_job(self) -> bool:
        """ready_jobs() would return a job."""
        return not self._handed_out and self._ready()

    @property
    def next_window_end(self) -> int:
        """Utterance samples the next window needs (its end, lookahead included)."""
        return self._window_end(self._window)

    def ready_jobs(self, encode_ahead: int | None = None) -> list[WindowJob]:
        """The next window if its audio is complete and it is not already handed out.
        `encode_ahead` (default: the model's) bounds how many ready windows' speech
        conditions are computed together with it."""
        if self._handed_out or not self._ready():
            return []
        self._handed_out = True
        return [self._make_job(self.model.encode_ahead if encode_ahead is None else encode_ahead)]

    def _commit(self, job: WindowJob, bits_ND: torch.Tensor, frames_WC: np.ndarray) -> None:
        if job.utterance != self._utterance or job.window != self._window:
            return  # stale: cancelled, flushed, or computed twice
        self._bits_ND, self._handed_out = bits_ND, False
        fs, W = self.model.frame_samples, self.model.window_frames
        end = self._window_end(job.window)  # the window's own audio and its lookahead
        self._blinks.layer(frames_WC, self._samples_between(job.window * W * fs, end))
        self._frames.append(frames_WC)
        self._window += 1
        # drop audio no later window's context reaches back to
        keep_from = self.model.config.window.audio_span(self._window, self.model.frame_samples)[0]
        drop = min(max(0, keep_from - self._audio_start), self._audio.size)
        self._audio, self._audio_start = self._audio[drop:], self._audio_start + drop

    def process(self) -> np.ndarray:
        """Run every ready window here (unbatched) and return the newly completed frames.
        A job already handed out by ready_jobs() is recomputed here; the stale copy is ignored."""
        while self._ready():
            self.model.run_windows([self._make_job(self.model.encode_ahead)])
        return self.pop_frames()

    def flush(self) -> np.ndarray:
        """End of utterance: finish it on padded silence and return its remaining frames, so that
        it has exactly ceil(samples / 640) frames. The next utterance keeps the motion context."""
        self.end_audio()
        self.run_to_end()
        return self.close_utterance()

    def run_to_end(self) -> None:
        """After end_audio(): compute the utterance's remaining windows here (unbatched)."""
        while not self.end_complete:
            self.model.run_windows([self._make_job(self.model.encode_ahead)])

    # The three steps of flush(), for a scheduler that runs the last windows batched:
    def end_audio(self) -> None:
        """No more audio in this utterance: pad silence so that its last window becomes ready.
        Frames past ceil(samples / 640) are never popped."""
        if self._end is not None:
            return
        fs, W = self.model.frame_samples, self.model.window_frames
        num_frames = -(-self._samples // fs)
        num_windows = -(-num_frames // W)
        if num_windows:
            self.push_audio(np.zeros(max(0, self._window_end(num_windows - 1) - self._samples), np.float32))
        self._end = (num_frames, num_windows)

    @property
    def ending(self) -> bool:
        return self._end is not None

    @property
    def end_complete(self) -> bool:
        """end_audio() was called and every window of the utterance is computed."""
        return self._end is not None and self._window >= self._end[1]

    def close_utterance(self) -> np.ndarray:
        """After end_complete: the utterance's remaining frames; the next utterance begins."""
        frames = self.pop_frames()
        self._utterance += 1
        self._new_utterance()
        return frames

    def cancel(self) -> None:
        """Barge-in: drop buffered audio, pending windows and unpopped frames; keep the motion context."""
        self._utterance += 1
        self._new_utterance()

    def pop_frames(self) -> np.ndarray:
        if not self._frames:
            return np.zeros((0, self.model.layout.num_channels), np.float32)
        frames = np.concatenate(self._frames)
        self._frames.clear()
        if self._end is not None:  # the padding's frames
            frames = frames[: max(0, self._end[0] - self._popped)]
        self._popped += len(frames)
        return frames
