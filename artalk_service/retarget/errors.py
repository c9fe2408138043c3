"""The one error a retarget map can raise, and the number check every part shares."""

from __future__ import annotations

import difflib
import math
from typing import Any


class RetargetError(ValueError):
    """An invalid map; the message names the offending part and what is accepted."""


def finite(value: Any, what: str) -> float:
    """`value` as a float, or a RetargetError naming `what` (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RetargetError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def check_channel(channel: Any, channels: tuple[str, ...], layout_name: str, where: str) -> str:
    """`channel` if the layout has it, else a RetargetError suggesting the nearest name."""
    if channel not in channels:
        near = difflib.get_close_matches(str(channel), channels, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else f"; valid channels are those of layout {layout_name}"
        raise RetargetError(f"{where}: unknown source channel {channel!r}{hint}")
    return channel
