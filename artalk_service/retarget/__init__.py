"""Retarget maps: the model's motion channels onto a character rig's names."""
from artalk_service.retarget.errors import RetargetError
from artalk_service.retarget.library import MapLibrary
from artalk_service.retarget.map import RetargetMap, RetargetState, Target
from artalk_service.retarget.parse import parse_map
from artalk_service.retarget.presets import PRESETS, get_preset

__all__ = ["RetargetError", "MapLibrary", "RetargetMap", "RetargetState", "Target", "parse_map", "PRESETS",
           "get_preset"]
