"""Name handlers from an ELF, a System.map or /proc/kallsyms text, or show the table in use.

The table is checked against the running kernel first: a Linux kernel booted with
KASLR sits at a slide from its System.map or vmlinux, found from the IDT's exception
gates and confirmed by reading ``linux_banner`` there; names then carry the slide. A
table of another build is refused in one line and names nothing. Without FILE:
the table in use, its slide and how that was verified.

Examples:
  symbols System.map-6.1.0-57-cloud-amd64
  symbols vmlinux-6.1.0-57-cloud-amd64
  symbols --json
"""

from __future__ import annotations

import argparse

from ..errors import TargetError, UsageError
from ..model.gate import Gate, GateKind
from ..symbols import SymbolTable
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="an ELF, a System.map, or /proc/kallsyms text (default: show the table in use)")


def gate_handlers(target: Any, cpu: int) -> dict[int, int]:
    """vector -> where an interrupt or trap gate of ``cpu``'s IDT enters."""
    from ..machine.tables import read_idt

    view = read_idt(target, cpu)
    return {slot.vector: slot.entry.offset for slot in view.slots
            if isinstance(slot.entry, Gate) and slot.entry.present
            and slot.entry.kind in (GateKind.INTERRUPT, GateKind.TRAP)}


def place_reader(target: Any) -> tuple[dict[int, int], Callable[[int, int], bytes | None]]:
    """What fit.py compares a table with: the selected vCPU's gate entries, and a memory reader."""
    cpu = target.selected_cpu()

    def read(address: int, size: int) -> bytes | None:
        try:
            return target.read_memory(address, size, cpu)
        except TargetError:
            return None

    return gate_handlers(target, cpu), read


def place(target: Any, table: SymbolTable) -> None:
    """Fit ``table`` to the running kernel (fit.py) and give it the slide found."""
    from ..symbols.fit import fit

    handlers, read = place_reader(target)
    try:
        table.place(fit(table.address_of, handlers, read, table.source))
    except UsageError as error:
        raise UsageError(f"{error}; nothing is named from it") from None


def describe(table: SymbolTable | None) -> dict[str, Any]:
    if table is None:
        return {"source": None, "format": None, "symbols": 0, "slide": None, "verified": None}
    placed = table.fit
    return {"source": table.source, "format": table.kind, "symbols": len(table), "slide": table.slide,
            "verified": None if placed is None else {"compared": placed.compared, "agreeing": placed.agreeing,
                                                     "banner": placed.banner, "evidence": placed.evidence}}


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if target.is_snapshot:
        raise UsageError(f"{target.label} keeps the names it was saved with")
    if args.file is None:
        return Result("symbols.symbols", describe(target.symbols))
    table = SymbolTable.load(args.file)
    place(target, table)
    target.load_symbols(table)
    return Result("symbols.symbols", describe(table))
