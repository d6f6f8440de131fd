"""What is wrong with the interrupt controllers, spelled out: pure functions
over decoded controller state and a vCPU's IDT. Nothing here reads a target.

Where a vector lands (``landings``): the IDT gate of that vector on one vCPU,
usable when it is present and an interrupt, trap or task gate (SDM Vol. 3A
6.11, 6.14.1); a vector past the IDTR limit raises #GP instead (SDM 6.10),
one behind a not-present gate #NP (SDM 6.15, "Interrupt 11").

A missing EOI (``in_service_diagnoses``) is decided from where the vCPU
stands, since a dump cannot show which handler "runs":

1. RIP is inside the handler of an in-service vector when RIP's symbol (the
   name before ``+offset``) is that gate's handler symbol; without symbols,
   when RIP lies between the handler's entry point and the next IDT entry
   point above it, less than 4 KiB away.
2. The highest in-service vector whose handler holds RIP is the one running.
   Every in-service vector above it (all of them when no handler holds RIP)
   has a handler that already returned: the local APIC delivers a vector only
   above the processor priority, which an in-service vector raises to its own
   class (SDM 11.8.3.1), so nothing of a lower class could have interrupted
   that handler. Its EOI is missing.
3. An in-service vector below the running one may be nested (its handler
   was interrupted) or may lack its EOI too; it is reported as a note.

A handler that calls a subroutine outside its own symbol makes rule 1 miss;
the diagnosis says where RIP is and whether the vCPU is halted, so the user
can tell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..model.apic import (
    ESR_MEANINGS,
    DeliveryMode,
    EsrFlag,
    LvtKind,
    LvtRegister,
    Svr,
    TimerMode,
    held_back,
    processor_priority,
)
from ..model.gate import GateKind
from ..model.idt import IvtEntry
from ..model.ioapic import IoapicPin, TriggerMode
from ..model.pic8259 import PicLine, pic_priority
from ..model.record import record
from .severity import Severity
from .tables import IdtView

#: how far past a handler's entry RIP may be, without symbols, to count as inside it
HANDLER_SPAN = 4096
_USABLE = (GateKind.INTERRUPT, GateKind.TRAP, GateKind.TASK)


@record
class Landing:
    """Where ``vector`` goes on one vCPU: ``usable`` gate or not (``why_not``), and its handler."""

    vector: int
    usable: bool
    handler: int | None
    why_not: str | None = None


@record
class Diagnosis:
    """One finding: ``severity`` is an error, a warning or a note; ``code`` is stable for scripts."""

    code: str
    severity: Severity
    message: str
    vector: int | None = None


def landings(view: IdtView) -> tuple[Landing, ...]:
    """One Landing per vector 0-255 from a vCPU's IDT (or IVT)."""
    rows = []
    for vector in range(256):
        if vector >= len(view.slots):
            rows.append(Landing(vector, False, None, f"past the IDT limit {view.limit:#x}"))
            continue
        entry = view.slots[vector].entry
        if entry is None:
            rows.append(Landing(vector, False, None, f"gate unreadable: {view.slots[vector].error}"))
        elif isinstance(entry, IvtEntry):
            rows.append(Landing(vector, True, entry.linear))
        elif not entry.present:
            rows.append(Landing(vector, False, None, "gate not present"))
        elif entry.kind not in _USABLE:
            rows.append(Landing(vector, False, None, f"{entry.type_name} cannot be used in the IDT"))
        else:
            rows.append(Landing(vector, True, entry.offset if entry.kind is not GateKind.TASK else None))
    return tuple(rows)


def _base(symbol: str | None) -> str | None:
    return symbol.split("+", 1)[0] if symbol else None


def _gate_text(landing: Landing, symbols: Mapping[int, str | None]) -> str:
    if not landing.usable:
        return landing.why_not or "no gate"
    if landing.handler is None:
        return "task gate"
    return symbols.get(landing.handler) or f"handler {landing.handler:#x}"


def _holds(landing: Landing, rip: int, rip_symbol: str | None, symbols: Mapping[int, str | None],
           entries: Sequence[int]) -> bool:
    """Whether RIP is inside the handler ``landing`` names (rule 1 of the module docstring)."""
    if not landing.usable or landing.handler is None:
        return False
    handler_symbol = symbols.get(landing.handler)
    if handler_symbol and rip_symbol:
        return _base(rip_symbol) == _base(handler_symbol)
    if not landing.handler <= rip < landing.handler + HANDLER_SPAN:
        return False
    return not any(landing.handler < entry <= rip for entry in entries)


@record
class CpuPlace:
    """Where a vCPU stands: RIP, its symbol, and whether it is halted (HLT)."""

    cpu: int
    rip: int
    rip_symbol: str | None
    halted: bool

    @property
    def text(self) -> str:
        where = f"RIP {self.rip:#x}" + (f" <{self.rip_symbol}>" if self.rip_symbol else "")
        return where + (", halted" if self.halted else "")


