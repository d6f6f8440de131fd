"""Segment and system descriptors of the GDT and LDT.

Layouts:
- Segment descriptor: Intel SDM Vol. 3A, 3.4.5 "Segment Descriptors", Figure 3-8;
  code and data types in 3.4.5.1, Table 3-1.
- System descriptors (LDT, TSS, gates): SDM Vol. 3A, 3.5, Table 3-2; in IA-32e
  mode LDT and TSS descriptors are 16 bytes (7.2.3 "TSS Descriptor in 64-bit
  mode", Figure 7-4) and so are call gates (5.8.3.1).
- Long-mode code segments: the L bit (5.2.1 "Code-Segment Descriptor in 64-bit Mode").
"""

from __future__ import annotations

import struct
from enum import Enum

from ..errors import DecodeError
from .bits import field, require_length, require_range
from .gate import Gate, GateKind
from .record import record
from .selector import Selector, TableIndicator

DESCRIPTOR_SIZE = 8
LONG_SYSTEM_DESCRIPTOR_SIZE = 16


class DescriptorKind(Enum):
    """What a descriptor describes; the JSON ``kind`` of a GDT entry.

    NULL is slot 0 of the GDT (the null selector, SDM 3A 3.4.2); EMPTY is any
    other slot holding eight zero bytes, the way kernels leave unused slots.
    """

    NULL = "null"
    EMPTY = "empty"
    CODE = "code"
    DATA = "data"
    LDT = "ldt"
    TSS_AVAILABLE = "tss-available"
    TSS_BUSY = "tss-busy"
    CALL_GATE = "call-gate"
    INTERRUPT_GATE = "interrupt-gate"
    TRAP_GATE = "trap-gate"
    TASK_GATE = "task-gate"
    INVALID = "invalid"


_LEGACY_SYSTEM_TYPES = {
    0x1: (DescriptorKind.TSS_AVAILABLE, 16),
    0x2: (DescriptorKind.LDT, 0),
    0x3: (DescriptorKind.TSS_BUSY, 16),
    0x9: (DescriptorKind.TSS_AVAILABLE, 32),
    0xB: (DescriptorKind.TSS_BUSY, 32),
}
_LONG_SYSTEM_TYPES = {
    0x2: (DescriptorKind.LDT, 0),
    0x9: (DescriptorKind.TSS_AVAILABLE, 64),
    0xB: (DescriptorKind.TSS_BUSY, 64),
}
_GATE_TYPES = {0x4, 0x5, 0x6, 0x7, 0xC, 0xE, 0xF}
_GATE_KINDS = {
    GateKind.CALL: DescriptorKind.CALL_GATE,
    GateKind.INTERRUPT: DescriptorKind.INTERRUPT_GATE,
    GateKind.TRAP: DescriptorKind.TRAP_GATE,
    GateKind.TASK: DescriptorKind.TASK_GATE,
}


