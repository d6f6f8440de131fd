"""Show the stacks a 64-bit TSS names: RSP0 and IST1-7, which vectors switch to
each, its measured extent, whether an unmapped guard page lies below it, and
the frame last pushed at its top.

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    cpu = target.check_cpu(args.cpu)
    view = read_tss(target, cpu)
    if view.tss is None:
        raise TargetError(f"no TSS to read stacks from: {view.error}")
    if view.width != 64:
        raise TargetError("IST stacks exist only in a 64-bit TSS (this vCPU's TR names a 32-bit TSS)")
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
    data: dict[str, Any] = {"cpu": cpu, "tss": {"selector": view.selector, "base": view.base}, "stacks": stacks}
    return Result("ist", data)
