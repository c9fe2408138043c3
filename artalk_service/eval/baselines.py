"""Baselines evaluated on the same clips as the model.

1. `energy_jaw`: the jaw follows the audio's loudness, what amplitude lip-flap plugins do.
2. `recognised_phones`: our articulation model (the one that makes the corpus targets)
   driven by the phones an offline recogniser (PocketSphinx, its bundled en-us acoustic
   model and phone language model) finds in the audio: a phone-recognition lip sync.
3. the targets themselves (the upper bound) need no code.

`align_phones` force-aligns a known transcript (for real recordings without targets);
`articulated_motion` turns phone segments into arkit61 lower-face motion.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ..data.articulation import articulate, mouth_to_arkit
from ..data.phones import PhoneSegment, UnknownSymbol, cmu_to_phones, merge_segments
from ..data.styles import STYLES
from ..layout import ARKIT61
from ..timebase import FRAME_SAMPLES as FRAME
from ..timebase import SAMPLE_RATE as RATE
from ..timebase import num_frames


def energy_jaw(
    audio: np.ndarray, gain: float = 0.4, range_db: float = 40.0, attack: float = 0.7, release: float = 0.35
) -> np.ndarray:
    """(T, 61): JawOpen from the frame RMS in dB, mapped from (peak - range_db .. peak) onto
    0..gain and smoothed causally (fast attack, slower release); everything else at rest."""
    T = num_frames(len(audio))
    padded = np.zeros(T * FRAME, np.float32)
    padded[: len(audio)] = audio
    level = 10 * np.log10(np.mean(padded.reshape(T, FRAME) ** 2, axis=1) + 1e-10)
    peak = np.percentile(level, 95)
    target = gain * np.clip((level - (peak - range_db)) / range_db, 0, 1)
    out, jaw = np.zeros((T, ARKIT61.num_channels), np.float32), 0.0
    for t, x in enumerate(target):
        jaw += (attack if x > jaw else release) * (x - jaw)
        out[t, ARKIT61.index("JawOpen")] = jaw
    return out


def articulated_motion(segments, num: int, style: str = "neutral") -> np.ndarray:
    """(num, 61) lower-face motion of the articulation model for phone segments; the rest at 0."""
    segments = tuple(PhoneSegment(*s) if not isinstance(s, PhoneSegment) else s for s in segments)
    profile = STYLES[style]
    out = np.zeros((num, ARKIT61.num_channels), np.float64)
    params = articulate(segments, num, profile)
    mouth_to_arkit(params, profile, np.zeros(num), np.full(num, 0.75), out)
    blend = len(ARKIT61.channels) - len(ARKIT61.rotation_channels)
    out[:, :blend] = np.clip(out[:, :blend], 0, 1)
    return out.astype(np.float32)


@functools.cache
def _model_dir() -> str:
    from pocketsphinx import get_model_path

    return get_model_path()


def _pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()


def _to_segments(items: list[tuple[str, int, int]], duration: float) -> tuple[PhoneSegment, ...]:
    """(CMU phone, first 10 ms frame, last frame inclusive) -> corpus phone segments."""
    segments = []
    for name, first, last in items:
        try:
            phones = cmu_to_phones(name)
        except UnknownSymbol:  # fillers and noise (+NSN+, +SPN+ ...) are silence
            phones = ("sil",)
        start, end = first / 100, min(duration, (last + 1) / 100)
        if end > start:
            step = (end - start) / len(phones)
            segments += [PhoneSegment(p, start + i * step, start + (i + 1) * step) for i, p in enumerate(phones)]
    return merge_segments(segments) if segments else (PhoneSegment("sil", 0.0, duration),)


def recognise_phones(audio: np.ndarray) -> tuple[PhoneSegment, ...]:
    """Phone recognition (no transcript): PocketSphinx allphone search with its phone LM."""
    from pocketsphinx import Decoder

    d = Decoder(
        hmm=os.path.join(_model_dir(), "en-us", "en-us"),
        allphone=os.path.join(_model_dir(), "en-us", "en-us-phone.lm.bin"),
        lw=2.0,
        beam=1e-20,
        pbeam=1e-20,
        loglevel="FATAL",
    )
    d.start_utt()
    d.process_raw(_pcm16(audio), full_utt=True)
    d.end_utt()
    return _to_segments([(s.word, s.start_frame, s.end_frame) for s in d.seg()], len(audio) / RATE)


class AlignmentError(ValueError):
    pass


def align_phones(audio: np.ndarray, text: str) -> tuple[PhoneSegment, ...]:
    """Forced alignment of a known transcript (PocketSphinx, CMUdict pronunciations)."""
    from pocketsphinx import Decoder

    d = Decoder(
        hmm=os.path.join(_model_dir(), "en-us", "en-us"),
        dict=os.path.join(_model_dir(), "en-us", "cmudict-en-us.dict"),
        loglevel="FATAL",
    )
    d.set_align_text(text.lower())
    pcm = _pcm16(audio)
    try:
        for i in range(2):  # word alignment, then phone alignment within the words
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            if i == 0:
                d.set_alignment()
    except RuntimeError as err:  # the search never reached the transcript's end
        raise AlignmentError(f"could not align {text!r} to the audio") from err
    items = [(p.name, p.start, p.start + p.duration - 1) for w in d.get_alignment() for p in w]
    return _to_segments(items, len(audio) / RATE)


def recognised_phones_motion(audio: np.ndarray) -> np.ndarray:
    return articulated_motion(recognise_phones(audio), num_frames(len(audio)))
