"""One corpus sample: a voice, a style and a text drawn from a seeded generator, spoken by a
TTS engine, augmented, with its motion targets and per-frame phone labels.

A sample is fully determined by (seed, split, shard, index): its random generator is
seeded from those numbers alone (and the attempt, when a text must be redrawn).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from dataclasses import dataclass, field

import numpy as np
import soxr

from artalk_service.data import prosody
from artalk_service.data.augment import AugmentConfig, augment
from artalk_service.data.engines import (
    ENGINE_NAMES,
    SpeakingParams,
    Synthesis,
    TimingMismatch,
    get_engine,
)
from artalk_service.data.motion import build_motion
from artalk_service.data.phones import PhoneSegment, UnknownSymbol, frame_labels, snap_to_length
from artalk_service.data.styles import STYLES, StyleProfile
from artalk_service.data.text import load_text_pool
from artalk_service.timebase import SAMPLE_RATE, num_frames

SPLITS: dict[str, int] = {"train": 0, "heldout": 1}  # the number seeds each split's samples
# Whole voices never trained on: a clustergen US male and a Scottish male, both flite.
DEFAULT_HELDOUT_VOICES: tuple[str, ...] = ("flite:rms", "flite:awb")
_MAX_ATTEMPTS = 5  # texts tried per sample before giving up (timing mismatch, too long)
_MAX_SECONDS = 20.0


@dataclass(frozen=True)
class CorpusConfig:
    """Everything that decides the corpus's content (not how fast it is made)."""

    seed: int = 0
    shard_size: int = 20
    heldout_voices: tuple[str, ...] = DEFAULT_HELDOUT_VOICES
    engines: tuple[str, ...] = ENGINE_NAMES
    # share of samples per engine; piper's one neural voice is the most natural, espeak-ng
    # has by far the most voices, festival and flite add diphone/HTS/clustergen timbres
    engine_weights: tuple[float, ...] = (0.35, 0.2, 0.15, 0.3)
    rate_jitter: tuple[float, float] = (0.8, 1.25)  # on top of the style's tempo
    pitch_jitter_semitones: float = 3.0
    p_voice_perturb: float = 0.5  # resample speech by a factor: shifts pitch and formants
    voice_perturb: tuple[float, float] = (0.92, 1.08)
    p_clean: float = 0.15  # share of samples whose audio is not augmented at all
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass(frozen=True)
class SampleRecord:
    audio: np.ndarray  # (N,) float32, augmented
    audio_clean: np.ndarray  # (N,) float32
    motion: np.ndarray  # (T, 61) float32
    phones: np.ndarray  # (T,) int16
    meta: dict


def voice_catalog(config: CorpusConfig) -> dict[str, dict[str, tuple[str, ...]]]:
    """{split: {engine: voices}}; the held-out split has only the held-out voices."""
    catalog: dict[str, dict[str, tuple[str, ...]]] = {"train": {}, "heldout": {}}
    known = set()
    for name in config.engines:
        voices = tuple(f"{name}:{v}" for v in get_engine(name).voices())
        known.update(voices)
        catalog["train"][name] = tuple(v for v in voices if v not in config.heldout_voices)
        catalog["heldout"][name] = tuple(v for v in voices if v in config.heldout_voices)
    missing = set(config.heldout_voices) - known
    if missing:
        raise ValueError(f"held-out voices not available: {sorted(missing)}")
    return catalog


def _speaking_params(style: StyleProfile, config: CorpusConfig, rng: np.random.Generator) -> SpeakingParams:
    return SpeakingParams(
        rate=style.tempo * rng.uniform(*config.rate_jitter),
        pitch_semitones=style.pitch_semitones + rng.uniform(-1, 1) * config.pitch_jitter_semitones,
        pitch_range=style.pitch_range * rng.uniform(0.8, 1.2),
        volume=0.6 * 10 ** ((style.volume_db + rng.uniform(-4, 2)) / 20),
    )


def perturb_voice(synth: Synthesis, factor: float) -> tuple[np.ndarray, tuple[PhoneSegment, ...]]:
    """Play the speech `factor` times faster: pitch and formants rise by `factor`, and the
    phone times shrink by it exactly, so the timings stay known."""
    audio = soxr.resample(synth.audio, SAMPLE_RATE * factor, SAMPLE_RATE).astype(np.float32)
    segments = tuple(PhoneSegment(s.phone, s.start / factor, s.end / factor) for s in synth.segments)
    return audio, snap_to_length(segments, len(audio) / SAMPLE_RATE)


def make_sample(
    config: CorpusConfig,
    catalog: dict[str, dict[str, tuple[str, ...]]],
    split: str,
    shard: int,
    index: int,
) -> SampleRecord:
    last_error = ""
    for attempt in range(_MAX_ATTEMPTS):
        rng = np.random.default_rng([config.seed, SPLITS[split], shard, index, attempt])
        try:
            return _try_sample(config, catalog, split, shard, index, rng, attempt)
        except _REDRAW as error:
            last_error = str(error)
    raise RuntimeError(f"{split} shard {shard} sample {index}: gave up: {last_error}")


class _TooLong(ValueError):
    pass


# Failures that depend on the text: draw the sample again with the next attempt's seed.
_REDRAW = (TimingMismatch, UnknownSymbol, subprocess.CalledProcessError, _TooLong)


def _try_sample(
    config: CorpusConfig,
    catalog: dict[str, dict[str, tuple[str, ...]]],
    split: str,
    shard: int,
    index: int,
    rng: np.random.Generator,
    attempt: int,
) -> SampleRecord:
    engines = [e for e in config.engines if catalog[split][e]]
    weights = np.array([config.engine_weights[config.engines.index(e)] for e in engines])
    engine = engines[int(rng.choice(len(engines), p=weights / weights.sum()))]
    voice = catalog[split][engine][int(rng.integers(len(catalog[split][engine])))]
    style = STYLES[sorted(STYLES)[int(rng.integers(len(STYLES)))]]
    text = load_text_pool().utterance(rng)
    params = _speaking_params(style, config, rng)
    synth = get_engine(engine).synthesize(text, voice.split(":", 1)[1], params)
    audio, segments = synth.audio, synth.segments
    factor = 1.0
    if rng.random() < config.p_voice_perturb:
        factor = float(rng.uniform(*config.voice_perturb))
        audio, segments = perturb_voice(synth, factor)
    if len(audio) > _MAX_SECONDS * SAMPLE_RATE:
        raise _TooLong(f"{len(audio) / SAMPLE_RATE:.1f}s")
    num = num_frames(len(audio))
    pros = prosody.analyse(audio, segments, num)
    motion = build_motion(segments, pros, style, rng)
    noisy, applied = (audio, {}) if rng.random() < config.p_clean else augment(audio, rng, config.augment)
    meta = {
        "sample_id": f"{split}-{shard:05d}-{index:03d}",
        "split": split,
        "engine": engine,
        "voice": voice,
        "style": style.name,
        "text": text,
        "attempt": attempt,
        "speaking": dataclasses.asdict(params),
        "voice_perturb": round(factor, 4),
        "augmentation": applied,
        "timing_error_s": round(synth.timing_error_s, 4),
        "num_samples": len(audio),
        "num_frames": num,
        "seconds": len(audio) / SAMPLE_RATE,
        "accents": [[round(a.time, 3), round(a.strength, 3)] for a in pros.accents],
        "segments": [[s.phone, round(s.start, 6), round(s.end, 6)] for s in segments],
    }
    return SampleRecord(noisy, audio, motion, frame_labels(segments, num), meta)
