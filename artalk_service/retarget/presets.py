"""Built-in retarget presets for the arkit61 layout."""
from __future__ import annotations

from dataclasses import dataclass

from artalk_service.layout import ARKIT61, MotionLayout
from artalk_service.retarget.map import RetargetMap, Target


@dataclass(frozen=True)
class Preset:
    map: RetargetMap
    description: str


def _renamed(name: str, layout: MotionLayout, rename) -> RetargetMap:
    blend = set(layout.channels) - set(layout.rotation_channels)
    return RetargetMap(name, layout, tuple(
        Target(rename(ch), ((ch, 1.0),), clamp=(0.0, 1.0) if ch in blend else None) for ch in layout.channels))


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


PRESETS: dict[str, Preset] = {
    "arkit61": Preset(_renamed("arkit61", ARKIT61, str),
                      "Identity: 52 ARKit blendshapes in PascalCase (Unreal, Live Link, MetaHuman) "
                      "plus head and eye rotations in radians."),
    "arkit_camel": Preset(_renamed("arkit_camel", ARKIT61, _camel),
                          "52 ARKit blendshapes in Apple's camelCase (most Unity rigs) plus head and "
                          "eye rotations in radians (headYaw, ...)."),
}


def get_preset(name: str) -> RetargetMap:
    try:
        return PRESETS[name].map
    except KeyError:
        raise KeyError(f"unknown retarget preset {name!r}; available: {sorted(PRESETS)}") from None
