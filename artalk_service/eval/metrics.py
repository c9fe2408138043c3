"""Metrics on arkit61 motion curves (25 fps), per clip and pooled over clips.

Every metric takes motion as (T, 61) arrays in the ARKIT61 channel order and, where it
needs them, the clip's phone segments (seconds) and a reference motion (the corpus
targets, or for real speech the articulation model driven by force-aligned phones).

- mouth_mean_err / mouth_max_err: per frame, the mean / the max absolute error over the
  mouth channels (Jaw*, Mouth*, Cheek*, Tongue*), averaged over frames: MVE / LVE on
  blendshape curves instead of mesh vertices.
- closure_rate: share of p/b/m phones during which the lips close: the lip gap
  (`articulation.lip_gap`) drops to CLOSED_GAP or less at some frame centred within the
  phone widened by TOLERANCE_S on each side.
- vowel_closure_rate: share of vowels during which the lips close anyway (lip gap <= CLOSED_GAP
  at a frame centred in the middle half of the vowel): the price of eager closures.
- opening_rate: share of open vowels (aa ae ao aw ay) during which the lip gap reaches OPEN_GAP.
- rounding_auc: rounded (uw uh ow oy) against spread (iy ih ey eh) vowels, scored by
  funnel + pucker - stretch at the phone: the probability that a random rounded vowel
  scores above a random spread one (0.5 = no discrimination, 1 = perfect).
- sync_lag_ms: the lag that maximises the cross-correlation of the lip gap with the
  reference's lip gap (1 ms resolution, +-300 ms, pooled over clips); > 0: the mouth is late.
- fdd: upper-face dynamics deviation, mean over brow/eye channels of |std_t(x) - std_t(ref)|.
- *_ci: 95 % bootstrap intervals over clips (BOOTSTRAP resamples, fixed seed) of the
  closure rate and the sync lag, to tell a difference between systems from noise.
- blinks_per_min: rising crossings of 0.5 by the mean EyeBlink (re-armed below 0.3).
- head_std_deg: standard deviation over time of head yaw, pitch and roll, mean of the three.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.articulation import lip_gap
from ..data.phones import BILABIALS, VOWELS
from ..layout import ARKIT61
from ..timebase import FPS

CLOSED_GAP = 0.08
OPEN_GAP = 0.25
TOLERANCE_S = 0.02
MAX_LAG_S, LAG_STEP_S = 0.3, 0.001
BOOTSTRAP = 500

OPEN_VOWELS = ("aa", "ae", "ao", "aw", "ay")
ROUNDED = ("uw", "uh", "ow", "oy")
SPREAD = ("iy", "ih", "ey", "eh")

MOUTH = [i for i, c in enumerate(ARKIT61.channels) if c.startswith(("Jaw", "Mouth", "Cheek", "Tongue"))]
UPPER = [i for i, c in enumerate(ARKIT61.channels) if c.startswith(("Brow", "EyeBlink", "EyeSquint", "EyeWide"))]
HEAD = [ARKIT61.index(c) for c in ("HeadYaw", "HeadPitch", "HeadRoll")]
_ix = ARKIT61.index


@dataclass(frozen=True)
class Clip:
    """What the metrics need about one clip (motion at 25 fps)."""

    motion: np.ndarray  # (T, 61) the system's output
    segments: tuple = ()  # phone segments (phone, start, end) in seconds
    reference: np.ndarray | None = None  # (T, 61) targets, when there are any


def _frames_in(start: float, end: float, num: int, widen: float = 0.0) -> np.ndarray:
    """Frames whose centres lie in [start - widen, end + widen]; the nearest one if none."""
    centres = (np.arange(num) + 0.5) / FPS
    idx = np.flatnonzero((centres >= start - widen) & (centres <= end + widen))
    if idx.size == 0:
        idx = np.array([min(num - 1, max(0, int((start + end) / 2 * FPS)))])
    return idx


def _seg(s) -> tuple[str, float, float]:
    return (s.phone, s.start, s.end) if hasattr(s, "phone") else (s[0], float(s[1]), float(s[2]))


def rounding_score(motion: np.ndarray) -> np.ndarray:
    stretch = 0.5 * (motion[:, _ix("MouthStretchLeft")] + motion[:, _ix("MouthStretchRight")])
    return motion[:, _ix("MouthFunnel")] + motion[:, _ix("MouthPucker")] - stretch


def phone_events(clip: Clip) -> dict[str, list]:
    """Per-phone outcomes of one clip: closure, opening and vowel closure (bool), rounding scores."""
    gap, rnd, T = lip_gap(clip.motion), rounding_score(clip.motion), len(clip.motion)
    out = {"closure": [], "opening": [], "rounded": [], "spread": [], "vowel_closure": []}
    for s in clip.segments:
        phone, start, end = _seg(s)
        if start >= T / FPS:
            continue
        if phone in VOWELS:
            quarter = (end - start) / 4
            out["vowel_closure"].append(bool(gap[_frames_in(start + quarter, end - quarter, T)].min() <= CLOSED_GAP))
        if phone in BILABIALS:
            out["closure"].append(bool(gap[_frames_in(start, end, T, TOLERANCE_S)].min() <= CLOSED_GAP))
        elif phone in OPEN_VOWELS:
            out["opening"].append(bool(gap[_frames_in(start, end, T)].max() >= OPEN_GAP))
        elif phone in ROUNDED:
            out["rounded"].append(float(rnd[_frames_in(start, end, T)].mean()))
        elif phone in SPREAD:
            out["spread"].append(float(rnd[_frames_in(start, end, T)].mean()))
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    """P(random positive > random negative), ties count half."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n) + 0.5 * (p == n)).mean())


