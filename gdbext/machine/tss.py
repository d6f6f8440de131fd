"""Task-state segments: the one TR names, or one a task gate names.

The TR's hidden base and limit come from the monitor; a task gate's TSS is
found through its descriptor in the GDT. The I/O permission bit map is read
only when the TSS limit reaches it.
"""

from __future__ import annotations

from ..errors import TargetError
from ..model.descriptor import DescriptorKind, SegmentDescriptor, entry_for_selector
from ..model.record import record, replace
from ..model.selector import Selector, TableIndicator
from ..model.tss import TSS32_SIZE, TSS64_SIZE, Tss32, Tss64
from ..target.base import Target
from .cpu import registers
from .tables import read_gdt

IOPB_MAX_END = TSS64_SIZE + 0x2000 + 1


@record
class TssView:
    """A TSS as found: where it is, how wide, its decoded fields, or why not.

    ``absent`` says why there is no TSS to read (TR null), which is an answer
    and not a failure; ``error`` says why a TSS that exists could not be read.
    """

    cpu: int
    selector: int
    base: int | None
    limit: int | None
    width: int
    busy: bool | None
    tss: Tss64 | Tss32 | None
    data: bytes = b""
    error: str | None = None
    #: for TR: what is wrong with its descriptor in the GDT (the CPU still uses TR's cached copy)
    descriptor_error: str | None = None
    absent: str | None = None

    @property
    def tss64(self) -> Tss64 | None:
        """The decoded TSS if it is a 64-bit one."""
        return self.tss if isinstance(self.tss, Tss64) else None

    @property
    def tss32(self) -> Tss32 | None:
        """The decoded TSS if it is a 32-bit one."""
        return self.tss if isinstance(self.tss, Tss32) else None


def _descriptor_for(target: Target, cpu: int, selector: int) -> SegmentDescriptor | str:
    sel = Selector.from_int(selector)
    if sel.ti is TableIndicator.LDT:
        return f"selector {selector:#06x} points into the LDT; a TSS descriptor must be in the GDT"
    gdt = read_gdt(target, cpu)
    entry = entry_for_selector(gdt.entries, sel.index)
    if entry is None:
        return f"selector {selector:#06x} is past the GDT limit {gdt.limit:#x}"
    if entry.descriptor is None:
        return f"GDT entry {sel.index} is unreadable ({entry.error})"
    descriptor = entry.descriptor
    if not isinstance(descriptor, SegmentDescriptor) or descriptor.kind not in (
            DescriptorKind.TSS_AVAILABLE, DescriptorKind.TSS_BUSY):
        return f"GDT entry {sel.index} is not a TSS descriptor"
    return descriptor


def read_tss(target: Target, cpu: int | None = None, selector: int | None = None) -> TssView:
    """The TSS of TR (default) or of a given GDT selector."""
    regs = registers(target, cpu)
    cpu = target.check_cpu(cpu)
    return target.cache.get(("tss", cpu, selector), lambda: _read(target, cpu, regs, selector))


def _read(target: Target, cpu: int, regs, selector: int | None) -> TssView:
    if selector is None:
        selector = regs.tr.selector
        if selector & ~3 == 0:
            return TssView(cpu, selector, None, None, 0, None, None,
                           absent="TR is null: no task is loaded, so no TSS gives stacks or an I/O bit map")
        descriptor = _descriptor_for(target, cpu, selector)
        descriptor_error = descriptor if isinstance(descriptor, str) else None
        base, limit = regs.tr.base, regs.tr.limit
        width = 64 if regs.long_mode else 32
        busy = "busy" in regs.tr.description_text if regs.tr.description_text else None
        if isinstance(descriptor, SegmentDescriptor):
            width = descriptor.tss_width or width
            busy = descriptor.kind is DescriptorKind.TSS_BUSY
            if not regs.format64 and descriptor.base != base & 0xFFFFFFFF:
                base = descriptor.base
    else:
        descriptor = _descriptor_for(target, cpu, selector)
        descriptor_error = None
        if isinstance(descriptor, str):
            return TssView(cpu, selector, None, None, 0, None, None, error=descriptor)
        base, limit = descriptor.base, descriptor.limit
        width = descriptor.tss_width
        busy = descriptor.kind is DescriptorKind.TSS_BUSY
    view = _decode(target, cpu, selector, base, limit, width, busy)
    return view if descriptor_error is None else replace(view, descriptor_error=descriptor_error)


def _decode(target: Target, cpu: int, selector: int, base: int, limit: int, width: int,
            busy: bool | None) -> TssView:
    if width == 16:
        return TssView(cpu, selector, base, limit, 16, busy, None, error="16-bit TSSs are not decoded")
    size = TSS64_SIZE if width == 64 else TSS32_SIZE
    if limit < size - 1:
        return TssView(cpu, selector, base, limit, width, busy, None,
                       error=f"the TSS limit {limit:#x} is below the {size - 1:#x} a {width}-bit TSS needs")
    try:
        data = target.read_memory(base, size, cpu)
    except TargetError as error:
        return TssView(cpu, selector, base, limit, width, busy, None, error=f"TSS at {base:#x} unreadable: {error}")
    tss = Tss64.from_bytes(data) if width == 64 else Tss32.from_bytes(data)
    end = min(limit + 1, IOPB_MAX_END)
    if size <= tss.iopb < end:
        try:
            data += target.read_memory(base + size, end - size, cpu)
        except TargetError as error:
            return TssView(cpu, selector, base, limit, width, busy, tss, data,
                           error=f"I/O permission bit map unreadable: {error}")
    return TssView(cpu, selector, base, limit, width, busy, tss, data)
