"""The local APIC's registers, decoded from their values.

Local APIC layouts come from Intel SDM Vol. 3A, chapter 11 "Advanced
Programmable Interrupt Controller (APIC)" (chapter 12 in the 2024 and later
editions, where every section and figure number below is one higher: 11.5.1
becomes 12.5.1, Figure 11-8 becomes Figure 12-8):

- LVT registers: 11.5.1 "Local Vector Table", Figure 11-8.
- Error status register (ESR): 11.5.3 "Error Handling", Figure 11-9.
- Divide configuration register (DCR): 11.5.4 "APIC Timer", Figure 11-10.
- Interrupt command register (ICR): 11.6.1, Figure 11-12 (x2APIC: 11.12.9).
- Task, processor and arbitration priority: 11.8.3.1 "Task and Processor
  Priorities" (Figures 11-18 and 11-19).
- Spurious-interrupt vector register (SVR): 11.9, Figure 11-23.

AMD APM Vol. 2, 16.3-16.5 describes the same registers with the same bits.

The I/O APIC is in ioapic.py, the 8259A in pic8259.py.

Every decoder keeps the bits it does not name in ``reserved`` so that
decoding and encoding give back the same value; ``problems`` names what a
debugger user should look at.
"""

from __future__ import annotations

from enum import Enum, IntEnum, IntFlag

from ..errors import DecodeError
from .bits import field, require_range
from .record import record

REGISTER_BITS = 32
#: vectors 0-15 are illegal for APIC-delivered interrupts (SDM 11.5.2, "Valid Interrupt Vectors")
FIRST_LEGAL_VECTOR = 16


class LvtKind(Enum):
    """The local interrupt an LVT register belongs to (SDM 11.5.1); the value is its JSON key."""

    TIMER = "timer"
    CMCI = "cmci"
    LINT0 = "lint0"
    LINT1 = "lint1"
    ERROR = "error"
    PERFMON = "perfmon"
    THERMAL = "thermal"


class DeliveryMode(IntEnum):
    """The 3-bit delivery mode of LVT entries (bits 10:8), the ICR (bits 10:8) and the I/O APIC's
    redirection entries (bits 10:8, 82093AA datasheet 3.2.4).

    Fixed, SMI, NMI and INIT exist in all three; Lowest Priority in the ICR and
    the I/O APIC; Start Up only in the ICR (6 is reserved in the I/O APIC);
    ExtINT in LVT entries and the I/O APIC (SDM Figures 11-8 and 11-12).
    """

    FIXED = 0
    LOWEST_PRIORITY = 1
    SMI = 2
    RESERVED_3 = 3
    NMI = 4
    INIT = 5
    START_UP = 6
    EXTINT = 7

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


_LVT_RESERVED_MODES = frozenset({DeliveryMode.LOWEST_PRIORITY, DeliveryMode.RESERVED_3,
                                 DeliveryMode.START_UP})
_ICR_RESERVED_MODES = frozenset({DeliveryMode.RESERVED_3, DeliveryMode.EXTINT})


class TimerMode(IntEnum):
    """LVT timer bits 18:17 (SDM 11.5.1, 11.5.4.1 "TSC-Deadline Mode")."""

    ONE_SHOT = 0
    PERIODIC = 1
    TSC_DEADLINE = 2
    RESERVED = 3

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


# LVT bit positions (SDM Figure 11-8)
_VECTOR = 0xFF
_DELIVERY_MODE_SHIFT = 8
_DELIVERY_STATUS = 1 << 12
_POLARITY = 1 << 13
_REMOTE_IRR = 1 << 14
_TRIGGER = 1 << 15
_MASK = 1 << 16
_TIMER_MODE_SHIFT = 17

# Which fields each LVT register has (SDM Figure 11-8); the other bits are reserved.
_LVT_FIELDS: dict[LvtKind, int] = {
    LvtKind.TIMER: _VECTOR | _DELIVERY_STATUS | _MASK | 3 << _TIMER_MODE_SHIFT,
    LvtKind.CMCI: _VECTOR | 7 << _DELIVERY_MODE_SHIFT | _DELIVERY_STATUS | _MASK,
    LvtKind.LINT0: _VECTOR | 7 << _DELIVERY_MODE_SHIFT | _DELIVERY_STATUS | _POLARITY | _REMOTE_IRR | _TRIGGER | _MASK,
    LvtKind.LINT1: _VECTOR | 7 << _DELIVERY_MODE_SHIFT | _DELIVERY_STATUS | _POLARITY | _REMOTE_IRR | _TRIGGER | _MASK,
    LvtKind.ERROR: _VECTOR | _DELIVERY_STATUS | _MASK,
    LvtKind.PERFMON: _VECTOR | 7 << _DELIVERY_MODE_SHIFT | _DELIVERY_STATUS | _MASK,
    LvtKind.THERMAL: _VECTOR | 7 << _DELIVERY_MODE_SHIFT | _DELIVERY_STATUS | _MASK,
}


