"""Task-state segments and the I/O permission bit map.

Layouts:
- 64-bit TSS: Intel SDM Vol. 3A, 8.7 "Task Management in 64-bit Mode", Figure 8-11
  (RSP0-2 at offsets 4-27, IST1-7 at 36-91, I/O map base address at 102).
- 32-bit TSS: SDM Vol. 3A, 8.2.1 "Task-State Segment (TSS)", Figure 8-2.
- I/O permission bit map: SDM Vol. 1, 19.5.2 "I/O Permission Bit Map"; every
  bit covering the accessed ports must be clear, and the CPU reads two bytes at
  ``iopb + port // 8``, so both must lie within the TSS limit.
(Section numbers follow the 2023+ SDM; older editions number the TSS chapter 7.)
"""

from __future__ import annotations

import struct

from ..errors import DecodeError
from .bits import require_range
from .record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TSS64_SIZE = 104
TSS32_SIZE = 104
TSS32_MIN_LIMIT = 0x67


@record
class Tss64:
    """The 64-bit TSS. ``rsp`` holds RSP0-2 and ``ist`` IST1-7 (``ist[0]`` is IST1)."""

    rsp: tuple[int, int, int]
    ist: tuple[int, int, int, int, int, int, int]
    iopb: int
    reserved: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    def __post_init__(self) -> None:
        if len(self.rsp) != 3 or len(self.ist) != 7:
            raise DecodeError("a 64-bit TSS has 3 RSP and 7 IST slots")
        for value in (*self.rsp, *self.ist):
            require_range(value, 64, "a TSS stack pointer")
        require_range(self.iopb, 16, "the I/O map base address")

    def ist_slot(self, index: int) -> int:
        """IST``index`` (1-7): the stack top the CPU loads for a gate with that IST."""
        if not 1 <= index <= 7:
            raise DecodeError(f"IST index must be 1-7, got {index}")
        return self.ist[index - 1]

    @classmethod
    def from_bytes(cls, data: bytes) -> Tss64:
        if len(data) < TSS64_SIZE:
            raise DecodeError(f"a 64-bit TSS is {TSS64_SIZE} bytes, got {len(data)}")
        fields = struct.unpack("<I3QQ7QQHH", data[:TSS64_SIZE])
        res0, rsp, res1, ist, res2, res3, iopb = (
            fields[0],
            fields[1:4],
            fields[4],
            fields[5:12],
            fields[12],
            fields[13],
            fields[14],
        )
        return cls(tuple(rsp), tuple(ist), iopb, (res0, res1, res2, res3, 0))

    def to_bytes(self) -> bytes:
        res0, res1, res2, res3, _ = self.reserved
        return struct.pack("<I3QQ7QQHH", res0, *self.rsp, res1, *self.ist, res2, res3, self.iopb)


_TSS32_FIELDS = (
    "link", "esp0", "ss0", "esp1", "ss1", "esp2", "ss2", "cr3", "eip", "eflags",
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
    "es", "cs", "ss", "ds", "fs", "gs", "ldt", "t", "iopb",
)
_TSS32_FORMAT = "<HH I HH I HH I HH " + "I" * 11 + " HH" * 7 + " HH"
_TSS32_WORD_FIELDS = ("link", "ss0", "ss1", "ss2", "es", "cs", "ss", "ds", "fs", "gs", "ldt")


@record
class Tss32:
    """The 32-bit TSS, every field named as in SDM Figure 8-2.

    ``link`` is the previous task link; ``t`` the debug trap flag (bit 0 of
    offset 100); ``reserved`` keeps the upper halves of the 16-bit fields and
    the bits 15:1 next to T, in the order of the layout.
    """

    link: int
    esp0: int
    ss0: int
    esp1: int
    ss1: int
    esp2: int
    ss2: int
    cr3: int
    eip: int
    eflags: int
    eax: int
    ecx: int
    edx: int
    ebx: int
    esp: int
    ebp: int
    esi: int
    edi: int
    es: int
    cs: int
    ss: int
    ds: int
    fs: int
    gs: int
    ldt: int
    t: bool
    iopb: int
    reserved: tuple[int, ...] = (0,) * 12

    @classmethod
    def from_bytes(cls, data: bytes) -> Tss32:
        if len(data) < TSS32_SIZE:
            raise DecodeError(f"a 32-bit TSS is {TSS32_SIZE} bytes, got {len(data)}")
        raw = iter(struct.unpack(_TSS32_FORMAT, data[:TSS32_SIZE]))
        values: dict[str, Any] = {}
        reserved = []
        for name in _TSS32_FIELDS:
            values[name] = next(raw)
            if name in _TSS32_WORD_FIELDS:
                reserved.append(next(raw))
        t_word = values["t"]
        values["t"] = bool(t_word & 1)
        reserved.append(t_word >> 1)
        return cls(**values, reserved=tuple(reserved))

    def to_bytes(self) -> bytes:
        packed = []
        slots = iter(self.reserved)
        for name in _TSS32_FIELDS:
            value = getattr(self, name)
            packed.append(value)
            if name in _TSS32_WORD_FIELDS:
                packed.append(next(slots))
        packed[_TSS32_FIELDS.index("t") + len(_TSS32_WORD_FIELDS)] = int(self.t) | (self.reserved[-1] << 1)
        return struct.pack(_TSS32_FORMAT, *packed)


def io_port_allowed(tss: bytes, limit: int, iopb: int, port: int, width: int = 1) -> bool:
    """Whether the I/O permission bit map lets CPL > IOPL code access ``port``.

    ``tss`` holds the TSS bytes from offset 0 (at least up to ``limit`` + 1 where
    the map lies); ``width`` is the access size in bytes (1, 2 or 4).
    """
    require_range(port, 16, "an I/O port")
    if width not in (1, 2, 4):
        raise DecodeError(f"an I/O access is 1, 2 or 4 bytes wide, got {width}")
    first = iopb + port // 8
    if first + 1 > limit:
        return False
    if len(tss) < first + 2:
        raise DecodeError(f"the TSS bytes end at {len(tss)}, the map needs offset {first + 1}")
    window = int.from_bytes(tss[first:first + 2], "little")
    mask = ((1 << width) - 1) << (port % 8)
    return not window & mask


def allowed_ports(tss: bytes, limit: int, iopb: int) -> tuple[range, ...]:
    """The port ranges the bit map allows (single-byte accesses), merged.

    A byte of the map covers 8 ports; it counts only where it and the byte
    after it lie within the limit (the CPU reads two bytes per check).
    """
    ranges: list[range] = []
    start = None
    last_byte = min(limit - 1, len(tss) - 2, iopb + 0x1FFF)
    for index in range(iopb, last_byte + 1):
        byte = tss[index]
        if byte == 0xFF and start is None:
            continue
        base = (index - iopb) * 8
        for bit in range(8):
            allowed = not (byte >> bit) & 1
            if allowed and start is None:
                start = base + bit
            elif not allowed and start is not None:
                ranges.append(range(start, base + bit))
                start = None
    if start is not None:
        ranges.append(range(start, min((last_byte + 1 - iopb) * 8, 0x10000)))
    return tuple(ranges)
