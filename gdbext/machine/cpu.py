"""A vCPU's registers, as QEMU's monitor reports them (``info registers N``).

The gdbstub does not expose GDTR, IDTR, LDTR or TR (its x86 register set ends
at EFER, QEMU 7.2), so one monitor
command per vCPU is the source of every system register idtscope uses.
"""

from __future__ import annotations

from ..errors import ParseError, TargetError
from ..target.base import Target
from ..target.qemu_text import CpuRegisters, parse_info_registers


def registers(target: Target, cpu: int | None = None) -> CpuRegisters:
    """The registers of ``cpu`` (default: the selected vCPU)."""
    cpu = target.check_cpu(cpu)

    def read() -> CpuRegisters:
        text = target.monitor(f"info registers {cpu}")
        try:
            blocks = parse_info_registers(text)
        except ParseError as error:
            first = text.strip().splitlines()[0] if text.strip() else "nothing"
            raise TargetError(f"QEMU's `info registers {cpu}` did not parse ({error}); it said: {first[:80]}") from None
        return blocks[0]

    return target.cache.get(("registers", cpu), read)
