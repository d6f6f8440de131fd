"""Show the stacks a 64-bit TSS names: RSP0 and IST1-7, which vectors switch to
each, its measured extent, whether an unmapped guard page lies below it, and
the frame last pushed at its top. With TR null or a 32-bit TSS there are no
such stacks, and the answer says so.

Examples:
  ist
  ist --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..errors import TargetError
from ..machine.stacks import read_stacks
from ..machine.tss import read_tss
from ..model.vectors import vector
from . import shapes
from .base import Context, Result, add_cpu_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    cpu = target.check_cpu(args.cpu)
    view = read_tss(target, cpu)
    if view.absent:
        return Result("live.ist", {"cpu": cpu, "tss": None, "stacks": [],
                              "absent": f"{view.absent}: interrupts stay on the stack they arrive on"})
    if view.tss is None:
        raise TargetError(f"the TSS TR names could not be read: {view.error}")
    if view.tss32 is not None:
        return Result("live.ist", {"cpu": cpu, "tss": {"selector": view.selector, "base": view.base}, "stacks": [],
                              "absent": f"a {view.width}-bit TSS has no IST: outside IA-32e mode only a "
                                        f"privilege change switches stacks, to SS0:ESP0 "
                                        f"({view.tss32.ss0:#06x}:{view.tss32.esp0:#x}; see tss)"})
    stacks = []
    for stack in read_stacks(target, cpu, view):
        frame = None
        if stack.last_frame is not None:
            row = vector(stack.frame_vector) if stack.frame_vector is not None else None
            frame = shapes.frame(stack.last_frame, stack.frame_vector, row.error_code.value if row else None)
            frame["stack"] = stack.name
        stacks.append({
            "name": stack.name,
            "top": stack.top,
            "used_by": list(stack.used_by),
            "bottom": stack.bottom,
            "size": None if stack.bottom is None else stack.top - stack.bottom,
            "guard": stack.guard,
            "guard_page": stack.guard_page,
            "guard_reason": stack.guard_reason,
            "last_frame": frame,
            "problems": list(stack.problems),
        })
    data: dict[str, Any] = {"cpu": cpu, "tss": {"selector": view.selector, "base": view.base}, "stacks": stacks,
                            "absent": None}
    return Result("live.ist", data)
