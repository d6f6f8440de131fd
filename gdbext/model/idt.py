"""Interrupt tables as a whole: the real-mode IVT and the protected/IA-32e IDT.

- Real-address mode: Intel SDM Vol. 3A, 20.1.4 "Interrupt and Exception Handling";
  each IVT entry is 4 bytes, offset (low word) then segment (high word).
- Protected mode and IA-32e mode: SDM Vol. 3A, 6.10 "Interrupt Descriptor Table"
  (IDTR, Figure 6-1) and 6.14.1 (16-byte gates). The IDTR limit is the offset of
  the last valid byte, so a table of N gates has limit N * size - 1; the CPU
  never looks past vector 255, so a limit such as Linux's 0xffff still means 256.
"""

from __future__ import annotations

import struct
from enum import Enum

from ..errors import DecodeError
from .bits import require_length, require_range
from .gate import GATE_SIZE_LONG, GATE_SIZE_PROTECTED, Gate
from .record import record

VECTOR_COUNT = 256
IVT_ENTRY_SIZE = 4


class CpuMode(Enum):
    """The three table layouts a guest can be using."""

    REAL = "real"
    PROTECTED = "protected"
    LONG = "long"

    @property
    def gate_size(self) -> int:
        return {CpuMode.REAL: IVT_ENTRY_SIZE, CpuMode.PROTECTED: GATE_SIZE_PROTECTED,
                CpuMode.LONG: GATE_SIZE_LONG}[self]


@record
class IvtEntry:
    """A real-mode interrupt vector: a far pointer ``segment:offset``."""

    segment: int
    offset: int

    def __post_init__(self) -> None:
        require_range(self.segment, 16, "IVT segment")
        require_range(self.offset, 16, "IVT offset")

    @property
    def linear(self) -> int:
        """The handler's linear address, segment * 16 + offset."""
        return (self.segment << 4) + self.offset

    @classmethod
    def from_bytes(cls, data: bytes) -> IvtEntry:
        require_length(data, IVT_ENTRY_SIZE, "an IVT entry")
        offset, segment = struct.unpack("<HH", data)
        return cls(segment, offset)

    def to_bytes(self) -> bytes:
        return struct.pack("<HH", self.offset, self.segment)


def table_read_size(limit: int, mode: CpuMode) -> int:
    """How many bytes of an IDT/IVT with this limit the CPU can ever use."""
    require_range(limit, 32, "a descriptor table limit")
    return min(limit + 1, VECTOR_COUNT * mode.gate_size)


def vectors_covered(limit: int, mode: CpuMode) -> int:
    """How many whole entries lie within ``limit`` (at most 256)."""
    return table_read_size(limit, mode) // mode.gate_size


def decode_entry(data: bytes, mode: CpuMode) -> IvtEntry | Gate:
    if mode is CpuMode.REAL:
        return IvtEntry.from_bytes(data)
    return Gate.from_bytes(data, long_mode=mode is CpuMode.LONG)


def decode_table(data: bytes, mode: CpuMode) -> tuple[IvtEntry | Gate, ...]:
    """Decode consecutive entries from the start of ``data``.

    A trailing partial entry (a limit that is not a multiple of the entry
    size) is not an entry: the CPU raises #GP for a vector whose entry does
    not fit entirely below the limit.
    """
    size = mode.gate_size
    if len(data) > VECTOR_COUNT * size:
        raise DecodeError(
            f"an IDT has at most {VECTOR_COUNT} entries ({VECTOR_COUNT * size} bytes), got {len(data)} bytes"
        )
    return tuple(decode_entry(data[i:i + size], mode) for i in range(0, len(data) - size + 1, size))
