"""What one retarget map may hold: its size, its nesting, its outputs and the numbers in it.

The same limits apply to inline maps (SessionConfig.retarget.inline_map,
ValidateRetargetMap) and to the files of --retarget-dir; docs/retarget.md (Limits)
explains each. They bound the work a map costs to parse, and they bound what it can
output: with every number at most MAX_NUMBER in magnitude and exponents at most
MAX_EXPONENT, a map's arithmetic stays finite for any finite input, and the one
rule left, OUTPUT_LIMIT, keeps every output value finite however large its input.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_NUMBER = 1e6  # weights, gains, offsets, clamp bounds, curve edges and points, smoothing seconds
MAX_EXPONENT = 100.0  # a power curve's exponent: 0 < p <= MAX_EXPONENT
OUTPUT_LIMIT = 1e9  # every output value is clipped to +-OUTPUT_LIMIT; NaN becomes 0


@dataclass(frozen=True)
class MapLimits:
    max_bytes: int = 1 << 20  # the map's text, UTF-8 (1 MiB holds a 2,048-target map with curves)
    max_depth: int = 16  # nesting of lists and objects (a map needs 6: map, targets, target, curve, points, point)
    max_channels: int = 2048  # output channels: targets, their mirror twins, and bone channels
    max_curve_points: int = 256  # points of one piecewise curve
    max_alias_nodes: int = 10_000  # YAML: nodes the aliases stand for, all together (an alias bomb stands for billions)
    max_name_chars: int = 256  # a map's, a target's or a bone's name


LIMITS = MapLimits()
