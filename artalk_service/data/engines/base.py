"""What every speech engine returns, and the checks shared by all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soxr

from artalk_service.data.phones import SILENCE, PhoneSegment, snap_to_length
from artalk_service.timebase import SAMPLE_RATE  # every engine's output is resampled to it

# An engine's phones must end within this of its audible audio (about one motion frame;
# some espeak-ng variants let a final question vowel ring on ~45 ms into the pause).
TIMING_TOLERANCE_S = 0.05
SILENT_RMS = 0.01  # 10 ms RMS below which audio counts as silence (about -40 dBFS)


@dataclass(frozen=True)
class SpeakingParams:
    """How to say it. Engines map these onto their own controls."""

    rate: float = 1.0  # tempo multiplier; >1 is faster
    pitch_semitones: float = 0.0  # shift of the voice's mean pitch
    pitch_range: float = 1.0  # multiplier on intonation range, where the engine has one
    volume: float = 1.0  # linear gain applied to the waveform


@dataclass(frozen=True)
class Synthesis:
    """Speech at 16 kHz with its phones, whose timeline spans exactly the audio."""

    audio: np.ndarray  # (N,) float32 in [-1, 1]
    segments: tuple[PhoneSegment, ...]
    timing_error_s: float  # see check_timing


class TimingMismatch(RuntimeError):
    """The engine's phone timings disagree with its own audio; the sample is unusable."""


class Engine(Protocol):
    name: str

    def version(self) -> str: ...

    def voices(self) -> tuple[str, ...]: ...

    def synthesize(self, text: str, voice: str, params: SpeakingParams) -> Synthesis: ...


def to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return audio


def finish(audio: np.ndarray, rate: int, segments: list[PhoneSegment], volume: float) -> Synthesis:
    """Resample, apply gain, check the timings against the audio and snap them to it."""
    audio = to_16k(audio, rate)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    audio = audio * (min(volume, 0.99 / peak) if peak > 0 else volume)  # gain, never clipping
    error = check_timing(segments, audio)
    duration = len(audio) / SAMPLE_RATE
    return Synthesis(audio.astype(np.float32), snap_to_length(tuple(segments), duration), error)


def check_timing(segments: list[PhoneSegment], audio: np.ndarray) -> float:
    """How far the engine's phones and its audio disagree at the end; raises past tolerance.

    The disagreement is the larger of: speech phones running past the audio, and audible
    sound (10 ms RMS above SILENT_RMS) after the last phone, pause included, ends. Silent
    padding is fine, and so is a final pause the audio cuts short (diphone voices stop
    halfway through their last pause diphone).
    """
    speech = [s for s in segments if s.phone != SILENCE]
    if not speech:
        raise TimingMismatch("engine reported no phones")
    duration = len(audio) / SAMPLE_RATE
    audible = last_audible_s(audio)
    error = max(speech[-1].end - duration, audible - segments[-1].end, 0.0)
    if error > TIMING_TOLERANCE_S:
        raise TimingMismatch(
            f"speech phones end at {speech[-1].end:.3f}s, all phones at "
            f"{segments[-1].end:.3f}s; audio lasts {duration:.3f}s, "
            f"audible until {audible:.3f}s"
        )
    return error


def last_audible_s(audio: np.ndarray) -> float:
    window = SAMPLE_RATE // 100
    if audio.size < window:
        return 0.0
    rms = np.sqrt(np.convolve(audio.astype(np.float64) ** 2, np.ones(window) / window, "same"))
    loud = np.flatnonzero(rms > SILENT_RMS)
    return float(loud[-1] + 1) / SAMPLE_RATE if loud.size else 0.0
