"""QEMU's ``info pic`` text: pic_print_info (hw/intc/i8259_common.c) and
ioapic_print_redtbl (hw/intc/ioapic_common.c), one block per interrupt
controller in QOM tree order (QEMU 7.2 prints ``pic1`` before ``pic0``).

QEMU 7.2 writes these with monitor_printf; later versions build the same
lines into a HumanReadableText (``x-query-interrupt-controllers``), so one
parser reads both. A controller without a printer gives a line "Interrupt
controller information not available for TYPE.", kept in ``extra_lines``.

The records are the model's: the 8259A in model/pic8259.py, the I/O APIC
(every pin decoded from its raw 64-bit value; QEMU's words for it kept in
``IoapicPin.words``) in model/ioapic.py.
"""

from __future__ import annotations

import re

from ...errors import ParseError
from ...model.ioapic import IoapicPin, IoapicState
from ...model.pic8259 import I8259State
from ...model.record import record

_WHAT = "info pic"

_HEX = "[0-9a-f]"
_NUM = "[0-9]{1,10}"
_PIC_LINE = re.compile(
    rf"pic([01]): irr=({_HEX}{{2}}) imr=({_HEX}{{2}}) isr=({_HEX}{{2}}) hprio=({_NUM}) "
    rf"irq_base=({_HEX}{{2}}) rr_sel=({_NUM}) elcr=({_HEX}{{2}}) fnm=({_NUM})"
)
_IOAPIC_LINE = re.compile(
    rf"ioapic{_NUM}: ver=0x({_HEX}{{1,8}}) id=0x({_HEX}{{2,8}}) sel=0x({_HEX}{{2,8}})"
    rf"(?: \(redir\[{_NUM}\]\))?"
)
_PIN_LINE = re.compile(rf" *pin ({_NUM}) +0x({_HEX}{{16}}) (.*)")
_PINS_LINE = re.compile(r" *(IRR|Remote IRR) +(.*)")


@record
class PicState:
    """Every interrupt controller ``info pic`` shows.

    ``master`` is ``pic0`` and ``slave`` is ``pic1`` (None if absent, as on a
    microvm without a PIC); ``ioapics`` lists I/O APICs in the order printed
    (QEMU names each one ``ioapic0``).
    """

    master: I8259State | None
    slave: I8259State | None
    ioapics: tuple[IoapicState, ...]
    extra_lines: tuple[str, ...]

    @property
    def ioapic(self) -> IoapicState | None:
        """The first I/O APIC, the only one on pc and q35 machines."""
        return self.ioapics[0] if self.ioapics else None


def parse_info_pic(text: str) -> PicState:
    """Parse the text of ``info pic``.

    Raises ParseError when no controller line is found, or a controller or
    pin appears twice.
    """
    chips: dict[str, I8259State] = {}
    ioapics: list[_IoapicText] = []
    extra: list[str] = []
    for line in (line.rstrip() for line in text.splitlines()):
        if match := _PIC_LINE.fullmatch(line):
            name = f"pic{match.group(1)}"
            if name in chips:
                raise ParseError(f"{_WHAT}: {name} appears twice")
            chips[name] = _i8259(match.groups()[1:])
        elif match := _IOAPIC_LINE.fullmatch(line):
            version, apic_id, select = (int(value, 16) for value in match.groups())
            ioapics.append(_IoapicText(version, apic_id, select))
        elif ioapics and ioapics[-1].take(line):
            continue
        elif line:
            extra.append(line)
    if not chips and not ioapics:
        raise ParseError(f"{_WHAT}: no pic0:, pic1: or ioapic0: line")
    return PicState(chips.get("pic0"), chips.get("pic1"),
                    tuple(ioapic.result() for ioapic in ioapics), tuple(extra))


def _i8259(values: tuple[str, ...]) -> I8259State:
    irr, imr, isr, hprio, irq_base, rr_sel, elcr, fnm = values
    return I8259State(int(irr, 16), int(imr, 16), int(isr, 16), int(hprio), int(irq_base, 16),
                      int(rr_sel), int(elcr, 16), fnm != "0")


class _IoapicText:
    """One I/O APIC block: its header values and the lines that follow."""

    def __init__(self, version: int, apic_id: int, select: int) -> None:
        self.header = (version, apic_id, select)
        self.pins: dict[int, IoapicPin] = {}
        self.bitmaps: dict[str, int] = {}

    def take(self, line: str) -> bool:
        """Take a pin or IRR line of this block; False for any other line."""
        if match := _PIN_LINE.fullmatch(line):
            pin = int(match.group(1))
            if pin in self.pins:
                raise ParseError(f"{_WHAT}: ioapic pin {pin} appears twice")
            self.pins[pin] = IoapicPin.from_raw(pin, int(match.group(2), 16), match.group(3))
            return True
        match = _PINS_LINE.fullmatch(line)
        if match is None or match.group(1) in self.bitmaps:
            return False
        bitmap = _pin_bitmap(match.group(2))
        if bitmap is None:
            return False
        self.bitmaps[match.group(1)] = bitmap
        return True

    def result(self) -> IoapicState:
        pins = tuple(self.pins[pin] for pin in sorted(self.pins))
        return IoapicState(*self.header, pins, self.bitmaps.get("IRR"), self.bitmaps.get("Remote IRR"))


def _pin_bitmap(words: str) -> int | None:
    """``(none)`` or a list of pin numbers, as a bitmap; None if neither."""
    if words == "(none)":
        return 0
    pins = words.split()
    if not pins or not all(re.fullmatch(r"[0-9]{1,2}", pin) for pin in pins):
        return None
    bitmap = 0
    for pin in pins:
        bitmap |= 1 << int(pin)
    return bitmap
