"""Speech for measurements and checks (benchmarks, soak, ONNX parity) that no recording ships with.

espeak-ng reads a few fixed sentences at varied rates; without espeak-ng, a syllable-rate
modulated harmonic tone with noise stands in (the same cost for the model).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from artalk_service.audio.wav import load_wav_16k
from artalk_service.timebase import SAMPLE_RATE

SENTENCES = (
    "Please bring me the map of the big blue boat, we could move over the wide open water before the evening.",
    "The old lighthouse keeper told us stories about ships that never came back from the northern sea.",
    "Would you like some tea while we wait for the others to arrive from the village?",
)


def sample_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """`seconds` of 16 kHz speech: espeak-ng sentences when it is installed, else a
    syllable-rate modulated harmonic tone with noise (same cost for the model)."""
    if shutil.which("espeak-ng"):
        parts, total = [], 0
        with tempfile.TemporaryDirectory() as tmp:
            i = 0
            while total < seconds * SAMPLE_RATE:
                path = Path(tmp) / f"{i}.wav"
                subprocess.run(
                    [
                        "espeak-ng",
                        "-v",
                        "en-us",
                        "-s",
                        str(150 + 10 * (i % 3)),
                        "-w",
                        str(path),
                        SENTENCES[(i + seed) % len(SENTENCES)],
                    ],
                    check=True,
                    capture_output=True,
                )
                audio = load_wav_16k(path)
                parts.append(audio)
                total += audio.size
                i += 1
        return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]
    rng = np.random.default_rng(seed)
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    voiced = sum(np.sin(2 * np.pi * 130 * h * t) / h for h in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return (0.2 * voiced + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
