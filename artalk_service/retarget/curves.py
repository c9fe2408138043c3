"""Response curves: shape a target's value after gain and offset, before clamping.

    {"type": "power", "exponent": 2.0}             y = sign(x) * |x| ** exponent
    {"type": "smoothstep", "edges": [e0, e1]}      t = clip((x - e0) / (e1 - e0), 0, 1); y = t*t*(3 - 2t)
    {"type": "piecewise", "points": [[x, y], ...]} straight lines through the points, flat outside

An exponent above 1 softens small values; smoothstep with e0 > e1 falls instead of
rising; piecewise points may go up and down, which makes bands and "lips closed"
detectors out of a weighted sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from artalk_service.quoting import quote
from artalk_service.retarget.errors import RetargetError, finite, shown
from artalk_service.retarget.limits import LIMITS, MAX_EXPONENT


@dataclass(frozen=True)
class PowerCurve:
    exponent: float

    def to_spec(self) -> dict:
        return {"type": "power", "exponent": self.exponent}


@dataclass(frozen=True)
class SmoothstepCurve:
    edge0: float
    edge1: float

    def to_spec(self) -> dict:
        return {"type": "smoothstep", "edges": [self.edge0, self.edge1]}


@dataclass(frozen=True)
class PiecewiseCurve:
    points: tuple[tuple[float, float], ...]  # x strictly increasing

    def to_spec(self) -> dict:
        return {"type": "piecewise", "points": [list(p) for p in self.points]}


Curve = PowerCurve | SmoothstepCurve | PiecewiseCurve
MIN_EDGE_GAP = 1e-6  # smoothstep edges closer than this would divide by a float32 zero
CURVE_TYPES = ("power", "smoothstep", "piecewise")


class CurveBank:
    """The curves of a map's columns, applied in place with one vector operation per kind."""

    def __init__(self, curves: list[Curve | None]) -> None:
        power = [(j, c) for j, c in enumerate(curves) if isinstance(c, PowerCurve)]
        smooth = [(j, c) for j, c in enumerate(curves) if isinstance(c, SmoothstepCurve)]
        self._power_cols = np.array([j for j, _ in power], dtype=np.intp)
        self._exponents = np.array([c.exponent for _, c in power], dtype=np.float32)
        self._smooth_cols = np.array([j for j, _ in smooth], dtype=np.intp)
        self._edge0 = np.array([c.edge0 for _, c in smooth], dtype=np.float32)
        self._width = np.array([c.edge1 - c.edge0 for _, c in smooth], dtype=np.float32)
        # Each piecewise curve has its own knots, so these go one column at a time.
        self._piecewise = [
            (j, np.array([p[0] for p in c.points]), np.array([p[1] for p in c.points]))
            for j, c in enumerate(curves)
            if isinstance(c, PiecewiseCurve)
        ]

    def apply(self, values: np.ndarray) -> None:
        """Shape (n, columns) values in place."""
        if len(self._power_cols):
            x = values[:, self._power_cols]
            values[:, self._power_cols] = np.sign(x) * np.abs(x) ** self._exponents
        if len(self._smooth_cols):
            t = np.clip((values[:, self._smooth_cols] - self._edge0) / self._width, 0.0, 1.0)
            values[:, self._smooth_cols] = t * t * (3.0 - 2.0 * t)
        for j, xs, ys in self._piecewise:
            values[:, j] = np.interp(values[:, j], xs, ys)


def parse_curve(raw: Any, where: str, max_points: int = LIMITS.max_curve_points) -> Curve | None:
    """A curve from its JSON form; None (or "linear") is no curve."""
    if raw is None or raw == "linear" or raw == {"type": "linear"}:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or raw["type"] not in CURVE_TYPES:
        raise RetargetError(
            f'{where}: bad curve {quote(raw)}; accepted: {{"type": one of {list(CURVE_TYPES)}, ...}} or "linear"'
        )
    kind = raw["type"]
    keys = {"power": "exponent", "smoothstep": "edges", "piecewise": "points"}
    unknown = set(raw) - {"type", keys[kind]}
    if unknown or keys[kind] not in raw:
        raise RetargetError(f"{where}: bad {kind} curve: it takes exactly 'type' and '{keys[kind]}'")
    if kind == "piecewise":
        return _piecewise(raw["points"], where, max_points)
    return {"power": _power, "smoothstep": _smoothstep}[kind](raw[keys[kind]], where)


def _power(exponent: Any, where: str) -> PowerCurve:
    value = finite(exponent, f"{where}: power curve exponent", limit=MAX_EXPONENT)
    if value <= 0:
        raise RetargetError(f"{where}: bad power curve: exponent {value} must be > 0 (at most {shown(MAX_EXPONENT)})")
    return PowerCurve(value)


def _smoothstep(edges: Any, where: str) -> SmoothstepCurve:
    if not isinstance(edges, list) or len(edges) != 2:
        raise RetargetError(f"{where}: bad smoothstep curve: 'edges' must be [edge0, edge1]")
    e0, e1 = (finite(e, f"{where}: smoothstep edge") for e in edges)
    if abs(e1 - e0) < MIN_EDGE_GAP:
        raise RetargetError(
            f"{where}: bad smoothstep curve: edges [{e0}, {e1}] must differ by at least {shown(MIN_EDGE_GAP)}"
        )
    return SmoothstepCurve(e0, e1)


def _piecewise(points: Any, where: str, max_points: int) -> PiecewiseCurve:
    if isinstance(points, list) and len(points) > max_points:
        raise RetargetError(
            f"{where}: bad piecewise curve: {len(points):,} points; the limit is {max_points:,} points per curve"
        )
    if not isinstance(points, list) or len(points) < 2 or not all(isinstance(p, list) and len(p) == 2 for p in points):
        raise RetargetError(f"{where}: bad piecewise curve: 'points' must be at least two [x, y] pairs")
    parsed = tuple(
        (finite(x, f"{where}: piecewise point x"), finite(y, f"{where}: piecewise point y")) for x, y in points
    )
    xs = [x for x, _ in parsed]
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise RetargetError(f"{where}: bad piecewise curve: point x values {quote(xs)} must strictly increase")
    return PiecewiseCurve(parsed)
