"""Built-in retarget presets for the arkit61 layout (docs/retarget.md describes each).

The two ARKit presets rename every channel; the others are weighted sums with
curves, written as JSON in presets/ so that technical artists can read and copy them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from artalk_service.layout import ARKIT61, MotionLayout
from artalk_service.quoting import names, quote
from artalk_service.retarget.map import RetargetMap, Target
from artalk_service.retarget.parse import load_file, parse_map

PRESET_DIR = Path(__file__).resolve().parent / "presets"


def _renamed(name: str, layout: MotionLayout, rename: Callable[[str], str], description: str) -> RetargetMap:
    rotations = set(layout.rotation_channels)
    return RetargetMap(
        name,
        layout,
        tuple(
            Target(rename(ch), ((ch, 1.0),), clamp=None if ch in rotations else (0.0, 1.0)) for ch in layout.channels
        ),
        description=description,
    )


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


def _load_builtin() -> dict[str, RetargetMap]:
    presets = {
        "arkit61": _renamed(
            "arkit61",
            ARKIT61,
            str,
            "Identity: the 52 ARKit blendshapes in PascalCase (Unreal, Live Link, MetaHuman), "
            "0-1, plus head and eye rotations in radians.",
        ),
        "arkit_camel": _renamed(
            "arkit_camel",
            ARKIT61,
            _camel,
            "The 52 ARKit blendshapes in Apple's camelCase (Apple, most Unity rigs), 0-1, "
            "plus head and eye rotations in radians (headYaw, ...).",
        ),
    }
    for path in sorted(PRESET_DIR.glob("*.json")):
        presets[path.stem] = parse_map(load_file(path), ARKIT61, presets.__getitem__)
    return presets


PRESETS: dict[str, RetargetMap] = _load_builtin()


def get_preset(name: str) -> RetargetMap:
    """A built-in preset; KeyError (with the names available) for any other name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown retarget preset {quote(name)}; available: {names(sorted(PRESETS))}") from None
