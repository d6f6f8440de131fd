"""Physical memory for the page walker, read a page-table page at a time.

The walker reads 8-byte entries; fetching the whole 4 KiB page that holds
each one means a walk costs one target read per paging level, and the
target's per-stop cache makes later walks through the same tables free.
"""

from __future__ import annotations

from ..model.paging import PAGE_SIZE, Walk, walk
from ..target.base import Target
from .cpu import registers


class PhysicalPages:
    """``read(address, size)`` over a target's physical memory (the walker's PhysicalMemory)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def read(self, address: int, size: int) -> bytes:
        out = bytearray()
        while size > 0:
            page = address & ~(PAGE_SIZE - 1)
            data = self.target.read_memory(page, PAGE_SIZE, cpu=0, physical=True)
            take = min(size, page + PAGE_SIZE - address)
            out += data[address - page:address - page + take]
            address += take
            size -= take
        return bytes(out)


def walk_for_cpu(target: Target, cpu: int, linear: int, **access: bool) -> Walk:
    """Walk ``linear`` through the paging structures ``cpu`` uses now (its CR3, CR0, CR4, EFER)."""
    from ..model.paging import Access

    regs = registers(target, cpu)
    return walk(PhysicalPages(target), linear, regs.cr3, regs.cr0, regs.cr4, regs.efer or 0, Access(**access))
