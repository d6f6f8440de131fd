"""A symbol table placed on the running kernel: what the guest shows to check it against.

``symbols/fit.py`` compares a table with the entry points a Linux IDT holds and
reads ``linux_banner`` to confirm; this module gathers those facts from a target
(the selected vCPU's interrupt and trap gates, a reader of its memory) and gives
the table the slide found. Used by the ``symbols`` command, by gdb's check of its
own symbol file, and by the guest's kallsyms when no table was given.
"""

from __future__ import annotations

from ..errors import TargetError, UsageError
from ..model.gate import Gate, GateKind
from .frames import entry_point
from .tables import read_idt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..symbols import SymbolTable
    from ..target.base import Target


def gate_handlers(target: Target, cpu: int) -> dict[int, int]:
    """vector -> where an interrupt or trap gate of ``cpu``'s IDT enters."""
    view = read_idt(target, cpu)
    found = {slot.vector: entry_point(target, cpu, slot.entry)[0] for slot in view.slots
             if isinstance(slot.entry, Gate) and slot.entry.present
             and slot.entry.kind in (GateKind.INTERRUPT, GateKind.TRAP)}
    return {vector: address for vector, address in found.items() if address is not None}


def place_reader(target: Target) -> tuple[dict[int, int], Callable[[int, int], bytes | None]]:
    """What fit.py compares a table with: the selected vCPU's gate entries, and a memory reader."""
    cpu = target.selected_cpu()

    def read(address: int, size: int) -> bytes | None:
        try:
            return target.read_memory(address, size, cpu)
        except TargetError:
            return None

    return gate_handlers(target, cpu), read


def place(target: Target, table: SymbolTable) -> None:
    """Fit ``table`` to the running kernel (fit.py) and give it the slide found."""
    from ..symbols.fit import fit

    handlers, read = place_reader(target)
    try:
        table.place(fit(table.address_of, handlers, read, table.source))
    except UsageError as error:
        raise UsageError(f"{error}; nothing is named from it") from None
