"""The 8259A programmable interrupt controller pair of a PC, decoded from its registers.

Intel 8259A datasheet: IRR, ISR, IMR, special fully nested mode; ICW2 holds
the vector base T7-T3; IRQ2 of the master takes the slave's output in a PC/AT
cascade. The edge/level control register of PC chipsets: Intel 82371AB PIIX4
datasheet, 4.1.10 "ELCR1/ELCR2".
"""

from __future__ import annotations

from .bits import require_range
from .record import record

#: IRQ2 of the master 8259A carries the slave's output in a PC/AT cascade
CASCADE_IRQ = 2


@record
class I8259State:
    """One 8259A as QEMU keeps it.

    ``priority_add`` is QEMU's ``hprio`` (the rotation offset: the IR line
    with the highest priority), ``irq_base`` the vector of IR0 (ICW2),
    ``rr_sel`` the register OCW3 selects for reading (0 IRR, 1 ISR), ``elcr``
    the edge/level control register (a set bit means level-triggered).
    """

    irr: int
    imr: int
    isr: int
    priority_add: int
    irq_base: int
    rr_sel: int
    elcr: int
    special_fully_nested: bool



@record
class PicLine:
    """One IRQ input of the cascaded 8259As (IRQ0-7 master, IRQ8-15 slave).

    ``vector`` is the chip's ICW2 base with the line number in bits 2:0;
    ``level_triggered`` comes from the ELCR; ``cascade`` marks the master's
    IRQ2, which only relays the slave.
    """

    irq: int
    chip: str
    vector: int
    requested: bool
    masked: bool
    in_service: bool
    level_triggered: bool

    @property
    def line(self) -> int:
        return self.irq % 8

    @property
    def cascade(self) -> bool:
        return self.irq == CASCADE_IRQ


def line_vector(icw2: int, line: int) -> int:
    """The vector an 8259A sends for input ``line``: ICW2 bits 7:3 with the line in bits 2:0."""
    require_range(icw2, 8, "ICW2")
    require_range(line, 3, "8259A input")
    return icw2 & 0xF8 | line


def chip_lines(chip: str, irr: int, imr: int, isr: int, icw2: int, elcr: int) -> tuple[PicLine, ...]:
    """The eight lines of one 8259A (``chip`` "master" or "slave") from its registers."""
    for value, name in ((irr, "IRR"), (imr, "IMR"), (isr, "ISR"), (elcr, "ELCR")):
        require_range(value, 8, name)
    first = 0 if chip == "master" else 8
    return tuple(PicLine(first + line, chip, line_vector(icw2, line), bool(irr >> line & 1),
                         bool(imr >> line & 1), bool(isr >> line & 1), bool(elcr >> line & 1))
                 for line in range(8))


def pic_priority(line: PicLine, master_rotation: int = 0, slave_rotation: int = 0) -> tuple[int, int]:
    """A sort key for 8259A priority, highest first (Intel 8259A data sheet, fully nested mode).

    IRQ0 leads unless a rotation (OCW2) moved the order: ``*_rotation`` is the
    line that now has the highest priority on that chip. The slave's lines
    take the master's IRQ2 place in the order.
    """
    master_line = CASCADE_IRQ if line.chip == "slave" else line.line
    slave_rank = (line.line - slave_rotation) % 8 if line.chip == "slave" else 0
    return (master_line - master_rotation) % 8, slave_rank
