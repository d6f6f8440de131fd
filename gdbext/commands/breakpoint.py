"""Break on the first instruction of the handler the IDT gives a vector; at a
matching hit, print the decoded frame and the explanation of the fault.

Filters are checked at the stop; a hit that does not match continues silently.
Examples:
  break 14                         #PF (resolved through the current IDT)
  break '#GP' --from user          only events from CPL 3
  break pf --error-code 0x4=0x4    only #PF with U/S set (MASK=VALUE)
  break --exceptions               vectors 0-31 that have a handler
  break 0x40 --cpu 1 --hw          a hardware breakpoint, vCPU 1 only
  break list                       with hit counts per vector
  break delete 2                   (or: break delete all)
The breakpoint follows the IDT: if IDTR or the gate changes, it is moved at
the next stop, or reported stale.
"""

from __future__ import annotations

import argparse

from ..errors import IdtscopeError, UsageError
from ..machine.breakpoints import BreakpointTable, VectorBreakpoint, handler_of, wants_hardware
from ..machine.frames import read_stop_frame
from ..machine.tables import read_idt
from ..model.numbers import parse_int
from ..model.vectors import lookup
from .base import Context, Result, add_cpu_argument
from .stops import stop_data

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATE_KEY = "breakpoints"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="*", metavar="VECTOR | list | delete N",
                        help="a vector (number, mnemonic, name), `list`, or `delete N|all`")
    parser.add_argument("--exceptions", action="store_true", help="every exception vector 0-31 with a handler")
    parser.add_argument("--from", dest="origin", choices=("user", "kernel"), help="only events from this mode")
    parser.add_argument("--error-code", metavar="MASK=VALUE", help="only when error code & MASK == VALUE")
    parser.add_argument("--hw", action="store_true", help="use a hardware breakpoint (KVM has 4)")
    add_cpu_argument(parser)


class BreakpointManager:
    """The vector breakpoints of one target, and the report of the last matching hit."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.target = context.target
        self.table = BreakpointTable()
        self.last_report: Result | None = None
        self.notices: list[str] = []
        self.target.hit_filter = self.on_hit

    def add(self, vector: int, args: argparse.Namespace, mask: int | None, value: int | None) -> VectorBreakpoint:
        view = read_idt(self.target, args.cpu)
        address, raw, why = handler_of(self.target, view, vector)
        if address is None:
            raise UsageError(f"cannot break on vector {vector:#04x}: {why}")
        entry = view.slots[vector].entry
        hardware = args.hw or wants_hardware(address, entry)
        breakpoint = VectorBreakpoint(self.table.next_number, vector, address, args.cpu, args.origin, mask, value,
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

    def on_hit(self, address: int, cpu: int) -> bool:
        """At a hit: decode, count, and say whether it matches (a stop) or not (go on)."""
        candidates = [bp for bp in self.table.at(address) if bp.cpu in (None, cpu)]
        if not candidates:
            return not self.table.at(address)
        try:
            stop = read_stop_frame(self.target, cpu, candidates[0].vector)
        except IdtscopeError as error:
            self.last_report = Result("message", {"text": f"breakpoint {candidates[0].number} hit on CPU {cpu}, "
                                                          f"but the frame cannot be decoded: {error}"})
            return True
        matched = None
        for breakpoint in candidates:
            breakpoint.hits += 1
            if matched is None and breakpoint.matches(stop):
                matched = breakpoint
        if matched is None:
            return False
        matched.matched += 1
        data = stop_data(self.target, stop)
        data["breakpoint"] = {"number": matched.number, "vector": matched.vector, "hits": matched.hits,
                              "matched": matched.matched, "filters": matched.describe_filters() or None}
        self.last_report = Result("stop", data)
        return True

    def take_report(self) -> Result | None:
        report, self.last_report = self.last_report, None
        return report

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


def manager(context: Context) -> BreakpointManager:
    """The context's breakpoint manager (a new one after attaching to another target)."""
    current = context.state.get(STATE_KEY)
    if current is None or current.target is not context.require_target():
        current = BreakpointManager(context)
        context.state[STATE_KEY] = current
    return current


def _error_filter(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    mask_text, sep, value_text = text.partition("=")
    if not sep:
        raise UsageError(f"--error-code takes MASK=VALUE (e.g. 0x4=0x4), got {text!r}")
    mask, value = parse_int(mask_text, "mask"), parse_int(value_text, "value")
    if value & ~mask:
        raise UsageError(f"--error-code {text}: VALUE has bits outside MASK, so nothing could match")
    return mask, value


def run(context: Context, args: argparse.Namespace) -> Result:
    breakpoints = manager(context)
    words = args.what
    if words[:1] == ["list"] or (not words and not args.exceptions):
        return Result("breakpoints", {"breakpoints": breakpoints.rows(), "changes": breakpoints.refresh()})
    if words[:1] == ["delete"]:
        if len(words) != 2:
            raise UsageError("break delete N (or: break delete all)")
        numbers = list(breakpoints.table.entries) if words[1] == "all" else [parse_int(words[1], "breakpoint")]
        for number in numbers:
            breakpoints.delete(number)
        return Result("breakpoints", {"breakpoints": breakpoints.rows(), "changes": [],
                                      "deleted": numbers})
    mask, value = _error_filter(args.error_code)
    vectors = [lookup(" ".join(words)).number] if words else []
    skipped = []
    if args.exceptions:
        view = read_idt(context.target, args.cpu)
        for vector in range(32):
            address, _, why = handler_of(context.target, view, vector)
            (vectors if address is not None else skipped).append(vector)
    added = [breakpoints.add(vector, args, mask, value) for vector in dict.fromkeys(vectors)]
    data = {"breakpoints": breakpoints.rows(), "changes": [], "added": [bp.number for bp in added],
            "skipped": skipped}
    return Result("breakpoints", data)
