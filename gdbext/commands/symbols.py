"""Name handlers from an ELF, a System.map or /proc/kallsyms text.

Without it idtscope names addresses from gdb's own symbols (inside gdb) or
not at all. A distribution kernel ships a System.map but rarely the vmlinux
with its symbols; kallsyms text captured from the running kernel serves as
well (boot with nokaslr, or capture it from the same boot).

Examples:
  symbols /boot/System.map-6.1.0-13-amd64
  symbols vmlinux
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..symbols import SymbolTable
from .base import Context, Result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="an ELF, a System.map, or /proc/kallsyms text")


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if not hasattr(target, "load_symbols"):
        raise UsageError(f"{target.label} keeps the names it was saved with")
    table = SymbolTable.load(args.file)
    target.load_symbols(table)
    return Result("message", {"text": f"{len(table)} symbols from {args.file}", "symbols": len(table),
                              "source": args.file})
