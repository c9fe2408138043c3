"""Full ARKIT61 motion targets: articulation (lower face) + upper face, for one utterance."""

from __future__ import annotations

import numpy as np

from artalk_service.data import articulation, upper_face
from artalk_service.data import prosody as prosody_mod
from artalk_service.data.phones import PhoneSegment
from artalk_service.data.prosody import Accent, Prosody
from artalk_service.data.styles import StyleProfile, get_style
from artalk_service.layout import ARKIT61

_BLENDSHAPES = len(ARKIT61.channels) - len(ARKIT61.rotation_channels)

# A fixed, phonetically varied phrase ("Maybe we should move forward, Bob!") as
# (phone, seconds at tempo 1, pitch accent strength), for reference clips that need no TTS.
REFERENCE_PHONES: tuple[tuple[str, float, float], ...] = (
    ("sil", 0.12, 0),
    ("m", 0.07, 0),
    ("ey", 0.16, 0.8),
    ("b", 0.06, 0),
    ("iy", 0.09, 0),
    ("w", 0.06, 0),
    ("iy", 0.07, 0),
    ("sh", 0.09, 0),
    ("uh", 0.07, 0),
    ("d", 0.05, 0),
    ("m", 0.07, 0),
    ("uw", 0.16, 0.9),
    ("v", 0.07, 0),
    ("f", 0.08, 0),
    ("ao", 0.14, 0.5),
    ("r", 0.05, 0),
    ("w", 0.05, 0),
    ("er", 0.09, 0),
    ("d", 0.06, 0),
    ("sil", 0.18, 0),
    ("b", 0.07, 0),
    ("aa", 0.2, 1.0),
    ("b", 0.08, 0),
    ("sil", 0.3, 0),
)


def build_motion(
    segments: tuple[PhoneSegment, ...],
    prosody: Prosody,
    style: StyleProfile,
    rng: np.random.Generator,
) -> np.ndarray:
    """(T, 61) float32 targets: blendshapes clipped to [0, 1], rotations in radians."""
    num = prosody.num_frames
    out = np.zeros((num, ARKIT61.num_channels), np.float64)
    mouth = articulation.articulate(segments, num, style)
    # asymmetry: a per-utterance side bias plus a slow wander
    skew = rng.normal(0, 0.06) + 0.04 * upper_face.smooth_noise(rng, num, 2.0)
    expression = 0.75 + 0.25 * np.tanh(upper_face.smooth_noise(rng, num, 1.5))
    articulation.mouth_to_arkit(mouth, style, skew, expression, out)
    upper_face.upper_face(prosody, style, rng, out)
    out[:, :_BLENDSHAPES] = np.clip(out[:, :_BLENDSHAPES], 0, 1)
    return out.astype(np.float32)


def reference_segments(style: StyleProfile, seconds: float) -> tuple[tuple[PhoneSegment, ...], tuple[Accent, ...]]:
    """REFERENCE_PHONES at the style's tempo, repeated to fill `seconds`."""
    segments: list[PhoneSegment] = []
    accents: list[Accent] = []
    t = 0.0
    while t < seconds:
        for phone, dur, accent in REFERENCE_PHONES:
            dur /= style.tempo
            segments.append(PhoneSegment(phone, t, t + dur))
            if accent:
                accents.append(Accent(t + dur / 2, accent))
            t += dur
    return tuple(segments), tuple(accents)


def reference_motion(style: StyleProfile, seed: int, seconds: float) -> np.ndarray:
    """(round(seconds*25), 61) motion of REFERENCE_PHONES spoken in `style`."""
    num = int(round(seconds * ARKIT61.fps))
    segments, accents = reference_segments(style, seconds)
    pros = prosody_mod.from_phones(segments, accents, num)
    return build_motion(segments, pros, style, np.random.default_rng([seed, num]))


def style_reference_clip(name: str, seed: int = 0, seconds: float = 2.0) -> np.ndarray:
    """A representative (round(seconds*25), 61) motion clip of a style, from a fixed phrase.

    The phrase is spoken at the style's tempo and repeated to fill the clip; the motion
    comes from the same articulation and upper-face models as the corpus.
    """
    return reference_motion(get_style(name), seed, seconds)
