"""Decode the frame the CPU pushed, at a handler's first instruction, and
explain the fault: a page walk for #PF, the descriptor a selector error code
names, what can be known of a #DF.

Examples:
  frame                     at a stop on a handler entry (vector found from RIP)
  frame --vector 14         when one handler serves several vectors
  frame --at 0x213fd0 --vector 8
  frame --json
(For bytes pasted from elsewhere use `decode frame`.)
"""

from __future__ import annotations

import argparse

from ..machine.frames import StopFrame, read_stop_frame
from ..model.numbers import parse_int
from ..target.base import Target
from .base import Context, Result, add_cpu_argument
from .stops import stop_data

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    """--vector, --at and --cpu: which frame a handler-entry command reads (frame, bt)."""
    parser.add_argument("--vector", help="the vector taken, when one handler serves several (number or mnemonic)")
    parser.add_argument("--at", metavar="ADDR", help="where the frame is (default: the stack pointer)")
    add_cpu_argument(parser)


def stop_of(target: Target, args: argparse.Namespace) -> StopFrame:
    """The frame ``add_stop_arguments``' options name."""
    vector = None
    if args.vector is not None:
        from ..model.vectors import lookup

        vector = lookup(args.vector).number
    at = parse_int(args.at, "frame address") if args.at else None
    return read_stop_frame(target, args.cpu, vector, at)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stop_arguments(parser)
    parser.add_argument("--no-explain", action="store_true", help="skip the page walk / descriptor explanation")


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    return Result("frame.frame", stop_data(target, stop_of(target, args), explain=not args.no_explain))
