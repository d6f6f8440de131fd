"""Show the I/O APIC redirection table, each pin tied to its IDT handler.

Read from QEMU's `info pic`: each pin's vector, delivery mode, destination,
mask, trigger, polarity and remote IRR, the ISA IRQ a PC wires to it, and
the handler of the IDT gate its vector lands on.

Handlers are looked up in the IDT of one vCPU (--cpu, default the selected
one). Diagnoses: an unmasked pin whose vector has no usable gate; a
level-triggered pin whose remote IRR waits for an EOI.

Examples:
  ioapic
  ioapic --cpu 1
  ioapic --json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from ..machine.controllers import read_pic
from ..machine.diagnose import Landing, gate_symbol_addresses, ioapic_diagnoses, landings
from ..machine.tables import read_idt
from ..model.apic import DeliveryMode
from ..model.ioapic import IoapicPin, Polarity, TriggerMode, isa_irq_for_ioapic_pin
from ..model.vectors import LEGACY_IRQS
from ..target.qemu_text import PicState
from .base import Context, Result, add_cpu_argument
from .lapic import diagnosis_rows, vector_info

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True

_DELIVERS_VECTOR = (DeliveryMode.FIXED, DeliveryMode.LOWEST_PRIORITY)
_NO_GATE = {"name": None, "present": None, "handler": None, "symbol": None, "problem": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def _pin_row(index: int, pin: IoapicPin) -> dict[str, Any]:
    irq = isa_irq_for_ioapic_pin(pin.pin)
    return {
        "ioapic": index,
        "pin": pin.pin,
        "raw": pin.raw,
        "vector": pin.vector if pin.delivery_mode in _DELIVERS_VECTOR else None,
        "masked": pin.masked,
        "delivery_mode": pin.delivery_mode.name.lower().replace("_", "-"),
        "dest": pin.dest,
        "dest_mode": pin.dest_mode.name.lower(),
        "trigger": "level" if pin.trigger is TriggerMode.LEVEL else "edge",
        "polarity": "active-low" if pin.polarity is Polarity.ACTIVE_LOW else "active-high",
        "remote_irr": pin.remote_irr,
        "delivery_status": "pending" if pin.delivery_status else "idle",
        "isa_irq": irq,
        "device": LEGACY_IRQS[irq].device if irq is not None else None,
    }


def ioapic_document(state: PicState, cpu: int, lands: Sequence[Landing],
                    symbolize: Callable[[list[int]], dict[int, str | None]]) -> dict[str, Any]:
    """The ``ioapic --json`` document; ``lands`` is the IDT of ``cpu``."""
    pins = [(index, pin) for index, ioapic in enumerate(state.ioapics) for pin in ioapic.pins]
    vectors = {pin.vector for _, pin in pins if pin.delivery_mode in _DELIVERS_VECTOR}
    symbols = symbolize(gate_symbol_addresses(lands, vectors))
    rows = []
    for index, pin in pins:
        row = _pin_row(index, pin)
        gate = vector_info(pin.vector, lands, symbols, []) if row["vector"] is not None else _NO_GATE
        rows.append(row | {key: gate[key] for key in _NO_GATE})
    return {
        "cpu": cpu,
        "ioapics": [{"index": index, "id": ioapic.id, "version": ioapic.version, "select": ioapic.select,
                     "irr": ioapic.irr, "remote_irr": ioapic.remote_irr, "pins": len(ioapic.pins)}
                    for index, ioapic in enumerate(state.ioapics)],
        "pins": rows,
        "diagnoses": diagnosis_rows(ioapic_diagnoses((pin for _, pin in pins), lands)),
        "unparsed": list(state.extra_lines),
    }


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    cpu = target.check_cpu(args.cpu)
    return Result("controllers.ioapic", ioapic_document(read_pic(target), cpu, landings(read_idt(target, cpu)),
                                            target.symbolize_many))
