"""Corpus generation: sample plans, shards, resumption and the manifest.

Each sample is made by data/sample.py from (seed, split, shard, index) alone, so the corpus
is the same whatever the number of workers or the order shards finish in, and a resumed
run continues the same corpus. Shards are written to a temporary name and renamed, the
JSON sidecar last, so a shard whose sidecar exists is complete; anything else is rewritten.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
import json
import multiprocessing
import os
from collections import Counter, defaultdict

import numpy as np
from tqdm import tqdm

from artalk_service.data.engines import (
    get_engine,
)
from artalk_service.data.phones import (
    PHONES,
)
from artalk_service.data.sample import CorpusConfig, SampleRecord, make_sample, voice_catalog
from artalk_service.data.styles import STYLES
from artalk_service.data.text import load_text_pool
from artalk_service.layout import ARKIT61
from artalk_service.timebase import SAMPLE_RATE

FORMAT = "artalk-corpus/1"
_GUESS_SAMPLE_S = 5.0  # first estimate of a sample's length, to size the first shards


# --- shards ----------------------------------------------------------------------------------


def shard_stem(split: str, shard: int) -> str:
    return f"{split}-{shard:05d}"


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)


def write_shard(out_dir: str, split: str, shard: int, records: list[SampleRecord]) -> dict:
    """Write <stem>.npz then <stem>.json atomically; returns the sidecar's summary."""
    stem = os.path.join(out_dir, shard_stem(split, shard))
    arrays = {
        "audio": _to_int16(np.concatenate([r.audio for r in records])),
        "audio_clean": _to_int16(np.concatenate([r.audio_clean for r in records])),
        "audio_offsets": np.cumsum([0] + [len(r.audio) for r in records]).astype(np.int64),
        "motion": np.concatenate([r.motion for r in records]).astype(np.float32),
        "phones": np.concatenate([r.phones for r in records]).astype(np.int16),
        "frame_offsets": np.cumsum([0] + [len(r.phones) for r in records]).astype(np.int64),
    }
    with open(stem + ".npz.tmp", "wb") as f:
        np.savez(f, **arrays)
    os.replace(stem + ".npz.tmp", stem + ".npz")
    sidecar = {
        "split": split,
        "shard": shard,
        "num_samples": len(records),
        "hours": sum(r.meta["seconds"] for r in records) / 3600,
        "samples": [r.meta for r in records],
    }
    with open(stem + ".json.tmp", "w") as f:
        json.dump(sidecar, f)
    os.replace(stem + ".json.tmp", stem + ".json")
    return sidecar


def read_sidecar(out_dir: str, split: str, shard: int) -> dict | None:
    """The shard's sidecar if the shard is complete, else None."""
    stem = os.path.join(out_dir, shard_stem(split, shard))
    if not (os.path.exists(stem + ".json") and os.path.exists(stem + ".npz")):
        return None
    with open(stem + ".json") as f:
        return json.load(f)


def generate_shard(config: CorpusConfig, out_dir: str, split: str, shard: int) -> dict:
    catalog = voice_catalog(config)
    records = [make_sample(config, catalog, split, shard, i) for i in range(config.shard_size)]
    sidecar = write_shard(out_dir, split, shard, records)
    return {k: sidecar[k] for k in ("shard", "num_samples", "hours")}


# --- a whole split ---------------------------------------------------------------------------


def _shards_needed(hours: dict[int, float], target: float) -> int | None:
    """Smallest K such that shards 0..K-1 are all done and reach target hours."""
    total = 0.0
    for k in range(len(hours) + 1):
        if total >= target:
            return k
        if k not in hours:
            return None
        total += hours[k]
    return None


def _existing_shards(out_dir: str, split: str) -> dict[int, float]:
    """Hours of each complete shard already on disk (any order, gaps allowed)."""
    hours: dict[int, float] = {}
    for name in os.listdir(out_dir):
        if name.startswith(split + "-") and name.endswith(".json"):
            shard = int(name[len(split) + 1 : -len(".json")])
            if (sidecar := read_sidecar(out_dir, split, shard)) is not None:
                hours[shard] = sidecar["hours"]
    return hours


def _run_split(
    config: CorpusConfig,
    out_dir: str,
    split: str,
    target: float,
    pool: cf.Executor | None,
    workers: int,
) -> list[dict]:
    """Generate shards 0, 1, ... until they add up to target hours; returns their summaries."""
    hours = _existing_shards(out_dir, split)
    bar = tqdm(total=round(target * 3600), unit="s", unit_scale=True, desc=f"{split} audio")
    progress = lambda h: bar.update(min(round(h * 3600), bar.total - bar.n))  # noqa: E731
    progress(sum(hours.values()))
    todo = (k for k in itertools.count() if k not in hours)
    pending: dict[cf.Future, int] = {}
    while (needed := _shards_needed(hours, target)) is None:
        if pool is None:
            shard = next(todo)
            hours[shard] = generate_shard(config, out_dir, split, shard)["hours"]
            progress(hours[shard])
            continue
        # keep every worker busy, but stop queueing once the queue should reach the target
        mean = np.mean(list(hours.values())) if hours else config.shard_size * _GUESS_SAMPLE_S / 3600
        while len(pending) < 2 * workers and (not pending or sum(hours.values()) + mean * len(pending) < target):
            shard = next(todo)
            pending[pool.submit(generate_shard, config, out_dir, split, shard)] = shard
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for future in done:
            shard = pending.pop(future)
            hours[shard] = future.result()["hours"]
            progress(hours[shard])
    for future in pending:  # overshoot past the target: let them finish, then drop them
        future.result()
    bar.close()
    _remove_shards_from(out_dir, split, needed)
    return [{"file": shard_stem(split, s) + ".npz", **_summary(read_sidecar(out_dir, split, s))} for s in range(needed)]


