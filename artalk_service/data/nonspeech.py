"""Non-speech around an utterance: noise floors, distant babble, and the corpus targets of a
sample that starts with a stretch of it.

A stream often starts, or pauses, with seconds of nobody speaking: digital silence, a noise
floor, distant voices. The corpus's own utterances start with 0-0.3 s of silence, over which
the articulation model already anticipates the first phone. `with_lead_in` makes a sample
that starts with `seconds` of non-speech: the phones shifted, the leading pause lengthened,
and the whole motion made again by the corpus's motion model (`motion.build_motion`), so
the lips and jaw rest over the pause while the head drifts, the gaze moves and the lids blink
as they do in any pause. Training (`train.windows`) and the rest evaluation (`eval.rest`)
both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artalk_service.data import prosody
from artalk_service.data.motion import build_motion
from artalk_service.data.phones import SILENCE, PhoneSegment, frame_labels
from artalk_service.data.styles import get_style
from artalk_service.timebase import FRAME_SAMPLES, SAMPLE_RATE, num_frames

# The articulation model holds a silence's rest pose over its middle half only, so a long pause
# would leave rest a quarter of its length before the next phone. The lead-in is given to it as
# short silences end to end, then the utterance's own leading pause: the lips rest until the
# utterance's own onset, which opens them as the corpus's utterances do.
PAUSE_PIECE_S = 0.2
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f^exponent


def dbfs(audio: np.ndarray) -> float:
    """RMS level in dB relative to full scale (RMS 1); -inf for silence."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if audio.size else 0.0
    return 10 * np.log10(power) if power > 0 else -np.inf


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """n samples of white, pink or brown noise at RMS 1 (float32)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / max(n, 1))
    noise = np.fft.irfft(spec / freqs ** (NOISE_COLOURS[colour] / 2), n)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def babble(n: int, voices: list[np.ndarray], rng: np.random.Generator, talkers: int = 3) -> np.ndarray:
    """n samples of `talkers` overlapping voices, each its utterances end to end from a random
    start, at RMS 1 (float32): a room of people talking at once."""
    out = np.zeros(n, np.float64)
    for _ in range(talkers):
        parts, total = [], 0
        while total < n:
            v = voices[int(rng.integers(len(voices)))]
            v = v[int(rng.integers(max(1, v.size // 2))) :] if not parts else v
            parts.append(v)
            total += v.size
        talker = np.concatenate(parts)[:n]
        out += talker / (np.sqrt(np.mean(talker**2)) + 1e-12)
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


def speech_level_db(audio: np.ndarray, phones: np.ndarray) -> float:
    """dBFS of the frames under speech phones (all of it when there are none)."""
    frames = np.flatnonzero(phones > 0)
    if frames.size == 0:
        return dbfs(audio)
    mask = np.zeros(audio.size, bool)
    for f in frames:
        mask[f * FRAME_SAMPLES : (f + 1) * FRAME_SAMPLES] = True
    return dbfs(audio[mask])


@dataclass(frozen=True)
class NonSpeech:
    """What a stretch of non-speech sounds like; the same bed continues under the speech.

    kind: "silence" (digital zeros), "white"/"pink"/"brown" noise at `level_db` dBFS, or
    "babble" (other voices) at `level_db` below the speech."""

    kind: str
    level_db: float = -np.inf

    def bed(self, n: int, rng: np.random.Generator, voices: list[np.ndarray] | None = None) -> np.ndarray:
        """n samples of the bed at RMS 1 (zeros for silence)."""
        if self.kind == "silence":
            return np.zeros(n, np.float32)
        if self.kind == "babble":
            if not voices:
                raise ValueError("babble needs voices")
            return babble(n, voices, rng)
        return coloured_noise(n, self.kind, rng)

    def mix(
        self,
        lead_samples: int,
        speech: np.ndarray,
        speech_db: float,
        rng: np.random.Generator,
        voices: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """`lead_samples` of this non-speech, then `speech` with the same bed under it."""
        audio = np.concatenate([np.zeros(lead_samples, np.float32), speech.astype(np.float32)])
        if self.kind == "silence":
            return audio
        level = self.level_db if self.kind != "babble" else speech_db - self.level_db
        return (audio + self.bed(audio.size, rng, voices) * np.float32(10 ** (level / 20))).astype(np.float32)


@dataclass(frozen=True)
class LeadInSample:
    audio: np.ndarray  # (S,) float32 at 16 kHz: the non-speech, then the utterance
    motion: np.ndarray  # (T, 61) targets remade over the longer utterance
    phones: np.ndarray  # (T,) phone ids, silence over the lead-in
    segments: tuple[PhoneSegment, ...]
    lead_frames: int  # frames of non-speech before the utterance's own first frame


def shift_segments(segments: tuple[PhoneSegment, ...], seconds: float) -> tuple[PhoneSegment, ...]:
    """The phones `seconds` later, the leading pause (or a new one) reaching back to 0."""
    shifted = [PhoneSegment(s.phone, s.start + seconds, s.end + seconds) for s in segments]
    if shifted and shifted[0].phone == SILENCE:
        shifted[0] = PhoneSegment(SILENCE, 0.0, shifted[0].end)
    elif seconds > 0:
        shifted.insert(0, PhoneSegment(SILENCE, 0.0, seconds))
    return tuple(shifted)


def tiled_pause(seconds: float, piece: float = PAUSE_PIECE_S) -> tuple[PhoneSegment, ...]:
    """A pause [0, seconds) as consecutive silences of at most `piece` seconds."""
    count = max(1, int(np.ceil(seconds / piece - 1e-9)))
    edges = np.linspace(0.0, seconds, count + 1)
    return tuple(PhoneSegment(SILENCE, float(a), float(b)) for a, b in zip(edges[:-1], edges[1:]))


def with_lead_in(
    clean: np.ndarray,
    audio: np.ndarray,
    segments: tuple[PhoneSegment, ...],
    style: str,
    lead_frames: int,
    nonspeech: NonSpeech,
    rng: np.random.Generator,
    voices: list[np.ndarray] | None = None,
) -> LeadInSample:
    """A corpus sample (clean and augmented audio, its exact phones, its style) that starts
    with `lead_frames` frames of `nonspeech`; the targets are made again by the corpus's motion
    model over the longer utterance (prosody from the clean audio, as the corpus does)."""
    lead = lead_frames * FRAME_SAMPLES
    seconds = lead / SAMPLE_RATE
    segs = shift_segments(segments, seconds)  # one pause, as prosody and the labels see it
    own = tuple(PhoneSegment(s.phone, s.start + seconds, s.end + seconds) for s in segments)
    articulated = (tiled_pause(seconds) if lead else ()) + own
    clean_long = np.concatenate([np.zeros(lead, np.float32), clean.astype(np.float32)])
    num = num_frames(clean_long.size)
    motion = build_motion(articulated, prosody.analyse(clean_long, segs, num), get_style(style), rng)
    own_labels = frame_labels(segments, num_frames(audio.size))  # the corpus's labels, shifted whole frames
    phones = np.concatenate([np.zeros(lead_frames, own_labels.dtype), own_labels])
    speech_db = speech_level_db(audio, own_labels)
    mixed = nonspeech.mix(lead, audio, speech_db, rng, voices)
    return LeadInSample(np.clip(mixed, -1, 1), motion, phones, segs, lead_frames)
