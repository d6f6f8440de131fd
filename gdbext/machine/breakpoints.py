"""Breakpoints on handler entry, by vector: where each is set, its filters,
its counts, and whether the IDT still sends the vector there.

Filters are checked at the stop: the CPL the event came from, the error
code under a mask, the vCPU. A hit that does not match is not a stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import IdtscopeError, UsageError
from ..model.gate import Gate
from ..model.idt import CpuMode, IvtEntry
from ..target.base import Target
from .frames import StopFrame, entry_point, read_stop_frame
from .tables import IdtView, read_idt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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


@dataclass
class Hit:
    """The last matching hit: the decoded stop and its breakpoint, or why it could not be decoded."""

    stop: StopFrame | None
    breakpoint: dict[str, Any] | None = None
    problem: str | None = None


class BreakpointManager:
    """The vector breakpoints of one target, and the last matching hit.

    ``hit_at`` judges every stop at one of our addresses, whichever front end
    saw it: gdb's breakpoint callback, the MI stop record, or a plain SIGTRAP
    in real mode (where gdb sees IP, not the linear CS.base + IP we set).
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.table = BreakpointTable()
        self.last_hit: Hit | None = None
        target.hit_filter = self.hit_at

    def add(self, vector: int, cpu: int | None = None, origin: str | None = None, mask: int | None = None,
            value: int | None = None, hardware: bool = False) -> VectorBreakpoint:
        view = read_idt(self.target, cpu)
        address, raw, why = handler_of(self.target, view, vector)
        if address is None:
            raise UsageError(f"cannot break on vector {vector:#04x}: {why}")
        entry = view.slots[vector].entry
        hardware = hardware or wants_hardware(address, entry)
        breakpoint = VectorBreakpoint(self.table.next_number, vector, address, cpu, origin, mask, value,
                                      hardware, raw, view.base)
        breakpoint.handle = self._handle_for(address, hardware)
        return self.table.add(breakpoint)

    def _handle_for(self, address: int, hardware: bool) -> object:
        for other in self.table.entries.values():
            if other.address == address and other.handle is not None and not other.stale:
                return other.handle
        return self.target.insert_breakpoint(address, hardware)

    def delete(self, number: int) -> VectorBreakpoint:
        breakpoint = self.table.entries.pop(number, None)
        if breakpoint is None:
            raise UsageError(f"no vector breakpoint {number} (see `break list`)")
        self._release(breakpoint)
        return breakpoint

    def _release(self, breakpoint: VectorBreakpoint) -> None:
        shared = any(other.handle == breakpoint.handle for other in self.table.entries.values()
                     if other is not breakpoint)
        if breakpoint.handle is not None and not shared:
            self.target.remove_breakpoint(breakpoint.handle)
        breakpoint.handle = None

    def hit_at(self, target: Target, cpu: int, address: int | None = None) -> bool | None:
        """Judge a stop of ``cpu`` at ``address`` (None: a plain stop, judged at CS.base + IP in real mode).

        None when no breakpoint of ours is there; else decode, count, and say
        whether it matches (a stop for the user) or not (the guest goes on).
        """
        if address is None:
            from .cpu import registers

            regs = registers(target, cpu)
            if regs.mode is not CpuMode.REAL or not self.table.at(regs.linear_pc):
                return None
            address = regs.linear_pc
        candidates = [bp for bp in self.table.at(address) if bp.cpu in (None, cpu)]
        if not candidates:
            return None if not self.table.at(address) else False
        try:
            stop = read_stop_frame(target, cpu, candidates[0].vector)
        except IdtscopeError as error:
            self.last_hit = Hit(None, problem=f"breakpoint {candidates[0].number} hit on CPU {cpu}, "
                                              f"but the frame cannot be decoded: {error}")
            return True
        matched = None
        for breakpoint in candidates:
            breakpoint.hits += 1
            if matched is None and breakpoint.matches(stop):
                matched = breakpoint
        if matched is None:
            return False
        matched.matched += 1
        self.last_hit = Hit(stop, {"number": matched.number, "vector": matched.vector, "hits": matched.hits,
                                   "matched": matched.matched, "filters": matched.describe_filters() or None})
        return True

    def take_hit(self) -> Hit | None:
        hit, self.last_hit = self.last_hit, None
        return hit

    def refresh(self) -> list[str]:
        """Re-resolve every breakpoint through the IDT as it is now; one line per change."""
        changes = []
        for breakpoint in self.table.entries.values():
            try:
                view = read_idt(self.target, breakpoint.cpu)
            except IdtscopeError as error:
                changes.append(f"breakpoint {breakpoint.number}: cannot read the IDT ({error})")
                continue
            address, raw, why = handler_of(self.target, view, breakpoint.vector)
            if why:
                if breakpoint.stale != why:
                    changes.append(f"breakpoint {breakpoint.number} (vector {breakpoint.vector:#04x}) is stale: {why}")
                breakpoint.stale = why
                continue
            assert address is not None  # handler_of gives an address or why there is none
            if address != breakpoint.address or breakpoint.stale:
                old = breakpoint.address
                self._release(breakpoint)
                breakpoint.address, breakpoint.gate_bytes, breakpoint.idtr_base = address, raw, view.base
                breakpoint.stale = None
                breakpoint.handle = self._handle_for(address, breakpoint.hardware)
                breakpoint.note = f"moved from {old:#x}"
                changes.append(f"breakpoint {breakpoint.number} (vector {breakpoint.vector:#04x}) moved: "
                               f"the IDT now sends it to {address:#x} (was {old:#x})")
        return changes

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for breakpoint in sorted(self.table.entries.values(), key=lambda bp: bp.number):
            rows.append({"number": breakpoint.number, "vector": breakpoint.vector, "address": breakpoint.address,
                         "symbol": self.target.symbolize(breakpoint.address), "hardware": breakpoint.hardware,
                         "filters": breakpoint.describe_filters() or None, "hits": breakpoint.hits,
                         "matched": breakpoint.matched, "stale": breakpoint.stale, "note": breakpoint.note})
        return rows
