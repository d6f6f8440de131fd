"""Segment selectors (Intel SDM Vol. 3A, 3.4.2 "Segment Selectors", Figure 3-6).

A selector is 16 bits: RPL in bits 1:0, the table indicator TI in bit 2 (0 = GDT,
1 = LDT) and the descriptor index in bits 15:3.
"""

from __future__ import annotations

from enum import IntEnum

from .bits import field, require_range
from .record import record


class TableIndicator(IntEnum):
    """Selector bit 2 (TI): which descriptor table the index refers to."""

    GDT = 0
    LDT = 1


@record
class Selector:
    """A decoded segment selector."""

    index: int
    ti: TableIndicator
    rpl: int

    def __post_init__(self) -> None:
        require_range(self.index, 13, "selector index")
        require_range(self.rpl, 2, "selector RPL")

    @classmethod
    def from_int(cls, value: int) -> Selector:
        require_range(value, 16, "a segment selector")
        return cls(field(value, 3, 13), TableIndicator(field(value, 2, 1)), field(value, 0, 2))

    def to_int(self) -> int:
        return (self.index << 3) | (int(self.ti) << 2) | self.rpl

    @property
    def is_null(self) -> bool:
        """True for the null selectors 0-3 (index 0 in the GDT)."""
        return self.index == 0 and self.ti is TableIndicator.GDT

    @property
    def table_offset(self) -> int:
        """Byte offset of the descriptor in its table (index * 8)."""
        return self.index * 8

    def __str__(self) -> str:
        return f"{self.to_int():#06x} ({self.ti.name}[{self.index}] RPL{self.rpl})"
