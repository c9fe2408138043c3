"""Retarget: the model's motion onto a character: channel maps onto rig names, and frames onto its frame rate."""

from artalk_service.retarget.errors import RetargetError
from artalk_service.retarget.library import MapLibrary
from artalk_service.retarget.limits import LIMITS, MAX_EXPONENT, MAX_NUMBER, OUTPUT_LIMIT, MapLimits
from artalk_service.retarget.map import RetargetMap, RetargetState, Target
from artalk_service.retarget.parse import parse_map
from artalk_service.retarget.presets import PRESETS, get_preset

__all__ = [
    "RetargetError",
    "MapLibrary",
    "MapLimits",
    "LIMITS",
    "MAX_NUMBER",
    "MAX_EXPONENT",
    "OUTPUT_LIMIT",
    "RetargetMap",
    "RetargetState",
    "Target",
    "parse_map",
    "PRESETS",
    "get_preset",
]
