"""The IDT (or real-mode IVT), the GDT and the LDT of one vCPU, each read in one go.

If a whole-table read fails (a table that crosses into an unmapped page), the
table is read again page by page so that the readable part still decodes and
the rest is marked unreadable.
"""

from __future__ import annotations

from ..errors import TargetError
from ..model.descriptor import SegmentDescriptor, TableEntry, decode_descriptor_table, entry_for_selector
from ..model.gate import Gate
from ..model.idt import CpuMode, IvtEntry, decode_entry, table_read_size
from ..model.paging import PAGE_SIZE
from ..model.record import record
from ..model.selector import Selector, TableIndicator
from ..target.base import Target
from .cpu import registers

GDT_MAX = 0x10000


@record
class Chunk:
    """Bytes read from ``address``; ``data`` is None when unreadable."""

    address: int
    size: int
    data: bytes | None
    error: str | None = None


def read_span(target: Target, address: int, size: int, cpu: int) -> list[Chunk]:
    """Read ``size`` bytes; on failure, retry page by page."""
    try:
        return [Chunk(address, size, target.read_memory(address, size, cpu))]
    except TargetError as whole_error:
        if size <= PAGE_SIZE - (address % PAGE_SIZE):
            return [Chunk(address, size, None, str(whole_error))]
    chunks = []
    position = address
    end = address + size
    while position < end:
        step = min(PAGE_SIZE - position % PAGE_SIZE, end - position)
        try:
            chunks.append(Chunk(position, step, target.read_memory(position, step, cpu)))
        except TargetError as error:
            chunks.append(Chunk(position, step, None, str(error)))
        position += step
    return chunks


def _bytes_at(chunks: list[Chunk], offset: int, size: int, base: int) -> bytes | str:
    """The bytes at ``base + offset``, or the error that made them unreadable."""
    out = bytearray()
    wanted = base + offset
    for chunk in chunks:
        if chunk.address + chunk.size <= wanted or len(out) == size:
            continue
        if chunk.data is None:
            return chunk.error or "unreadable"
        start = wanted + len(out) - chunk.address
        take = chunk.data[start:start + size - len(out)]
        out += take
    return bytes(out)


@record
class IdtSlot:
    vector: int
    entry: Gate | IvtEntry | None
    error: str | None = None


@record
class IdtView:
    cpu: int
    mode: CpuMode
    base: int
    limit: int
    slots: tuple[IdtSlot, ...]


def read_idt(target: Target, cpu: int | None = None) -> IdtView:
    """Every vector the IDTR limit covers (at most 256), decoded for the CPU's mode."""
    regs = registers(target, cpu)
    cpu = target.check_cpu(cpu)

    def read() -> IdtView:
        mode = regs.mode
        base, limit = regs.idt.base, regs.idt.limit
        size = table_read_size(limit, mode)
        chunks = read_span(target, base, size, cpu) if size else []
        slots = []
        for vector in range(size // mode.gate_size):
            raw = _bytes_at(chunks, vector * mode.gate_size, mode.gate_size, base)
            if isinstance(raw, str):
                slots.append(IdtSlot(vector, None, raw))
            else:
                slots.append(IdtSlot(vector, decode_entry(raw, mode)))
        return IdtView(cpu, mode, base, limit, tuple(slots))

    return target.cache.get(("idt", cpu), read)


@record
class DescriptorTableView:
    cpu: int
    table: TableIndicator
    base: int
    limit: int
    long_mode: bool
    entries: tuple[TableEntry, ...]
    error: str | None = None


def _read_descriptor_table(target: Target, cpu: int, table: TableIndicator, base: int, limit: int,
                           long_mode: bool) -> DescriptorTableView:
    size = min(limit + 1, GDT_MAX)
    chunks = read_span(target, base, size, cpu)
    data = b"".join(chunk.data if chunk.data is not None else bytes(chunk.size) for chunk in chunks)
    holes = tuple((chunk.address - base, chunk.address - base + chunk.size, chunk.error or "unreadable")
                  for chunk in chunks if chunk.data is None)
    entries = decode_descriptor_table(data, long_mode, table, holes)
    error = "; ".join(sorted({why for _, _, why in holes})) or None
    return DescriptorTableView(cpu, table, base, limit, long_mode, entries, error)


def read_gdt(target: Target, cpu: int | None = None) -> DescriptorTableView:
    regs = registers(target, cpu)
    cpu = target.check_cpu(cpu)
    return target.cache.get(("gdt", cpu), lambda: _read_descriptor_table(
        target, cpu, TableIndicator.GDT, regs.gdt.base, regs.gdt.limit, regs.long_mode))


def segment_base(target: Target, cpu: int, selector: int) -> int:
    """The base of the segment ``selector`` names in ``cpu``'s GDT or LDT (SDM Vol. 3A 3.4.5);
    0 when no segment descriptor can be read there (flat, as nearly every kernel has it)."""
    chosen = Selector.from_int(selector)
    view = read_gdt(target, cpu) if chosen.ti is TableIndicator.GDT else read_ldt(target, cpu)
    entry = None if view is None else entry_for_selector(view.entries, chosen.index)
    descriptor = None if entry is None else entry.descriptor
    return descriptor.base if isinstance(descriptor, SegmentDescriptor) else 0


def read_ldt(target: Target, cpu: int | None = None) -> DescriptorTableView | None:
    """The LDT that LDTR holds, or None when LDTR is null."""
    regs = registers(target, cpu)
    cpu = target.check_cpu(cpu)
    if regs.ldt.selector & ~3 == 0 or not regs.ldt.present:
        return None
    return target.cache.get(("ldt", cpu), lambda: _read_descriptor_table(
        target, cpu, TableIndicator.LDT, regs.ldt.base, regs.ldt.limit, regs.long_mode))