@record
class SegmentDescriptor:
    """A code, data, LDT or TSS descriptor (8 bytes, or 16 for IA-32e system ones).

    ``limit_raw`` is the 20-bit field; ``limit`` applies the G bit. ``s`` is
    the descriptor-type flag (1 = code or data, 0 = system). ``l`` is the
    64-bit code flag, ``db`` the default operation size / big flag, ``avl``
    the bit left for software. ``long_mode`` says the descriptor was read
    from an IA-32e mode table, where LDT and TSS descriptors take the 16-byte
    form (``wide``) whose bits 127:96 are kept in ``high_reserved``.
    """

    base: int
    limit_raw: int
    type: int
    s: bool
    dpl: int
    present: bool
    avl: bool = False
    l: bool = False
    db: bool = False
    g: bool = False
    long_mode: bool = False
    high_reserved: int = 0

    def __post_init__(self) -> None:
        require_range(self.base, 64 if self.wide else 32, "descriptor base")
        require_range(self.limit_raw, 20, "descriptor limit")
        require_range(self.type, 4, "descriptor type")
        require_range(self.dpl, 2, "descriptor DPL")
        require_range(self.high_reserved, 32, "descriptor reserved bits")

    @property
    def wide(self) -> bool:
        return self.long_mode and not self.s and self.type in _LONG_SYSTEM_TYPES

    @property
    def size(self) -> int:
        return LONG_SYSTEM_DESCRIPTOR_SIZE if self.wide else DESCRIPTOR_SIZE

    @property
    def limit(self) -> int:
        """The effective limit: with G=1 the field counts 4 KiB units."""
        return (self.limit_raw << 12) | 0xFFF if self.g else self.limit_raw

    @property
    def kind(self) -> DescriptorKind:
        if self.s:
            return DescriptorKind.CODE if self.type & 0x8 else DescriptorKind.DATA
        table = _LONG_SYSTEM_TYPES if self.long_mode else _LEGACY_SYSTEM_TYPES
        return table.get(self.type, (DescriptorKind.INVALID, 0))[0]

    @property
    def tss_width(self) -> int:
        """16, 32 or 64 for a TSS descriptor, else 0."""
        if self.s:
            return 0
        table = _LONG_SYSTEM_TYPES if self.long_mode else _LEGACY_SYSTEM_TYPES
        return table.get(self.type, (DescriptorKind.INVALID, 0))[1]

    @property
    def accessed(self) -> bool:
        return self.s and bool(self.type & 0x1)

    @property
    def readable(self) -> bool:
        """Code: the R bit. Data segments are always readable."""
        return self.s and (not self.type & 0x8 or bool(self.type & 0x2))

    @property
    def writable(self) -> bool:
        """Data: the W bit. Code segments are never writable."""
        return self.s and not self.type & 0x8 and bool(self.type & 0x2)

    @property
    def conforming(self) -> bool:
        return self.s and bool(self.type & 0x8) and bool(self.type & 0x4)

    @property
    def expand_down(self) -> bool:
        return self.s and not self.type & 0x8 and bool(self.type & 0x4)

    @property
    def flags_text(self) -> str:
        """A compact type description, e.g. ``code 64-bit R A`` or ``TSS64 busy``.

        L means 64-bit code only in IA-32e mode; elsewhere bit 21 is reserved
        and D alone gives the width (SDM 3A 3.4.5), so L=1 is shown as ignored.
        In IA-32e mode L=1 with D=1 is reserved: loading it into CS raises #GP.
        """
        kind = self.kind
        if kind is DescriptorKind.CODE:
            bits = ("R" if self.readable else "X") + " C" * self.conforming + " A" * self.accessed
            if self.l and self.long_mode:
                return f"code 64-bit {bits}" if not self.db else f"code L=1 D=1 (reserved: #GP in CS) {bits}"
            width = "32-bit" if self.db else "16-bit"
            ignored = " L=1 (ignored outside IA-32e)" if self.l else ""
            return f"code {width} {bits}{ignored}"
        if kind is DescriptorKind.DATA:
            bits = "W" * self.writable + " E" * self.expand_down + " A" * self.accessed
            return f"data {'R' if not bits.strip() else bits.strip()}".rstrip()
        if kind in (DescriptorKind.TSS_AVAILABLE, DescriptorKind.TSS_BUSY):
            state = "busy" if kind is DescriptorKind.TSS_BUSY else "available"
            return f"TSS{self.tss_width} {state}"
        if kind is DescriptorKind.LDT:
            return "LDT"
        return f"invalid system type {self.type:#x}"

    @classmethod
    def from_bytes(cls, data: bytes, long_mode: bool = False) -> SegmentDescriptor:
        if len(data) < DESCRIPTOR_SIZE:
            raise DecodeError(f"a segment descriptor is at least 8 bytes, got {len(data)}")
        size = descriptor_size(data[:8], long_mode)
        if len(data) != size:
            raise DecodeError(f"this descriptor is {size} bytes, got {len(data)}")
        (low,) = struct.unpack("<Q", data[:8])
        base = field(low, 16, 24) | (field(low, 56, 8) << 24)
        high_reserved = 0
        if size == LONG_SYSTEM_DESCRIPTOR_SIZE:
            (high,) = struct.unpack("<Q", data[8:])
            base |= field(high, 0, 32) << 32
            high_reserved = field(high, 32, 32)
        return cls(
            base=base,
            limit_raw=field(low, 0, 16) | (field(low, 48, 4) << 16),
            type=field(low, 40, 4),
            s=bool(field(low, 44, 1)),
            dpl=field(low, 45, 2),
            present=bool(field(low, 47, 1)),
            avl=bool(field(low, 52, 1)),
            l=bool(field(low, 53, 1)),
            db=bool(field(low, 54, 1)),
            g=bool(field(low, 55, 1)),
            long_mode=long_mode,
            high_reserved=high_reserved,
        )

    def to_bytes(self) -> bytes:
        low = (
            (self.limit_raw & 0xFFFF)
            | ((self.base & 0xFFFFFF) << 16)
            | (self.type << 40)
            | (int(self.s) << 44)
            | (self.dpl << 45)
            | (int(self.present) << 47)
            | ((self.limit_raw >> 16) << 48)
            | (int(self.avl) << 52)
            | (int(self.l) << 53)
            | (int(self.db) << 54)
            | (int(self.g) << 55)
            | (((self.base >> 24) & 0xFF) << 56)
        )
        if not self.wide:
            return struct.pack("<Q", low)
        return struct.pack("<QQ", low, (self.base >> 32) | (self.high_reserved << 32))


