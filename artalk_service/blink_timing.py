"""Blink timing and shape, shared by the corpus targets, the model's blinks and the idle face.

One blink closes the lids in BLINK_CLOSE_S to a depth, holds BLINK_HOLD_S and opens in
BLINK_OPEN_S. Blinks come at a style's rate (Poisson) and, with BOUNDARY_BLINK_P, where a
phrase ends: a silence of at least PAUSE_MIN_S after speech.
"""

from __future__ import annotations

import numpy as np

from artalk_service.timebase import FPS

DEFAULT_BLINK_RATE = 17.0  # blinks per minute outside phrase ends, when a style names none
BOUNDARY_BLINK_P = 0.55  # chance of a blink when a phrase ends
PAUSE_MIN_S = 0.15  # a silence at least this long is a phrase boundary
MIN_BLINK_GAP_S = 0.45  # two blinks start at least this far apart
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.08, 0.04, 0.16
BLINK_AFTER_PEAK_S = BLINK_HOLD_S + BLINK_OPEN_S  # a blink is over this long after its peak


def blink_peak(start: float) -> float:
    """The closed-lid moment of a blink starting at `start` s: a frame centre ~80 ms later."""
    return float((np.round(start * FPS + 2) + 0.5) / FPS)


def blink_shape(times: np.ndarray, peak: float, depth: float) -> np.ndarray:
    """One blink: lids close in ~80 ms to `depth`, stay ~40 ms, open in ~160 ms."""
    d = times - peak
    closing = 0.5 * (1 + np.cos(np.pi * np.clip(-d / BLINK_CLOSE_S, 0, 1)))
    opening = 0.5 * (1 + np.cos(np.pi * np.clip((d - BLINK_HOLD_S) / BLINK_OPEN_S, 0, 1)))
    return depth * np.where(d < 0, closing, opening)
