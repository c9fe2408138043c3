"""Phones -> lips, jaw and tongue, with coarticulation.

Cohen & Massaro (1993) style: each phone is a gesture with a target for every articulatory
parameter and a dominance that peaks over the phone and decays exponentially away from it.
A parameter's value at time t is the dominance-weighted mean of all targets, so a phone that
does not care about a parameter (low dominance, e.g. a consonant's lip rounding) takes it
from its neighbours, and wide dominance before rounded vowels makes the lips round early
(anticipation). Blending can undershoot, so two hard constraints follow it: the lips seal
on every p/b/m and the lower lip tucks on every f/v for at least one frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artalk_service.data.phones import (
    BILABIALS,
    LABIODENTALS,
    SILENCE,
    PhoneSegment,
    frame_times,
)
from artalk_service.data.styles import StyleProfile
from artalk_service.layout import ARKIT61

# Articulatory parameters, all 0..1, and the dominance group each belongs to.
PARAMS: tuple[str, ...] = (
    "jaw",
    "closed",
    "press",
    "tuck",
    "funnel",
    "pucker",
    "spread",
    "upper",
    "lower",
    "tongue",
)
_GROUP = {
    "jaw": "jaw",
    "closed": "lips",
    "press": "lips",
    "tuck": "lips",
    "funnel": "shape",
    "pucker": "shape",
    "spread": "shape",
    "upper": "shape",
    "lower": "shape",
    "tongue": "tongue",
}
_P = {p: i for i, p in enumerate(PARAMS)}
REST = {"jaw": 0.03, "closed": 0.8}  # relaxed face between phrases: lips lightly together


@dataclass(frozen=True)
class Gesture:
    """A phone's articulatory target and how strongly and how far it asserts it."""

    targets: dict[str, float]  # unspecified parameters target 0 (closed: 0 = lips apart)
    dominance: dict[str, float]  # per group: jaw, lips, shape, tongue
    reach_before: float = 0.07  # seconds for dominance to fall to 1/e before the phone
    reach_after: float = 0.06  # ... and after it


def _vowel(jaw: float, **shape: float) -> Gesture:
    # rounding reaches far ahead: lips round during the consonants before a rounded vowel
    rounded = shape.get("pucker", 0) + shape.get("funnel", 0) > 0.3
    return Gesture(
        {"jaw": jaw, **shape},
        {"jaw": 1.0, "lips": 1.0, "shape": 1.0, "tongue": 0.3},
        reach_before=0.16 if rounded else 0.07,
        reach_after=0.1 if rounded else 0.07,
    )


def _cons(
    jaw: float,
    lips: float = 0.4,
    shape: float = 0.1,
    jaw_dom: float = 0.7,
    reach: tuple[float, float] = (0.07, 0.06),
    **targets: float,
) -> Gesture:
    return Gesture(
        {"jaw": jaw, **targets},
        {"jaw": jaw_dom, "lips": lips, "shape": shape, "tongue": 0.3},
        *reach,
    )


# Lip contacts blend only locally: the seal/tuck itself is guaranteed by enforce_contacts,
# whose ramps give the approach; a wide blend would leave neighbouring vowels half-closed.
_LIP_CONTACT = {"lips": 1.0, "reach": (0.04, 0.03)}


