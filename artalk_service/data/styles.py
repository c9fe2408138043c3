"""Named speaking styles: how a style changes both the speech and the face.

A style scales articulation, biases the resting expression, sets upper-face and head
activity, and changes the synthesised voice's tempo, pitch and loudness, so the audio
carries some of the style too. Every sample is labelled with its style.
"""

from __future__ import annotations

from dataclasses import dataclass

from artalk_service.blink_timing import DEFAULT_BLINK_RATE


@dataclass(frozen=True)
class StyleProfile:
    name: str
    # mouth
    articulation: float = 1.0  # scale of lip shapes (rounding, spreading, tucking)
    jaw: float = 1.0  # scale of jaw opening
    smile: float = 0.0  # resting smile (MouthSmile, CheekSquint) added throughout
    frown: float = 0.0  # resting frown (MouthFrown)
    press: float = 0.0  # lips pressed between words (tension)
    sneer: float = 0.0  # nose sneer and upper-lip raise
    # upper face
    brow_activity: float = 1.0  # brow raise per pitch accent
    brow_raise: float = 0.0  # resting BrowInnerUp
    brow_down: float = 0.0  # resting BrowDown (and accents lower the brows instead)
    eye_wide: float = 0.0  # EyeWide, added on accents too
    squint: float = 0.0  # resting EyeSquint
    blink_rate: float = DEFAULT_BLINK_RATE  # blinks per minute outside phrase-boundary blinks
    # head and gaze
    head_amplitude: float = 1.0  # scale of nods, turns and drift
    head_speed: float = 1.0  # how fast idle drift wanders
    head_pitch_bias: float = 0.0  # radians; >0 chin down (shy, sad)
    gaze_aversion: float = 0.15  # share of fixations away from the listener
    # voice
    tempo: float = 1.0  # speaking-rate multiplier
    pitch_semitones: float = 0.0
    pitch_range: float = 1.0
    volume_db: float = 0.0


STYLES: dict[str, StyleProfile] = {
    s.name: s
    for s in (
        StyleProfile("neutral"),
        StyleProfile(
            "happy",
            articulation=1.05,
            smile=0.45,
            brow_activity=1.2,
            brow_raise=0.1,
            squint=0.15,
            blink_rate=18,
            head_amplitude=1.2,
            tempo=1.05,
            pitch_semitones=2.0,
            pitch_range=1.3,
            volume_db=1.0,
        ),
        StyleProfile(
            "angry",
            articulation=1.2,
            jaw=1.15,
            frown=0.25,
            press=0.3,
            sneer=0.2,
            brow_activity=1.1,
            brow_down=0.45,
            squint=0.3,
            blink_rate=10,
            head_amplitude=1.3,
            head_speed=1.4,
            gaze_aversion=0.05,
            tempo=1.1,
            pitch_semitones=1.0,
            pitch_range=1.4,
            volume_db=4.0,
        ),
        StyleProfile(
            "sad",
            articulation=0.75,
            jaw=0.8,
            frown=0.35,
            brow_activity=0.5,
            brow_raise=0.4,
            blink_rate=12,
            head_amplitude=0.6,
            head_speed=0.6,
            head_pitch_bias=0.08,
            gaze_aversion=0.4,
            tempo=0.85,
            pitch_semitones=-2.0,
            pitch_range=0.6,
            volume_db=-4.0,
        ),
        StyleProfile(
            "excited",
            articulation=1.25,
            jaw=1.2,
            smile=0.35,
            brow_activity=1.6,
            brow_raise=0.15,
            eye_wide=0.3,
            blink_rate=22,
            head_amplitude=1.6,
            head_speed=1.6,
            tempo=1.2,
            pitch_semitones=3.0,
            pitch_range=1.6,
            volume_db=3.0,
        ),
        StyleProfile(
            "calm",
            articulation=0.85,
            jaw=0.9,
            smile=0.1,
            brow_activity=0.5,
            blink_rate=12,
            head_amplitude=0.6,
            head_speed=0.6,
            tempo=0.9,
            pitch_semitones=-1.0,
            pitch_range=0.7,
            volume_db=-2.0,
        ),
        StyleProfile(
            "shy",
            articulation=0.7,
            jaw=0.75,
            smile=0.15,
            brow_activity=0.6,
            brow_raise=0.15,
            blink_rate=24,
            head_amplitude=0.7,
            head_pitch_bias=0.12,
            gaze_aversion=0.6,
            tempo=0.95,
            pitch_semitones=1.0,
            pitch_range=0.8,
            volume_db=-6.0,
        ),
        StyleProfile(
            "emphatic",
            articulation=1.3,
            jaw=1.25,
            brow_activity=1.8,
            eye_wide=0.1,
            blink_rate=15,
            head_amplitude=1.8,
            head_speed=1.2,
            gaze_aversion=0.05,
            tempo=0.95,
            pitch_semitones=0.5,
            pitch_range=1.5,
            volume_db=2.0,
        ),
        StyleProfile(
            "surprised",
            articulation=1.1,
            jaw=1.2,
            brow_activity=1.5,
            brow_raise=0.5,
            eye_wide=0.5,
            blink_rate=8,
            head_amplitude=1.1,
            tempo=1.05,
            pitch_semitones=3.0,
            pitch_range=1.5,
            volume_db=1.0,
        ),
        StyleProfile(
            "disgusted",
            articulation=0.9,
            frown=0.3,
            sneer=0.5,
            brow_activity=0.8,
            brow_down=0.3,
            squint=0.35,
            blink_rate=14,
            head_amplitude=0.9,
            head_pitch_bias=-0.04,
            gaze_aversion=0.3,
            tempo=0.95,
            pitch_semitones=-1.0,
            pitch_range=0.9,
            volume_db=0.0,
        ),
    )
}


def get_style(name: str) -> StyleProfile:
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}; known: {sorted(STYLES)}") from None
