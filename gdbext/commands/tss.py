"""Show the task-state segment TR names (or another, by selector): RSP0-2 and
IST1-7 in a 64-bit TSS, every field of a 32-bit one, and the I/O permission
bit map.

Examples:
  tss
  tss --cpu 1
  tss --selector 0x30          the TSS of a task gate
  tss --port 0x3f8             is this port allowed without IOPL?
"""

from __future__ import annotations

import argparse

from ..machine.tss import TssView, read_tss
from ..model.numbers import parse_int
from ..model.tss import allowed_ports, io_port_allowed
from . import shapes
from .base import Context, Result, add_cpu_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--selector", help="a GDT selector of a TSS descriptor (default: TR)")
    parser.add_argument("--port", help="say whether this I/O port is allowed by the bit map")
    add_cpu_argument(parser)


def tss_data(view: TssView, port: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"cpu": view.cpu, "selector": view.selector, "base": view.base, "limit": view.limit,
                            "width": view.width, "busy": view.busy, "error": view.error,
                            "descriptor_error": view.descriptor_error, "absent": view.absent}
    if view.tss is None:
        return data
    if view.tss64 is not None:
        data |= shapes.tss64(view.tss64)
    elif view.tss32 is not None:
        data |= shapes.tss32(view.tss32)
    limit = view.limit if view.limit is not None else len(view.data) - 1
    data["allowed_ports"] = [[r.start, r.stop - 1] for r in allowed_ports(view.data, limit, view.tss.iopb)]
    if port is not None:
        data["port"] = {"port": port, "allowed": io_port_allowed(view.data, limit, view.tss.iopb, port)}
    return data


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    selector = parse_int(args.selector, "selector") if args.selector else None
    port = parse_int(args.port, "I/O port") if args.port else None
    return Result("tables.tss", tss_data(read_tss(target, args.cpu, selector), port))
