"""The idle face between utterances: blinks and small head and eye motion, no speech.

A pure function of time since the idle period began (plus a seed), so that a scheduler
can emit idle frames in blocks of any size at its own pace. It starts from the last
face of the utterance before and eases it to rest (mouth shut) within a few frames.
"""

from __future__ import annotations

import numpy as np

from artalk_service.blink_timing import BLINK_AFTER_PEAK_S, blink_shape
from artalk_service.layout import BLINK_CHANNELS, HEAD_CHANNELS, MotionLayout

EYE_CHANNELS = ("LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch")
EASE_S = 0.12  # time constant of the ease from the last spoken face to rest
BLINK_GAP_S = (2.0, 5.0)  # seconds between blinks, uniform
HEAD_AMPLITUDE = 0.025  # radians, per head axis
EYE_AMPLITUDE = 0.04  # radians


class IdleFace:
    def __init__(self, layout: MotionLayout, seed: int) -> None:
        self.layout = layout
        rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x1D1E])
        self._blink = np.array(layout.indices(BLINK_CHANNELS))
        self._head = np.array(layout.indices(HEAD_CHANNELS))
        self._eyes = np.array(layout.indices(EYE_CHANNELS))
        # three slow incommensurate sinusoids per axis: smooth, never periodic to the eye
        self._freq = rng.uniform(0.05, 0.35, (3, len(self._head)))
        self._phase = rng.uniform(0, 2 * np.pi, (3, len(self._head)))
        self._gaps = np.cumsum(rng.uniform(*BLINK_GAP_S, 4096))  # blink peaks from idle start
        self._gaze_times = np.cumsum(rng.uniform(0.8, 2.5, 4096))  # eye saccades
        self._gaze = rng.uniform(-EYE_AMPLITUDE, EYE_AMPLITUDE, (4097, 2))

    def frames(self, t_s: np.ndarray, last_face: np.ndarray) -> np.ndarray:
        """Native frames (len(t), channels) at `t_s` seconds since the idle period began."""
        t = np.asarray(t_s, np.float64)[:, None]
        out = (last_face[None, :] * np.exp(-t / EASE_S)).astype(np.float64)  # eased to rest (0)
        # blinks peak at the scheduled times (the first after 2 s), shaped as in speech
        peaks = self._gaps[np.searchsorted(self._gaps, t[:, 0] - BLINK_AFTER_PEAK_S).clip(0, len(self._gaps) - 1)]
        blink = blink_shape(t[:, 0], peaks, 1.0)
        out[:, self._blink] = np.maximum(out[:, self._blink], blink[:, None])
        rise = 1 - np.exp(-t / 0.5)  # motion fades in
        head = np.sin(2 * np.pi * self._freq[None] * t[:, :, None] + self._phase[None]).sum(1) / 3 * HEAD_AMPLITUDE
        out[:, self._head] += rise * head
        gaze = self._gaze[np.searchsorted(self._gaze_times, t[:, 0])]
        out[:, self._eyes] += rise * np.concatenate([gaze, gaze], axis=1)  # both eyes look together
        return out.astype(np.float32)
