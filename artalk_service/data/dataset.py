"""Reading a generated corpus: the manifest and its samples, shard by shard."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from artalk_service.data.phones import PhoneSegment


@dataclass(frozen=True)
class Sample:
    """One utterance. Motion and phones are per 25 fps frame: T = ceil(len(audio) / 640)."""

    audio: np.ndarray  # (N,) float32, 16 kHz, in [-1, 1], augmented (see `augmentation`)
    audio_clean: np.ndarray  # (N,) float32: the same speech before augmentation
    motion: np.ndarray  # (T, 61) float32, ARKIT61 order; same for clean and augmented audio
    phones: np.ndarray  # (T,) int16 ids into phones.PHONES (0 = silence)
    style: str
    voice: str  # "engine:voice", e.g. "espeak:en-us+Annie"
    engine: str
    augmentation: dict  # step name -> its parameters, in the order applied; {} = clean
    text: str
    sample_id: str
    segments: tuple[PhoneSegment, ...]  # exact phone times in seconds
    meta: dict  # everything else recorded (speaking params, voice perturbation, accents)


def load_manifest(directory: str) -> dict:
    with open(os.path.join(directory, "manifest.json")) as f:
        return json.load(f)


def iter_samples(directory: str, split: str = "train") -> Iterator[Sample]:
    """Samples of a split in corpus order ("train" or "heldout")."""
    manifest = load_manifest(directory)
    if split not in manifest["splits"]:
        raise ValueError(f"no split {split!r}; have {sorted(manifest['splits'])}")
    for shard in manifest["splits"][split]["shards"]:
        yield from iter_shard(os.path.join(directory, shard["file"]))


def iter_shard(npz_path: str) -> Iterator[Sample]:
    with open(npz_path.removesuffix(".npz") + ".json") as f:
        metas = json.load(f)["samples"]
    with np.load(npz_path) as data:
        arrays = {k: data[k] for k in data.files}
    a_off, f_off = arrays["audio_offsets"], arrays["frame_offsets"]
    for i, meta in enumerate(metas):
        audio = slice(a_off[i], a_off[i + 1])
        frames = slice(f_off[i], f_off[i + 1])
        yield Sample(
            audio=arrays["audio"][audio].astype(np.float32) / 32767,
            audio_clean=arrays["audio_clean"][audio].astype(np.float32) / 32767,
            motion=arrays["motion"][frames],
            phones=arrays["phones"][frames],
            style=meta["style"],
            voice=meta["voice"],
            engine=meta["engine"],
            augmentation=meta["augmentation"],
            text=meta["text"],
            sample_id=meta["sample_id"],
            segments=tuple(PhoneSegment(p, s, e) for p, s, e in meta["segments"]),
            meta=meta,
        )
