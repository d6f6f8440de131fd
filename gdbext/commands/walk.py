"""Walk a linear address through the paging structures: each level's entry,
the physical address it reaches, and which level and bit would refuse an
access (SDM Vol. 3A 4.5-4.7).

Examples:
  walk 0x300040                      as a supervisor read on the selected vCPU
  walk 0x300040 --user --write       would a user write be allowed?
  walk 0x204000 --fetch
  walk 0xffffffff81000000 --cr3 0x1c0a000
"""

from __future__ import annotations

import argparse

from ..machine.cpu import registers
from ..machine.explain import walk_data
from ..machine.memory import PhysicalPages
from ..model.numbers import parse_int
from ..model.paging import Access, walk
from .base import Context, Result, add_cpu_argument

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("address", metavar="ADDR", help="the linear address (or a symbol of the loaded table)")
    parser.add_argument("--cr3", help="walk from this CR3 instead of the vCPU's")
    parser.add_argument("--write", action="store_true", help="check a write")
    parser.add_argument("--user", action="store_true", help="check a user-mode (CPL 3) access")
    parser.add_argument("--fetch", action="store_true", help="check an instruction fetch")
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    table = target.symbols
    known = table.address_of(args.address) if table is not None else None
    address = known if known is not None else parse_int(args.address, "address")
    regs = registers(target, args.cpu)
    cr3 = parse_int(args.cr3, "CR3") if args.cr3 else regs.cr3
    access = Access(write=args.write, user=args.user, fetch=args.fetch)
    result = walk(PhysicalPages(target), address, cr3, regs.cr0, regs.cr4, regs.efer or 0, access)
    return Result("frame.walk", walk_data(result) | {"cr3": cr3})