@record
class LvtRegister:
    """One LVT register (SDM 11.5.1, Figure 11-8).

    Fields a register does not have are None: only LINT0/LINT1 have
    ``polarity_low`` (the input pin polarity, True = active low), ``remote_irr``
    and ``level_triggered``;
    only the timer has ``timer_mode``; the timer and error entries have no
    delivery-mode field and always deliver Fixed, edge-triggered interrupts.
    ``delivery_pending`` is the delivery status bit (1 = send pending).
    """

    kind: LvtKind
    vector: int
    delivery_mode: DeliveryMode
    delivery_pending: bool
    masked: bool
    polarity_low: bool | None = None
    remote_irr: bool | None = None
    level_triggered: bool | None = None
    timer_mode: TimerMode | None = None
    reserved: int = 0

    def __post_init__(self) -> None:
        require_range(self.vector, 8, "LVT vector")
        require_range(self.reserved, REGISTER_BITS, "LVT reserved bits")
        what = f"the LVT {self.kind.value} entry"
        if self.reserved & _LVT_FIELDS[self.kind]:
            raise DecodeError(f"reserved bits of {what} overlap its fields")
        if not _LVT_FIELDS[self.kind] & 7 << _DELIVERY_MODE_SHIFT and self.delivery_mode is not DeliveryMode.FIXED:
            raise DecodeError(f"{what} has no delivery mode field (it always delivers Fixed)")
        pin = self.kind in (LvtKind.LINT0, LvtKind.LINT1)
        if {pin} != {self.polarity_low is not None, self.remote_irr is not None, self.level_triggered is not None}:
            raise DecodeError("polarity, remote IRR and trigger mode exist in the LINT0/LINT1 entries only")
        if (self.kind is LvtKind.TIMER) != (self.timer_mode is not None):
            raise DecodeError("only the LVT timer entry has a timer mode")

    @classmethod
    def from_int(cls, kind: LvtKind, value: int) -> LvtRegister:
        require_range(value, REGISTER_BITS, f"LVT {kind.value} register")
        fields = _LVT_FIELDS[kind]
        pin = kind in (LvtKind.LINT0, LvtKind.LINT1)
        has_mode = bool(fields & 7 << _DELIVERY_MODE_SHIFT)
        return cls(
            kind=kind,
            vector=value & _VECTOR,
            delivery_mode=DeliveryMode(field(value, _DELIVERY_MODE_SHIFT, 3) if has_mode else 0),
            delivery_pending=bool(value & _DELIVERY_STATUS),
            masked=bool(value & _MASK),
            polarity_low=bool(value & _POLARITY) if pin else None,
            remote_irr=bool(value & _REMOTE_IRR) if pin else None,
            level_triggered=bool(value & _TRIGGER) if pin else None,
            timer_mode=TimerMode(field(value, _TIMER_MODE_SHIFT, 2)) if kind is LvtKind.TIMER else None,
            reserved=value & ~fields & 0xFFFFFFFF,
        )

    def to_int(self) -> int:
        value = self.vector | self.delivery_mode << _DELIVERY_MODE_SHIFT | self.reserved
        value |= _DELIVERY_STATUS if self.delivery_pending else 0
        value |= _MASK if self.masked else 0
        value |= _POLARITY if self.polarity_low else 0
        value |= _REMOTE_IRR if self.remote_irr else 0
        value |= _TRIGGER if self.level_triggered else 0
        if self.timer_mode is not None:
            value |= self.timer_mode << _TIMER_MODE_SHIFT
        return value

    @property
    def carries_vector(self) -> bool:
        """True when the entry delivers its own vector (Fixed); NMI, SMI, INIT and ExtINT do not."""
        return self.delivery_mode is DeliveryMode.FIXED

    @property
    def trigger(self) -> str:
        """How the entry triggers, "level" or "edge": NMI, SMI and INIT are always edge, ExtINT always
        level, and only a Fixed LINT entry follows its trigger mode bit (SDM 11.5.1)."""
        if self.delivery_mode is DeliveryMode.EXTINT:
            return "level"
        if self.level_triggered and self.delivery_mode is DeliveryMode.FIXED:
            return "level"
        return "edge"

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.reserved:
            found.append(f"reserved bits {self.reserved:#x} are set")
        if self.delivery_mode in _LVT_RESERVED_MODES:
            found.append(f"delivery mode {self.delivery_mode.value:03b} is reserved in an LVT entry")
        if self.timer_mode is TimerMode.RESERVED:
            found.append("timer mode 11b is reserved")
        if not self.masked and self.carries_vector and self.vector < FIRST_LEGAL_VECTOR:
            found.append(f"vector {self.vector} is illegal (0-15): the APIC flags it in the ESR")
        return tuple(found)


