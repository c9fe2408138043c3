"""A compiled retarget map: the model's motion channels in, a character rig's values out.

Per output target, in this order:

    value = curve(gain * sum(weight * source) + offset), then clamp, then smoothing

The weighted sums of all targets are one matmul; curves and clamps are vectorised
per kind. Bone outputs follow the targets: rotation channels scaled by the bone's
gain, smoothed, and turned into a quaternion or Euler degrees (bones.py).
Smoothing is a one-pole low-pass with a time constant in seconds; its memory lives
in a RetargetState, one per session, so frames that arrive in blocks give the same
values however they are split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from artalk_service.layout import MotionLayout
from artalk_service.retarget.bones import Bone
from artalk_service.retarget.curves import Curve, CurveBank
from artalk_service.retarget.limits import OUTPUT_LIMIT


@dataclass(frozen=True)
class Target:
    name: str
    sources: tuple[tuple[str, float], ...]  # (source channel, weight)
    gain: float = 1.0
    offset: float = 0.0
    clamp: tuple[float, float] | None = None
    curve: Curve | None = None
    smoothing: float = 0.0  # low-pass time constant in seconds; 0 = off

    def to_spec(self) -> dict:
        spec: dict = {"name": self.name, "sources": dict(self.sources)}
        if self.gain != 1.0:
            spec["gain"] = self.gain
        if self.offset:
            spec["offset"] = self.offset
        if self.clamp is not None:
            spec["clamp"] = list(self.clamp)
        if self.curve is not None:
            spec["curve"] = self.curve.to_spec()
        if self.smoothing:
            spec["smoothing"] = self.smoothing
        return spec


class RetargetState:
    """The smoothing filters' memory for one session (or one clip)."""

    def __init__(self, time_constants: np.ndarray, fps: int) -> None:
        smoothed = time_constants > 0
        self._cols = np.flatnonzero(smoothed)
        # Exact discretisation of a first-order low-pass at this frame rate.
        with np.errstate(over="ignore", divide="ignore"):  # a tiny time constant: alpha 1, no smoothing
            self._alpha = (1.0 - np.exp(-1.0 / (fps * time_constants[smoothed]))).astype(np.float32)
        self._last: np.ndarray | None = None

    def filter(self, values: np.ndarray) -> None:
        """Low-pass the smoothed columns of (n, columns) values in place, continuing from the last call."""
        if not len(self._cols) or not len(values):
            return
        x = values[:, self._cols]
        y = self._last
        for i in range(len(x)):
            y = x[i] if y is None else y + self._alpha * (x[i] - y)  # the first frame starts the filter
            x[i] = y
        self._last = x[-1].copy()
        values[:, self._cols] = x


@dataclass(frozen=True)
class RetargetMap:
    name: str
    layout: MotionLayout
    targets: tuple[Target, ...]
    bones: tuple[Bone, ...] = ()
    description: str = ""
    _compiled: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = np.zeros((self.layout.num_channels, len(self.targets)), dtype=np.float32)
        for j, target in enumerate(self.targets):
            for channel, weight in target.sources:
                weights[self.layout.index(channel), j] += weight * target.gain
        clamps = [t.clamp or (-OUTPUT_LIMIT, OUTPUT_LIMIT) for t in self.targets]
        smoothing = [t.smoothing for t in self.targets] + [b.smoothing for b in self.bones for _ in range(3)]
        object.__setattr__(
            self,
            "_compiled",
            {
                "weights": weights,
                "offset": np.array([t.offset for t in self.targets], dtype=np.float32),
                "lo": np.array([lo for lo, _ in clamps], dtype=np.float32),
                "hi": np.array([hi for _, hi in clamps], dtype=np.float32),
                "curves": CurveBank([t.curve for t in self.targets]),
                "bone_sources": np.array([self.layout.indices(b.sources) for b in self.bones], dtype=np.intp).reshape(
                    -1
                ),
                "bone_gain": np.repeat([b.gain for b in self.bones], 3).astype(np.float32),
                "time_constants": np.array(smoothing, dtype=np.float64),
            },
        )

    @property
    def names(self) -> list[str]:
        """Output channel names: the targets, then each bone's channels."""
        return [t.name for t in self.targets] + [n for b in self.bones for n in b.channel_names]

    @property
    def rotation_names(self) -> list[str]:
        """Targets fed by rotation channels, so in radians (bone channels are not)."""
        rotations = set(self.layout.rotation_channels)
        return [t.name for t in self.targets if any(c in rotations for c, _ in t.sources)]

    def new_state(self, fps: int) -> RetargetState:
        """Smoothing memory for a stream of frames at `fps`; create one per session."""
        return RetargetState(self._compiled["time_constants"], fps)

    def apply(self, frames: np.ndarray, state: RetargetState | None = None) -> np.ndarray:
        """(n, layout channels) native motion -> (n, len(names)) output values.

        Pass the session's state so smoothing continues across calls; without one the
        frames are taken as a whole clip at the layout's native rate.
        """
        c = self._compiled
        state = self.new_state(self.layout.fps) if state is None else state
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # what overflows is limited below
            targets = frames @ c["weights"] + c["offset"]
            c["curves"].apply(targets)
            angles = frames[:, c["bone_sources"]] * c["bone_gain"]
        # The one rule that keeps every output finite (docs/retarget.md, Limits): NaN is 0, and
        # values are limited to +-OUTPUT_LIMIT (clamp bounds are within it), before smoothing.
        np.nan_to_num(targets, copy=False, nan=0.0, posinf=OUTPUT_LIMIT, neginf=-OUTPUT_LIMIT)
        np.clip(targets, c["lo"], c["hi"], out=targets)
        np.nan_to_num(angles, copy=False, nan=0.0, posinf=OUTPUT_LIMIT, neginf=-OUTPUT_LIMIT)
        np.clip(angles, -OUTPUT_LIMIT, OUTPUT_LIMIT, out=angles)
        values = np.concatenate([targets, angles], axis=1).astype(np.float32)
        state.filter(values)
        n_targets = len(self.targets)
        bones = [bone.values(values[:, n_targets + 3 * k : n_targets + 3 * k + 3]) for k, bone in enumerate(self.bones)]
        out = np.concatenate([values[:, :n_targets], *bones], axis=1).astype(np.float32, copy=False)
        return np.clip(out, -OUTPUT_LIMIT, OUTPUT_LIMIT, out=out) if self.bones else out  # Euler degrees of huge angles

    def to_spec(self) -> dict:
        """The map in its JSON form, fully resolved (no extends, mirror or swap_sides left)."""
        spec: dict = {"name": self.name}
        if self.description:
            spec["description"] = self.description
        spec["layout"] = self.layout.name
        spec["targets"] = [t.to_spec() for t in self.targets]
        if self.bones:
            spec["bones"] = [b.to_spec() for b in self.bones]
        return spec
