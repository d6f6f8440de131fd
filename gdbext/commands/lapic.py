"""Show a vCPU's local APIC, tied to the IDT, and what is wrong with it.

Read from QEMU's `info lapic APIC-ID`: APIC ID, SVR (software enable,
spurious vector, focus checking), TPR/APR/PPR, every LVT entry, the timer,
the ICR, the ESR bits by name, and the ISR, IRR and TMR as vectors, each
with its name and the handler of its IDT gate.

Diagnoses: a vector in service whose handler is not running, i.e. a missing
EOI (the vCPU's RIP is outside that vector's handler, or inside the handler
of a lower in-service vector); an unmasked LVT entry or a spurious vector
without a usable gate; a software-disabled APIC; a masked timer whose count
runs; ESR errors; pending vectors held back by the processor priority.

Examples:
  lapic                the selected vCPU
  lapic --cpu 1
  lapic --all          every vCPU
  lapic --json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ..machine.controllers import LapicView, read_lapic
from ..machine.cpu import registers
from ..machine.diagnose import (
    ApicRegisters,
    CpuPlace,
    Diagnosis,
    Landing,
    gate_symbol_addresses,
    in_service_diagnoses,
    landings,
    lapic_diagnoses,
)
from ..machine.tables import read_idt
from ..model.apic import FIRST_LEGAL_VECTOR, EsrFlag, Icr, LvtKind, LvtRegister, Svr, divide_by, priority_class
from ..model.bits import flag_names
from ..model.vectors import vector as vector_row
from ..target.base import Target
from ..target.qemu_text import ApicTimer, InterruptCommand, LapicState
from .base import Context, Result, add_cpu_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True

_LVT_SOURCES = {
    LvtKind.TIMER: "lvt_timer",
    LvtKind.LINT0: "lvt_lint0",
    LvtKind.LINT1: "lvt_lint1",
    LvtKind.ERROR: "lvt_error",
    LvtKind.PERFMON: "lvt_perfmon",
    LvtKind.THERMAL: "lvt_thermal",
}
_REGISTERS = ("spiv", "timer", "icr", "esr", "isr", "irr", "apr", "tpr", "ppr")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    add_cpu_argument(which)
    which.add_argument("--all", action="store_true", help="every vCPU")


def vector_info(vector: int, lands: Sequence[Landing], symbols: dict[int, str | None],
                roles: list[str]) -> dict[str, Any]:
    """A vector as every controller view shows it: model name, gate, handler and symbol."""
    row = vector_row(vector)
    land = lands[vector]
    return {"vector": vector, "name": row.mnemonic or row.name, "present": land.usable, "handler": land.handler,
            "symbol": symbols.get(land.handler) if land.handler is not None else None,
            "problem": land.why_not, "roles": roles}


def diagnosis_rows(diagnoses: list[Diagnosis]) -> list[dict[str, Any]]:
    return [{"code": d.code, "severity": d.severity.value, "vector": d.vector, "message": d.message} for d in diagnoses]


def _lvt_row(entry: LvtRegister) -> dict[str, Any]:
    pin = entry.polarity_low is not None
    return {
        "raw": entry.to_int(),
        "vector": entry.vector if entry.carries_vector else None,
        "masked": entry.masked,
        "delivery_mode": entry.delivery_mode.label,
        "trigger": entry.trigger,
        "polarity": ("active-low" if entry.polarity_low else "active-high") if pin else None,
        "remote_irr": entry.remote_irr,
        "delivery_status": "pending" if entry.delivery_pending else "idle",
        "timer_mode": entry.timer_mode.label if entry.timer_mode is not None else None,
        "problems": list(entry.problems),
    }


def _icr_row(words: InterruptCommand, x2apic: bool) -> dict[str, Any]:
    icr = Icr.from_int(words.high << 32 | words.low, x2apic)
    return {
        "raw": icr.to_int(),
        "vector": icr.vector,
        "delivery_mode": icr.delivery_mode.label,
        "destination_mode": "logical" if icr.logical else "physical",
        "destination": icr.destination,
        "destination_text": words.destination,
        "shorthand": icr.shorthand.label,
        "level": "assert" if icr.assert_level else "de-assert",
        "trigger": "level" if icr.level_triggered else "edge",
        "delivery_status": "pending" if icr.send_pending else "idle",
        "problems": list(icr.problems),
    }


def _timer_row(timer: ApicTimer, lvt_timer: LvtRegister | None) -> dict[str, Any]:
    mode = lvt_timer.timer_mode if lvt_timer is not None else None
    return {"mode": mode.label if mode is not None else None, "divide": divide_by(timer.divide_configuration),
            "divide_configuration": timer.divide_configuration, "initial_count": timer.initial_count,
            "current_count": timer.current_count}


def _roles(state: LapicState, svr: Svr | None, lvt: dict[LvtKind, LvtRegister]) -> dict[int, list[str]]:
    """What each vector this APIC mentions is to it: an LVT source, the spurious vector, in ISR/IRR/TMR."""
    roles: dict[int, list[str]] = {}
    for kind, entry in lvt.items():
        if entry.carries_vector and (not entry.masked or entry.vector >= FIRST_LEGAL_VECTOR):
            roles.setdefault(entry.vector, []).append(f"LVT {kind.value}" + (" (masked)" if entry.masked else ""))
    if svr is not None:
        roles.setdefault(svr.vector, []).append("spurious (SVR)")
    for name in ("isr", "irr", "tmr"):
        for vector in getattr(state, name) or ():
            roles.setdefault(vector, []).append(name.upper())
    return roles


def lapic_data(target: Target, cpu: int) -> dict[str, Any]:
    """The ``lapic --json`` document of one vCPU, read from the target."""
    view = read_lapic(target, cpu)
    regs = registers(target, cpu)
    return lapic_document(view, regs.rip, regs.halted, landings(read_idt(target, cpu)), target.symbolize_many)


def lapic_document(view: LapicView, rip: int, halted: bool, lands: Sequence[Landing],
                   symbolize: Callable[[list[int]], dict[int, str | None]]) -> dict[str, Any]:
    """The ``lapic --json`` document of one vCPU from its decoded state; ``lands`` is its IDT."""
    state = view.state
    cpu = view.cpu
    svr = Svr.from_int(state.spiv.raw) if state.spiv is not None else None
    lvt = {kind: LvtRegister.from_int(kind, getattr(state, source).raw)
           for kind, source in _LVT_SOURCES.items() if getattr(state, source) is not None}
    roles = _roles(state, svr, lvt)
    symbols = symbolize(gate_symbol_addresses(lands, roles) + [rip])
    place = CpuPlace(cpu, rip, symbols.get(rip), halted)
    diagnoses = in_service_diagnoses(place, state.isr or (), lands, symbols)
    diagnoses += lapic_diagnoses(cpu, ApicRegisters(svr, lvt, state.timer.current_count if state.timer else None,
                                                    state.esr, state.tpr, state.isr, state.irr), lands)
    return {
        "cpu": cpu,
        "apic_id": view.apic_id,
        "x2apic": state.x2apic,
        "enabled": svr.software_enabled if svr else None,
        "spurious_vector": svr.vector if svr else None,
        "svr": None if svr is None else {"raw": svr.to_int(), "focus_checking": svr.focus_checking,
                                         "eoi_broadcast_suppression": svr.eoi_broadcast_suppression},
        "tpr": state.tpr,
        "apr": state.apr,
        "ppr": state.ppr,
        "ppr_class": priority_class(state.ppr) if state.ppr is not None else None,
        "dfr": state.dfr,
        "ldr": state.ldr,
        "lvt": {kind.value: _lvt_row(entry) if entry is not None else None
                for kind, entry in ((kind, lvt.get(kind)) for kind in _LVT_SOURCES)},
        "timer": _timer_row(state.timer, lvt.get(LvtKind.TIMER)) if state.timer is not None else None,
        "icr": _icr_row(state.icr, bool(state.x2apic)) if state.icr is not None else None,
        "esr": state.esr,
        "esr_errors": [name.lower() for name in flag_names(state.esr or 0, EsrFlag)],
        "isr": list(state.isr) if state.isr is not None else None,
        "irr": list(state.irr) if state.irr is not None else None,
        "tmr": list(state.tmr) if state.tmr is not None else None,
        "vectors": [vector_info(v, lands, symbols, roles[v]) for v in sorted(roles)],
        "rip": rip,
        "rip_symbol": place.rip_symbol,
        "halted": halted,
        "diagnoses": diagnosis_rows(diagnoses),
        "missing": [name for name in _REGISTERS if getattr(state, name) is None]
                   + [source for source in _LVT_SOURCES.values() if getattr(state, source) is None],
        "unparsed": list(state.extra_lines),
    }


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if args.all:
        return Result("controllers.lapic", {"cpus": [lapic_data(target, cpu) for cpu in target.cpus()]})
    return Result("controllers.lapic", lapic_data(target, target.check_cpu(args.cpu)))
