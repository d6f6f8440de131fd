"""Whether a symbol table fits the running Linux kernel, and at which KASLR slide.

Linux points its IDT's exception gates at fixed entry points (``asm_exc_page_fault``
..., arch/x86/kernel/idt.c, def_idts; the names per vector are the model's,
``model.vectors``). With KASLR
(arch/x86/boot/compressed/kaslr.c) the whole image moves by one slide, so a table
of the running build sees every such gate at its own address plus that one slide.
The slide must be shared by most of the compared gates, and a second witness, the
``linux_banner`` string read at its slid address, must begin "Linux version ".
A table of another build fails one of the two and is refused: naming nothing beats
naming wrongly.
"""

from __future__ import annotations

from collections import Counter

from ..errors import UsageError
from ..model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: at least this many gates, and three in four of those compared, must share the slide
MIN_AGREEING = 4
BANNER_SYMBOL = "linux_banner"
BANNER = b"Linux version "
#: how much of the banner is read to show it (up to its first " (": "Linux version RELEASE")
BANNER_SHOWN = 96


@record
class Fit:
    """How a table was placed: its slide and the evidence for it."""

    slide: int
    compared: int
    agreeing: int
    banner: str | None
    evidence: str
    #: the IDT had no gate to compare with yet: place the table again once it has
    pending: bool = False


def linux_entry_points() -> dict[int, str]:
    """exception vector -> the entry point Linux installs there (every kernel installs all of
    them, unlike the system vectors, several of which exist only under one hypervisor)."""
    from ..model.vectors import VECTORS

    return {row.number: row.linux.handler for row in VECTORS
            if row.linux is not None and row.linux.handler.startswith("asm_exc_")}


def fit(address_of: Callable[[str], int | None], handlers: dict[int, int],
        read: Callable[[int, int], bytes | None], source: str) -> Fit:
    """The slide at which the table behind ``address_of`` fits ``handlers`` (vector ->
    where the guest's gate enters), or UsageError in one line when it does not fit.
    ``read(address, size)`` reads guest memory (None when unreadable)."""
    if not handlers:
        return Fit(0, 0, 0, None, "not checked yet: the IDT has no interrupt or trap gate (it is checked at the"
                                  " first stop where the kernel has set its IDT up)", pending=True)
    distances = [handlers[vector] - address for vector, name in linux_entry_points().items()
                 if vector in handlers and (address := address_of(name)) is not None]
    if not distances:
        return Fit(0, 0, 0, None, "not checked: the table names none of Linux's entry points")
    slide, agreeing = Counter(distances).most_common(1)[0]
    if agreeing < min(MIN_AGREEING, len(distances)) or 4 * agreeing < 3 * len(distances):
        raise UsageError(f"{source} does not fit the running kernel: Linux's entry points in the IDT sit at "
                         f"{len(set(distances))} different distances from the table's ({len(distances)} compared;"
                         " a table of another build?)")
    shift = f"{slide:#x}" if slide >= 0 else f"-{-slide:#x}"
    evidence = f"{agreeing} of {len(distances)} Linux entry points in the IDT at slide {shift}"
    banner = address_of(BANNER_SYMBOL)
    if banner is None:
        return Fit(slide, len(distances), agreeing, None, evidence + f"; no {BANNER_SYMBOL} in the table to confirm")
    text = read(banner + slide, BANNER_SHOWN)
    if text is None or not text.startswith(BANNER):
        raise UsageError(f"{source} does not fit the running kernel: at slide {shift} its {BANNER_SYMBOL} "
                         f"({banner + slide:#x}) does not read {BANNER.decode()!r} (a table of another build?)")
    shown = text.split(b"\n", 1)[0].split(b"\0", 1)[0].split(b" (", 1)[0].decode("ascii", "replace")
    return Fit(slide, len(distances), agreeing, shown, evidence + f"; {BANNER_SYMBOL} reads {shown!r}")
