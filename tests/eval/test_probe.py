"""The front-end probe: its scoring on known tracks, and a run end to end on a tiny corpus."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from artalk_service.data.corpus import generate
from artalk_service.data.phones import PhoneSegment
from artalk_service.data.sample import CorpusConfig
from artalk_service.eval.probe import detection, main
from artalk_service.model import ModelConfig, MotionModel


def test_detection_counts_peaks_within_the_tolerance_and_false_positives():
    clip = SimpleNamespace(
        segments=(
            PhoneSegment("sil", 0.0, 0.2),
            PhoneSegment("m", 0.2, 0.3),
            PhoneSegment("aa", 0.3, 0.5),
            PhoneSegment("p", 0.5, 0.6),
            PhoneSegment("iy", 0.6, 0.8),
        )
    )
    track = np.zeros(40)
    track[9] = 0.9  # 0.19 s: 10 ms before the m, inside the 20 ms tolerance
    track[35] = 0.9  # 0.71 s: inside the iy, a false positive; the p is missed
    report = detection([track], [clip])
    assert report["by_phone"]["m"] == 1.0 and report["by_phone"]["p"] == 0.0
    assert report["detection"] == 0.5 and report["bilabials"] == 2
    assert report["false_pos"] == 0.5  # aa clean, iy fired


@pytest.mark.timeout(300)
def test_probe_runs_end_to_end_on_a_tiny_corpus(tmp_path):
    corpus = str(tmp_path / "corpus")
    generate(corpus, 0.003, 0.002, CorpusConfig(seed=5, shard_size=4), workers=1)
    path = tmp_path / "m.safetensors"
    MotionModel.untrained(ModelConfig.tiny()).save(path)
    main(
        [
            "--model",
            str(path),
            "--data",
            corpus,
            "--windows",
            "16",
            "--steps",
            "3",
            "--clips",
            "2",
            "--out",
            str(tmp_path / "probe.json"),
        ]
    )
    report = json.loads((tmp_path / "probe.json").read_text())
    assert report["clips"] == 2 and report["bilabials"] > 0
    assert 0 <= report["detection"] <= 1 and 0 <= report["false_pos"] <= 1
