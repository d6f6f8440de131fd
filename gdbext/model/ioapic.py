"""The I/O APIC's redirection entries, decoded from their values.

Intel 82093AA I/O APIC datasheet, 3.2.4 "IOREDTBL[23:0] I/O Redirection
Table Registers"; the delivery mode is the local APIC's (apic.DeliveryMode).
Which ISA IRQ a pin carries on a PC: the MADT's interrupt source overrides
(ACPI 6.5, 5.2.12.5).
"""

from __future__ import annotations

from enum import IntEnum

from .apic import DeliveryMode
from .record import record

#: the I/O APIC input that ISA IRQ0 (the PIT) arrives on: the MADT's interrupt
#: source override IRQ0 -> GSI 2 (ACPI 6.5, 5.2.12.5) that PC firmware and QEMU use
PIT_IOAPIC_PIN = 2
ISA_IRQS = 16


class DestinationMode(IntEnum):
    """IOREDTBL bit 11: a physical APIC ID or a logical set of APICs."""

    PHYSICAL = 0
    LOGICAL = 1


class Polarity(IntEnum):
    """IOREDTBL bit 13 (INTPOL)."""

    ACTIVE_HIGH = 0
    ACTIVE_LOW = 1


class TriggerMode(IntEnum):
    """IOREDTBL bit 15."""

    EDGE = 0
    LEVEL = 1


@record
class IoapicPin:
    """One I/O redirection table entry (82093AA datasheet, 3.2.4).

    ``dest`` is bits 56-59 (an APIC ID) in physical mode and bits 56-63 (a
    set of processors) in logical mode. ``words`` is QEMU's rendering after
    the raw value, e.g. ``"dest=0 vec=49  active-hi edge         fixed  physical"``.
    """

    pin: int
    raw: int
    dest: int
    vector: int
    delivery_mode: DeliveryMode
    dest_mode: DestinationMode
    delivery_status: bool
    polarity: Polarity
    remote_irr: bool
    trigger: TriggerMode
    masked: bool
    words: str

    @classmethod
    def from_raw(cls, pin: int, raw: int, words: str = "") -> IoapicPin:
        """Decode a 64-bit redirection entry."""
        dest_mode = DestinationMode((raw >> 11) & 1)
        dest_mask = 0xFF if dest_mode is DestinationMode.LOGICAL else 0x0F
        return cls(
            pin=pin,
            raw=raw,
            dest=(raw >> 56) & dest_mask,
            vector=raw & 0xFF,
            delivery_mode=DeliveryMode((raw >> 8) & 7),
            dest_mode=dest_mode,
            delivery_status=bool(raw & (1 << 12)),
            polarity=Polarity((raw >> 13) & 1),
            remote_irr=bool(raw & (1 << 14)),
            trigger=TriggerMode((raw >> 15) & 1),
            masked=bool(raw & (1 << 16)),
            words=words,
        )

    def to_raw(self) -> int:
        """Encode the fields back into a redirection entry (reserved bits 17-55 zero)."""
        return (self.vector | self.delivery_mode << 8 | self.dest_mode << 11 | self.delivery_status << 12
                | self.polarity << 13 | self.remote_irr << 14 | self.trigger << 15 | self.masked << 16
                | self.dest << 56)


@record
class IoapicState:
    """One I/O APIC: version, ID, IOREGSEL and the redirection table.

    ``irr`` and ``remote_irr`` are pin bitmaps from QEMU's ``IRR`` and
    ``Remote IRR`` lines (its remote IRR list only counts level-triggered
    pins); None when the text stops before them. ``pins`` holds the entries
    the text reaches, in pin order.
    """

    version: int
    id: int
    select: int
    pins: tuple[IoapicPin, ...]
    irr: int | None
    remote_irr: int | None


def isa_irq_for_ioapic_pin(pin: int) -> int | None:
    """The ISA IRQ wired to an I/O APIC input on a PC: pins 1 and 3-15 are IRQ1 and IRQ3-15,
    pin 2 is IRQ0 (the PIT, through the MADT's interrupt source override); pin 0
    and pins 16 and up (PCI) carry no ISA IRQ."""
    if pin == PIT_IOAPIC_PIN:
        return 0
    if 1 <= pin < ISA_IRQS:
        return pin
    return None
