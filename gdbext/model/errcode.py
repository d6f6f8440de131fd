"""Error codes the CPU pushes with some exceptions.

- Page-fault error code: Intel SDM Vol. 3A, 4.7 "Page-Fault Exceptions", Figure 4-12
  (P, W/R, U/S, RSVD, I/D, PK, SS, HLAT, SGX).
- Selector error code of #TS, #NP, #SS, #GP (and #DF/#AC's zero): SDM Vol. 3A,
  6.13 "Error Code", Figure 6-7 (EXT, IDT, TI, segment selector index).
- Control-protection error code (#CP): SDM Vol. 3A, 6.15 "Interrupt 21—Control
  Protection Exception", Table 6-7 (CPEC in bits 14:0, ENCL in bit 15).
"""

from __future__ import annotations

from enum import Enum, IntEnum, IntFlag

from .bits import field, require_range, unknown_bits
from .record import record


class PageFaultError(IntFlag):
    """Bits of the #PF error code (SDM 3A Figure 4-12)."""

    P = 1 << 0
    WR = 1 << 1
    US = 1 << 2
    RSVD = 1 << 3
    ID = 1 << 4
    PK = 1 << 5
    SS = 1 << 6
    HLAT = 1 << 7
    SGX = 1 << 15


@record
class PageFaultCode:
    """A decoded #PF error code, with the plain-words reading of it."""

    value: int

    def __post_init__(self) -> None:
        require_range(self.value, 32, "a page-fault error code")

    def has(self, bit: PageFaultError) -> bool:
        return bool(self.value & bit)

    @property
    def reserved_bits(self) -> int:
        return unknown_bits(self.value, PageFaultError)

    @property
    def access(self) -> str:
        if self.has(PageFaultError.ID):
            return "instruction fetch"
        if self.has(PageFaultError.SS):
            return "shadow-stack access"
        return "write" if self.has(PageFaultError.WR) else "read"

    @property
    def summary(self) -> str:
        """One sentence, e.g. 'user-mode write to a not-present page'."""
        who = "user-mode" if self.has(PageFaultError.US) else "supervisor-mode"
        if self.has(PageFaultError.RSVD):
            what = "a paging entry with a reserved bit set"
        elif self.has(PageFaultError.PK):
            what = "a page whose protection key forbids it"
        elif self.has(PageFaultError.P):
            what = "a present page (protection violation)"
        else:
            what = "a not-present page"
        extras = []
        if self.has(PageFaultError.HLAT):
            extras.append("during HLAT paging")
        if self.has(PageFaultError.SGX):
            extras.append("violating SGX access-control requirements")
        if self.reserved_bits:
            extras.append(f"reserved bits {self.reserved_bits:#x} set")
        tail = (" (" + "; ".join(extras) + ")") if extras else ""
        preposition = "to" if self.access == "write" else "from"
        return f"{who} {self.access} {preposition} {what}{tail}"


class ErrorCodeTable(Enum):
    """Which table a selector error code names (from the IDT and TI bits)."""

    GDT = "GDT"
    IDT = "IDT"
    LDT = "LDT"


@record
class SelectorErrorCode:
    """A selector-format error code (SDM 3A 6.13, Figure 6-7).

    EXT (bit 0) says an event external to the program caused the exception;
    IDT (bit 1) says the index is an IDT vector; otherwise TI (bit 2) picks
    the LDT (1) or GDT (0). The index is bits 15:3. Bits 31:16 are reserved
    and kept in ``reserved``.
    """

    external: bool
    idt: bool
    ti: bool
    index: int
    reserved: int = 0

    def __post_init__(self) -> None:
        require_range(self.index, 13, "a selector error code index")
        require_range(self.reserved, 16, "selector error code bits 31:16")

    @classmethod
    def from_int(cls, value: int) -> SelectorErrorCode:
        require_range(value, 32, "a selector error code")
        return cls(bool(field(value, 0, 1)), bool(field(value, 1, 1)), bool(field(value, 2, 1)),
                   field(value, 3, 13), field(value, 16, 16))

    def to_int(self) -> int:
        return (int(self.external) | (int(self.idt) << 1) | (int(self.ti) << 2)
                | (self.index << 3) | (self.reserved << 16))

    @property
    def table(self) -> ErrorCodeTable:
        if self.idt:
            return ErrorCodeTable.IDT
        return ErrorCodeTable.LDT if self.ti else ErrorCodeTable.GDT

    @property
    def selector(self) -> int | None:
        """The selector value (RPL 0) it names, for GDT/LDT codes."""
        return None if self.idt else (self.index << 3) | (int(self.ti) << 2)

    @property
    def null(self) -> bool:
        """Error code 0: no particular selector (e.g. a #GP not tied to a segment)."""
        return self.to_int() == 0

    @property
    def summary(self) -> str:
        if self.null:
            return "no selector (error code 0)"
        origin = "an external event" if self.external else "the program"
        if self.table is ErrorCodeTable.IDT:
            target = f"IDT vector {self.index} ({self.index:#04x})"
        else:
            target = f"{self.table.name}[{self.index}] (selector {self.selector:#06x})"
        return f"{target}, caused by {origin}"


class ControlProtectionCause(IntEnum):
    """The CPEC field of a #CP error code (SDM 3A Table 6-7)."""

    NEAR_RET = 1
    FAR_RET_IRET = 2
    ENDBRANCH = 3
    RSTORSSP = 4
    SETSSBSY = 5


_CP_DESCRIPTIONS = {
    ControlProtectionCause.NEAR_RET: "near RET: the return address differs from the shadow stack's copy",
    ControlProtectionCause.FAR_RET_IRET: ("far RET or IRET: the return address or CS differs from "
                                          "the shadow stack's copy"),
    ControlProtectionCause.ENDBRANCH: "indirect CALL/JMP landed on an instruction that is not ENDBR32/ENDBR64",
    ControlProtectionCause.RSTORSSP: "RSTORSSP: the shadow-stack restore token is invalid",
    ControlProtectionCause.SETSSBSY: "SETSSBSY: the supervisor shadow-stack token is invalid or busy",
}


@record
class ControlProtectionCode:
    """A #CP error code: the cause in bits 14:0 and ENCL (inside an enclave) in bit 15."""

    value: int

    def __post_init__(self) -> None:
        require_range(self.value, 32, "a control-protection error code")

    @property
    def cause(self) -> int:
        return field(self.value, 0, 15)

    @property
    def enclave(self) -> bool:
        return bool(field(self.value, 15, 1))

    @property
    def cause_name(self) -> str | None:
        try:
            return ControlProtectionCause(self.cause).name
        except ValueError:
            return None

    @property
    def summary(self) -> str:
        try:
            text = _CP_DESCRIPTIONS[ControlProtectionCause(self.cause)]
        except ValueError:
            text = f"reserved cause {self.cause}"
        return text + (" (inside an SGX enclave)" if self.enclave else "")