def _summary(sidecar: dict | None) -> dict:
    assert sidecar is not None
    return {"num_samples": sidecar["num_samples"], "hours": round(sidecar["hours"], 5)}


def _remove_shards_from(out_dir: str, split: str, first: int) -> None:
    for name in os.listdir(out_dir):
        if name.startswith(split + "-") and int(name[len(split) + 1 :].split(".")[0]) >= first:
            os.remove(os.path.join(out_dir, name))


# --- manifest --------------------------------------------------------------------------------


def engine_versions(config: CorpusConfig) -> dict[str, str]:
    """Each engine's version string, timing revision included: what a shard's labels depend on."""
    return {e: get_engine(e).version() for e in config.engines}


def _check_config(out_dir: str, config: CorpusConfig) -> None:
    """A directory holds one corpus: refuse to resume it with a different recipe, or with
    engines whose audio or phone timings may differ from those that made its shards."""
    manifest = os.path.join(out_dir, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            made = json.load(f).get("engines", {})
        now = engine_versions(config)
        if made != now:
            changed = sorted(e for e in set(made) | set(now) if made.get(e) != now.get(e))
            raise ValueError(
                f"{out_dir} was made by other engine versions ({', '.join(changed)}: "
                f"{[made.get(e) for e in changed]} now {[now.get(e) for e in changed]}); "
                "use a new --out directory"
            )
    path = os.path.join(out_dir, "corpus_config.json")
    if os.path.exists(path):
        with open(path) as f:
            if json.load(f) != config.to_dict():
                raise ValueError(f"{out_dir} holds a corpus made with another config; use a new --out directory")
    else:
        with open(path + ".tmp", "w") as f:
            json.dump(config.to_dict(), f, indent=1)
        os.replace(path + ".tmp", path)


def _split_stats(out_dir: str, split: str, shards: list[dict]) -> dict:
    by_voice, by_style, by_engine = Counter(), Counter(), Counter()
    phone_counts: Counter = Counter()
    for s in range(len(shards)):
        for meta in read_sidecar(out_dir, split, s)["samples"]:
            h = meta["seconds"] / 3600
            by_voice[meta["voice"]] += h
            by_style[meta["style"]] += h
            by_engine[meta["engine"]] += h
            phone_counts.update(p for p, _, _ in meta["segments"])
    rounded = lambda c: {k: round(v, 5) for k, v in sorted(c.items())}  # noqa: E731
    return {
        "hours": round(sum(s["hours"] for s in shards), 5),
        "num_samples": sum(s["num_samples"] for s in shards),
        "shards": shards,
        "hours_by_engine": rounded(by_engine),
        "hours_by_style": rounded(by_style),
        "hours_by_voice": rounded(by_voice),
        "phone_counts": {p: phone_counts.get(p, 0) for p in PHONES},
        "missing_phones": [p for p in PHONES if phone_counts.get(p, 0) == 0],
    }


def write_manifest(out_dir: str, config: CorpusConfig, splits: dict[str, list[dict]]) -> dict:
    catalog = voice_catalog(config)
    pool = load_text_pool()
    manifest = {
        "format": FORMAT,
        "layout": ARKIT61.name,
        "channels": list(ARKIT61.channels),
        "fps": ARKIT61.fps,
        "sample_rate": SAMPLE_RATE,
        "hop": SAMPLE_RATE // ARKIT61.fps,
        "phones": list(PHONES),
        "seed": config.seed,
        "config": config.to_dict(),
        "heldout_voices": list(config.heldout_voices),
        "voices": {split: {e: list(v) for e, v in engines.items()} for split, engines in catalog.items()},
        "engines": engine_versions(config),
        "styles": {name: dataclasses.asdict(s) for name, s in STYLES.items()},
        "text_source": pool.source,
        "text_sentences": pool.num_sentences,
        "splits": {split: _split_stats(out_dir, split, shards) for split, shards in splits.items()},
    }
    path = os.path.join(out_dir, "manifest.json")
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(path + ".tmp", path)
    return manifest


def generate(out_dir: str, hours: float, heldout_hours: float, config: CorpusConfig, workers: int = 2) -> dict:
    """Generate (or resume, or extend) a corpus; returns the manifest."""
    os.makedirs(out_dir, exist_ok=True)
    _check_config(out_dir, config)
    voice_catalog(config)  # fail fast on a bad held-out voice
    splits: dict[str, list[dict]] = defaultdict(list)
    if workers > 1:
        # spawn, not fork: espeak-ng and onnxruntime keep process-wide state
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(workers, mp_context=context) as pool:
            for split, target in (("train", hours), ("heldout", heldout_hours)):
                splits[split] = _run_split(config, out_dir, split, target, pool, workers)
    else:
        for split, target in (("train", hours), ("heldout", heldout_hours)):
            splits[split] = _run_split(config, out_dir, split, target, None, 1)
    return write_manifest(out_dir, config, dict(splits))
