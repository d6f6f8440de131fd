"""Show a vCPU's system registers: GDTR, IDTR, LDTR, TR, CR0/CR2/CR3/CR4, EFER
(flags named), RFLAGS, and the CPU mode.

Examples:
  regs
  regs --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..machine.cpu import registers
from . import shapes
from .base import Context, Result, add_cpu_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def segment(cache: Any) -> dict[str, Any]:
    return {"selector": cache.selector, "base": cache.base, "limit": cache.limit,
            "present": cache.present, "dpl": cache.dpl, "description": cache.description_text}


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    regs = registers(target, args.cpu)
    data = {
        "cpu": target.check_cpu(args.cpu),
        "mode": regs.mode.value,
        "cpl": regs.cpl,
        "halted": regs.halted,
        "rip": regs.rip,
        "rsp": regs.rsp,
        "rflags": shapes.register_flags("rflags", regs.rflags),
        "cs": segment(regs.cs),
        "ss": segment(regs.ss),
        "gdtr": {"base": regs.gdt.base, "limit": regs.gdt.limit},
        "idtr": {"base": regs.idt.base, "limit": regs.idt.limit},
        "ldtr": segment(regs.ldt),
        "tr": segment(regs.tr),
        "cr0": shapes.register_flags("cr0", regs.cr0),
        "cr2": regs.cr2,
        "cr3": regs.cr3,
        "cr4": shapes.register_flags("cr4", regs.cr4),
        "efer": None if regs.efer is None else shapes.register_flags("efer", regs.efer),
    }
    return Result("live.regs", data)
