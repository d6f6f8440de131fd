"""Control registers and EFER, and the CPU mode they imply.

- CR0, CR4: Intel SDM Vol. 3A, 2.5 "Control Registers", Figure 2-7.
- IA32_EFER (MSR 0xC0000080): SDM Vol. 3A, 2.2.1 "Extended Feature Enable
  Register", Figure 2-4; AMD-only bits from AMD APM Vol. 2, 3.1.7.
- Modes: SDM Vol. 3A, 9.8.5 "Initializing IA-32e Mode" (LMA = LME and PG).
"""

from __future__ import annotations

from enum import IntFlag

from .idt import CpuMode


class Cr0(IntFlag):
    PE = 1 << 0
    MP = 1 << 1
    EM = 1 << 2
    TS = 1 << 3
    ET = 1 << 4
    NE = 1 << 5
    WP = 1 << 16
    AM = 1 << 18
    NW = 1 << 29
    CD = 1 << 30
    PG = 1 << 31


class Cr4(IntFlag):
    VME = 1 << 0
    PVI = 1 << 1
    TSD = 1 << 2
    DE = 1 << 3
    PSE = 1 << 4
    PAE = 1 << 5
    MCE = 1 << 6
    PGE = 1 << 7
    PCE = 1 << 8
    OSFXSR = 1 << 9
    OSXMMEXCPT = 1 << 10
    UMIP = 1 << 11
    LA57 = 1 << 12
    VMXE = 1 << 13
    SMXE = 1 << 14
    FSGSBASE = 1 << 16
    PCIDE = 1 << 17
    OSXSAVE = 1 << 18
    KL = 1 << 19
    SMEP = 1 << 20
    SMAP = 1 << 21
    PKE = 1 << 22
    CET = 1 << 23
    PKS = 1 << 24
    UINTR = 1 << 25
    LASS = 1 << 27
    LAM_SUP = 1 << 28


class Efer(IntFlag):
    SCE = 1 << 0
    LME = 1 << 8
    LMA = 1 << 10
    NXE = 1 << 11
    SVME = 1 << 12
    LMSLE = 1 << 13
    FFXSR = 1 << 14
    TCE = 1 << 15
    AUTOIBRS = 1 << 21


def cpu_mode(cr0: int, efer: int) -> CpuMode:
    """Real, protected or long (IA-32e) mode, from CR0.PE and EFER.LMA."""
    if not cr0 & Cr0.PE:
        return CpuMode.REAL
    if efer & Efer.LMA:
        return CpuMode.LONG
    return CpuMode.PROTECTED
