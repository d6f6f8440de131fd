"""Which exceptions the processor can raise itself, as it is configured.

A gate that can never fire matters less than one that can: lint uses this to
tell a real problem from a dormant one (a reserved vector, #MC while CR4.MCE=0).
"""

from __future__ import annotations

from .control import Cr4
from .vectors import Origin, vector

#: exceptions the processor raises only while a CR4 bit enables them (SDM 3A 6.15, Interrupts 18 and 21)
_ENABLED_BY_CR4 = {
    18: (Cr4.MCE, "CR4.MCE=0: a machine check shuts the processor down instead of raising #MC"),
    21: (Cr4.CET, "CR4.CET=0: with control-flow enforcement off the processor raises no #CP"),
}
#: exceptions raised only inside some virtual machines (SDM 3A 6.15 Interrupt 20; AMD APM Vol. 2 8.2)
_GUEST_ONLY = {
    20: "raised only in a VMX guest with EPT-violation #VE enabled, or in a TDX guest",
    28: "raised only in an AMD SEV-SNP guest with restricted injection",
    29: "raised only in an AMD SEV-ES or SEV-SNP guest",
    30: "raised only by AMD SVM (a redirected INIT)",
}


def not_raised(n: int, cr4: int) -> str | None:
    """Why the processor cannot raise exception ``n`` itself as configured (``cr4``), or None if it can.

    Only the processor's own events count: INT n still reaches any gate whose
    DPL allows it, and vectors 32-255 may always come from an interrupt.
    """
    row = vector(n)
    if row.origin is Origin.RESERVED:
        return "reserved: the processor raises no exception on this vector"
    if n in _ENABLED_BY_CR4:
        flag, why = _ENABLED_BY_CR4[n]
        return None if cr4 & flag else why
    return _GUEST_ONLY.get(n)