class DestinationShorthand(IntEnum):
    """ICR bits 19:18 (SDM Figure 11-12)."""

    NO_SHORTHAND = 0
    SELF = 1
    ALL_INCLUDING_SELF = 2
    ALL_EXCLUDING_SELF = 3

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


_ICR_DEFINED_LOW = 0xFF | 7 << 8 | 1 << 11 | 1 << 12 | 1 << 14 | 1 << 15 | 3 << 18
_XAPIC_DESTINATION_SHIFT = 56
_X2APIC_DESTINATION_SHIFT = 32


@record
class Icr:
    """The 64-bit interrupt command register (SDM 11.6.1, Figure 11-12; x2APIC 11.12.9).

    ``destination`` is bits 63:56 (an APIC ID or a logical set) in xAPIC mode
    and bits 63:32 in x2APIC mode. ``logical`` is the destination mode bit,
    ``assert_level`` the level bit (0 = de-assert), ``send_pending`` the
    delivery status bit (xAPIC only; reserved with x2APIC).
    """

    vector: int
    delivery_mode: DeliveryMode
    logical: bool
    send_pending: bool
    assert_level: bool
    level_triggered: bool
    shorthand: DestinationShorthand
    destination: int
    x2apic: bool = False
    reserved: int = 0

    def __post_init__(self) -> None:
        require_range(self.vector, 8, "ICR vector")
        require_range(self.destination, 32 if self.x2apic else 8, "ICR destination")
        require_range(self.reserved, 64, "ICR reserved bits")
        if self.x2apic and self.send_pending:
            raise DecodeError("the x2APIC ICR has no delivery status bit")
        if self.reserved & self._defined_mask(self.x2apic):
            raise DecodeError("reserved bits of the ICR overlap its fields")

    @staticmethod
    def _defined_mask(x2apic: bool) -> int:
        if x2apic:
            return (_ICR_DEFINED_LOW & ~(1 << 12)) | 0xFFFFFFFF << _X2APIC_DESTINATION_SHIFT
        return _ICR_DEFINED_LOW | 0xFF << _XAPIC_DESTINATION_SHIFT

    @classmethod
    def from_int(cls, value: int, x2apic: bool = False) -> Icr:
        require_range(value, 64, "ICR")
        shift = _X2APIC_DESTINATION_SHIFT if x2apic else _XAPIC_DESTINATION_SHIFT
        return cls(
            vector=value & 0xFF,
            delivery_mode=DeliveryMode(field(value, 8, 3)),
            logical=bool(value & 1 << 11),
            send_pending=bool(value & 1 << 12) and not x2apic,
            assert_level=bool(value & 1 << 14),
            level_triggered=bool(value & 1 << 15),
            shorthand=DestinationShorthand(field(value, 18, 2)),
            destination=value >> shift & (0xFFFFFFFF if x2apic else 0xFF),
            x2apic=x2apic,
            reserved=value & ~cls._defined_mask(x2apic),
        )

    def to_int(self) -> int:
        shift = _X2APIC_DESTINATION_SHIFT if self.x2apic else _XAPIC_DESTINATION_SHIFT
        return (self.vector | self.delivery_mode << 8 | self.logical << 11 | self.send_pending << 12
                | self.assert_level << 14 | self.level_triggered << 15 | self.shorthand << 18
                | self.destination << shift | self.reserved)

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.reserved:
            found.append(f"reserved bits {self.reserved:#x} are set")
        if self.delivery_mode in _ICR_RESERVED_MODES:
            found.append(f"delivery mode {self.delivery_mode.value:03b} is reserved in the ICR")
        return tuple(found)


