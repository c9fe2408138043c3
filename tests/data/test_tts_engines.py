"""Every engine's phone timings agree with its own audio."""

import numpy as np
import pytest

from artalk_service.data.engines import SpeakingParams, TimingMismatch, get_engine
from artalk_service.data.engines.base import TIMING_TOLERANCE_S, check_timing
from artalk_service.data.phones import SILENCE, PhoneSegment
from artalk_service.timebase import SAMPLE_RATE

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


def test_piper_counts_each_pad_with_the_phone_it_leads_into():
    from artalk_service.data.engines.piper import onset_counts

    # "^" "h" "a" "," "b" "$": every symbol but the last followed by a PAD id (0)
    symbols = ["^", "h", "a", ",", "b", "$"]
    ids = [[1, 0], [20, 0], [14, 0], [8, 0], [15, 0], [2]]
    samples = [10, 1, 20, 2, 30, 3, 40, 4, 50, 5, 60]
    # a PAD after a phone goes to the next symbol; after a pause ("^", ",") it stays
    assert onset_counts(symbols, ids, samples, [0]) == [10 + 1, 20, 2 + 30, 3 + 40 + 4, 50, 5 + 60]
    assert sum(onset_counts(symbols, ids, samples, [0])) == sum(samples)
    assert onset_counts(["^", "h"], [[1, 0], [20, 0]], [10, 1, 20, 2], [0]) == [11, 22]


RECOGNISER_TEXTS = (
    "Bob's big map, of course, was a puzzle.",
    "Five fools vowed to fix it, and then they went home.",
    "Please bring me the purple umbrella by the window.",
    "My mother made a marvellous apple pie on Monday.",
    "We will meet them at the museum before lunch.",
)


@pytest.mark.parametrize("engine, voice", [("piper", "joe"), ("flite", "rms")])
def test_phone_timings_agree_with_a_phone_recogniser(engine, voice):
    """The phone timeline is what the model learns sync from. Lip motion made from the
    phones PocketSphinx hears in the audio lines up with lip motion made from the engine's
    phones within 12 ms (flite's exact timings: ~1 ms). piper's own grouping of its PAD
    ids put every phone ~30 ms late."""
    from artalk_service.eval import baselines
    from artalk_service.eval.metrics import Clip, evaluate

    clips = []
    for text in RECOGNISER_TEXTS:
        s = get_engine(engine).synthesize(text, voice, SpeakingParams())
        heard = baselines.recognised_phones_motion(s.audio)
        clips.append(Clip(heard, s.segments, baselines.articulated_motion(s.segments, len(heard))))
    assert abs(evaluate(clips)["sync_lag_ms"]) <= 12
