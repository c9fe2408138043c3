"""The text source: plain English from Debian's fortunes, covering every phone."""

import numpy as np

from artalk_service.data.engines.espeak import phonemize
from artalk_service.data.phones import PHONES, SILENCE
from artalk_service.data.text import MAX_UTTERANCE_WORDS, clean_fortune, load_text_pool


def test_pool_is_large_and_documented():
    pool = load_text_pool()
    assert pool.num_sentences > 10_000
    assert "fortunes" in pool.source


def test_utterances_are_plain_sentences_and_deterministic():
    pool = load_text_pool()
    a = [pool.utterance(np.random.default_rng([1, i])) for i in range(50)]
    assert a == [pool.utterance(np.random.default_rng([1, i])) for i in range(50)]
    assert all(3 <= len(u.split()) <= MAX_UTTERANCE_WORDS for u in a)
    assert len(set(a)) > 45


def test_cleaning_drops_attributions_and_code():
    assert clean_fortune("Be kind to your friends.\n\t\t-- Anonymous") == ("Be kind to your friends.",)
    assert clean_fortune('main() { printf("hi"); }') == ()


def test_every_english_phone_is_covered_by_a_slice_of_the_text():
    pool = load_text_pool()
    text = " ".join(" ".join(f) for f in pool.fortunes[:400])
    covered = set(phonemize(text))
    assert set(PHONES) - {SILENCE} <= covered, sorted(set(PHONES) - {SILENCE} - covered)