class EsrFlag(IntFlag):
    """Error status register bits (SDM 11.5.3, Figure 11-9)."""

    SEND_CHECKSUM = 1 << 0
    RECEIVE_CHECKSUM = 1 << 1
    SEND_ACCEPT = 1 << 2
    RECEIVE_ACCEPT = 1 << 3
    REDIRECTABLE_IPI = 1 << 4
    SEND_ILLEGAL_VECTOR = 1 << 5
    RECEIVED_ILLEGAL_VECTOR = 1 << 6
    ILLEGAL_REGISTER_ADDRESS = 1 << 7


ESR_MEANINGS = {
    EsrFlag.SEND_CHECKSUM: "send checksum error (P6/Pentium APIC bus)",
    EsrFlag.RECEIVE_CHECKSUM: "receive checksum error (P6/Pentium APIC bus)",
    EsrFlag.SEND_ACCEPT: "send accept error: no APIC accepted a message this APIC sent",
    EsrFlag.RECEIVE_ACCEPT: "receive accept error: a received message was accepted by no APIC",
    EsrFlag.REDIRECTABLE_IPI: "a lowest-priority IPI was sent, which this processor does not support",
    EsrFlag.SEND_ILLEGAL_VECTOR: "an IPI with an illegal vector (0-15) was sent",
    EsrFlag.RECEIVED_ILLEGAL_VECTOR: "an interrupt with an illegal vector (0-15) was received or set in an LVT entry",
    EsrFlag.ILLEGAL_REGISTER_ADDRESS: "software accessed a reserved APIC register address",
}


@record
class Svr:
    """The spurious-interrupt vector register (SDM 11.9, Figure 11-23).

    ``software_enabled`` is bit 8; ``focus_checking`` is True when bit 9 is
    clear (the bit *disables* focus processor checking);
    ``eoi_broadcast_suppression`` is bit 12.
    """

    vector: int
    software_enabled: bool
    focus_checking: bool
    eoi_broadcast_suppression: bool
    reserved: int = 0

    def __post_init__(self) -> None:
        require_range(self.vector, 8, "spurious vector")
        require_range(self.reserved, REGISTER_BITS, "SVR reserved bits")
        if self.reserved & (0xFF | 1 << 8 | 1 << 9 | 1 << 12):
            raise DecodeError("reserved bits of the SVR overlap its fields")

    @classmethod
    def from_int(cls, value: int) -> Svr:
        require_range(value, REGISTER_BITS, "SVR")
        return cls(value & 0xFF, bool(value & 1 << 8), not value & 1 << 9, bool(value & 1 << 12),
                   value & ~(0xFF | 1 << 8 | 1 << 9 | 1 << 12))

    def to_int(self) -> int:
        return (self.vector | self.software_enabled << 8 | (not self.focus_checking) << 9
                | self.eoi_broadcast_suppression << 12 | self.reserved)


_DCR_BITS = 0b1011


def divide_by(dcr: int) -> int:
    """The timer's divisor from the divide configuration register (bits 0, 1 and 3; Figure 11-10)."""
    require_range(dcr, REGISTER_BITS, "DCR")
    code = (dcr >> 1 & 0b100) | (dcr & 0b11)
    return 1 if code == 0b111 else 2 << code


def dcr_for(divisor: int) -> int:
    """The DCR value that divides by ``divisor`` (1, 2, 4, ... 128)."""
    if divisor not in (1, 2, 4, 8, 16, 32, 64, 128):
        raise DecodeError(f"the APIC timer divides by 1, 2, 4, ... 128, not {divisor}")
    code = 0b111 if divisor == 1 else divisor.bit_length() - 2
    return (code & 0b100) << 1 | (code & 0b11)


def priority_class(value: int) -> int:
    """Bits 7:4 of a vector, TPR, PPR or ISRV: its priority class (SDM 11.8.3)."""
    require_range(value, 8, "priority")
    return value >> 4


def processor_priority(tpr: int, isrv: int) -> int:
    """The PPR the APIC computes from the TPR and the highest in-service vector (SDM 11.8.3.1)."""
    require_range(tpr, 8, "TPR")
    if priority_class(tpr) >= priority_class(isrv):
        return tpr
    return isrv & 0xF0


def held_back(vector: int, ppr: int) -> bool:
    """True when a fixed interrupt on ``vector`` is not delivered while the PPR is ``ppr``.

    The processor takes an interrupt only if its priority class is above the
    PPR's class (SDM 11.8.3.1).
    """
    return priority_class(vector) <= priority_class(ppr)
