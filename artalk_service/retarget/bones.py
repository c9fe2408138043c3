"""Head and eye rotations as bone rotations in Unity, Unreal or glTF axes.

Our rotation channels (artalk_service.layout) are radians in the character's own
frame: positive yaw turns toward its own left, positive pitch turns down, positive
roll tilts toward its left shoulder, applied yaw, then pitch, then roll (intrinsic).
Each engine names the same physical rotation with its own axes and handedness:

    engine   axes (character facing forward)        yaw      pitch    roll
    gltf     right-handed, +Y up, faces +Z, +X left  +Y axis  +X axis  -Z axis
    unity    left-handed,  +Y up, faces +Z, +X right -Y axis  +X axis  +Z axis
    unreal   left-handed,  +Z up, faces +X, +Y right -Z axis  +Y axis  +X axis

"-Y axis" means the rotation is a (right-hand-rule) quaternion about +Y by -yaw.
The quaternion is q(yaw) * q(pitch) * q(roll) in every engine, written x, y, z, w.
Euler outputs are degrees in the engine's own Euler form: Unity's eulerAngles
(x, y, z, applied z then x then y) and Unreal's FRotator (pitch, yaw, roll).
glTF stores rotations as quaternions only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

X, Y, Z = 0, 1, 2
YAW, PITCH, ROLL = 0, 1, 2


@dataclass(frozen=True)
class Convention:
    name: str
    axes: tuple[tuple[int, float], ...]  # (engine axis, sign) of yaw, pitch, roll
    euler: tuple[tuple[str, int, float], ...] | None  # (channel suffix, YAW/PITCH/ROLL, sign), degrees
    description: str


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "gltf",
            ((Y, 1.0), (X, 1.0), (Z, -1.0)),
            None,
            "glTF and most DCC exports: right-handed, +Y up, character faces +Z",
        ),
        # Unity's eulerAngles compose as Ry * Rx * Rz, the same order as ours, so each
        # Euler angle is one of our angles with the axis sign.
        Convention(
            "unity",
            ((Y, -1.0), (X, 1.0), (Z, 1.0)),
            (("rx", PITCH, 1.0), ("ry", YAW, -1.0), ("rz", ROLL, 1.0)),
            "Unity: left-handed, +Y up, character faces +Z",
        ),
        # FRotator composes as Rz(Yaw) * Ry(-Pitch) * Rx(-Roll) (FRotator::Quaternion).
        Convention(
            "unreal",
            ((Z, -1.0), (Y, 1.0), (X, 1.0)),
            (("pitch", PITCH, -1.0), ("yaw", YAW, -1.0), ("roll", ROLL, -1.0)),
            "Unreal: left-handed, +Z up, character faces +X, centimetres",
        ),
    )
}
OUTPUTS = ("quaternion", "euler_degrees")
QUATERNION_SUFFIXES = ("qx", "qy", "qz", "qw")


@dataclass(frozen=True)
class Bone:
    """One bone output: three rotation channels in, a quaternion or Euler angles out."""

    name: str
    sources: tuple[str, str, str]  # yaw, pitch, roll channels of the layout
    convention: str = "unity"
    output: str = "quaternion"
    gain: float = 1.0  # scales the angles: 0.5 halves the head motion
    smoothing: float = 0.0  # time constant in seconds of a low-pass on the angles; 0 = off

    @property
    def channel_names(self) -> list[str]:
        euler = CONVENTIONS[self.convention].euler
        suffixes = QUATERNION_SUFFIXES if self.output == "quaternion" else [s for s, _, _ in euler]
        return [f"{self.name}.{s}" for s in suffixes]

    def values(self, angles: np.ndarray) -> np.ndarray:
        """(n, 3) yaw, pitch, roll radians (gain applied) -> (n, 4) quaternions or (n, 3) degrees."""
        convention = CONVENTIONS[self.convention]
        if self.output == "euler_degrees":
            return np.stack([sign * np.degrees(angles[:, which]) for _, which, sign in convention.euler], axis=1)
        q = _axis_quaternion(convention.axes[YAW], angles[:, YAW])
        q = _multiply(q, _axis_quaternion(convention.axes[PITCH], angles[:, PITCH]))
        return _multiply(q, _axis_quaternion(convention.axes[ROLL], angles[:, ROLL]))

    def to_spec(self) -> dict:
        spec = {"bone": self.name, "from": list(self.sources), "convention": self.convention, "output": self.output}
        if self.gain != 1.0:
            spec["gain"] = self.gain
        if self.smoothing:
            spec["smoothing"] = self.smoothing
        return spec


def _axis_quaternion(axis_sign: tuple[int, float], angle: np.ndarray) -> np.ndarray:
    axis, sign = axis_sign
    q = np.zeros((len(angle), 4), dtype=np.float32)
    q[:, axis] = np.sin(sign * angle / 2)
    q[:, 3] = np.cos(angle / 2)
    return q


def _multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (n, 4) x, y, z, w quaternions: rotate by b, then by a."""
    ax, ay, az, aw = a.T
    bx, by, bz, bw = b.T
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=1,
    )
