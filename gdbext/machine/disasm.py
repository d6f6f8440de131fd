"""Disassembly of handler entry points with capstone (imported on first use)."""

from __future__ import annotations

from functools import cache

from ..errors import TargetError
from ..model.idt import CpuMode
from ..target.base import Target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_INSTRUCTION = 15


@cache
def _engine(mode: CpuMode) -> Any:
    import capstone

    bits = {CpuMode.LONG: capstone.CS_MODE_64, CpuMode.PROTECTED: capstone.CS_MODE_32,
            CpuMode.REAL: capstone.CS_MODE_16}[mode]
    return capstone.Cs(capstone.CS_ARCH_X86, bits)


def disassemble(target: Target, cpu: int, mode: CpuMode, address: int, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` instructions from ``address``; fewer if memory ends or is not code."""
    size = count * MAX_INSTRUCTION
    try:
        code = target.read_memory(address, size, cpu)
    except TargetError:
        try:
            code = target.read_memory(address, 4096 - address % 4096, cpu)
        except TargetError:
            text = f"(not readable: the page holding {address:#x} is not mapped)"
            return [{"address": address, "bytes": "", "text": text, "symbol": None}]
    rows = []
    for instruction in _engine(mode).disasm(code, address):
        rows.append({"address": instruction.address, "bytes": instruction.bytes.hex(),
                     "text": f"{instruction.mnemonic} {instruction.op_str}".strip(),
                     "symbol": target.symbolize(instruction.address)})
        if len(rows) == count:
            break
    return rows
