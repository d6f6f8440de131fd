"""The stacks a 64-bit TSS names (RSP0-2, IST1-7): who uses each, how far it
reaches down, whether a guard page lies below it, and the frame
last pushed at its top.

A stack's extent is not recorded anywhere, so it is measured: from the page
holding the top, pages are walked downwards through the vCPU's page tables
(SDM Vol. 3A 4.5) until one is not writable (the guard) or MAX_PAGES is reached.
A read-only page guards as well as an unmapped one, since a push there faults:
Linux keeps its read-only GDT mapping just below each CPU's entry stack for
that reason (arch/x86/include/asm/cpu_entry_area.h).
In IA-32e mode the CPU aligns the new RSP to 16 bytes and pushes SS, RSP,
RFLAGS, CS, RIP and, for some vectors, an error code (SDM 3A 6.14.2-6.14.5).
"""

from __future__ import annotations

from ..errors import DecodeError, TargetError
from ..model.frame import InterruptFrame
from ..model.gate import Gate
from ..model.idt import CpuMode
from ..model.paging import PAGE_SIZE
from ..model.record import record
from ..model.vectors import ErrorCodeFormat, vector
from ..target.base import Target
from .memory import walk_for_cpu
from .tables import read_idt
from .tss import TssView

MAX_PAGES = 16
FRAME_SLOTS = 5


@record
class StackView:
    name: str
    top: int
    used_by: tuple[int, ...]
    bottom: int | None
    guard_page: int | None
    guard_reason: str | None
    last_frame: InterruptFrame | None
    frame_vector: int | None
    problems: tuple[str, ...]

    @property
    def guard(self) -> bool | None:
        if self.bottom is None:
            return None
        return self.guard_page is not None


def _extent(target: Target, cpu: int, top: int,
            other_tops: tuple[int, ...]) -> tuple[int | None, int | None, str | None, str | None]:
    """(bottom, guard page, why the guard is unmapped, problem) for a stack whose top is ``top``.

    The walk down also stops at a page holding another stack's top: that
    stack begins there, so this one has no guard page.
    """
    page = (top - 1) & ~(PAGE_SIZE - 1)
    lowest = None
    for _ in range(MAX_PAGES + 1):
        neighbour = next((t for t in other_tops if lowest is not None and page < t <= page + PAGE_SIZE), None)
        if neighbour is not None:
            return (
                lowest,
                None,
                None,
                f"the page below, {page:#x}, is mapped: it holds the stack whose top is {neighbour:#x}",
            )
        result = walk_for_cpu(target, cpu, page)
        if result.unreadable:
            return lowest, None, None, f"page tables unreadable at {page:#x}: {result.unreadable}"
        if result.physical is None or result.fault is not None:
            reason = result.fault.reason if result.fault is not None else "not mapped"
            if lowest is None:
                return None, None, None, f"the top page {page:#x} itself is not mapped ({reason})"
            return lowest, page, reason, None
        if not result.writable:
            if lowest is None:
                return None, None, None, f"the top page {page:#x} is read-only: the first push faults"
            return lowest, page, "read-only", None
        lowest = page
        page -= PAGE_SIZE
    return None, None, None, f"mapped for more than {MAX_PAGES} pages below the top: no guard page found"


def _last_frame(
    target: Target, cpu: int, top: int, vectors: tuple[int, ...]
) -> tuple[InterruptFrame | None, int | None]:
    formats = {vector(v).error_code is not ErrorCodeFormat.NONE for v in vectors if v < 32} or {False}
    if len(formats) != 1:
        return None, None
    has_error = formats.pop()
    slots = FRAME_SLOTS + int(has_error)
    try:
        data = target.read_memory((top & ~0xF) - slots * 8, slots * 8, cpu)
        frame = InterruptFrame.from_bytes(data, CpuMode.LONG, has_error)
    except (TargetError, DecodeError):
        return None, None
    if frame.problems or frame.to_bytes() == bytes(slots * 8):
        return None, None
    return frame, vectors[0] if len(vectors) == 1 else None


def read_stacks(target: Target, cpu: int, view: TssView) -> tuple[StackView, ...]:
    """RSP0 and every IST slot that is set or used by a gate (``view`` must hold a decoded 64-bit TSS)."""
    tss = view.tss64
    if tss is None:
        raise TargetError(f"TSS {view.selector:#06x} is not a readable 64-bit TSS: it has no IST")
    idt = read_idt(target, cpu)
    users: dict[int, list[int]] = {}
    for slot in idt.slots:
        if isinstance(slot.entry, Gate) and slot.entry.present and slot.entry.ist:
            users.setdefault(slot.entry.ist, []).append(slot.vector)
    named: list[tuple[str, int, tuple[int, ...]]] = [("rsp0", tss.rsp[0], ())]
    named += [(f"ist{i}", tss.ist[i - 1], tuple(users.get(i, ()))) for i in range(1, 8)]
    measured = []
    for name, top, used_by in named:
        if not top and not used_by:
            continue
        problems = []
        extent: tuple[int | None, int | None, str | None] = (None, None, None)
        if not top:
            listed = ", ".join(f"{v:#04x}" for v in used_by)
            problems.append(f"{name.upper()} is 0 but vector(s) {listed} switch to it")
        else:
            if top % 16:
                problems.append(f"the top {top:#x} is not 16-byte aligned (the CPU aligns it down)")
            others = tuple(t for _, t, _ in named if t and t != top)
            bottom, guard, reason, problem = _extent(target, cpu, top, others)
            extent = (bottom, guard, reason)
            if problem:
                problems.append(problem)
        measured.append((name, top, used_by, extent, problems))
    for i, (_, top, _, (bottom, _, _), problems) in enumerate(measured):
        for other, other_top, _, (other_bottom, _, _), _ in measured[:i] + measured[i + 1:]:
            if bottom is not None and other_bottom is not None and bottom < other_top and other_bottom < top:
                problems.append(f"overlaps {other}")
    rows = []
    for name, top, used_by, (bottom, guard, reason), problems in measured:
        frame, frame_vector = _last_frame(target, cpu, top, used_by) if top and name != "rsp0" else (None, None)
        rows.append(StackView(name, top, used_by, bottom, guard, reason, frame, frame_vector, tuple(problems)))
    return tuple(rows)
