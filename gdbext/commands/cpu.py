"""List the vCPUs, or select the one later commands use.

Examples:
  cpu          list vCPUs: mode, CPL, RIP, halted
  cpu 1        make vCPU 1 the default for every command
"""

from __future__ import annotations

import argparse

from ..machine.cpu import registers
from .base import Context, Result

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("index", nargs="?", type=int, metavar="N", help="vCPU to select")


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if args.index is not None:
        target.select_cpu(args.index)
    selected = target.selected_cpu()
    rows = []
    for cpu in target.cpus():
        regs = registers(target, cpu)
        rows.append({"cpu": cpu, "selected": cpu == selected, "mode": regs.mode.value, "cpl": regs.cpl,
                     "rip": regs.rip, "symbol": target.symbolize(regs.rip), "halted": regs.halted})
    return Result("live.cpu", {"selected": selected, "cpus": rows})
