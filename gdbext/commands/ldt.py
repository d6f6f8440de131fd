"""Show the LDT that LDTR holds, if any.

Examples:
  ldt
  ldt --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..machine.tables import read_ldt
from .base import Context, Result, add_cpu_argument
from .gdt import table_data

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    return Result("live.gdt", table_data(context, read_ldt(target, args.cpu), args.cpu, "ldtr"))
