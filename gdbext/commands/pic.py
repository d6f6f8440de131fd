"""Show the two 8259A PICs line by line, each IRQ tied to its IDT handler.

Read from QEMU's `info pic`: per IRQ line the device a PC wires to it, the
vector (the chip's ICW2 base plus the line), whether it is requested (IRR),
masked (IMR) or in service (ISR), its trigger mode (ELCR), and the handler
of the IDT gate its vector lands on; IRQ2 of the master relays the slave.

Handlers are looked up in the IDT of one vCPU (--cpu, default the selected
one). Diagnoses: an unmasked line whose vector has no usable gate, a masked
cascade with slave lines open, and a line in service whose handler already
returned on the boot CPU (QEMU wires the 8259As' INTR there): a missing EOI.

Examples:
  pic
  pic --json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ..machine.controllers import read_pic
from ..machine.cpu import registers
from ..machine.diagnose import CpuPlace, Landing, gate_symbol_addresses, landings, pic_diagnoses
from ..machine.tables import read_idt
from ..model.pic8259 import CASCADE_IRQ, I8259State, PicLine, chip_lines
from ..model.record import replace
from ..model.vectors import LEGACY_IRQS
from ..target.qemu_text import PicState
from .base import Context, Result, add_cpu_argument
from .lapic import diagnosis_rows, vector_info

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def _chip(state: I8259State | None, lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"irr": state.irr, "imr": state.imr, "isr": state.isr, "base": state.irq_base, "elcr": state.elcr,
            "priority_add": state.priority_add, "read_register": "isr" if state.rr_sel else "irr",
            "special_fully_nested": state.special_fully_nested, "lines": lines}


def _line_row(line: PicLine, gate: dict[str, Any], cascaded: bool) -> dict[str, Any]:
    return {"irq": line.irq, "line": line.line, "device": LEGACY_IRQS[line.irq].device, "vector": line.vector,
            "requested": line.requested, "masked": line.masked, "in_service": line.in_service,
            "trigger": "level" if line.level_triggered else "edge", "cascade": cascaded and line.cascade,
            "name": gate["name"], "present": gate["present"], "handler": gate["handler"],
            "symbol": gate["symbol"], "problem": gate["problem"]}


def pic_document(state: PicState, cpu: int, lands: Sequence[Landing],
                 symbolize: Callable[[list[int]], dict[int, str | None]],
                 interrupted: CpuPlace | None = None) -> dict[str, Any]:
    """The ``pic --json`` document; ``lands`` is the IDT of ``cpu``.

    ``interrupted`` is where the vCPU the 8259As interrupt stands (its
    ``rip_symbol`` is filled in here); without it lines in service are only noted.
    """
    lines: list[PicLine] = []
    for name, chip in (("master", state.master), ("slave", state.slave)):
        if chip is not None:
            lines += chip_lines(name, chip.irr, chip.imr, chip.isr, chip.irq_base, chip.elcr)
    cascaded = state.master is not None and state.slave is not None
    extra = [interrupted.rip] if interrupted is not None else []
    symbols = symbolize(gate_symbol_addresses(lands, [line.vector for line in lines]) + extra)
    if interrupted is not None:
        interrupted = replace(interrupted, rip_symbol=symbols.get(interrupted.rip))
    rotation = (state.master.priority_add if state.master is not None else 0,
                state.slave.priority_add if state.slave is not None else 0)
    rows: dict[str, list[dict[str, Any]]] = {"master": [], "slave": []}
    for line in lines:
        rows[line.chip].append(_line_row(line, vector_info(line.vector, lands, symbols, []), cascaded))
    data: dict[str, Any] = {
        "cpu": cpu,
        "master": _chip(state.master, rows["master"]),
        "slave": _chip(state.slave, rows["slave"]),
        "cascade_irq": CASCADE_IRQ if cascaded else None,
        "diagnoses": diagnosis_rows(pic_diagnoses(lines, lands, cascaded, interrupted, symbols, rotation)),
        "unparsed": list(state.extra_lines),
    }
    if state.master is None:
        data["note"] = "QEMU shows no 8259A in this machine (a microvm has none)"
    return data


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    cpu = target.check_cpu(args.cpu)
    boot_cpu = target.cpus()[0]
    regs = registers(target, boot_cpu)
    interrupted = CpuPlace(boot_cpu, regs.linear_pc, None, regs.halted)
    return Result(
        "controllers.pic",
        pic_document(read_pic(target), cpu, landings(read_idt(target, cpu)), target.symbolize_many, interrupted),
    )
