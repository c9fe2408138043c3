"""Prosodic events that drive the upper face and head: energy, pitch accents, pauses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artalk_service.blink_timing import PAUSE_MIN_S
from artalk_service.data.phones import SILENCE, VOWELS, PhoneSegment, frame_times
from artalk_service.timebase import FRAME_SAMPLES, SAMPLE_RATE

_HOP = FRAME_SAMPLES
_F0_MIN, _F0_MAX = 60.0, 400.0


@dataclass(frozen=True)
class Accent:
    time: float  # seconds, the accented vowel's centre
    strength: float  # 0..1


@dataclass(frozen=True)
class Prosody:
    """Per-frame loudness and the events the face reacts to."""

    energy: np.ndarray  # (T,) 0..1, loudness relative to the utterance's loudest frame
    accents: tuple[Accent, ...]
    pauses: tuple[tuple[float, float], ...]  # (start, end) of phrase-boundary silences
    speech_start: float
    speech_end: float

    @property
    def num_frames(self) -> int:
        return len(self.energy)


def frame_energy(audio: np.ndarray, num: int) -> np.ndarray:
    """Frame RMS on a 40 dB scale: 0 at -40 dB below the loudest frame, 1 at the loudest."""
    padded = np.pad(audio.astype(np.float64), (0, num * _HOP - len(audio)))
    rms = np.sqrt(np.mean(padded.reshape(num, _HOP) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms / (rms.max() + 1e-12))
    return np.clip(1 + db / 40, 0, 1).astype(np.float32)


def frame_f0(audio: np.ndarray, num: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Autocorrelation pitch per frame in Hz, 0 where unvoiced. Cheap and good enough to rank
    vowels by pitch; not a pitch tracker for anything finer."""
    win = 1024
    padded = np.pad(audio.astype(np.float64), (win // 2, num * _HOP + win))
    idx = np.arange(num)[:, None] * _HOP + np.arange(win)[None, :]
    frames = padded[idx] * np.hanning(win)
    spec = np.fft.rfft(frames, 2 * win)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :win]
    lo, hi = int(rate / _F0_MAX), int(rate / _F0_MIN)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    peak = ac[np.arange(num), lag] / (ac[:, 0] + 1e-12)
    return np.where(peak > 0.45, rate / lag, 0.0).astype(np.float32)


def find_accents(segments: tuple[PhoneSegment, ...], energy: np.ndarray, f0: np.ndarray) -> tuple[Accent, ...]:
    """Vowels that stand out in loudness and pitch from their neighbours within 0.4 s."""
    t = frame_times(len(energy))
    voiced = f0[f0 > 0]
    f0_ref = float(np.median(voiced)) if voiced.size else 1.0
    scored: list[tuple[float, float]] = []
    for s in segments:
        if s.phone not in VOWELS:
            continue
        sel = (t >= s.start) & (t < s.end)
        if not sel.any():
            sel = np.argmin(np.abs(t - s.center)) == np.arange(len(t))
        pitch = float(f0[sel].max()) / f0_ref if f0[sel].max() > 0 else 1.0
        score = float(energy[sel].mean()) + 2.0 * (pitch - 1.0) + 0.4 * min(s.duration / 0.15, 1.5)
        scored.append((s.center, score))
    if not scored:
        return ()
    scores = np.array([sc for _, sc in scored])
    z = (scores - scores.mean()) / (scores.std() + 1e-6)
    accents = []
    for i, (time, _) in enumerate(scored):
        near = [j for j, (u, _) in enumerate(scored) if abs(u - time) < 0.4]
        if z[i] > 0.3 and z[i] >= max(z[j] for j in near):
            accents.append(Accent(time, float(np.clip(0.4 + 0.3 * z[i], 0.2, 1.0))))
    return tuple(accents)


def find_pauses(segments: tuple[PhoneSegment, ...]) -> tuple[tuple[float, float], ...]:
    return tuple((s.start, s.end) for s in segments if s.phone == SILENCE and s.duration >= PAUSE_MIN_S)


def speech_span(segments: tuple[PhoneSegment, ...]) -> tuple[float, float]:
    speech = [s for s in segments if s.phone != SILENCE]
    if not speech:
        return 0.0, 0.0
    return speech[0].start, speech[-1].end


def analyse(audio: np.ndarray, segments: tuple[PhoneSegment, ...], num: int) -> Prosody:
    """Prosody of synthesised speech from its clean audio and exact phones."""
    energy = frame_energy(audio, num)
    accents = find_accents(segments, energy, frame_f0(audio, num))
    return Prosody(energy, accents, find_pauses(segments), *speech_span(segments))


def from_phones(segments: tuple[PhoneSegment, ...], accents: tuple[Accent, ...], num: int) -> Prosody:
    """Prosody without audio (reference clips): vowels loud, consonants softer, silence 0."""
    t = frame_times(num)
    energy = np.zeros(num, np.float32)
    for s in segments:
        level = 0.0 if s.phone == SILENCE else (0.9 if s.phone in VOWELS else 0.6)
        energy[(t >= s.start) & (t < s.end)] = level
    return Prosody(energy, accents, find_pauses(segments), *speech_span(segments))
