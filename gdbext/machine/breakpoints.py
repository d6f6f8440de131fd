"""Breakpoints on handler entry, by vector: where each is set, its filters,
its counts, and whether the IDT still sends the vector there.

Filters are checked at the stop: the CPL the event came from, the error
code under a mask, the vCPU. A hit that does not match is not a stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.gate import Gate
from ..model.idt import IvtEntry
from ..target.base import Target
from .frames import StopFrame, entry_point
from .tables import IdtView

ROM_START = 0xC0000


@dataclass
class VectorBreakpoint:
    number: int
    vector: int
    address: int
    cpu: int | None = None
    origin: str | None = None
    error_mask: int | None = None
    error_value: int | None = None
    hardware: bool = False
    gate_bytes: bytes = b""
    idtr_base: int = 0
    handle: object = None
    hits: int = 0
    matched: int = 0
    stale: str | None = None
    note: str | None = None

    def matches(self, stop: StopFrame) -> bool:
        if self.cpu is not None and stop.cpu != self.cpu:
            return False
        if self.origin == "user" and stop.frame.from_cpl != 3:
            return False
        if self.origin == "kernel" and stop.frame.from_cpl == 3:
            return False
        if self.error_mask is not None:
            code = stop.frame.error_code
            if code is None or code & self.error_mask != self.error_value:
                return False
        return True

    def describe_filters(self) -> str:
        parts = []
        if self.origin:
            parts.append(f"from {self.origin}")
        if self.error_mask is not None:
            parts.append(f"error & {self.error_mask:#x} == {self.error_value:#x}")
        if self.cpu is not None:
            parts.append(f"CPU {self.cpu}")
        return ", ".join(parts)


def handler_of(target: Target, view: IdtView, vector: int) -> tuple[int | None, bytes, str | None]:
    """The address the IDT sends ``vector`` to, the gate's bytes, or why there is none."""
    if vector >= len(view.slots):
        return None, b"", f"vector {vector:#04x} is beyond the IDT limit {view.limit:#x}"
    entry = view.slots[vector].entry
    if entry is None:
        return None, b"", f"the gate of vector {vector:#04x} is unreadable: {view.slots[vector].error}"
    address, why = entry_point(target, view.cpu, entry)
    if address is None:
        return None, entry.to_bytes(), f"the gate of vector {vector:#04x} is {why}" if why == "not present" \
            else f"vector {vector:#04x}: {why}"
    return address, entry.to_bytes(), None


def wants_hardware(address: int, entry: Gate | IvtEntry | None) -> bool:
    """Software breakpoints write an int3 into the code: not possible in the BIOS ROM."""
    return isinstance(entry, IvtEntry) and address >= ROM_START


@dataclass
class BreakpointTable:
    entries: dict[int, VectorBreakpoint] = field(default_factory=dict)
    next_number: int = 1

    def add(self, breakpoint: VectorBreakpoint) -> VectorBreakpoint:
        self.entries[breakpoint.number] = breakpoint
        self.next_number = max(self.next_number, breakpoint.number + 1)
        return breakpoint

    def at(self, address: int) -> list[VectorBreakpoint]:
        return [bp for bp in self.entries.values() if bp.address == address and not bp.stale]
