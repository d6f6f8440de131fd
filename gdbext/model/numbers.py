"""Numbers as users type them: 0x.., 0b.., 0o.. or decimal."""

from __future__ import annotations

from ..errors import ParseError


def parse_int(text: str, what: str = "value") -> int:
    """An integer written as 0x.., 0b.., 0o.. or decimal (with optional _ separators)."""
    cleaned = text.strip().replace("_", "")
    try:
        value = int(cleaned, 0)
    except ValueError:
        raise ParseError(f"{what} {text!r} is not a number (write hex as 0x..)") from None
    if value < 0:
        raise ParseError(f"{what} {text!r} is negative")
    return value
