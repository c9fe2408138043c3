"""The one error a retarget map can raise, and the checks every part shares."""

from __future__ import annotations

import difflib
import math
from typing import Any

from artalk_service.quoting import quote
from artalk_service.retarget.limits import MAX_NUMBER

MAX_MESSAGE_CHARS = 1000  # a backstop: every part of a message is quoted short already


class RetargetError(ValueError):
    """An invalid map; the message names the offending part and what is accepted."""

    def __init__(self, message: str) -> None:
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "..."
        super().__init__(message)


def finite(value: Any, what: str, limit: float = MAX_NUMBER) -> float:
    """`value` as a float, or a RetargetError naming `what`: bools are not numbers here, and
    a number must be finite and at most `limit` in magnitude."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RetargetError(f"{what} must be a finite number, got {quote(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float's range
        number = math.copysign(math.inf, value)
    if math.isnan(number) or (math.isinf(number) and isinstance(value, float)):
        raise RetargetError(f"{what} must be a finite number, got {quote(value)}")
    if abs(number) > limit:
        raise RetargetError(f"{what} {quote(value)} is out of range; accepted: -{shown(limit)} to {shown(limit)}")
    return number


def shown(number: float) -> str:
    """A limit as the docs write it: 1e6, 100, 0.5."""
    return f"{number:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def check_channel(channel: Any, channels: tuple[str, ...], layout_name: str, where: str) -> str:
    """`channel` if the layout has it, else a RetargetError suggesting the nearest name."""
    if not isinstance(channel, str) or channel not in channels:
        near = (
            difflib.get_close_matches(channel, channels, n=1) if isinstance(channel, str) and len(channel) < 64 else []
        )
        hint = f"; did you mean {near[0]!r}?" if near else f"; valid channels are those of layout {layout_name}"
        raise RetargetError(f"{where}: unknown source channel {quote(channel)}{hint}")
    return channel
