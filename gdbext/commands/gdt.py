"""Show the GDT of a vCPU. In IA-32e mode LDT and TSS descriptors are 16 bytes
and take two slots; each entry says which segment registers hold it now.

Examples:
  gdt
  gdt --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..machine.cpu import registers
from ..machine.tables import DescriptorTableView, read_gdt
from ..model.selector import TableIndicator
from . import shapes
from .base import Context, Result, add_cpu_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True

SEGMENT_REGISTERS = ("cs", "ss", "ds", "es", "fs", "gs", "ldt", "tr")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def table_data(context: Context, view: DescriptorTableView | None, cpu: int | None,
               key: str) -> dict[str, Any]:
    regs = registers(context.target, cpu)
    loaded: dict[tuple[int, int], list[str]] = {}
    for name in SEGMENT_REGISTERS:
        selector = getattr(regs, name).selector
        table = 1 if (selector & 4 and name not in ("ldt", "tr")) else 0
        loaded.setdefault((table, selector >> 3), []).append(name.upper())
    if view is None:
        return {"cpu": context.target.check_cpu(cpu), key: None, "entries": [], "error": None,
                "absent": "LDTR is null: no LDT, so only GDT selectors can be loaded"}
    entries = []
    table_bit = 1 if view.table is TableIndicator.LDT else 0
    for entry in view.entries:
        row = shapes.descriptor_entry(entry)
        row["loaded_as"] = [] if entry.is_null else loaded.get((table_bit, entry.index), [])
        entries.append(row)
    return {"cpu": view.cpu, key: {"base": view.base, "limit": view.limit}, "mode": regs.mode.value,
            "entries": entries, "error": view.error, "absent": _absent(view), "tail": _tail(view)}


def _absent(view: DescriptorTableView) -> str | None:
    """Why a table holds no descriptor at all: its limit is below 7 (SDM 3A 3.5.1)."""
    if view.limit + 1 >= 8:
        return None
    name = view.table.name
    return (f"the {name} limit {view.limit:#x} covers no whole descriptor: the {name} is empty, "
            "and any selector into it raises #GP")


def _tail(view: DescriptorTableView) -> str | None:
    """The bytes below the limit after the last whole descriptor, which hold none."""
    spare = (view.limit + 1) % 8
    if not spare or view.limit + 1 < 8:
        return None
    return (f"the limit {view.limit:#x} leaves {spare} byte{'s' if spare > 1 else ''} after the last whole "
            "descriptor: too few for one, so a selector reaching them raises #GP")


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    return Result("live.gdt", table_data(context, read_gdt(target, args.cpu), args.cpu, "gdtr"))
