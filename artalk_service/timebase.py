"""The service's one timebase: audio sample rate, motion frame rate, and the frame length.

Every audio path resamples to SAMPLE_RATE (the speech encoder's input rate); motion
layouts run at FPS. A motion frame covers FRAME_SAMPLES samples, so an utterance of S
samples has ceil(S / FRAME_SAMPLES) frames.
"""

from __future__ import annotations

SAMPLE_RATE = 16000  # Hz, audio everywhere inside the service
FPS = 25  # motion frames per second (the arkit61 layout's native rate)
FRAME_SAMPLES = SAMPLE_RATE // FPS  # 640 samples per motion frame
WHISPER_HZ = 50  # speech feature rows per second after Whisper's strided conv


def num_frames(num_samples: int) -> int:
    """Motion frames of an utterance of `num_samples` samples: ceil(samples / FRAME_SAMPLES)."""
    return -(-num_samples // FRAME_SAMPLES)
