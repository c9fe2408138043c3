"""Left/right mirroring of source channels, for writing one side of a rig and getting the other.

The mirror of a channel is the same channel on the other side of the face
(EyeBlinkLeft <-> EyeBlinkRight, LeftEyeYaw <-> RightEyeYaw, JawLeft <-> JawRight);
a channel in the middle (JawOpen, HeadPitch) is its own mirror. Mirroring a
rotation about the vertical or the forward axis reverses it, so yaw and roll
weights change sign.
"""

from __future__ import annotations

import re

from artalk_service.layout import MotionLayout

_SIDE = re.compile(r"Left|Right")
_REVERSED_ROTATIONS = ("Yaw", "Roll")


def mirror_channel(channel: str, layout: MotionLayout) -> tuple[str, float]:
    """(the channel on the other side, the sign its weight takes)."""
    other = _SIDE.sub(lambda m: "Right" if m.group() == "Left" else "Left", channel)
    if other not in layout.channels:
        other = channel
    reverses = channel in layout.rotation_channels and channel.endswith(_REVERSED_ROTATIONS)
    return other, -1.0 if reverses else 1.0


def mirror_sources(sources: tuple[tuple[str, float], ...], layout: MotionLayout) -> tuple[tuple[str, float], ...]:
    """Weighted sources of the mirrored side, in the same order."""
    mirrored = []
    for channel, weight in sources:
        other, sign = mirror_channel(channel, layout)
        mirrored.append((other, sign * weight))
    return tuple(mirrored)
