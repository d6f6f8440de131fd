"""Gate descriptors: interrupt, trap, task and call gates.

Layouts:
- 8-byte gates of protected mode: Intel SDM Vol. 3A, 6.11 "IDT Descriptors",
  Figure 6-2 (task, interrupt and trap gates) and 5.8.3 "Call Gates", Figure 5-8.
- 16-byte gates of IA-32e mode: SDM Vol. 3A, 6.14.1 "64-Bit Mode IDT", Figure 6-8,
  and 5.8.3.1 "IA-32e Mode Call Gates", Figure 5-9.
- The type field values: SDM Vol. 3A, 3.5 "System Descriptor Types", Table 3-2.

Every field the CPU ignores or requires to be zero is kept, so that decoding
then encoding gives back the same bytes; ``problems`` names what is wrong.
"""

from __future__ import annotations

import struct
from enum import Enum

from .bits import field, require_length, require_range
from .record import record
from .selector import Selector


class GateKind(Enum):
    """What a gate does when used; the JSON ``type`` of an IDT gate."""

    INTERRUPT = "interrupt"
    TRAP = "trap"
    TASK = "task"
    CALL = "call"
    INVALID = "invalid"


_LEGACY_GATE_TYPES = {
    0x4: (GateKind.CALL, 16),
    0x5: (GateKind.TASK, 0),
    0x6: (GateKind.INTERRUPT, 16),
    0x7: (GateKind.TRAP, 16),
    0xC: (GateKind.CALL, 32),
    0xE: (GateKind.INTERRUPT, 32),
    0xF: (GateKind.TRAP, 32),
}
_LONG_GATE_TYPES = {
    0xC: (GateKind.CALL, 64),
    0xE: (GateKind.INTERRUPT, 64),
    0xF: (GateKind.TRAP, 64),
}

GATE_SIZE_PROTECTED = 8
GATE_SIZE_LONG = 16


@record
class Gate:
    """One gate descriptor, 8 bytes (``long_mode`` False) or 16 bytes (True).

    ``offset`` is the entry point (for a task gate it is unused and kept as the
    raw bits 15:0 and 63:48). ``ist`` is the Interrupt Stack Table index of
    a 64-bit gate (0 = no IST switch). ``param_count`` is the call-gate
    parameter count of a protected-mode call gate (bits 36:32).
    ``low_reserved`` holds the other bits of byte 4 (bits 39:37 in a
    protected-mode gate, bits 39:35 in a 64-bit gate); ``system`` is the S bit
    (must be 0 for a gate); ``high_reserved`` is bits 127:96 of a 64-bit gate.
    """

    long_mode: bool
    type: int
    selector: int
    offset: int
    dpl: int
    present: bool
    ist: int = 0
    param_count: int = 0
    low_reserved: int = 0
    system: bool = False
    high_reserved: int = 0

    def __post_init__(self) -> None:
        require_range(self.type, 4, "gate type")
        require_range(self.selector, 16, "gate selector")
        require_range(self.offset, 64 if self.long_mode else 32, "gate offset")
        require_range(self.dpl, 2, "gate DPL")
        require_range(self.ist, 3, "gate IST index")
        require_range(self.param_count, 5, "call gate parameter count")
        require_range(self.low_reserved, 5 if self.long_mode else 3, "gate reserved bits")
        require_range(self.high_reserved, 32, "gate reserved bits")
        if not self.long_mode and self.ist:
            raise ValueError("a protected-mode gate has no IST field")

    @property
    def size(self) -> int:
        return GATE_SIZE_LONG if self.long_mode else GATE_SIZE_PROTECTED

    @property
    def kind(self) -> GateKind:
        if self.system:
            return GateKind.INVALID
        table = _LONG_GATE_TYPES if self.long_mode else _LEGACY_GATE_TYPES
        return table.get(self.type, (GateKind.INVALID, 0))[0]

    @property
    def operand_size(self) -> int:
        """16, 32 or 64 for interrupt/trap/call gates; 0 for task gates and invalid types."""
        if self.system:
            return 0
        table = _LONG_GATE_TYPES if self.long_mode else _LEGACY_GATE_TYPES
        return table.get(self.type, (GateKind.INVALID, 0))[1]

    @property
    def target_selector(self) -> Selector:
        """The code-segment selector (or, for a task gate, the TSS selector)."""
        return Selector.from_int(self.selector)

    @property
    def type_name(self) -> str:
        if not self.present and self.to_bytes() == bytes(self.size):
            return "(empty)"
        kind = self.kind
        if kind is GateKind.INVALID:
            return f"invalid (type {self.type:#x}{', S=1' if self.system else ''})"
        if kind is GateKind.TASK:
            return "task gate"
        return f"{self.operand_size}-bit {kind.value} gate"

    @property
    def problems(self) -> tuple[str, ...]:
        """Bits the SDM says must be zero (or one) but are not."""
        found = []
        if not self.present:
            return ()
        if self.kind is GateKind.INVALID:
            found.append(f"type {self.type:#x} is not a gate in {'IA-32e' if self.long_mode else 'protected'} mode")
        if self.low_reserved:
            found.append("reserved bits of byte 4 are not zero")
        if self.high_reserved:
            found.append("reserved bits 127:96 are not zero")
        if self.kind is not GateKind.CALL and self.param_count and not self.long_mode:
            found.append("bits 36:32 are not zero")
        return tuple(found)

    @classmethod
    def from_bytes(cls, data: bytes, long_mode: bool) -> Gate:
        if long_mode:
            require_length(data, GATE_SIZE_LONG, "a long-mode gate")
            low, high = struct.unpack("<QQ", data)
            offset = field(low, 0, 16) | (field(low, 48, 16) << 16) | (field(high, 0, 32) << 32)
            return cls(
                long_mode=True,
                type=field(low, 40, 4),
                selector=field(low, 16, 16),
                offset=offset,
                dpl=field(low, 45, 2),
                present=bool(field(low, 47, 1)),
                ist=field(low, 32, 3),
                low_reserved=field(low, 35, 5),
                system=bool(field(low, 44, 1)),
                high_reserved=field(high, 32, 32),
            )
        require_length(data, GATE_SIZE_PROTECTED, "a protected-mode gate")
        (low,) = struct.unpack("<Q", data)
        return cls(
            long_mode=False,
            type=field(low, 40, 4),
            selector=field(low, 16, 16),
            offset=field(low, 0, 16) | (field(low, 48, 16) << 16),
            dpl=field(low, 45, 2),
            present=bool(field(low, 47, 1)),
            param_count=field(low, 32, 5),
            low_reserved=field(low, 37, 3),
            system=bool(field(low, 44, 1)),
        )

    def to_bytes(self) -> bytes:
        low = (
            (self.offset & 0xFFFF)
            | (self.selector << 16)
            | (self.type << 40)
            | (int(self.system) << 44)
            | (self.dpl << 45)
            | (int(self.present) << 47)
            | (((self.offset >> 16) & 0xFFFF) << 48)
        )
        if self.long_mode:
            low |= (self.ist << 32) | (self.low_reserved << 35)
            high = (self.offset >> 32) | (self.high_reserved << 32)
            return struct.pack("<QQ", low, high)
        low |= (self.param_count << 32) | (self.low_reserved << 37)
        return struct.pack("<Q", low)
