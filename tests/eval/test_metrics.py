"""Metrics and baselines on curves whose answers are known."""

import subprocess

import numpy as np
import pytest

from artalk_service.data.phones import PhoneSegment
from artalk_service.eval import baselines
from artalk_service.eval.metrics import Clip, auc, blinks_per_minute, evaluate
from artalk_service.layout import ARKIT61
from artalk_service.timebase import num_frames

SEGMENTS = (
    PhoneSegment("sil", 0.0, 0.3),
    PhoneSegment("m", 0.3, 0.4),
    PhoneSegment("aa", 0.4, 0.6),
    PhoneSegment("p", 0.6, 0.68),
    PhoneSegment("uw", 0.68, 0.9),
    PhoneSegment("b", 0.9, 1.0),
    PhoneSegment("iy", 1.0, 1.2),
    PhoneSegment("sil", 1.2, 1.6),
)


@pytest.fixture(scope="module")
def target():
    return baselines.articulated_motion(SEGMENTS, 40)


def test_targets_score_perfectly_against_themselves(target):
    m = evaluate([Clip(target, SEGMENTS, target)])
    assert m["closure_rate"] == 1 and m["opening_rate"] == 1 and m["rounding_auc"] == 1
    assert m["mouth_mean_err"] == 0 and m["sync_lag_ms"] == 0 and m["fdd"] == 0
    assert m["vowel_closure_rate"] == 0 and m["vowel_closure_n"] == 3


def test_a_shut_mouth_closes_every_vowel_too(target):
    shut = np.zeros_like(target)  # rest pose: lips together
    m = evaluate([Clip(shut, SEGMENTS, target)])
    assert m["closure_rate"] == 1 and m["vowel_closure_rate"] == 1 and m["opening_rate"] == 0


def test_a_still_open_mouth_never_closes(target):
    still = np.zeros_like(target)
    still[:, ARKIT61.index("JawOpen")] = 0.4
    m = evaluate([Clip(still, SEGMENTS, target)])
    assert m["closure_rate"] == 0 and m["opening_rate"] == 1 and m["rounding_auc"] == 0.5
    assert m["mouth_mean_err"] > 0


@pytest.mark.parametrize("shift", [-3, 2])
def test_sync_lag_finds_a_shift(target, shift):
    late = np.roll(target, shift, axis=0)
    assert evaluate([Clip(late, SEGMENTS, target)])["sync_lag_ms"] == pytest.approx(40 * shift, abs=5)


def test_bootstrap_intervals_cover_the_pooled_figures(target):
    clips = [Clip(np.roll(target, k % 2, axis=0), SEGMENTS, target) for k in range(6)]  # half are 40 ms late
    m = evaluate(clips)
    lo, hi = m["sync_lag_ci_ms"]
    assert lo <= m["sync_lag_ms"] <= hi and hi - lo > 0
    c0, c1 = m["closure_ci"]
    assert c0 <= m["closure_rate"] <= c1
    exact = evaluate([Clip(target, SEGMENTS, target)] * 3)
    assert exact["sync_lag_ci_ms"] == [0, 0] and exact["closure_ci"] == [1, 1]


def test_auc_and_blinks():
    assert auc([2, 3], [1, 0]) == 1 and auc([1], [1]) == 0.5 and auc([0], [1]) == 0
    m = np.zeros((250, ARKIT61.num_channels), np.float32)  # 10 s, three blinks
    for start in (10, 100, 200):
        m[start : start + 7, [ARKIT61.index("EyeBlinkLeft"), ARKIT61.index("EyeBlinkRight")]] = 1
    assert blinks_per_minute(m) == (3, 10.0)


def test_energy_jaw_follows_loudness():
    t = np.arange(32000) / 16000
    audio = (np.sin(2 * np.pi * 200 * t) * (t > 1)).astype(np.float32) * 0.3
    jaw = baselines.energy_jaw(audio)[:, ARKIT61.index("JawOpen")]
    assert jaw.shape == (50,) and jaw[:20].max() < 0.01 and jaw[-10:].min() > 0.3


TEXT = "please bring me the map of the big blue boat we could move over the wide open water before the evening"


def test_recogniser_and_aligner_find_bilabials(tmp_path):
    from artalk_service.audio import load_wav_16k

    subprocess.run(["flite", "-voice", "slt", "-t", TEXT, "-o", str(tmp_path / "s.wav")], check=True)
    audio = load_wav_16k(tmp_path / "s.wav")
    aligned = baselines.align_phones(audio, TEXT)
    phones = [s.phone for s in aligned]
    assert phones.count("b") >= 3 and "m" in phones and "p" in phones
    assert aligned[-1].end == pytest.approx(len(audio) / 16000, abs=0.02)
    recognised = baselines.recognise_phones(audio)
    assert sum(s.phone in ("p", "b", "m") for s in recognised) >= 3
    motion = baselines.recognised_phones_motion(audio)
    assert motion.shape == (num_frames(len(audio)), 61)
    with pytest.raises(baselines.AlignmentError):
        baselines.align_phones(np.zeros(16000, np.float32), "seven hundred and twelve elephants")