def in_service_diagnoses(place: CpuPlace, isr: Iterable[int], lands: Sequence[Landing],
                         symbols: Mapping[int, str | None]) -> list[Diagnosis]:
    """Missing EOIs among the in-service vectors of one local APIC (see the module docstring)."""
    in_service = sorted(set(isr), reverse=True)
    entries = sorted({land.handler for land in lands if land.usable and land.handler is not None})
    running = [v for v in in_service if _holds(lands[v], place.rip, place.rip_symbol, symbols, entries)]
    top = running[0] if running else None
    found = []
    for vector in in_service:
        if vector in running:
            continue
        gate = _gate_text(lands[vector], symbols)
        if top is None or vector > top:
            inside = f"inside the handler of vector {top:#04x}" if top is not None else "outside its handler"
            found.append(Diagnosis("missing-eoi", Severity.ERROR, (
                f"vector {vector:#04x} ({gate}) is in service (ISR) on CPU {place.cpu}, but CPU {place.cpu} is "
                f"{inside} ({place.text}): the handler returned without an EOI, so the local APIC holds back "
                f"every vector up to {vector | 0xF:#04x} until one is written"), vector))
        else:
            found.append(Diagnosis("in-service-below-running", Severity.NOTE, (
                f"vector {vector:#04x} ({gate}) is in service below the running vector {top:#04x}: its handler "
                "was interrupted (nested), or its EOI is missing too"), vector))
    return found


@record
class ApicRegisters:
    """The decoded registers of one local APIC the configuration findings look at (None: not known)."""

    svr: Svr | None
    lvt: Mapping[LvtKind, LvtRegister]
    current_count: int | None
    esr: int | None
    tpr: int | None
    isr: tuple[int, ...] | None
    irr: tuple[int, ...] | None


def _held_back(regs: ApicRegisters) -> list[Diagnosis]:
    """Pending vectors the processor priority keeps out, naming what raised it: the TPR or an ISR vector."""
    if regs.tpr is None or regs.isr is None:
        return []
    isrv = max(regs.isr, default=0)
    ppr = processor_priority(regs.tpr, isrv)
    cause = f"the TPR {regs.tpr:#04x}" if ppr == regs.tpr else f"the in-service vector {isrv:#04x}"
    return [Diagnosis("held-back", Severity.NOTE, (
        f"vector {vector:#04x} is pending (IRR) but held back: {cause} sets the processor priority to {ppr:#04x}, "
        f"which admits only vectors above {ppr | 0xF:#04x}"), vector)
        for vector in sorted(set(regs.irr or ())) if held_back(vector, ppr)]


def lapic_diagnoses(cpu: int, regs: ApicRegisters, lands: Sequence[Landing]) -> list[Diagnosis]:
    """Findings about one local APIC's configuration and pending vectors (the ISR has its own)."""
    found = []
    svr = regs.svr
    if svr is not None and not svr.software_enabled:
        found.append(Diagnosis("apic-disabled", Severity.WARNING, (
            f"the local APIC of CPU {cpu} is software-disabled (SVR bit 8 clear): its LVT entries stay masked "
            "and it accepts only NMI, SMI, INIT and start-up messages (SDM 11.4.7.2)")))
    if svr is not None and not lands[svr.vector].usable:
        found.append(Diagnosis("spurious-no-gate", Severity.WARNING, (
            f"the spurious-interrupt vector {svr.vector:#04x} (SVR) has no usable gate "
            f"({lands[svr.vector].why_not}): a spurious interrupt would fault instead of returning"), svr.vector))
    for kind, entry in regs.lvt.items():
        if entry.masked or not entry.carries_vector or lands[entry.vector].usable:
            continue
        found.append(Diagnosis("unmasked-no-gate", Severity.ERROR, (
            f"the LVT {kind.value} entry is unmasked and delivers vector {entry.vector:#04x}, which has no usable "
            f"gate ({lands[entry.vector].why_not})"), entry.vector))
    timer = regs.lvt.get(LvtKind.TIMER)
    if timer is not None and timer.masked and regs.current_count and timer.timer_mode is not TimerMode.TSC_DEADLINE:
        found.append(Diagnosis("timer-masked-running", Severity.WARNING, (
            f"the LVT timer is masked while its current count runs ({regs.current_count} left): it counts down "
            "but raises no interrupt"), timer.vector))
    if regs.esr:
        meanings = [ESR_MEANINGS[flag] for flag in EsrFlag if regs.esr & flag]
        if regs.esr & ~0xFF:
            meanings.append(f"undefined bits {regs.esr & ~0xFF:#x}")
        found.append(Diagnosis("esr", Severity.WARNING,
                               f"the error status register is {regs.esr:#x}: " + "; ".join(meanings)))
    return found + _held_back(regs)


