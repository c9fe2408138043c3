"""Motion targets from phones: lip seals, lip tucks, rounding, jaw, anticipation."""

import numpy as np
import pytest

from artalk_service.data.articulation import lip_gap
from artalk_service.data.motion import build_motion
from artalk_service.data.phones import PhoneSegment, frame_times
from artalk_service.data.prosody import from_phones
from artalk_service.data.styles import STYLES
from artalk_service.layout import ARKIT61
from artalk_service.timebase import num_frames

IDX = ARKIT61.index


def motion_for(phones: list[tuple[str, float]], style: str = "neutral", seed: int = 0):
    segs, t = [], 0.0
    for phone, dur in [("sil", 0.2)] + phones + [("sil", 0.3)]:
        segs.append(PhoneSegment(phone, t, t + dur))
        t += dur
    segs = tuple(segs)
    n = num_frames(int(t * 16000))
    m = build_motion(segs, from_phones(segs, (), n), STYLES[style], np.random.default_rng(seed))
    return segs, m


def at(segs, m, phone, which=0):
    """The frame nearest the centre of the `which`-th occurrence of phone."""
    seg = [s for s in segs if s.phone == phone][which]
    return m[int(np.argmin(np.abs(frame_times(len(m)) - seg.center)))]


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("vowel", ["aa", "uw", "iy", "ae"])
@pytest.mark.parametrize("dur", [0.03, 0.05, 0.09])
def test_lips_seal_on_every_bilabial(style, vowel, dur):
    # short bilabials between open vowels are the hardest case for a blended model
    phones = [
        (vowel, 0.12),
        ("p", dur),
        (vowel, 0.1),
        ("b", dur),
        (vowel, 0.15),
        ("m", dur),
        (vowel, 0.11),
    ]
    segs, m = motion_for(phones, style)
    gap = lip_gap(m)
    for seg in segs:
        if seg.phone in ("p", "b", "m"):
            near = np.abs(frame_times(len(m)) - seg.center) <= 0.5 / 25 + 1e-9
            frame = m[near][0]
            assert gap[near].min() < 0.01
            assert frame[IDX("MouthClose")] == pytest.approx(frame[IDX("JawOpen")], abs=0.01)
    # and the lips are clearly open on the vowels
    assert at(segs, m, vowel, 2)[IDX("JawOpen")] > 0.08
    assert lip_gap(at(segs, m, vowel, 2)[None])[0] > 0.06


def test_lower_lip_tucks_on_f_and_v():
    segs, m = motion_for([("aa", 0.15), ("f", 0.06), ("ae", 0.12), ("v", 0.05), ("ah", 0.1)])
    for phone in ("f", "v"):
        assert at(segs, m, phone)[IDX("MouthRollLower")] > 0.5
    assert at(segs, m, "ae")[IDX("MouthRollLower")] < 0.2


def test_rounded_vowels_funnel_or_pucker_and_spread_vowels_stretch():
    segs, m = motion_for(
        [
            ("t", 0.06),
            ("uw", 0.16),
            ("t", 0.06),
            ("iy", 0.16),
            ("t", 0.06),
            ("ow", 0.2),
            ("t", 0.06),
            ("ae", 0.15),
        ]
    )
    rounding = lambda f: f[IDX("MouthFunnel")] + f[IDX("MouthPucker")]  # noqa: E731
    stretch = lambda f: f[IDX("MouthStretchLeft")] + f[IDX("MouthStretchRight")]  # noqa: E731
    uw, iy, ow, ae = (at(segs, m, p) for p in ("uw", "iy", "ow", "ae"))
    assert rounding(uw) > 0.5 and rounding(ow) > 0.35
    assert rounding(uw) > rounding(iy) + 0.35 and rounding(ow) > rounding(ae) + 0.2
    assert stretch(iy) > stretch(uw) + 0.2


def test_open_vowels_open_the_jaw():
    segs, m = motion_for(
        [
            ("d", 0.06),
            ("aa", 0.18),
            ("d", 0.06),
            ("iy", 0.18),
            ("d", 0.06),
            ("uw", 0.18),
            ("d", 0.06),
        ]
    )
    assert at(segs, m, "aa")[IDX("JawOpen")] > at(segs, m, "iy")[IDX("JawOpen")] + 0.2
    assert at(segs, m, "aa")[IDX("JawOpen")] > at(segs, m, "uw")[IDX("JawOpen")] + 0.2


def test_lips_round_in_anticipation_of_a_rounded_vowel():
    """In "stroo" the lips round during s-t-r; in "stree" they do not."""
    consonants = [("s", 0.09), ("t", 0.06), ("r", 0.06)]
    segs_u, m_u = motion_for([("ih", 0.12)] + consonants + [("uw", 0.2)])
    segs_i, m_i = motion_for([("ih", 0.12)] + consonants + [("iy", 0.2)])
    pucker_u = at(segs_u, m_u, "t")[IDX("MouthPucker")]
    pucker_i = at(segs_i, m_i, "t")[IDX("MouthPucker")]
    assert pucker_u > pucker_i + 0.15


def test_styles_change_articulation_strength():
    phones = [("d", 0.06), ("aa", 0.2), ("d", 0.06), ("uw", 0.2), ("d", 0.06)]
    segs, calm = motion_for(phones, "sad")
    _, emphatic = motion_for(phones, "emphatic")
    assert at(segs, emphatic, "aa")[IDX("JawOpen")] > at(segs, calm, "aa")[IDX("JawOpen")] + 0.1
    assert at(segs, emphatic, "uw")[IDX("MouthPucker")] > at(segs, calm, "uw")[IDX("MouthPucker")]


def test_left_right_asymmetry_is_small_and_varies_by_seed():
    phones = [("iy", 0.2), ("s", 0.1), ("iy", 0.2)]
    diffs = []
    for seed in range(6):
        segs, m = motion_for(phones, "happy", seed)
        f = at(segs, m, "iy")
        diffs.append(f[IDX("MouthSmileLeft")] - f[IDX("MouthSmileRight")])
    assert max(abs(d) for d in diffs) < 0.15
    assert np.ptp(diffs) > 0.01