# Targets are ARKit-scale weights for a neutral speaker (jaw 0.55 is a wide "ah").
GESTURES: dict[str, Gesture] = {
    "aa": _vowel(0.55, lower=0.35, upper=0.1, spread=0.1),
    "ae": _vowel(0.48, lower=0.35, upper=0.2, spread=0.35),
    "ah": _vowel(0.40, lower=0.2, upper=0.05),
    "ao": _vowel(0.45, funnel=0.45, pucker=0.1, lower=0.1),
    "eh": _vowel(0.35, spread=0.3, lower=0.2, upper=0.1),
    "er": _vowel(0.22, funnel=0.3, pucker=0.15),
    "ih": _vowel(0.22, spread=0.35, upper=0.05),
    "iy": _vowel(0.14, spread=0.55, upper=0.12),
    "uh": _vowel(0.20, funnel=0.35, pucker=0.35),
    "uw": _vowel(0.12, funnel=0.3, pucker=0.75),
    # lips sealed; p and b press harder than m
    "p": _cons(0.06, shape=0.08, **_LIP_CONTACT, closed=1.0, press=0.5),
    "b": _cons(0.06, shape=0.08, **_LIP_CONTACT, closed=1.0, press=0.4),
    "m": _cons(0.06, shape=0.08, **_LIP_CONTACT, closed=1.0, press=0.25),
    # lower lip rolled in under the upper teeth
    "f": _cons(0.10, **_LIP_CONTACT, tuck=0.75, upper=0.2),
    "v": _cons(0.10, **_LIP_CONTACT, tuck=0.7, upper=0.15),
    # tongue tip between the teeth
    "th": Gesture({"jaw": 0.14, "tongue": 0.3}, {"jaw": 0.6, "lips": 0.5, "shape": 0.1, "tongue": 5.0}),
    "dh": Gesture({"jaw": 0.12, "tongue": 0.2}, {"jaw": 0.6, "lips": 0.5, "shape": 0.1, "tongue": 5.0}),
    "s": _cons(0.05, shape=0.4, jaw_dom=1.2, spread=0.3, upper=0.1),
    "z": _cons(0.05, shape=0.4, jaw_dom=1.2, spread=0.25, upper=0.1),
    "t": _cons(0.10, jaw_dom=0.8),
    "d": _cons(0.11, jaw_dom=0.8),
    "n": _cons(0.11, jaw_dom=0.8),
    "l": Gesture({"jaw": 0.18, "tongue": 0.08}, {"jaw": 0.6, "lips": 0.4, "shape": 0.1, "tongue": 1.0}),
    # protruded, slightly rounded lips
    "sh": _cons(0.10, shape=1.2, funnel=0.45, pucker=0.2),
    "zh": _cons(0.10, shape=1.2, funnel=0.45, pucker=0.2),
    "ch": _cons(0.09, shape=1.2, funnel=0.4, pucker=0.2),
    "jh": _cons(0.09, shape=1.2, funnel=0.4, pucker=0.2),
    "k": _cons(0.15, jaw_dom=0.5),
    "g": _cons(0.15, jaw_dom=0.5),
    "ng": _cons(0.14, jaw_dom=0.5),
    "hh": _cons(0.25, lips=0.2, shape=0.05, jaw_dom=0.1),  # takes the next vowel's shape
    "w": Gesture(
        {"jaw": 0.08, "pucker": 0.8, "funnel": 0.3},
        {"jaw": 0.6, "lips": 0.5, "shape": 1.5, "tongue": 0.2},
        0.1,
        0.05,
    ),
    "r": _cons(0.14, shape=0.8, funnel=0.3, pucker=0.2),
    "y": _cons(0.10, shape=0.8, spread=0.35),
    SILENCE: Gesture(dict(REST), {"jaw": 0.6, "lips": 0.6, "shape": 0.4, "tongue": 0.5}, 0.1, 0.1),
}
# Diphthongs glide between two vowel gestures within their span.
DIPHTHONGS: dict[str, tuple[str, str]] = {
    "aw": ("aa", "uh"),
    "ay": ("aa", "iy"),
    "ey": ("eh", "iy"),
    "ow": ("ao", "uw"),
    "oy": ("ao", "iy"),
}
# Shorter silences inside an utterance are word gaps: they barely pull the mouth to rest.
# Before and after the utterance the mouth always returns to rest.
SHORT_PAUSE_S = 0.15
_HOLD_MIN_HALF_S = 0.021  # a seal of >= 42 ms always contains a 25 fps frame centre
_HOLD_RAMP_S = 0.05


@dataclass(frozen=True)
class _Unit:
    """A gesture placed in time: its core is where it holds full dominance."""

    gesture: Gesture
    core_start: float
    core_end: float


