"""Where an event comes from, and the architectural exception vectors by mnemonic (Intel SDM Vol. 3A, 6.3.1
"External Interrupts" and Table 6-1 "Protected-Mode Exceptions and Interrupts";
#VC and #HV: AMD APM Vol. 2, 8.2). Vectors 15 and 22-27 are reserved.

One small module so that decoders can name a vector without loading the
vector table (vectors.py) and its data.
"""

from __future__ import annotations

from enum import Enum, IntEnum


class ExceptionVector(IntEnum):
    DE = 0
    DB = 1
    NMI = 2
    BP = 3
    OF = 4
    BR = 5
    UD = 6
    NM = 7
    DF = 8
    CSO = 9
    TS = 10
    NP = 11
    SS = 12
    GP = 13
    PF = 14
    MF = 16
    AC = 17
    MC = 18
    XM = 19
    VE = 20
    CP = 21
    HV = 28
    VC = 29
    SX = 30



class EventKind(Enum):
    """Where an event came from (SDM Vol. 3A 6.3 "Sources of Interrupts"); the value is its JSON word.

    In QEMU's ``-d int`` log: "Servicing hardware INT" precedes an IRQ (an external
    interrupt or NMI), check_exception an exception; a software event is INT n,
    INT3 or INTO (i=1).
    """

    IRQ = "irq"
    EXCEPTION = "exception"
    SOFTWARE = "software"


#: the first vector software may use for its own interrupts
FIRST_USER_VECTOR = 32
#: the faults whose error code is a selector error code (SDM 6.13, Figure 6-7)
SELECTOR_ERROR_VECTORS = frozenset({ExceptionVector.TS, ExceptionVector.NP, ExceptionVector.SS, ExceptionVector.GP})
