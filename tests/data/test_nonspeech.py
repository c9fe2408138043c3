"""Non-speech before an utterance: noise beds at the asked level, and targets that rest over them."""

import numpy as np
import pytest

from artalk_service.data.articulation import lip_gap
from artalk_service.data.motion import build_motion
from artalk_service.data.nonspeech import (
    NonSpeech,
    coloured_noise,
    dbfs,
    shift_segments,
    speech_level_db,
    tiled_pause,
    with_lead_in,
)
from artalk_service.data.phones import PhoneSegment, frame_labels
from artalk_service.data.prosody import analyse
from artalk_service.data.styles import STYLES
from artalk_service.layout import ARKIT61
from artalk_service.timebase import num_frames


def utterance(seed: int = 0):
    """A short voiced utterance with its phones: (clean audio, segments)."""
    phones = [("sil", 0.07), ("m", 0.083), ("aa", 0.21), ("p", 0.077), ("iy", 0.19), ("sil", 0.23)]
    segs, t = [], 0.0
    for phone, dur in phones:
        segs.append(PhoneSegment(phone, t, t + dur))
        t += dur
    n = int(t * 16000)
    tt = np.arange(n) / 16000
    voiced = ((tt > 0.07) & (tt < t - 0.23)).astype(np.float32)
    rng = np.random.default_rng(seed)
    return (0.2 * voiced * np.sin(2 * np.pi * 130 * tt) + 1e-4 * rng.standard_normal(n)).astype(np.float32), tuple(segs)


@pytest.mark.parametrize("colour", ["white", "pink", "brown"])
def test_coloured_noise_has_unit_rms_and_its_slope(colour):
    x = coloured_noise(32000, colour, np.random.default_rng(0))
    assert abs(dbfs(x)) < 0.01
    power = np.abs(np.fft.rfft(x)) ** 2
    low, high = power[20:200].mean(), power[8000:16000].mean()  # ~10-100 Hz against 4-8 kHz
    assert {"white": 0.5 < low / high < 2, "pink": low / high > 20, "brown": low / high > 1000}[colour]


def test_the_bed_sits_at_its_level_and_continues_under_the_speech():
    speech, segs = utterance()
    rng = np.random.default_rng(1)
    labels = frame_labels(segs, num_frames(speech.size))
    for ns, want in [(NonSpeech("pink", -50.0), -50.0), (NonSpeech("babble", 15.0), None)]:
        mixed = ns.mix(16000, speech, speech_level_db(speech, labels), rng, voices=[speech[::-1].copy(), speech])
        lead = mixed[:16000]
        if want is not None:
            assert abs(dbfs(lead) - want) < 1.0
        else:
            assert abs(dbfs(lead) - (speech_level_db(speech, labels) - 15.0)) < 2.0
        assert dbfs(mixed[16000:] - speech) > dbfs(lead) - 3  # the same bed under the speech
    silent = NonSpeech("silence").mix(8000, speech, 0.0, rng)
    assert (silent[:8000] == 0).all() and (silent[8000:] == speech).all()


def test_segments_shift_and_the_pause_is_tiled_for_the_articulation_model():
    _, segs = utterance()
    shifted = shift_segments(segs, 2.0)
    assert shifted[0] == PhoneSegment("sil", 0.0, 2.07)
    assert shifted[1].start == pytest.approx(2.07)
    tiles = tiled_pause(1.0)
    assert len(tiles) == 5 and tiles[0].start == 0 and tiles[-1].end == 1.0
    assert all(t.duration <= 0.2 + 1e-9 for t in tiles)


@pytest.mark.parametrize("style", ["neutral", "happy", "surprised"])
def test_lead_in_targets_rest_while_head_and_lids_go_on(style):
    speech, segs = utterance()
    blinks, head = 0, []
    for seed in range(4):
        x = with_lead_in(speech, speech, segs, style, 125, NonSpeech("white", -60.0), np.random.default_rng(seed))
        assert len(x.motion) == len(x.phones) == num_frames(x.audio.size) == 125 + num_frames(speech.size)
        assert (x.phones[:125] == 0).all()
        np.testing.assert_array_equal(x.phones[125:], frame_labels(segs, num_frames(speech.size)))
        gap = lip_gap(x.motion)
        assert gap[:118].max() < 0.05  # 5 s of rest until the utterance's own onset ...
        assert gap[125:].max() > 0.3  # ... then the lips open for "aa"
        jaw = x.motion[:118, ARKIT61.index("JawOpen")]
        assert jaw.max() < 0.06
        blink = x.motion[:118, ARKIT61.index("EyeBlinkLeft")]
        blinks += int(((blink[1:] > 0.5) & (blink[:-1] <= 0.5)).sum())
        head.append(x.motion[:118, ARKIT61.index("HeadYaw")].std())
    assert blinks >= 1  # ~17 blinks a minute over 20 s of pauses
    assert np.mean(head) > 0.002  # the head drifts, it does not freeze


def test_the_corpus_targets_themselves_open_the_mouth_before_a_short_leading_pause():
    # why a lead-in is needed: over the corpus's own 0.07 s of leading silence the articulation
    # model already anticipates the first phone, so no target teaches a mouth at rest
    segs = (PhoneSegment("sil", 0.0, 0.07), PhoneSegment("aa", 0.07, 0.3), PhoneSegment("sil", 0.3, 0.5))
    speech = np.zeros(8000, np.float32)
    speech[1120:4800] = 0.2 * np.sin(2 * np.pi * 130 * np.arange(3680) / 16000)
    n = num_frames(speech.size)
    m = build_motion(segs, analyse(speech, segs, n), STYLES["neutral"], np.random.default_rng(0))
    assert lip_gap(m)[0] > 0.1  # frame 0, centred in the pause: already a third open
