"""Backtrace through the interrupt frame, at a stop on a gate handler's first
instruction: frame #0 is the handler, frame #1 the interrupted code, with the
RIP, CS, RFLAGS, RSP and SS the CPU pushed (the error code skipped).

In gdb, idtscope's frame unwinder makes gdb's own `bt` do the same and go on
from the interrupted code; `x86 bt` prints these two frames in any front end.
Examples:
  bt
  bt --vector 14 --json
"""

from __future__ import annotations

import argparse

from ..machine.frames import read_stop_frame
from ..model.numbers import parse_int
from .base import Context, Result, add_cpu_argument

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vector", help="the vector taken, when one handler serves several (number or mnemonic)")
    parser.add_argument("--at", metavar="ADDR", help="where the frame is (default: the stack pointer)")
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    vector = None
    if args.vector is not None:
        from ..model.vectors import lookup

        vector = lookup(args.vector).number
    at = parse_int(args.at, "frame address") if args.at else None
    stop = read_stop_frame(target, args.cpu, vector, at)
    frame = stop.frame
    from ..machine.cpu import registers

    regs = registers(target, stop.cpu)
    entry = regs.linear_pc if stop.mode.value == "real" else regs.rip
    names = target.symbolize_many([entry, frame.ip])
    caller_sp = frame.sp if frame.sp is not None else stop.address + frame.size
    frames = [
        {"level": 0, "pc": entry, "symbol": names.get(entry), "vector": stop.vector,
         "error_code": frame.error_code, "sp": stop.address},
        {"level": 1, "pc": frame.ip, "symbol": names.get(frame.ip), "cs": frame.cs, "rflags": frame.flags,
         "sp": caller_sp, "ss": frame.ss, "from_cpl": frame.from_cpl, "stack": stop.stack},
    ]
    return Result("postmortem.backtrace", {"cpu": stop.cpu, "mode": stop.mode.value, "frames": frames,
                         "warnings": list(stop.warnings)})
