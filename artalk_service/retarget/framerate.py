"""Resample a stream of native-rate frames to any output rate by linear interpolation."""

from __future__ import annotations

import numpy as np


class FrameRateConverter:
    """Per-utterance converter from `native_fps` frames to `output_fps` frames.

    Native frame i sits at i / native_fps and output frame j at j / output_fps
    (both from the utterance start). An output frame is emitted as soon as both
    native frames around it exist, so conversion adds at most one native frame
    of delay. Integer arithmetic keeps the grid exact for any pair of rates.
    """

    def __init__(self, native_fps: int, output_fps: int, channels: int) -> None:
        self.native_fps = native_fps
        self.output_fps = output_fps
        self._window = np.zeros((0, channels), dtype=np.float32)  # native frames still needed
        self._base = 0  # native index of self._window[0]
        self.emitted = 0  # output frames emitted so far

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add native frames; return (output frame indices, values) now computable."""
        self._window = np.concatenate([self._window, frames.astype(np.float32, copy=False)])
        last = self._base + len(self._window) - 1
        # Output frame j needs native frame ceil(j * native / output) <= last.
        end = (last * self.output_fps) // self.native_fps + 1 if last >= 0 else 0
        return self._take(max(end, self.emitted))

    def finish(self, total_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Emit the rest up to exactly `total_frames`, holding the last native frame."""
        return self._take(max(total_frames, self.emitted))

    def _take(self, end: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(self.emitted, end)
        channels = self._window.shape[1]
        if len(self._window) == 0:
            self.emitted = end
            return idx, np.zeros((len(idx), channels), dtype=np.float32)
        last = len(self._window) - 1
        pos = idx * self.native_fps
        lo = np.minimum(pos // self.output_fps - self._base, last)
        hi = np.minimum(lo + 1, last)
        frac = ((pos % self.output_fps) / self.output_fps).astype(np.float32)[:, None]
        frac[lo == last] = 0.0
        values = self._window[lo] * (1 - frac) + self._window[hi] * frac
        self.emitted = end
        drop = min(
            (end * self.native_fps) // self.output_fps - self._base, last
        )  # keep the next frame's left neighbour
        if drop > 0:
            self._window, self._base = self._window[drop:], self._base + drop
        return idx, values
