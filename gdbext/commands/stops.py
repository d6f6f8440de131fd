"""The report of a stop at a handler's entry: the frame, the stack, the
interrupted instruction and the explanation. Shared by `frame` and by
breakpoint hits in gdb and in the shell."""

from __future__ import annotations

from ..errors import IdtscopeError
from ..machine.explain import explain_stop
from ..machine.frames import StopFrame
from ..model.gate import Gate
from ..model.idt import CpuMode
from ..model.vectors import vector as vector_row
from ..target.base import Target
from . import shapes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def stop_data(target: Target, stop: StopFrame, explain: bool = True) -> dict[str, Any]:
    row = vector_row(stop.vector) if stop.vector is not None else None
    data = shapes.frame(stop.frame, stop.vector, row.error_code.value if row else None)
    data |= {
        "cpu": stop.cpu,
        "name": None if row is None else (f"{row.mnemonic} {row.name}" if row.mnemonic else row.name),
        "frame_address": stop.address,
        "to_cpl": stop.to_cpl,
        "cr2": stop.cr2,
        "stack": stop.stack,
        "stack_check": stop.stack_check,
        "saved_ip": None if row is None else row.saved_ip.value,
        "gate_ist": stop.gate.ist if isinstance(stop.gate, Gate) else None,
        "warnings": list(stop.warnings),
    }
    ip = stop.frame.ip if stop.mode is not CpuMode.REAL else (stop.frame.cs << 4) + stop.frame.ip
    data["rip_symbol"] = target.symbolize(ip)
    data["instruction"] = _instruction(target, stop, ip)
    data["explanation"] = None
    if explain:
        try:
            data["explanation"] = explain_stop(target, stop)
        except IdtscopeError as error:
            data["explanation"] = {"kind": "error", "summary": f"cannot explain: {error}"}
    return data


def _instruction(target: Target, stop: StopFrame, ip: int) -> dict[str, Any] | None:
    from ..machine.disasm import disassemble

    rows = disassemble(target, stop.cpu, stop.mode, ip, 1)
    return rows[0] if rows else None
