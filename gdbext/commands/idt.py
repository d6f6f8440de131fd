"""Show the IDT (or the real-mode IVT) of a vCPU: every gate's meaning, type, DPL, IST,
selector and handler with its symbol. A task gate is followed through its TSS
descriptor: its handler is that TSS's EIP. The meaning is the exception's mnemonic and
name, Linux's use of the vector (from the entry point its gate enters), or the 8259A
IRQ it is under the PICs' programmed bases.

VECTOR may be a number, a mnemonic or a range LO-HI.
Examples:
  idt                  present gates of the selected vCPU
  idt --all            all 256, not-present ones too
  idt 14               one gate
  idt 0x20-0x2f        a range
  idt '#DF' --disasm 4 with the handler's first 4 instructions
  idt --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..errors import TargetError, UsageError
from ..machine.frames import entry_point
from ..machine.tables import IdtView, read_idt
from ..machine.tss import read_tss
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode, IvtEntry
from . import shapes
from .base import Context, Result, add_cpu_argument
from .vectors import parse_range

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("which", nargs="?", metavar="VECTOR|LO-HI", help="one vector or a range")
    parser.add_argument("--all", action="store_true", help="list not-present gates too")
    parser.add_argument("--disasm", type=int, default=0, metavar="N",
                        help="disassemble the first N instructions of each handler")
    add_cpu_argument(parser)


def selection(text: str | None) -> range:
    if text is None:
        return range(256)
    low, _, high = text.partition("-")
    if high and low.strip():
        return parse_range(text)
    from ..model.vectors import lookup

    number = lookup(text).number
    return range(number, number + 1)


def gate_row(context: Context, view: IdtView, vector: int, disasm: int,
             names: dict[int, str | None]) -> dict[str, Any]:
    target = context.target
    slot = view.slots[vector]
    entry = slot.entry
    if entry is None:
        return {"vector": vector, "present": False, "type": "unreadable", "error": slot.error,
                "dpl": None, "ist": None, "selector": None, "handler": None, "symbol": None}
    if isinstance(entry, IvtEntry):
        row = shapes.ivt_entry(vector, entry, names.get(entry.linear))
    else:
        row = shapes.gate(vector, entry, None)
        if entry.kind is GateKind.TASK:
            row["task"] = _task(context, view.cpu, entry)
            row["handler"] = row["task"].get("eip")
        elif row["handler"] is not None and not entry.long_mode:
            row["handler"] = entry_point(target, view.cpu, entry)[0]
        if row["handler"] is not None:
            row["symbol"] = names[row["handler"]] if row["handler"] in names else target.symbolize(row["handler"])
    if disasm and row["handler"] is not None:
        from ..machine.disasm import disassemble

        row["disasm"] = disassemble(target, view.cpu, view.mode, row["handler"], disasm)
    return row


def name_vectors(target: Any, gates: list[dict[str, Any]]) -> None:
    """Give each row its ``meaning`` (model.vectors.gate_meaning): the 8259A bases are read
    only when a vector past 31 has no Linux entry point to say what it is."""
    from ..model.vectors import gate_meaning, linux_meaning

    bases = None
    if any(row["vector"] >= 32 and linux_meaning(row.get("symbol")) is None for row in gates):
        bases = pic_bases(target)
    for row in gates:
        row["meaning"] = gate_meaning(row["vector"], row.get("symbol"), bases)


def pic_bases(target: Any) -> tuple[int, int] | None:
    """The vector bases the 8259As were programmed with (ICW2), or None without them."""
    from ..machine.controllers import read_pic

    try:
        state = read_pic(target)
    except TargetError:
        return None
    if state.master is None or state.slave is None:
        return None
    return state.master.irq_base, state.slave.irq_base


def _task(context: Context, cpu: int, gate: Gate) -> dict[str, Any]:
    view = read_tss(context.target, cpu, gate.selector)
    if view.tss is None:
        return {"tss_selector": gate.selector, "error": view.error, "eip": None}
    body = shapes.tss32(view.tss32) if view.tss32 is not None else {}
    if view.tss64 is not None:
        body = shapes.tss64(view.tss64)
    return {"tss_selector": gate.selector, "base": view.base, "limit": view.limit, "busy": view.busy,
            "error": view.error} | body


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if args.disasm < 0 or args.disasm > 64:
        raise UsageError(f"--disasm takes 0-64 instructions, got {args.disasm}")
    wanted = selection(args.which)
    view = read_idt(target, args.cpu)
    shown = [vector for vector in wanted if vector < len(view.slots)]
    points = (entry_point(target, view.cpu, view.slots[v].entry)[0] for v in shown)
    names = target.symbolize_many([address for address in points if address is not None])
    gates = [gate_row(context, view, vector, args.disasm, names) for vector in shown]
    if view.mode is not CpuMode.REAL:
        name_vectors(target, gates)
    data = {
        "cpu": view.cpu,
        "mode": view.mode.value,
        "idtr": {"base": view.base, "limit": view.limit},
        "covered": len(view.slots),
        "gates": gates,
        "show_all": args.all or args.which is not None,
    }
    if view.mode is CpuMode.REAL:
        data["note"] = "real-address mode: the IVT holds segment:offset far pointers, no gates"
    data["absent"] = None if view.slots else (
        f"the IDTR limit {view.limit:#x} covers no whole {view.mode.gate_size}-byte entry: the table is empty, "
        "so any interrupt or exception raises #GP, which cannot be delivered either: #DF, then a triple fault")
    return Result("live.idt", data)