def _upsample(x: np.ndarray, factor: int) -> np.ndarray:
    t = np.arange(len(x) * factor) / factor
    return np.interp(t, np.arange(len(x)), x)


def lag_curve(x: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum over the overlap of normalised x(t + lag) * ref(t), for lags in +-MAX_LAG_S."""
    factor = round(1 / (LAG_STEP_S * FPS))
    a, b = _upsample(x - x.mean(), factor), _upsample(ref - ref.mean(), factor)
    a, b = a / (np.linalg.norm(a) + 1e-9), b / (np.linalg.norm(b) + 1e-9)
    max_lag = round(MAX_LAG_S / LAG_STEP_S)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.array([np.dot(a[max(0, k) : len(a) + min(0, k)], b[max(0, -k) : len(b) - max(0, k)]) for k in lags])
    return lags * LAG_STEP_S * 1000, corr


def blinks_per_minute(motion: np.ndarray) -> tuple[int, float]:
    """(blinks, seconds)."""
    b = 0.5 * (motion[:, _ix("EyeBlinkLeft")] + motion[:, _ix("EyeBlinkRight")])
    count, armed = 0, True
    for v in b:
        if armed and v >= 0.5:
            count, armed = count + 1, False
        elif v < 0.3:
            armed = True
    return count, len(motion) / FPS


def evaluate(clips: list[Clip]) -> dict:
    """Pooled metrics of one system over clips (NaN where a metric has no data)."""
    events = {"closure": [], "opening": [], "rounded": [], "spread": [], "vowel_closure": []}
    mean_err, max_err, fdd, head, lag_curves, closures = [], [], [], [], [], []
    blinks, seconds, lag_weight = 0, 0.0, 0.0
    for clip in clips:
        clip_events = phone_events(clip)
        for k, v in clip_events.items():
            events[k] += v
        closures.append(clip_events["closure"])
        n, s = blinks_per_minute(clip.motion)
        blinks, seconds = blinks + n, seconds + s
        head.append(np.degrees(clip.motion[:, HEAD].std(0)).mean())
        if clip.reference is not None:
            ref = clip.reference[: len(clip.motion)]
            err = np.abs(clip.motion[: len(ref), MOUTH] - ref[:, MOUTH])
            mean_err.append(err.mean(1))
            max_err.append(err.max(1))
            fdd.append(np.abs(clip.motion[:, UPPER].std(0) - ref[:, UPPER].std(0)).mean())
            lags, corr = lag_curve(lip_gap(clip.motion[: len(ref)]), lip_gap(ref))
            lag_curves.append(corr * len(ref))
            lag_weight += len(ref)

    def rate(v):
        return float(np.mean(v)) if v else float("nan")

    nan = float("nan")
    lag_sum = np.sum(lag_curves, 0) if lag_curves else None
    return {
        "clips": len(clips),
        "seconds": round(seconds, 1),
        "mouth_mean_err": float(np.concatenate(mean_err).mean()) if mean_err else nan,
        "mouth_max_err": float(np.concatenate(max_err).mean()) if max_err else nan,
        "closure_rate": rate(events["closure"]),
        "closure_n": len(events["closure"]),
        "opening_rate": rate(events["opening"]),
        "opening_n": len(events["opening"]),
        "vowel_closure_rate": rate(events["vowel_closure"]),
        "vowel_closure_n": len(events["vowel_closure"]),
        "rounding_auc": auc(events["rounded"], events["spread"]),
        "rounding_n": [len(events["rounded"]), len(events["spread"])],
        "sync_lag_ms": float(lags[np.argmax(lag_sum)]) if lag_sum is not None else nan,
        "sync_corr": float(lag_sum.max() / lag_weight) if lag_sum is not None else nan,
        **bootstrap_intervals(closures, lag_curves, lags if lag_curves else None),
        "fdd": float(np.mean(fdd)) if fdd else nan,
        "blinks_per_min": 60 * blinks / seconds if seconds else nan,
        "head_std_deg": float(np.mean(head)) if head else nan,
    }


def bootstrap_intervals(closures: list[list[bool]], lag_curves: list[np.ndarray], lags_ms) -> dict:
    """95 % intervals of the pooled closure rate and sync lag, clips resampled with replacement."""
    rng, n = np.random.default_rng(0), len(closures)
    if n < 2:
        return {}
    picks = rng.integers(0, n, (BOOTSTRAP, n))
    out = {}
    hits = np.array([sum(c) for c in closures], float)
    totals = np.array([len(c) for c in closures], float)
    if totals.sum():
        rates = hits[picks].sum(1) / np.maximum(totals[picks].sum(1), 1)
        out["closure_ci"] = [float(v) for v in np.percentile(rates, [2.5, 97.5])]
    if len(lag_curves) == n:
        curves = np.stack(lag_curves)
        best = np.array([lags_ms[np.argmax(curves[p].sum(0))] for p in picks])
        out["sync_lag_ci_ms"] = [float(v) for v in np.percentile(best, [2.5, 97.5])]
    return out
