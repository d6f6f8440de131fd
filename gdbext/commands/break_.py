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

from ..errors import UsageError
from ..machine.breakpoints import BreakpointManager, handler_of
from ..machine.tables import read_idt
from ..model.numbers import parse_int
from ..model.vectors import lookup
from .base import Context, Result, add_cpu_argument

#: changes what the guest or session does (a one-shot run goes through gdb)
READ_ONLY = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="*", metavar="VECTOR | list | delete N",
                        help="a vector (number, mnemonic, name), `list`, or `delete N|all`")
    parser.add_argument("--exceptions", action="store_true", help="every exception vector 0-31 with a handler")
    parser.add_argument("--from", dest="origin", choices=("user", "kernel"), help="only events from this mode")
    parser.add_argument("--error-code", metavar="MASK=VALUE", help="only when error code & MASK == VALUE")
    parser.add_argument("--hw", action="store_true", help="use a hardware breakpoint (KVM has 4)")
    add_cpu_argument(parser)


def manager(context: Context) -> BreakpointManager:
    """The context's breakpoint manager (a new one after attaching to another target)."""
    target = context.require_target()
    current = context.breakpoints
    if current is None or current.target is not target:
        current = BreakpointManager(target)
        context.breakpoints = current
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
        return Result("frame.breakpoints", {"breakpoints": breakpoints.rows(), "changes": breakpoints.refresh()})
    if words[:1] == ["delete"]:
        if len(words) != 2:
            raise UsageError("break delete N (or: break delete all)")
        numbers = list(breakpoints.table.entries) if words[1] == "all" else [parse_int(words[1], "breakpoint")]
        for number in numbers:
            breakpoints.delete(number)
        return Result("frame.breakpoints", {"breakpoints": breakpoints.rows(), "changes": [],
                                      "deleted": numbers})
    mask, value = _error_filter(args.error_code)
    vectors = [lookup(" ".join(words)).number] if words else []
    skipped: list[int] = []
    if args.exceptions:
        view = read_idt(context.target, args.cpu)
        for vector in range(32):
            address, _, why = handler_of(context.target, view, vector)
            (vectors if address is not None else skipped).append(vector)
    added = [breakpoints.add(vector, args.cpu, args.origin, mask, value, args.hw) for vector in dict.fromkeys(vectors)]
    data = {"breakpoints": breakpoints.rows(), "changes": [], "added": [bp.number for bp in added],
            "skipped": skipped}
    return Result("frame.breakpoints", data)
