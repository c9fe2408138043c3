"""Motion layouts: the named channels a model predicts, in order.

A layout is the model's native output. Retarget maps (artalk_service.retarget)
turn it into a character's blendshape names; the data corpus writes targets in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from artalk_service.timebase import FPS

# Unreal's ARKit face enum order (the Live Link Face / Audio2Face order), index 0..51.
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "EyeBlinkLeft",
    "EyeLookDownLeft",
    "EyeLookInLeft",
    "EyeLookOutLeft",
    "EyeLookUpLeft",
    "EyeSquintLeft",
    "EyeWideLeft",
    "EyeBlinkRight",
    "EyeLookDownRight",
    "EyeLookInRight",
    "EyeLookOutRight",
    "EyeLookUpRight",
    "EyeSquintRight",
    "EyeWideRight",
    "JawForward",
    "JawLeft",
    "JawRight",
    "JawOpen",
    "MouthClose",
    "MouthFunnel",
    "MouthPucker",
    "MouthLeft",
    "MouthRight",
    "MouthSmileLeft",
    "MouthSmileRight",
    "MouthFrownLeft",
    "MouthFrownRight",
    "MouthDimpleLeft",
    "MouthDimpleRight",
    "MouthStretchLeft",
    "MouthStretchRight",
    "MouthRollLower",
    "MouthRollUpper",
    "MouthShrugLower",
    "MouthShrugUpper",
    "MouthPressLeft",
    "MouthPressRight",
    "MouthLowerDownLeft",
    "MouthLowerDownRight",
    "MouthUpperUpLeft",
    "MouthUpperUpRight",
    "BrowDownLeft",
    "BrowDownRight",
    "BrowInnerUp",
    "BrowOuterUpLeft",
    "BrowOuterUpRight",
    "CheekPuff",
    "CheekSquintLeft",
    "CheekSquintRight",
    "NoseSneerLeft",
    "NoseSneerRight",
    "TongueOut",
)

# Rotations in radians, in the character's own frame: positive yaw turns toward its own
# left, positive pitch turns down (chin down, looking down), positive roll tilts toward
# its left shoulder; applied yaw, then pitch, then roll, each about the head's current
# axes. Eye rotations are relative to the head. docs/retarget.md "Conventions" gives the
# same rotations in Unity, Unreal and glTF axes.
HEAD_AND_EYE_ROTATIONS: tuple[str, ...] = (
    "HeadYaw",
    "HeadPitch",
    "HeadRoll",
    "LeftEyeYaw",
    "LeftEyePitch",
    "LeftEyeRoll",
    "RightEyeYaw",
    "RightEyePitch",
    "RightEyeRoll",
)


@dataclass(frozen=True)
class MotionLayout:
    """An ordered set of motion channels at a native frame rate."""

    name: str
    channels: tuple[str, ...]
    fps: int
    rotation_channels: tuple[str, ...]  # subset of channels that are rotations in radians

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    def index(self, channel: str) -> int:
        return self.channels.index(channel)

    def indices(self, channels: tuple[str, ...] | list[str]) -> list[int]:
        return [self.channels.index(c) for c in channels]


ARKIT61 = MotionLayout(
    name="arkit61",
    channels=ARKIT_BLENDSHAPES + HEAD_AND_EYE_ROTATIONS,
    fps=FPS,
    rotation_channels=HEAD_AND_EYE_ROTATIONS,
)

LAYOUTS: dict[str, MotionLayout] = {ARKIT61.name: ARKIT61}

# Channel groups that session switches act on.
BLINK_CHANNELS: tuple[str, ...] = ("EyeBlinkLeft", "EyeBlinkRight")
HEAD_CHANNELS: tuple[str, ...] = ("HeadYaw", "HeadPitch", "HeadRoll")


def get_layout(name: str) -> MotionLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown motion layout {name!r}; known: {sorted(LAYOUTS)}") from None
