"""Every engine's phone timings agree with its own audio."""

import numpy as np
import pytest

from artalk_service.data.engines import SAMPLE_RATE, SpeakingParams, TimingMismatch, get_engine
from artalk_service.data.engines.base import TIMING_TOLERANCE_S, check_timing
from artalk_service.data.phones import SILENCE, PhoneSegment

TEXT = "Bob's big map, of course, was a puzzle. Five fools vowed to fix it!"
# one fast and one slow setting per engine, on the voices that differ most
CASES = [
    ("espeak", "en-us+default", 1.3),
    ("espeak", "en-gb-scotland+f3", 0.8),
    ("flite", "kal", 0.8),
    ("flite", "slt", 1.25),
    ("flite", "rms", 1.0),
    ("festival", "kal", 1.2),
    ("festival", "slt_hts", 0.85),
    ("piper", "joe", 1.1),
]


def _rms_db(audio: np.ndarray, start: float, end: float) -> float:
    chunk = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    return 20 * np.log10(np.sqrt(np.mean(chunk**2)) + 1e-9)


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}:{c[1]}@{c[2]}")
def synthesis(request):
    engine, voice, rate = request.param
    return get_engine(engine).synthesize(TEXT, voice, SpeakingParams(rate=rate))


def test_phones_span_exactly_the_audio(synthesis):
    segs = synthesis.segments
    assert segs[0].start == 0.0
    assert segs[-1].end == pytest.approx(len(synthesis.audio) / SAMPLE_RATE, abs=1e-6)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(segs, segs[1:]))
    assert synthesis.timing_error_s <= TIMING_TOLERANCE_S


def test_pauses_are_quiet_and_speech_is_loud(synthesis):
    """Timings that drift from the audio would put pauses on speech: check the middle of
    every long pause is far quieter than the vowels around it."""
    audio, segs = synthesis.audio, synthesis.segments
    speech = [s for s in segs if s.phone not in (SILENCE, "hh")]
    vowel_db = np.median([_rms_db(audio, s.start, s.end) for s in speech])
    inner_pauses = [s for s in segs[1:-1] if s.phone == SILENCE and s.duration >= 0.08]
    assert inner_pauses, "the commas and full stop should give pauses"
    for p in inner_pauses:
        middle = _rms_db(audio, p.center - p.duration / 4, p.center + p.duration / 4)
        assert middle < vowel_db - 15, (p, middle, vowel_db)


def test_expected_phones_come_out(synthesis):
    phones = {s.phone for s in synthesis.segments}
    assert {"b", "m", "p", "f", "v", "uw"} <= phones


def test_a_timeline_that_disagrees_with_the_audio_is_rejected():
    tone = 0.3 * np.sin(np.arange(SAMPLE_RATE) * 0.1).astype(np.float32)  # 1 s of sound
    with pytest.raises(TimingMismatch):  # phones claim 0.5 s: sound continues after them
        check_timing([PhoneSegment("aa", 0.0, 0.5)], tone)
    with pytest.raises(TimingMismatch):  # phones claim 1.5 s: more than the audio
        check_timing([PhoneSegment("aa", 0.0, 1.5)], tone)
    assert check_timing([PhoneSegment("aa", 0.0, 1.0)], tone) <= TIMING_TOLERANCE_S


@pytest.mark.parametrize("engine, voice", [(c[0], c[1]) for c in CASES])
def test_synthesis_depends_on_the_request_alone(engine, voice):
    """Same request, same audio, whatever was synthesised before (espeak-ng keeps state
    between utterances in a process; piper draws unseeded noise unless disabled)."""
    eng, params = get_engine(engine), SpeakingParams(rate=1.1, pitch_semitones=1.0)
    first = eng.synthesize("Hello again, my friend.", voice, params)
    eng.synthesize("Something else entirely, said slowly.", voice, SpeakingParams(rate=0.8))
    again = eng.synthesize("Hello again, my friend.", voice, params)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.segments == again.segments
