"""Blinks, brows, head motion and gaze, driven by prosody and a style.

Rotation conventions (radians): positive yaw turns the head or eyes toward the
character's own left; positive pitch turns them down (chin down, looking down); positive
roll tilts the head toward the character's left shoulder. Eye rotations are relative to
the head.
"""

from __future__ import annotations

import numpy as np

from artalk_service.blink_timing import BOUNDARY_BLINK_P, MIN_BLINK_GAP_S, blink_peak, blink_shape
from artalk_service.data.phones import frame_times
from artalk_service.data.prosody import Prosody
from artalk_service.data.styles import StyleProfile
from artalk_service.layout import ARKIT61
from artalk_service.timebase import FPS


def smooth_noise(rng: np.random.Generator, num: int, timescale_s: float) -> np.ndarray:
    """(num,) zero-mean, unit-variance noise that wanders over about timescale_s."""
    pad = int(4 * timescale_s * FPS) + 1
    white = rng.standard_normal(num + 2 * pad)
    sigma = max(timescale_s * FPS / 2, 0.5)
    k = np.arange(-pad, pad + 1)
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    out = np.convolve(white, kernel / np.sqrt(np.sum(kernel**2)), "same")[pad : pad + num]
    return out


def _pulse(times: np.ndarray, at: float, rise: float, fall: float) -> np.ndarray:
    """0 -> 1 at `at` (cosine rise over `rise` s) -> 0 (exponential fall with `fall` s)."""
    d = times - at
    up = 0.5 * (1 + np.cos(np.pi * np.clip(-d / rise, 0, 1)))
    return np.where(d < 0, up, np.exp(-d / fall))


# --- blinks --------------------------------------------------------------------------------


def blink_times(prosody: Prosody, style: StyleProfile, rng: np.random.Generator, duration: float) -> list[float]:
    """Poisson blinks at the style's rate, plus likely blinks as each phrase ends."""
    events = [float(t) for t in np.cumsum(rng.exponential(60 / style.blink_rate, 64)) if t < duration]
    events += [start + 0.05 for start, _ in prosody.pauses if start > 0.2 and rng.random() < BOUNDARY_BLINK_P]
    kept: list[float] = []
    for t in sorted(events):
        if not kept or t - kept[-1] >= MIN_BLINK_GAP_S:
            kept.append(t)
    return kept


def blink_curve(times: np.ndarray, starts: list[float], rng: np.random.Generator) -> np.ndarray:
    """The blinks starting at `starts`, each of a random depth."""
    curve = np.zeros_like(times)
    for start in starts:
        curve = np.maximum(curve, blink_shape(times, blink_peak(start), rng.uniform(0.85, 1.0)))
    return curve


# --- brows -----------------------------------------------------------------------------------


def accent_curve(times: np.ndarray, prosody: Prosody, lead_s: float, fall_s: float) -> np.ndarray:
    """Sum of pulses peaking lead_s before each accent, scaled by its strength."""
    curve = np.zeros_like(times)
    for a in prosody.accents:
        curve += a.strength * _pulse(times, a.time - lead_s, 0.12, fall_s)
    return np.clip(curve, 0, 1.5)


# --- head ------------------------------------------------------------------------------------


