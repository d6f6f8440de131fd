"""The interrupt controllers as QEMU's monitor reports them: each vCPU's local
APIC (``info lapic APIC-ID``) and the I/O APICs and 8259As (``info pic``),
read once per stop.

The local APIC's MMIO page cannot be read through the gdbstub (it reads as
zeros under TCG and as 0xffffffff under KVM, QEMU 7.2),
so the monitor text is the only source. ``info lapic`` takes an APIC ID, not
a vCPU index (QEMU's hmp_info_local_apic looks the CPU up with
cpu_by_arch_id, target/i386/monitor.c), and its header names the vCPU index
it dumped. Without an argument it would dump the monitor's current CPU
(HMP ``cpu N``), which is independent of gdb's selected thread; idtscope
never uses or changes it.

How the APIC ID of vCPU N is found: ``info lapic N`` is asked first, since
QEMU gives vCPU N the APIC ID N whenever the topology packs without gaps
(plain ``-smp N``). If the header names another vCPU, or QEMU answers "No
CPU available", APIC IDs 0, 1, 2 ... are asked in turn until a header names
vCPU N (gaps appear with thread or core counts that are not powers of two).
The ID found is the vCPU's initial APIC ID (its ``apic-id`` property, what
CPUID reports); QEMU's dump does not show the xAPIC ID register, which a
guest may have rewritten.
"""

from __future__ import annotations

from ..errors import ParseError, TargetError
from ..model.record import record
from ..target.base import Target
from ..target.qemu_text import LapicState, PicState, parse_info_lapic, parse_info_pic

#: APIC IDs tried when vCPU N does not have APIC ID N (the xAPIC range)
APIC_ID_PROBE_LIMIT = 256
_NO_CPU = ("No CPU available", "No CPU is selected")


@record
class LapicView:
    """One vCPU's local APIC: the APIC ID that reached it and QEMU's dump."""

    cpu: int
    apic_id: int
    state: LapicState


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:80] if stripped else "nothing"


def _dump(target: Target, apic_id: int) -> LapicState | None:
    """``info lapic APIC-ID`` parsed; None when no vCPU has that APIC ID."""
    command = f"info lapic {apic_id}"
    text = target.monitor(command)
    if text.strip().startswith(_NO_CPU):
        return None
    try:
        return parse_info_lapic(text)
    except ParseError as error:
        raise TargetError(f"QEMU's `{command}` did not parse ({error}); it said: {_first_line(text)}") from None


def read_lapic(target: Target, cpu: int | None = None) -> LapicView:
    """The local APIC of ``cpu`` (default: the selected vCPU)."""
    cpu = target.check_cpu(cpu)

    def read() -> LapicView:
        first = _dump(target, cpu)
        if first is not None and first.cpu == cpu:
            return LapicView(cpu, cpu, first)
        for apic_id in range(APIC_ID_PROBE_LIMIT):
            if apic_id == cpu:
                continue
            state = _dump(target, apic_id)
            if state is not None and state.cpu == cpu:
                return LapicView(cpu, apic_id, state)
        raise TargetError(f"no APIC ID below {APIC_ID_PROBE_LIMIT} reaches vCPU {cpu} through `info lapic`")

    return target.cache.get(("lapic", cpu), read)


def read_pic(target: Target) -> PicState:
    """The 8259As and I/O APICs of the machine (``info pic``)."""

    def read() -> PicState:
        text = target.monitor("info pic")
        try:
            return parse_info_pic(text)
        except ParseError as error:
            raise TargetError(f"QEMU's `info pic` did not parse ({error}); it said: {_first_line(text)}") from None

    return target.cache.get("pic", read)

