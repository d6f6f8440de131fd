"""RFLAGS (Intel SDM Vol. 1, 3.4.3 "EFLAGS Register", Figure 3-8; Vol. 3A 2.3).

Bit 1 is reserved and always reads as 1; IOPL is the two-bit field 13:12.
"""

from __future__ import annotations

from enum import IntFlag

from .bits import field, flag_names, require_range

RFLAGS_FIXED_ONE = 1 << 1


class Rflags(IntFlag):
    CF = 1 << 0
    PF = 1 << 2
    AF = 1 << 4
    ZF = 1 << 6
    SF = 1 << 7
    TF = 1 << 8
    IF = 1 << 9
    DF = 1 << 10
    OF = 1 << 11
    IOPL = 3 << 12
    NT = 1 << 14
    RF = 1 << 16
    VM = 1 << 17
    AC = 1 << 18
    VIF = 1 << 19
    VIP = 1 << 20
    ID = 1 << 21


def rflags_names(value: int) -> tuple[str, ...]:
    """The set flags, with IOPL written as ``IOPL=n`` when non-zero."""
    require_range(value, 64, "RFLAGS")
    names = list(flag_names(value, Rflags))
    iopl = field(value, 12, 2)
    if iopl:
        names.append(f"IOPL={iopl}")
    return tuple(names)


def rflags_reserved(value: int) -> int:
    """Reserved bits set wrongly: any bit no flag names, or bit 1 clear."""
    known = RFLAGS_FIXED_ONE
    for member in Rflags:
        known |= member.value
    return (value & ~known) | (0 if value & RFLAGS_FIXED_ONE else RFLAGS_FIXED_ONE)
