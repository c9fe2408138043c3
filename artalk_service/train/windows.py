"""Utterances in memory, cut into training windows exactly the way inference sees them.

An example is (utterance, window w). It provides three consecutive motion windows
[w-2, w-1, w] (the rest pose before the utterance start, `ARTalk.rest_motion`: what
inference starts from; the last frame repeated past its end), the audio context
of window w (`WindowConfig.audio_span`, silence outside the utterance, as a stream
sees it) and a style reference clip from another utterance of the same style.

With a `LeadIn`, a share of the utterances start with 0.4-5 s of non-speech (digital
silence, a noise floor, distant babble of other utterances; the bed continues under the
speech) and their targets are made again over it (`data.nonspeech.with_lead_in`): lips and
jaw at rest, head, gaze and lids idling. The corpus's own utterances start with at most
0.3 s of silence, so without it no window teaches what to do before anybody speaks.
Which utterances, and their non-speech, depend only on the seed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from artalk_service.timebase import FRAME_SAMPLES, SAMPLE_RATE

from ..data.nonspeech import NOISE_COLOURS, NonSpeech, speech_level_db, with_lead_in
from ..model.config import ModelConfig
from ..model.stream import utterance_samples


class Sample(Protocol):
    audio: np.ndarray  # (S,) float32 at 16 kHz
    motion: np.ndarray  # (T, channels) float32 at 25 fps, T = ceil(S / 640)
    phones: np.ndarray  # (T,) phone ids (data.phones.PHONES, 0 = silence) per motion frame
    style: str


@dataclass(frozen=True)
class LeadIn:
    """Utterances that start with non-speech (module docstring)."""

    share: float  # of the utterances
    seconds: tuple[float, float] = (0.4, 5.0)  # lead-in length, uniform
    kinds: tuple[float, float, float] = (0.25, 0.5, 0.25)  # P(digital silence), P(noise), P(babble)
    noise_dbfs: tuple[float, float] = (-90.0, -30.0)  # white / pink / brown noise level, uniform ...
    min_snr_db: float = 10.0  # ... but at least this far below the speech
    babble_db: tuple[float, float] = (10.0, 30.0)  # babble below the speech, uniform
    seed: int = 0

    def draw(self, rng: np.random.Generator, speech_db: float) -> tuple[float, NonSpeech]:
        seconds = float(rng.uniform(*self.seconds))
        kind = int(rng.choice(3, p=np.array(self.kinds) / sum(self.kinds)))
        if kind == 0:
            return seconds, NonSpeech("silence")
        if kind == 1:
            colour = str(rng.choice(sorted(NOISE_COLOURS)))
            return seconds, NonSpeech(colour, min(float(rng.uniform(*self.noise_dbfs)), speech_db - self.min_snr_db))
        return seconds, NonSpeech("babble", float(rng.uniform(*self.babble_db)))


class WindowCorpus:
    def __init__(
        self,
        samples: Iterable[Sample],
        config: ModelConfig,
        max_hours: float = float("inf"),
        frame_samples: int = FRAME_SAMPLES,
        lead_in: LeadIn | None = None,
    ):
        """lead_in: needs corpus samples (`data.dataset.Sample`: clean audio, phone segments)."""
        self.config, self.frame_samples = config, frame_samples
        self.audio, self.motion, self.phones, self.styles = [], [], [], []
        seconds, kept = 0.0, []
        for sample in samples:
            if seconds >= max_hours * 3600:
                break
            if len(sample.motion) != -(-len(sample.audio) // frame_samples):
                raise ValueError(f"motion has {len(sample.motion)} frames for {len(sample.audio)} samples")
            self.audio.append(np.asarray(sample.audio, np.float32))
            self.motion.append(np.asarray(sample.motion, np.float32))
            self.phones.append(np.asarray(sample.phones, np.int64))
            self.styles.append(sample.style)
            if lead_in is not None:
                kept.append(sample)
            seconds += len(sample.audio) / SAMPLE_RATE
        if not self.audio:
            raise ValueError("no samples")
        self.hours = seconds / 3600
        # style references and presets come from the utterances as the corpus made them
        self.own_motion = list(self.motion)
        self.lead_frames = np.zeros(len(self.audio), np.int64)
        if lead_in is not None and lead_in.share > 0:
            self._add_lead_ins(kept, lead_in)
        W = config.window.frames
        self.examples = np.array([(u, w) for u, m in enumerate(self.motion) for w in range(-(-len(m) // W))])
        self.by_style: dict[str, list[int]] = defaultdict(list)
        for u, style in enumerate(self.styles):
            self.by_style[style].append(u)

    def _add_lead_ins(self, samples: list, lead_in: LeadIn) -> None:
        rng = np.random.default_rng([lead_in.seed, 7001])
        chosen = np.flatnonzero(rng.random(len(samples)) < lead_in.share)
        voices = [np.asarray(s.audio_clean, np.float32) for s in samples]
        for u in chosen:
            s = samples[u]
            urng = np.random.default_rng([lead_in.seed, 7002, int(u)])
            secs, nonspeech = lead_in.draw(urng, speech_level_db(self.audio[u], self.phones[u]))
            others = None
            if nonspeech.kind == "babble" and len(voices) > 1:  # other utterances, from anywhere in the corpus
                pick = urng.choice(len(voices) - 1, size=min(24, len(voices) - 1), replace=False)
                others = [voices[i if i < u else i + 1] for i in pick]
            elif nonspeech.kind == "babble":
                nonspeech = NonSpeech("silence")
            frames = round(secs * SAMPLE_RATE / self.frame_samples)
            x = with_lead_in(s.audio_clean, self.audio[u], s.segments, s.style, frames, nonspeech, urng, others)
            self.audio[u], self.motion[u], self.phones[u] = x.audio, x.motion, x.phones.astype(np.int64)
            self.lead_frames[u] = x.lead_frames
        W = self.config.window.frames
        self.examples = np.array([(u, w) for u, m in enumerate(self.motion) for w in range(-(-len(m) // W))])

    def __len__(self) -> int:
        return len(self.examples)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        return self.examples[rng.integers(0, len(self.examples), batch)]

    def motion_stats(self, std_floor: float) -> tuple[np.ndarray, np.ndarray]:
        allm = np.concatenate(self.own_motion)
        return allm.mean(0), np.maximum(allm.std(0), std_floor)

    def motion_windows(self, examples: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Normalised windows [w-2, w-1, w] -> (B, 3W, channels)."""
        W = self.config.window.frames
        rest = -mean / std  # ARTalk.rest_motion: every blendshape and rotation 0
        out = np.broadcast_to(rest.astype(np.float32), (len(examples), 3 * W, mean.size)).copy()
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
            m = self.own_motion[pool[rng.integers(len(pool))]]
            start = rng.integers(0, max(1, len(m) - frames + 1))
            clip = m[start : start + frames]
            out.append(np.concatenate([clip, np.repeat(clip[-1:], frames - len(clip), 0)]))
        return np.stack(out)

    def preset_clip(self, style: str) -> np.ndarray:
        """A style preset: the middle max_frames of the style's longest utterance."""
        u = max(self.by_style[style], key=lambda v: len(self.own_motion[v]))
        m, n = self.own_motion[u], self.config.style.max_frames
        start = max(0, (len(m) - n) // 2)
        return m[start : start + n].copy()
