"""A tiny corpus end to end: generate, read back, determinism, resumption, inspection."""

import json
import math
import os
import shutil

import numpy as np
import pytest

from artalk_service.data.articulation import lip_gap
from artalk_service.data.cli import main
from artalk_service.data.corpus import generate, generate_shard
from artalk_service.data.dataset import iter_samples, load_manifest
from artalk_service.data.phones import PHONE_ID, PHONES, frame_times
from artalk_service.data.sample import CorpusConfig
from artalk_service.data.styles import STYLES

CONFIG = CorpusConfig(seed=5, shard_size=2)
HOURS, HELDOUT_HOURS = 0.005, 0.001  # ~18 s of train audio, ~4 s held out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("corpus"))
    generate(out, HOURS, HELDOUT_HOURS, CONFIG, workers=1)
    return out


def test_manifest_describes_the_corpus(corpus):
    m = load_manifest(corpus)
    assert m["layout"] == "arkit61" and m["fps"] == 25 and m["sample_rate"] == 16000
    assert m["phones"] == list(PHONES) and m["seed"] == 5
    assert m["heldout_voices"] == ["flite:rms", "flite:awb"]
    assert set(m["styles"]) == set(STYLES)
    assert set(m["engines"]) == {"espeak", "flite", "festival", "piper"}
    assert "fortunes" in m["text_source"]
    train = m["splits"]["train"]
    assert train["hours"] >= HOURS and m["splits"]["heldout"]["hours"] >= HELDOUT_HOURS
    # minimal: dropping the last shard would fall short of the target
    assert train["hours"] - train["shards"][-1]["hours"] < HOURS
    assert sum(s["num_samples"] for s in train["shards"]) == train["num_samples"]
    assert not set(m["voices"]["train"]["flite"]) & set(m["heldout_voices"])


def test_samples_follow_the_contract(corpus):
    samples = list(iter_samples(corpus, "train"))
    assert len(samples) == load_manifest(corpus)["splits"]["train"]["num_samples"]
    for s in samples:
        assert s.audio.dtype == np.float32 and s.audio.ndim == 1 and np.abs(s.audio).max() <= 1
        assert s.audio_clean.shape == s.audio.shape
        assert s.motion.shape == (math.ceil(len(s.audio) / 640), 61)
        assert s.motion.dtype == np.float32 and np.isfinite(s.motion).all()
        assert s.motion[:, :52].min() >= 0 and s.motion[:, :52].max() <= 1
        assert s.phones.shape == (len(s.motion),) and s.phones.dtype == np.int16
        assert 0 <= s.phones.min() and s.phones.max() < len(PHONES)
        assert s.style in STYLES and s.voice.startswith(s.engine + ":")
        assert s.voice not in ("flite:rms", "flite:awb") and s.text
        assert isinstance(s.augmentation, dict)
        assert s.segments[-1].end == pytest.approx(len(s.audio) / 16000, abs=1e-3)


def test_heldout_split_has_only_heldout_voices(corpus):
    voices = {s.voice for s in iter_samples(corpus, "heldout")}
    assert voices and voices <= {"flite:rms", "flite:awb"}


def test_mouth_seals_on_bilabials_in_generated_targets(corpus):
    checked = 0
    for s in iter_samples(corpus, "train"):
        gap, t = lip_gap(s.motion), frame_times(len(s.motion))
        for seg in s.segments:
            if seg.phone in ("p", "b", "m"):
                near = np.abs(t - seg.center) <= 0.5 / 25 + 1e-9
                assert gap[near].min() < 0.01, (s.sample_id, seg)
                checked += 1
    assert checked > 5


def test_frame_labels_match_segments(corpus):
    s = next(iter_samples(corpus, "train"))
    t = frame_times(len(s.phones))
    for seg in s.segments:  # (stored times are rounded to the microsecond)
        inside = (t >= seg.start + 1e-5) & (t < seg.end - 1e-5)
        assert (s.phones[inside] == PHONE_ID[seg.phone]).all()


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_deterministic_by_seed(corpus, tmp_path):
    generate_shard(CONFIG, str(tmp_path), "train", 0)
    again, first = (
        _arrays(tmp_path / "train-00000.npz"),
        _arrays(os.path.join(corpus, "train-00000.npz")),
    )
    for key in first:
        np.testing.assert_array_equal(again[key], first[key])
    other = tmp_path / "other"
    other.mkdir()
    generate_shard(CorpusConfig(seed=6, shard_size=2), str(other), "train", 0)
    assert not np.array_equal(_arrays(other / "train-00000.npz")["motion"][:50], first["motion"][:50])


def test_resume_skips_complete_shards_and_rewrites_partial_ones(corpus, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(corpus, copy)
    assert os.path.exists(os.path.join(copy, "train-00001.json"))
    os.remove(os.path.join(copy, "train-00001.json"))  # shard 1 was interrupted
    with open(os.path.join(copy, "train-00001.npz"), "wb") as f:
        f.write(b"half a file")
    mtime = os.path.getmtime(os.path.join(copy, "train-00000.npz"))
    generate(copy, HOURS, HELDOUT_HOURS, CONFIG, workers=1)
    assert os.path.getmtime(os.path.join(copy, "train-00000.npz")) == mtime  # skipped
    rewritten, original = (
        _arrays(os.path.join(copy, "train-00001.npz")),
        _arrays(os.path.join(corpus, "train-00001.npz")),
    )
    for key in original:
        np.testing.assert_array_equal(rewritten[key], original[key])
    with pytest.raises(ValueError, match="another config"):
        generate(copy, HOURS, HELDOUT_HOURS, CorpusConfig(seed=9, shard_size=2), workers=1)


def test_resume_refuses_shards_made_by_other_engine_versions(corpus, tmp_path):
    """A piper timing fix (or an engine upgrade) changes the targets of the same audio:
    old and new shards must not be mixed into one corpus."""
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["engines"]["piper"] = manifest["engines"]["piper"].replace("timing 2", "timing 1")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"other engine versions \(piper"):
        generate(str(copy), HOURS, HELDOUT_HOURS, CONFIG, workers=1)


def test_inspect_reports_and_plots(corpus, tmp_path, capsys):
    png = str(tmp_path / "sample.png")
    main(["inspect", corpus, "--png", png])
    out = capsys.readouterr().out
    assert "hours per style" in out and "phone coverage" in out and "flite:rms" in out
    assert os.path.getsize(png) > 10_000


def test_two_workers_make_the_same_corpus(corpus, tmp_path):
    out = str(tmp_path / "parallel")
    generate(out, HOURS, HELDOUT_HOURS, CONFIG, workers=2)
    assert load_manifest(out)["splits"] == load_manifest(corpus)["splits"]
    for shard in load_manifest(corpus)["splits"]["train"]["shards"]:
        mine, theirs = (
            _arrays(os.path.join(out, shard["file"])),
            _arrays(os.path.join(corpus, shard["file"])),
        )
        for key in theirs:
            np.testing.assert_array_equal(mine[key], theirs[key])
