"""Phone inventory and the engines' symbol conversions."""

import numpy as np
import pytest

from artalk_service.data.phones import (
    PHONES,
    SILENCE,
    PhoneSegment,
    UnknownSymbol,
    cmu_to_phones,
    frame_labels,
    ipa_char_phones,
    ipa_to_phones,
    snap_to_length,
)
from artalk_service.timebase import num_frames


def test_inventory_is_silence_plus_39_cmudict_phones():
    assert PHONES[0] == SILENCE and len(PHONES) == 40 and len(set(PHONES)) == 40


@pytest.mark.parametrize(
    "ipa, phones",
    [
        ("aɪ", ("ay",)),
        ("ˈɑː", ("aa",)),
        ("tʃ", ("ch",)),
        ("ɛɹ", ("eh", "r")),
        ("oʊ", ("ow",)),
        ("ɪə", ("ih", "ah")),
        ("t̪", ("t",)),
        ("a:", ("ae",)),
        ("", ()),
    ],
)
def test_ipa_to_phones(ipa, phones):
    assert ipa_to_phones(ipa) == phones


def test_unknown_ipa_is_an_error_not_a_silent_drop():
    with pytest.raises(UnknownSymbol):
        ipa_to_phones("ʀ")


def test_piper_characters_group_into_phones_and_stress_joins_the_vowel():
    grouped = ipa_char_phones(["b", "ˈ", "a", "ɪ", "k"])  # "bike"
    assert [p for p, _ in grouped] == ["b", "ay", "k"]
    assert grouped[1][1] == [1, 2, 3]  # stress mark + both halves of the diphthong


def test_cmu_names():
    assert cmu_to_phones("pau") == (SILENCE,)
    assert cmu_to_phones("ax") == ("ah",)
    assert cmu_to_phones("AY1") == ("ay",)


def test_frames_cover_the_audio_and_labels_follow_frame_centres():
    assert num_frames(640) == 1 and num_frames(641) == 2
    segs = snap_to_length((PhoneSegment("m", 0.05, 0.1), PhoneSegment("aa", 0.1, 0.2)), 0.25)
    assert segs[0] == PhoneSegment(SILENCE, 0.0, 0.05) and segs[-1].end == 0.25
    labels = frame_labels(segs, num_frames(int(0.25 * 16000)))
    # 7 frames (4000 samples / 640, rounded up), centres 0.02 0.06 ... 0.26
    assert [PHONES[i] for i in labels] == ["sil", "m", "aa", "aa", "aa", "sil", "sil"]
    assert labels.dtype == np.int16
