"""Name handlers from an ELF, a System.map or /proc/kallsyms text, or show the table in use.

The table is checked against the running kernel first: a Linux kernel booted with
KASLR sits at a slide from its System.map or vmlinux, found from the IDT's exception
gates and confirmed by reading ``linux_banner`` there; names then carry the slide. A
table of another build is refused in one line and names nothing. With --guest: the
running Linux kernel's own table, decoded from its memory (kallsyms), for a kernel
that ships no vmlinux and whose System.map is not at hand. Without FILE: the table
in use, its slide and how that was verified.

Examples:
  symbols System.map-6.1.0-57-cloud-amd64
  symbols vmlinux-6.1.0-57-cloud-amd64
  symbols --guest
  symbols --json
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..machine.placement import place
from ..symbols import SymbolTable
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="an ELF, a System.map, or /proc/kallsyms text (default: show the table in use)")
    parser.add_argument("--guest", action="store_true",
                        help="read the running Linux kernel's own symbol table (kallsyms) from guest memory")


def describe(table: SymbolTable | None, absent: str | None = None) -> dict[str, Any]:
    if table is None:
        return {"source": None, "format": None, "symbols": 0, "slide": None, "verified": None, "absent": absent}
    placed = table.fit
    return {"source": table.source, "format": table.kind, "symbols": len(table), "slide": table.slide,
            "verified": None if placed is None else {"compared": placed.compared, "agreeing": placed.agreeing,
                                                     "banner": placed.banner, "evidence": placed.evidence},
            "absent": None}


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if target.is_snapshot:
        raise UsageError(f"{target.label} keeps the names it was saved with")
    if args.file is not None and args.guest:
        raise UsageError("give FILE or --guest, not both")
    if args.guest:
        from ..machine.kallsyms import read_guest_kallsyms

        table = read_guest_kallsyms(target)
    elif args.file is None:
        return Result("symbols.symbols", describe(target.symbol_table(), target.symbols_absent))
    else:
        table = SymbolTable.load(args.file)
    place(target, table)
    target.load_symbols(table)
    return Result("symbols.symbols", describe(table))
