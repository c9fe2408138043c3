"""flite (CMU), which prints each phone's end time with -psdur."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
import wave

import numpy as np

from artalk_service.data.engines.base import SpeakingParams, Synthesis, finish
from artalk_service.data.phones import PhoneSegment, cmu_to_phones, split_evenly

NAME = "flite"
# Debian's flite voices; awb_time is left out: a limited-domain voice that only tells the time.
VOICES: tuple[str, ...] = ("kal", "kal16", "awb", "rms", "slt")


class FliteEngine:
    name = NAME

    def version(self) -> str:
        return _version()

    def voices(self) -> tuple[str, ...]:
        return VOICES

    def synthesize(self, text: str, voice: str, params: SpeakingParams) -> Synthesis:
        with tempfile.TemporaryDirectory() as tmp:
            wav_path = os.path.join(tmp, "out.wav")
            out = subprocess.run(
                [
                    "flite",
                    "-voice",
                    voice,
                    "--setf",
                    f"duration_stretch={1.0 / params.rate:.4f}",
                    "-psdur",
                    "-t",
                    text,
                    "-o",
                    wav_path,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            audio, rate = read_wav(wav_path)
        return finish(audio, rate, parse_psdur(out.stdout), params.volume)


@functools.cache
def _version() -> str:
    # flite --version exits 1 after printing it
    out = subprocess.run(["flite", "--version"], capture_output=True, text=True, check=False)
    return next(w for w in out.stdout.split() if w.startswith("flite-"))


def parse_psdur(text: str) -> list[PhoneSegment]:
    """'pau:0.216 p:0.277 ...' (phone:end time) -> contiguous segments from 0."""
    segments: list[PhoneSegment] = []
    start = 0.0
    for item in text.split():
        name, _, end_s = item.rpartition(":")
        end = float(end_s)
        segments.extend(split_evenly(cmu_to_phones(name), start, end))
        start = end
    return segments


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """16-bit mono WAV -> float32 in [-1, 1] and its rate."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.astype(np.float32) / 32768.0, w.getframerate()
