"""Utterances in memory, cut into training windows exactly the way inference sees them.

An example is (utterance, window w). It provides three consecutive motion windows
[w-2, w-1, w] (zeros in normalised units before the utterance start: the same rest
pose inference starts from; the last frame repeated past its end), the audio context
of window w (`WindowConfig.audio_span`, silence outside the utterance, as a stream
sees it) and a style reference clip from another utterance of the same style.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from artalk_service.timebase import FRAME_SAMPLES, SAMPLE_RATE

from ..model.config import ModelConfig
from ..model.stream import utterance_samples


class Sample(Protocol):
    audio: np.ndarray  # (S,) float32 at 16 kHz
    motion: np.ndarray  # (T, channels) float32 at 25 fps, T = ceil(S / 640)
    phones: np.ndarray  # (T,) phone ids (data.phones.PHONES, 0 = silence) per motion frame
    style: str


class WindowCorpus:
    def __init__(
        self,
        samples: Iterable[Sample],
        config: ModelConfig,
        max_hours: float = float("inf"),
        frame_samples: int = FRAME_SAMPLES,
    ):
        self.config, self.frame_samples = config, frame_samples
        self.audio, self.motion, self.phones, self.styles = [], [], [], []
        seconds = 0.0
        for sample in samples:
            if seconds >= max_hours * 3600:
                break
            if len(sample.motion) != -(-len(sample.audio) // frame_samples):
                raise ValueError(f"motion has {len(sample.motion)} frames for {len(sample.audio)} samples")
            self.audio.append(np.asarray(sample.audio, np.float32))
            self.motion.append(np.asarray(sample.motion, np.float32))
            self.phones.append(np.asarray(sample.phones, np.int64))
            self.styles.append(sample.style)
            seconds += len(sample.audio) / SAMPLE_RATE
        if not self.audio:
            raise ValueError("no samples")
        self.hours = seconds / 3600
        W = config.window.frames
        self.examples = np.array([(u, w) for u, m in enumerate(self.motion) for w in range(-(-len(m) // W))])
        self.by_style: dict[str, list[int]] = defaultdict(list)
        for u, style in enumerate(self.styles):
            self.by_style[style].append(u)

    def __len__(self) -> int:
        return len(self.examples)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        return self.examples[rng.integers(0, len(self.examples), batch)]

    def motion_stats(self, std_floor: float) -> tuple[np.ndarray, np.ndarray]:
        allm = np.concatenate(self.motion)
        return allm.mean(0), np.maximum(allm.std(0), std_floor)

    def motion_windows(self, examples: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Normalised windows [w-2, w-1, w] -> (B, 3W, channels)."""
        W = self.config.window.frames
        out = np.zeros((len(examples), 3 * W, mean.size), np.float32)
        for b, (u, w) in enumerate(examples):
            m = (self.motion[u] - mean) / std
            frames = np.arange((w - 2) * W, (w + 1) * W)
            valid = frames >= 0
            out[b, valid] = m[np.minimum(frames[valid], len(m) - 1)]
        return out

    def audio_contexts(self, examples: np.ndarray) -> np.ndarray:
        """(B, context samples) speech encoder inputs."""
        return np.stack(
            [
                utterance_samples(self.audio[u], *self.config.window.audio_span(int(w), self.frame_samples))
                for u, w in examples
            ]
        )

    def phone_labels(self, examples: np.ndarray) -> np.ndarray:
        """(B, context_frames * 2) the phone of every 50 Hz speech feature frame of the
        audio contexts: each motion frame's phone, twice; silence outside the utterance."""
        out = np.zeros((len(examples), 2 * self.config.window.context_frames), np.int64)
        for b, (u, w) in enumerate(examples):
            first = self.config.window.audio_span(int(w), self.frame_samples)[0] // self.frame_samples
            frames = first + np.arange(out.shape[1]) // 2  # 2 feature frames per motion frame
            valid = (frames >= 0) & (frames < len(self.phones[u]))
            out[b, valid] = self.phones[u][frames[valid]]
        return out

    def style_clips(self, examples: np.ndarray, rng: np.random.Generator, frames: int) -> np.ndarray:
        """Raw reference clips (B, frames, channels), each from another utterance of the
        example's style when there is one, so that the clip cannot leak the target."""
        out = []
        for u, _ in examples:
            pool = [v for v in self.by_style[self.styles[u]] if v != u] or [u]
            m = self.motion[pool[rng.integers(len(pool))]]
            start = rng.integers(0, max(1, len(m) - frames + 1))
            clip = m[start : start + frames]
            out.append(np.concatenate([clip, np.repeat(clip[-1:], frames - len(clip), 0)]))
        return np.stack(out)

    def preset_clip(self, style: str) -> np.ndarray:
        """A style preset: the middle max_frames of the style's longest utterance."""
        u = max(self.by_style[style], key=lambda v: len(self.motion[v]))
        m, n = self.motion[u], self.config.style.max_frames
        start = max(0, (len(m) - n) // 2)
        return m[start : start + n].copy()