Descriptor = SegmentDescriptor | Gate


def descriptor_kind(descriptor: Descriptor) -> DescriptorKind:
    if isinstance(descriptor, Gate):
        return _GATE_KINDS.get(descriptor.kind, DescriptorKind.INVALID)
    return descriptor.kind


def descriptor_size(first8: bytes, long_mode: bool) -> int:
    """How many bytes the descriptor starting with these 8 bytes occupies."""
    require_length(first8, DESCRIPTOR_SIZE, "a descriptor's first part")
    (low,) = struct.unpack("<Q", first8)
    if long_mode and not field(low, 44, 1) and field(low, 40, 4) in (*_LONG_SYSTEM_TYPES, 0xC):
        return LONG_SYSTEM_DESCRIPTOR_SIZE
    return DESCRIPTOR_SIZE


def decode_descriptor(data: bytes, long_mode: bool) -> Descriptor:
    """Decode one GDT/LDT descriptor; ``data`` holds exactly its bytes."""
    if len(data) < DESCRIPTOR_SIZE:
        raise DecodeError(f"a descriptor is at least 8 bytes, got {len(data)}")
    size = descriptor_size(data[:8], long_mode)
    if len(data) != size:
        what = "an IA-32e system descriptor" if size == LONG_SYSTEM_DESCRIPTOR_SIZE else "this descriptor"
        raise DecodeError(f"{what} is {size} bytes, got {len(data)}")
    (low,) = struct.unpack("<Q", data[:8])
    gate_types = {0xC} if long_mode else _GATE_TYPES
    if not field(low, 44, 1) and field(low, 40, 4) in gate_types:
        return Gate.from_bytes(data, long_mode=long_mode)
    return SegmentDescriptor.from_bytes(data, long_mode)


@record
class TableEntry:
    """One slot of a GDT or LDT: its index, and the descriptor or why there is none."""

    index: int
    table: TableIndicator
    descriptor: Descriptor | None
    error: str | None = None

    @property
    def selector(self) -> int:
        return Selector(self.index, self.table, 0).to_int()

    @property
    def is_null(self) -> bool:
        return self.index == 0 and self.table is TableIndicator.GDT


def decode_descriptor_table(data: bytes, long_mode: bool, table: TableIndicator = TableIndicator.GDT,
                            holes: tuple[tuple[int, int, str], ...] = ()) -> tuple[TableEntry, ...]:
    """Decode every descriptor in ``data`` (the bytes 0..limit of a GDT or LDT).

    In IA-32e mode a 16-byte system descriptor uses two slots; the second
    slot is not listed. Fewer than 8 bytes left below the limit hold no
    descriptor (a selector reaching them raises #GP, SDM 3A 3.5.1) and are
    not listed: a limit below 7 gives an empty table. A 16-byte descriptor
    cut by the limit is listed with an error, and so is one that overlaps a
    hole: ``holes`` holds ``(start, end, why)`` byte ranges of ``data`` that
    could not be read.
    """

    def hole(start: int, end: int) -> str | None:
        for low, high, why in holes:
            if start < high and low < end:
                return why
        return None

    entries = []
    offset = 0
    while offset + DESCRIPTOR_SIZE <= len(data):
        index = offset // DESCRIPTOR_SIZE
        chunk = data[offset:offset + DESCRIPTOR_SIZE]
        why = hole(offset, offset + len(chunk))
        if why:
            entries.append(TableEntry(index, table, None, why))
            offset += DESCRIPTOR_SIZE
            continue
        size = descriptor_size(chunk, long_mode)
        whole = data[offset:offset + size]
        why = hole(offset, offset + size)
        if why:
            entries.append(TableEntry(index, table, None, why))
        elif len(whole) < size:
            entries.append(TableEntry(index, table, None, "16-byte system descriptor cut by the table limit"))
            break
        else:
            entries.append(TableEntry(index, table, decode_descriptor(whole, long_mode)))
        offset += size
    return tuple(entries)


def entry_for_selector(entries: tuple[TableEntry, ...], index: int) -> TableEntry | None:
    """The entry at slot ``index``, if a descriptor starts there."""
    for entry in entries:
        if entry.index == index:
            return entry
    return None