def _units(segments: tuple[PhoneSegment, ...]) -> list[_Unit]:
    units: list[_Unit] = []
    last = len(segments) - 1
    for i, s in enumerate(segments):
        if s.phone in DIPHTHONGS:
            first, second = DIPHTHONGS[s.phone]
            split = s.start + 0.55 * s.duration
            units.append(_Unit(GESTURES[first], s.start + 0.1 * s.duration, split - 0.1 * s.duration))
            units.append(_Unit(GESTURES[second], split + 0.1 * s.duration, s.end - 0.05 * s.duration))
            continue
        gesture = GESTURES[s.phone]
        if s.phone == SILENCE and s.duration < SHORT_PAUSE_S and 0 < i < last:
            gesture = Gesture(
                gesture.targets,
                {g: 0.15 * d for g, d in gesture.dominance.items()},
                gesture.reach_before,
                gesture.reach_after,
            )
        margin = 0.25 * s.duration if s.phone not in BILABIALS else 0.1 * s.duration
        units.append(_Unit(gesture, s.start + margin, s.end - margin))
    return units


def coarticulate(segments: tuple[PhoneSegment, ...], times: np.ndarray) -> np.ndarray:
    """(T, len(PARAMS)) articulatory trajectories at the given times."""
    weighted = np.zeros((len(times), len(PARAMS)))
    total = np.zeros((len(times), len(PARAMS)))
    for u in _units(segments):
        before = np.clip(u.core_start - times, 0, None) / u.gesture.reach_before
        after = np.clip(times - u.core_end, 0, None) / u.gesture.reach_after
        shape = np.exp(-(before + after))[:, None]  # (T, 1)
        alpha = np.array([u.gesture.dominance[_GROUP[p]] for p in PARAMS])
        target = np.array([u.gesture.targets.get(p, 0.0) for p in PARAMS])
        dom = shape * alpha[None, :]
        weighted += dom * target[None, :]
        total += dom
    return weighted / (total + 1e-6)


def _hold_envelope(times: np.ndarray, center: float, half: float) -> np.ndarray:
    """1 within center +/- half, a raised-cosine ramp to 0 over _HOLD_RAMP_S outside."""
    d = np.clip(np.abs(times - center) - half, 0, _HOLD_RAMP_S) / _HOLD_RAMP_S
    return 0.5 * (1 + np.cos(np.pi * d))


def enforce_contacts(params: np.ndarray, segments: tuple[PhoneSegment, ...], times: np.ndarray) -> np.ndarray:
    """Seal the lips on bilabials and tuck the lower lip on labiodentals, whatever the blend."""
    x = params.copy()
    for s in segments:
        if s.phone not in BILABIALS and s.phone not in LABIODENTALS:
            continue
        env = _hold_envelope(times, s.center, max(0.3 * s.duration, _HOLD_MIN_HALF_S))
        target = GESTURES[s.phone].targets
        if s.phone in BILABIALS:
            x[:, _P["closed"]] = np.maximum(x[:, _P["closed"]], env)
            x[:, _P["press"]] = np.maximum(x[:, _P["press"]], env * target["press"])
        else:
            x[:, _P["tuck"]] = np.maximum(x[:, _P["tuck"]], env * target["tuck"])
            x[:, _P["closed"]] *= 1 - env
        # a sealed or tucked lip cannot also be funnelled or pulled open
        opening = ("funnel", "lower", "upper") if s.phone in BILABIALS else ("funnel", "lower")
        for p in opening:
            x[:, _P[p]] *= 1 - env
        x[:, _P["jaw"]] = np.minimum(x[:, _P["jaw"]], (1 - env) * x[:, _P["jaw"]] + env * 0.15)
    return x


def apply_style(params: np.ndarray, style: StyleProfile) -> np.ndarray:
    """Scale movement around the rest pose: stronger or weaker articulation."""
    x = params.copy()
    x[:, _P["jaw"]] = REST["jaw"] + style.jaw * (x[:, _P["jaw"]] - REST["jaw"])
    for p in ("funnel", "pucker", "spread", "upper", "lower", "tuck", "tongue"):
        x[:, _P[p]] *= style.articulation
    return np.clip(x, 0, 1)