def ioapic_diagnoses(pins: Iterable[IoapicPin], lands: Sequence[Landing]) -> list[Diagnosis]:
    """Unmasked I/O APIC pins that would fault, and level-triggered pins waiting for an EOI."""
    found = []
    for pin in pins:
        delivers = pin.delivery_mode in (DeliveryMode.FIXED, DeliveryMode.LOWEST_PRIORITY)
        if not pin.masked and delivers and not lands[pin.vector].usable:
            found.append(Diagnosis("unmasked-no-gate", Severity.ERROR, (
                f"I/O APIC pin {pin.pin} is unmasked and delivers vector {pin.vector:#04x}, which has no usable "
                f"gate ({lands[pin.vector].why_not})"), pin.vector))
        if pin.remote_irr and pin.trigger is TriggerMode.LEVEL:
            found.append(Diagnosis("remote-irr", Severity.WARNING, (
                f"I/O APIC pin {pin.pin} (vector {pin.vector:#04x}, level-triggered) has remote IRR set: a local "
                "APIC accepted it and no EOI has come back, so the pin delivers nothing more"), pin.vector))
    return found


def pic_diagnoses(lines: Sequence[PicLine], lands: Sequence[Landing], cascaded: bool,
                  place: CpuPlace | None = None, symbols: Mapping[int, str | None] | None = None,
                  rotation: tuple[int, int] = (0, 0)) -> list[Diagnosis]:
    """Unmasked 8259A lines that would fault, a masked cascade, and lines in service.

    ``place`` is the vCPU the 8259A interrupts (QEMU wires its INTR to the boot
    CPU); with it, an in-service line is judged as the local APIC's ISR is (the
    module docstring), in 8259A priority order: a line above the running one,
    or any line when no handler of theirs holds RIP, lacks its EOI (OCW2).
    """
    found = []
    for line in lines:
        relay = cascaded and line.cascade
        if not line.masked and not relay and not lands[line.vector].usable:
            found.append(Diagnosis("unmasked-no-gate", Severity.ERROR, (
                f"8259A IRQ{line.irq} is unmasked and arrives as vector {line.vector:#04x}, which has no usable "
                f"gate ({lands[line.vector].why_not})"), line.vector))
    in_service = sorted((line for line in lines if line.in_service and not (cascaded and line.cascade)),
                        key=lambda line: pic_priority(line, *rotation))
    found += _pic_in_service(in_service, lands, place, symbols or {}, rotation)
    slave_open = [line.irq for line in lines if line.chip == "slave" and not line.masked]
    cascade = next((line for line in lines if line.cascade), None)
    if cascaded and cascade is not None and cascade.masked and slave_open:
        found.append(Diagnosis("cascade-masked", Severity.WARNING, (
            f"the master masks IRQ2, the cascade: the slave's unmasked IRQ{', IRQ'.join(map(str, slave_open))} "
            "never reach the CPU")))
    return found


def _pic_in_service(in_service: list[PicLine], lands: Sequence[Landing], place: CpuPlace | None,
                    symbols: Mapping[int, str | None], rotation: tuple[int, int]) -> list[Diagnosis]:
    if place is None:
        return [Diagnosis("pic-in-service", Severity.NOTE, (
            f"8259A IRQ{line.irq} (vector {line.vector:#04x}) is in service: the {line.chip} passes no IRQ of "
            "equal or lower priority until its handler sends an EOI (OCW2)"), line.vector) for line in in_service]
    entries = sorted({land.handler for land in lands if land.usable and land.handler is not None})
    running = [line for line in in_service if _holds(lands[line.vector], place.rip, place.rip_symbol, symbols, entries)]
    top = running[0] if running else None
    found = []
    for line in in_service:
        if line in running:
            continue
        gate = _gate_text(lands[line.vector], symbols)
        if top is None or pic_priority(line, *rotation) < pic_priority(top, *rotation):
            inside = f"inside the handler of IRQ{top.irq}" if top is not None else "outside its handler"
            found.append(Diagnosis("pic-missing-eoi", Severity.ERROR, (
                f"8259A IRQ{line.irq} (vector {line.vector:#04x}, {gate}) is in service, but CPU {place.cpu} is "
                f"{inside} ({place.text}): the handler returned without an EOI (OCW2), so the {line.chip} passes "
                "no IRQ of equal or lower priority"), line.vector))
        else:
            found.append(Diagnosis("pic-in-service-below-running", Severity.NOTE, (
                f"8259A IRQ{line.irq} (vector {line.vector:#04x}, {gate}) is in service below the running "
                f"IRQ{top.irq}: its handler was interrupted (nested), or its EOI is missing too"), line.vector))
    return found


def gate_symbol_addresses(lands: Sequence[Landing], vectors: Iterable[int]) -> list[int]:
    """The handler entry points of ``vectors`` that have one (to symbolize in one round trip)."""
    return sorted({handler for v in vectors if (handler := lands[v].handler) is not None})

