"""Blinks: a seeded event process layered on each decoded window.

Blinks are events, not a function of the speech: the corpus draws them at random
(Poisson at the style's rate) plus, often, one as a phrase ends (blink_timing.py).
A greedy decoder predicts the likeliest lids, which is always "open", and the motion
autoencoder barely carries them (MODEL_CARD.md), so a stream draws its blinks itself with
the corpus's statistics and shape: Poisson blinks at the style's rate (saved with each
style preset in the checkpoint), and a blink with probability BOUNDARY_BLINK_P where the
audio falls silent for a phrase boundary (seen in the window's lookahead). One draw sequence
per stream, consumed window by window: the same seed and audio give the same blinks however
the audio was chunked.
"""

from __future__ import annotations

import math

import numpy as np

from ..blink_timing import (
    BLINK_AFTER_PEAK_S,
    BOUNDARY_BLINK_P,
    MIN_BLINK_GAP_S,
    PAUSE_MIN_S,
    blink_peak,
    blink_shape,
)
from ..layout import BLINK_CHANNELS, MotionLayout
from ..timebase import SAMPLE_RATE

SILENT_BELOW_DB = 30.0  # a frame this far below the loudest recent frame is silent ...
SILENCE_FLOOR_DB = -55.0  # ... and so is any frame this quiet (dBFS)
LEVEL_DECAY_DB_S = 3.0  # how fast the loudest-recent-frame reference forgets


class BlinkProcess:
    """One stream's blinks. layer() each window's frames in order, with the window's audio
    and lookahead."""

    def __init__(self, layout: MotionLayout, rate_per_min: float, seed: int):
        self.fps, self.rate = layout.fps, rate_per_min
        self.frame_samples = SAMPLE_RATE // layout.fps
        self.pause_frames = math.ceil(PAUSE_MIN_S * layout.fps)  # silence that ends a phrase
        self._blink = np.array(layout.indices(BLINK_CHANNELS))
        self._wide = np.array([i for i, c in enumerate(layout.channels) if c.startswith("EyeWide")])
        self._rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xB11C])
        self._next_s = self._rng.exponential(60 / rate_per_min)  # the next Poisson blink
        self._clock = 0  # frames layered so far
        self._blinks: list[tuple[float, float]] = []  # (peak s, depth), not yet over
        self._last_start = -math.inf
        self._reference_db = SILENCE_FLOOR_DB + SILENT_BELOW_DB
        self._was_voiced = False

    def _voiced(self, audio: np.ndarray, window_frames: int) -> np.ndarray:
        """Per frame of the window and its lookahead: is it speech? The loudness reference
        moves with the window's frames only (the lookahead's are the next window's)."""
        frames = audio.size // self.frame_samples
        rms = np.sqrt(np.mean(audio[: frames * self.frame_samples].reshape(frames, -1) ** 2, 1) + 1e-12)
        voiced = np.zeros(frames, bool)
        for f, level in enumerate(20 * np.log10(rms)):
            if f < window_frames:
                self._reference_db = max(level, self._reference_db - LEVEL_DECAY_DB_S / self.fps)
            voiced[f] = level > max(SILENCE_FLOOR_DB, self._reference_db - SILENT_BELOW_DB)
        return voiced

    def layer(self, frames_WC: np.ndarray, audio: np.ndarray) -> None:
        """Add the blinks of the next window to its frames (W, channels), in place.
        audio: the window's samples followed by its lookahead's."""
        W, start_s = len(frames_WC), self._clock / self.fps
        end_s = start_s + W / self.fps
        voiced = self._voiced(audio, W)
        starts = []
        while self._next_s < end_s:
            starts.append(self._next_s)
            self._next_s += self._rng.exponential(60 / self.rate)
        for f in range(W):  # a phrase ends at f: speech before, a pause long enough from f on
            before = voiced[f - 1] if f else self._was_voiced
            if before and len(voiced) >= f + self.pause_frames and not voiced[f : f + self.pause_frames].any():
                if self._rng.random() < BOUNDARY_BLINK_P:
                    starts.append(start_s + f / self.fps + 0.05)
        self._was_voiced = bool(voiced[W - 1])
        for s in sorted(starts):
            if s - self._last_start >= MIN_BLINK_GAP_S:
                self._blinks.append((blink_peak(s), self._rng.uniform(0.85, 1.0)))
                self._last_start = s
        times = (self._clock + np.arange(W) + 0.5) / self.fps
        curve = np.zeros(W)
        for peak, depth in self._blinks:
            curve = np.maximum(curve, blink_shape(times, peak, depth))
        self._blinks = [(p, d) for p, d in self._blinks if p + BLINK_AFTER_PEAK_S > end_s]
        frames_WC[:, self._blink] = np.clip(frames_WC[:, self._blink] + curve[:, None], 0, 1)
        frames_WC[:, self._wide] *= (1 - curve)[:, None]  # wide eyes close with the lids
        self._clock += W
