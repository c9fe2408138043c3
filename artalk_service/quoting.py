"""Client input in messages, cut to a bounded length: the one way an error or log line quotes it.

An error message that quotes what a client sent must stay short whatever was sent: a
status message travels in the call's trailers, and gRPC refuses trailers over its
metadata limit (about 8 KiB), so a long quote turns INVALID_ARGUMENT into
RESOURCE_EXHAUSTED. Quoting must also stay cheap: `repr` of a YAML alias bomb expands
every alias, and `repr` of an integer of 5,000 digits raises.

    quote("JawOpn")            -> 'JawOpn'
    quote("x" * 15_000)        -> 'xxxx...xxxx'... (15000 characters)
    quote(10**5000)            -> an integer of 5001 digits
    quote([[[1, 2, 3, 4, 5]]]) -> [[[1, 2, 3, 4, ...]]]   (containers: a few items, a few levels)
    names(["a", "b"])          -> 'a', 'b'

This module imports nothing of the package, so that every part may use it.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable
from typing import Any

QUOTE_CHARS = 64  # characters of a quoted string shown before it is cut
MAX_QUOTE_CHARS = 4 * QUOTE_CHARS  # the longest a quote of anything gets
LIST_ITEMS = 20  # names a list of names shows before "and N more"
_BIG_INT_BITS = 128  # integers beyond about 3.4e38 are described, not printed


class _Repr(reprlib.Repr):
    """reprlib with small bounds: it stops at a few items and levels, so an alias bomb costs nothing."""

    def __init__(self, chars: int) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxtuple = self.maxlist = self.maxarray = self.maxset = self.maxfrozenset = self.maxdeque = 4
        self.maxdict = 4
        self.maxstring = chars
        self.maxlong = 40
        self.maxother = chars

    def repr_str(self, x: str, level: int) -> str:
        return _string(x, self.maxstring)

    def repr_int(self, x: int, level: int) -> str:
        return _integer(x)

    def repr_bytes(self, x: bytes, level: int) -> str:
        keep = max(1, self.maxstring // 4)  # a byte can take 4 characters (\x00)
        return repr(x) if len(x) <= keep else f"{x[:keep]!r}... ({len(x)} bytes)"


def _string(text: str, chars: int) -> str:
    if len(text) <= chars:
        return repr(text)
    return f"{text[:chars]!r}... ({len(text)} characters)"


def _integer(value: int) -> str:
    if value.bit_length() <= _BIG_INT_BITS:
        return repr(value)
    digits = math.floor(value.bit_length() * math.log10(2)) + 1  # repr() of such a number may raise
    return f"an integer of about {digits} digits"


def quote(value: Any, chars: int = QUOTE_CHARS) -> str:
    """`value` as `repr` shows it, cut: strings to `chars` characters (with their length),
    containers to a few items and levels, huge integers to their size. Never longer than
    about 4 * `chars` characters, and cheap whatever `value` holds."""
    if isinstance(value, str):
        return _string(value, chars)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return _integer(value)
    try:
        shown = _Repr(chars).repr(value)
    except Exception:  # noqa: BLE001 - an object whose repr fails is shown by its type
        shown = f"<{type(value).__name__}>"
    limit = 4 * chars
    return shown if len(shown) <= limit else shown[:limit] + "..."


def names(items: Iterable[Any], limit: int = LIST_ITEMS, chars: int = QUOTE_CHARS) -> str:
    """A list of names for a message: each quoted, the first `limit` of them, then how many more."""
    items = list(items)
    shown = ", ".join(quote(item, chars) for item in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


__all__ = ["QUOTE_CHARS", "MAX_QUOTE_CHARS", "LIST_ITEMS", "quote", "names"]
