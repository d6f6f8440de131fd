"""Small helpers for bit fields, shared by the decoders."""

from __future__ import annotations

from enum import IntFlag

from ..errors import DecodeError


def field(value: int, low: int, width: int) -> int:
    """Return ``width`` bits of ``value`` starting at bit ``low``."""
    return (value >> low) & ((1 << width) - 1)


def require_length(data: bytes, size: int, what: str) -> None:
    """Raise a DecodeError unless ``data`` is exactly ``size`` bytes."""
    if len(data) != size:
        raise DecodeError(f"{what} is {size} bytes, got {len(data)}")


def require_range(value: int, bits: int, what: str) -> None:
    """Raise a DecodeError unless ``0 <= value < 2**bits``."""
    if not 0 <= value < (1 << bits):
        raise DecodeError(f"{what} must fit in {bits} bits, got {value:#x}")


def flag_names(value: int, flags: type[IntFlag]) -> tuple[str, ...]:
    """Names of the members of ``flags`` that are set in ``value``, low bit first.

    Multi-bit members (such as RFLAGS.IOPL) are left to the caller.
    """
    return tuple(
        str(member.name)
        for member in flags
        if member.value & (member.value - 1) == 0 and value & member.value
    )


def unknown_bits(value: int, flags: type[IntFlag]) -> int:
    """Bits set in ``value`` that no member of ``flags`` names."""
    known = 0
    for member in flags:
        known |= member.value
    return value & ~known
