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

from .base import Context, Result
from .frame import add_stop_arguments, stop_of

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stop_arguments(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    stop = stop_of(target, args)
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
