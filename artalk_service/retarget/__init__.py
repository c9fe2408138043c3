"""Retarget maps: the model's motion channels onto a character rig's names."""
from artalk_service.retarget.map import RetargetError, RetargetMap, Target, parse_map
from artalk_service.retarget.presets import PRESETS, get_preset

__all__ = ["RetargetError", "RetargetMap", "Target", "parse_map", "PRESETS", "get_preset"]