def head_rotation(times: np.ndarray, prosody: Prosody, style: StyleProfile, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) yaw, pitch, roll: idle drift + accent nods + phrase-level turns + end nods."""
    num = len(times)
    amp, speed = style.head_amplitude, style.head_speed
    drift = np.stack([smooth_noise(rng, num, 1.5 / speed) * s for s in (0.05, 0.03, 0.015)], 1)
    energy = np.convolve(prosody.energy, np.ones(5) / 5, "same")
    rot = amp * drift
    # a nod (chin down then back) slightly ahead of each pitch accent
    nods = np.zeros(num)
    for a in prosody.accents:
        size = rng.uniform(0.025, 0.06) * a.strength
        nods += size * _pulse(times, a.time - 0.06, 0.1, 0.18)
    rot[:, 1] += amp * nods
    # each phrase turns and tilts the head a little toward a new pose, held while speaking
    starts = [prosody.speech_start] + [end for _, end in prosody.pauses if end < times[-1]]
    pose = np.zeros((num, 3))
    for start in starts:
        target = rng.normal(0, [0.05, 0.02, 0.02])
        ramp = np.clip((times - start + 0.1) / 0.4, 0, 1)
        ramp = 0.5 - 0.5 * np.cos(np.pi * ramp)
        pose = pose * (1 - ramp[:, None]) + target[None, :] * ramp[:, None]
    rot += amp * pose * (0.4 + 0.6 * energy[:, None])
    # phrase ends: a small settling nod
    for start, _ in prosody.pauses:
        rot[:, 1] += amp * 0.025 * _pulse(times, start, 0.15, 0.3)
    rot[:, 1] += style.head_pitch_bias
    return rot


# --- gaze ------------------------------------------------------------------------------------


def gaze_targets(times: np.ndarray, style: StyleProfile, rng: np.random.Generator) -> np.ndarray:
    """(T, 2) yaw, pitch of where the eyes look, as fixations joined by one-frame saccades."""
    gaze = np.zeros((len(times), 2))
    t, current = 0.0, np.zeros(2)
    while t < times[-1] + 1 / FPS:
        if rng.random() < style.gaze_aversion:  # look away, more often down and aside
            current = np.array([rng.choice([-1, 1]) * rng.uniform(0.12, 0.3), rng.uniform(-0.05, 0.2)])
        else:  # small saccades around the listener's face
            current = rng.normal(0, [0.04, 0.025])
        hold = rng.uniform(0.25, 1.6)
        gaze[(times >= t) & (times < t + hold)] = current
        t += hold
    return gaze


def eye_rotation(gaze: np.ndarray, head: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 6) left yaw/pitch/roll, right yaw/pitch/roll relative to the head.

    The eyes counter-rotate against most of the head's motion (vestibulo-ocular reflex),
    so the gaze stays on its target while the head nods and turns.
    """
    yaw = gaze[:, 0] - 0.8 * head[:, 0]
    pitch = gaze[:, 1] - 0.8 * head[:, 1]
    vergence = rng.uniform(0.01, 0.03)  # both eyes turn slightly toward the nose
    zero = np.zeros_like(yaw)
    return np.stack([yaw - vergence, pitch, zero, yaw + vergence, pitch, zero], 1)


def eye_look_shapes(eyes: np.ndarray, out: np.ndarray) -> None:
    """EyeLook* blendshapes consistent with the eye rotations (full weight at 0.5 rad)."""
    idx = ARKIT61.index
    for side, col in (("Left", 0), ("Right", 3)):
        yaw, pitch = eyes[:, col] / 0.5, eyes[:, col + 1] / 0.5
        toward_left = np.clip(yaw, 0, 1)
        toward_right = np.clip(-yaw, 0, 1)
        # looking to the character's left is "out" for the left eye, "in" for the right eye
        out[:, idx(f"EyeLookOut{side}")] = toward_left if side == "Left" else toward_right
        out[:, idx(f"EyeLookIn{side}")] = toward_right if side == "Left" else toward_left
        out[:, idx(f"EyeLookDown{side}")] = np.clip(pitch, 0, 1)
        out[:, idx(f"EyeLookUp{side}")] = np.clip(-pitch, 0, 1)


def upper_face(prosody: Prosody, style: StyleProfile, rng: np.random.Generator, out: np.ndarray) -> None:
    """Write blinks, brows, eyes, head and gaze channels into out (T, 61)."""
    idx = ARKIT61.index
    times = frame_times(prosody.num_frames)
    duration = prosody.num_frames / FPS
    head = head_rotation(times, prosody, style, rng)
    eyes = eye_rotation(gaze_targets(times, style, rng), head, rng)
    blink = blink_curve(times, blink_times(prosody, style, rng, duration), rng)
    lid_drop = 0.3 * np.clip(eyes[:, 1] / 0.3, 0, 1)  # lids follow a downward gaze
    accents = accent_curve(times, prosody, lead_s=0.05, fall_s=0.35)
    mood = 0.8 + 0.2 * np.tanh(smooth_noise(rng, len(times), 2.0))
    raise_ = style.brow_activity * 0.35 * accents * (1 - min(style.brow_down * 2, 1))
    lower = style.brow_activity * 0.25 * accents * min(style.brow_down * 2, 1)
    skew = 0.08 * smooth_noise(rng, len(times), 3.0)
    for side, sign in (("Left", 1), ("Right", -1)):
        k = 1 + sign * skew
        out[:, idx(f"EyeBlink{side}")] = np.clip(blink + lid_drop, 0, 1)
        out[:, idx(f"EyeSquint{side}")] = style.squint * mood * k
        out[:, idx(f"EyeWide{side}")] = style.eye_wide * (0.5 * mood + 0.5 * accents) * k * (1 - blink)
        out[:, idx(f"BrowOuterUp{side}")] = (0.8 * raise_ + 0.5 * style.brow_raise * mood) * k
        out[:, idx(f"BrowDown{side}")] = (style.brow_down * mood + lower) * k
    out[:, idx("BrowInnerUp")] = raise_ + style.brow_raise * mood
    eye_look_shapes(eyes, out)
    out[:, idx("HeadYaw") : idx("HeadRoll") + 1] = head
    out[:, idx("LeftEyeYaw") : idx("RightEyeRoll") + 1] = eyes