def articulate(segments: tuple[PhoneSegment, ...], num: int, style: StyleProfile) -> np.ndarray:
    """(T, len(PARAMS)) mouth parameters at the centres of num 25 fps frames."""
    times = frame_times(num)
    x = apply_style(coarticulate(segments, times), style)
    return np.clip(enforce_contacts(x, segments, times), 0, 1)


def _side(value: np.ndarray, skew: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return value * (1 + skew), value * (1 - skew)


def mouth_to_arkit(
    params: np.ndarray,
    style: StyleProfile,
    skew: np.ndarray,
    expression: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write lower-face ARKit channels into out (T, 61).

    skew (T,) is the left/right asymmetry (>0: left side stronger); expression (T,) in 0..1
    modulates the style's resting smile/frown/press so they breathe rather than sit still.
    """
    c = {name: params[:, _P[name]] for name in PARAMS}
    idx = ARKIT61.index
    out[:, idx("JawOpen")] = c["jaw"]
    out[:, idx("MouthClose")] = c["closed"] * c["jaw"]  # lips together when Close == JawOpen
    out[:, idx("MouthFunnel")] = c["funnel"]
    out[:, idx("MouthPucker")] = c["pucker"]
    out[:, idx("MouthRollLower")] = c["tuck"]
    out[:, idx("MouthRollUpper")] = 0.25 * c["press"] + 0.1 * c["tuck"]
    out[:, idx("MouthShrugLower")] = 0.3 * c["press"] + 0.25 * c["tuck"]
    out[:, idx("MouthShrugUpper")] = 0.15 * c["tuck"] + 0.1 * c["pucker"]
    out[:, idx("TongueOut")] = c["tongue"]
    out[:, idx("CheekPuff")] = 0.06 * c["press"]
    out[:, idx("JawForward")] = 0.08 * c["tuck"]
    open_lips = 1 - c["closed"]  # expression cannot part lips that articulation has sealed
    tension = style.press * expression * (1 - np.clip(c["jaw"] * 3, 0, 1))
    smile = style.smile * expression
    pairs = {
        "MouthPress": c["press"] + tension,
        "MouthStretch": 0.6 * c["spread"],
        "MouthSmile": 0.2 * c["spread"] + smile,
        "MouthFrown": style.frown * expression,
        "MouthDimple": 0.3 * smile + 0.1 * c["spread"],
        "MouthUpperUp": c["upper"] + 0.4 * style.sneer * expression * open_lips,
        "MouthLowerDown": c["lower"],
        "CheekSquint": 0.5 * smile,
        "NoseSneer": style.sneer * expression,
    }
    for name, value in pairs.items():
        left, right = _side(value, skew)
        out[:, idx(name + "Left")] = left
        out[:, idx(name + "Right")] = right
    drift = np.clip(skew, 0, None), np.clip(-skew, 0, None)
    out[:, idx("MouthLeft")] = 0.5 * drift[0]
    out[:, idx("MouthRight")] = 0.5 * drift[1]
    out[:, idx("JawLeft")] = 0.2 * drift[0] * c["jaw"]
    out[:, idx("JawRight")] = 0.2 * drift[1] * c["jaw"]


def lip_gap(motion):
    """(..., T) how far apart the lips are, in ARKit weight units (0: sealed), from (..., T, 61).

    JawOpen opens the lips unless MouthClose cancels it; lip-opening shapes add to it.
    Works on numpy arrays and torch tensors alike: the autoencoder's training loss uses it too.
    """

    def ch(name: str):
        return motion[..., ARKIT61.index(name)]

    jaw_gap = (ch("JawOpen") - ch("MouthClose")).clip(min=0)
    opening = (
        ch("MouthFunnel")
        + 0.5 * (ch("MouthLowerDownLeft") + ch("MouthLowerDownRight"))
        + 0.5 * (ch("MouthUpperUpLeft") + ch("MouthUpperUpRight"))
    )
    return jaw_gap + 0.5 * opening
