"""Explain an interrupt vector: everything the bundled model knows about it.

VECTOR may be a number (14, 0x0e), a mnemonic (#PF, pf, NMI) or a name
("page fault"). Examples:
  explain 14
  explain '#GP'
  explain "double fault"
  explain 0x80
"""

from __future__ import annotations

import argparse

from ..model import vectors as model
from .base import Context, Result
from .vectors import vector_data

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("vector", nargs="+", metavar="VECTOR", help="number, mnemonic or name")


def run(context: Context, args: argparse.Namespace) -> Result:
    row = model.lookup(" ".join(args.vector))
    return Result("vectors.explain", vector_data(row))
