"""A running Linux kernel's own symbol table, read from its memory (kallsyms).

A distribution kernel ships without its vmlinux, but it carries every symbol
in its read-only data (see model/kallsyms.py for the layout). They are found
without scanning megabytes through a 2 KiB-per-packet gdbstub:

1. the IDT's interrupt and trap gates point into the kernel's text, and
   kallsyms lives in ``.rodata``, which the linker puts after ``.text``
   (arch/x86/kernel/vmlinux.lds.S);
2. one small probe every STRIDE bytes after the lowest handler looks for
   kallsyms_offsets: growing 32-bit offsets, 4 bytes a symbol, so the array is
   longer than STRIDE on any kernel of more than 16384 symbols;
3. from a probe inside the array, further probes find its end, where
   kallsyms_relative_base and kallsyms_num_syms are; from there every table's
   address follows, and each is read in one go.

The kernel image is physically contiguous, so reads go to physical memory at
the handler's own virtual-to-physical distance: they work whatever page
tables the vCPU is on (a user process's, under page-table isolation), and the
unmapped gaps between the kernel's sections read as whatever RAM holds there.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError, TargetError
from ..model import kallsyms
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode
from ..model.kallsyms import Header, KallsymsSymbol
from ..symbols import Symbol, SymbolTable
from ..target.base import Target
from .memory import walk_for_cpu
from .tables import read_idt

#: bytes read by one probe for kallsyms_offsets
PROBE = 256
#: distance between probes
STRIDE = 64 * 1024
#: how far past the lowest interrupt handler the tables may start
SCAN = 64 << 20
#: bytes of kallsyms_names read per symbol not yet read (Debian's 6.1 kernels use 12.4 and 13)
NAME_GUESS = 13
#: bytes read for kallsyms_token_table and kallsyms_token_index (about 2.5 KiB on 6.1)
TOKENS_READ = 8192
#: bytes read before the last 256 names for kallsyms_num_syms, in the newer order (about 3.3 KiB on 6.12)
NAMES_TAIL = 32 * 1024
#: the types a System.map line keeps in gdbext/symbols.py: code and data, not absolute values
KEPT_TYPES = "tTwWdDbBrR"


class KernelMemory:
    """The kernel image's virtual addresses, read as physical memory ``distance`` below."""

    def __init__(self, target: Target, cpu: int, distance: int) -> None:
        self.target = target
        self.cpu = cpu
        self.distance = distance

    def read(self, address: int, size: int) -> bytes:
        return self.target.read_memory(address - self.distance, size, self.cpu, physical=True)


def read_guest_kallsyms(target: Target, cpu: int | None = None) -> SymbolTable:
    """The running Linux kernel's symbols, from its kallsyms tables; TargetError if the
    guest runs no such kernel or the tables are not found."""
    return symbol_table(guest_kallsyms(target, cpu))


def symbol_table(symbols: list[KallsymsSymbol]) -> SymbolTable:
    """The code and data symbols as a SymbolTable, as a System.map of them would load."""
    kept = [Symbol(symbol.address, 0, symbol.name) for symbol in symbols if symbol.type in KEPT_TYPES]
    return SymbolTable(kept, spans=[], source=f"kallsyms in guest memory ({len(symbols)} symbols)")


def guest_kallsyms(target: Target, cpu: int | None = None) -> list[KallsymsSymbol]:
    """Every kallsyms symbol of the running kernel, in the kernel's order (by address)."""
    cpu = target.check_cpu(cpu)
    view = read_idt(target, cpu)
    if view.mode is CpuMode.REAL:
        raise TargetError(f"vCPU {cpu} is in real mode: no Linux kernel runs to read kallsyms from")
    handlers = [slot.entry.offset for slot in view.slots
                if isinstance(slot.entry, Gate) and slot.entry.present
                and slot.entry.kind in (GateKind.INTERRUPT, GateKind.TRAP)]
    if not handlers:
        raise TargetError(f"the IDT of vCPU {cpu} has no interrupt or trap gate: no kernel to read kallsyms from")
    start = min(handlers)
    walk = walk_for_cpu(target, cpu, start)
    if walk.physical is None or walk.fault is not None:
        raise TargetError(f"the lowest interrupt handler, {start:#x}, is not mapped: cannot find the kernel image")
    memory = KernelMemory(target, cpu, start - walk.physical)
    return find_kallsyms(memory, start, 8 if view.mode is CpuMode.LONG else 4)


def find_kallsyms(memory: KernelMemory, start: int, pointer_size: int) -> list[KallsymsSymbol]:
    """The symbols of the first kallsyms tables after kernel text address ``start``.

    ``memory`` has ``read(address, size) -> bytes``, raising TargetError where nothing is.
    """
    for probe in range(kallsyms.align_up(start, STRIDE), start + SCAN, STRIDE):
        if not _holds_offsets(memory, probe):
            continue
        last = _last_offsets_block(memory, probe)
        try:
            tail = memory.read(last, 4 * PROBE)
        except TargetError:
            continue
        header = kallsyms.find_header(tail, last, pointer_size, covers=probe, inside=start)
        try:
            if header is not None:
                return read_tables(memory, header)
        except DecodeError:
            pass
        found = _reordered_tables(memory, probe, kallsyms.base_candidates(tail, last, pointer_size, start),
                                  pointer_size)
        if found is not None:
            return found
    raise TargetError(f"no kallsyms tables within {SCAN >> 20} MiB after the interrupt handlers at {start:#x}: "
                      "not a Linux kernel built with CONFIG_KALLSYMS_BASE_RELATIVE")


def _holds_offsets(memory: KernelMemory, address: int) -> bool:
    try:
        return kallsyms.looks_like_offsets(memory.read(address, PROBE))
    except TargetError:
        return False


def _last_offsets_block(memory: KernelMemory, hit: int) -> int:
    """The last PROBE-sized block of the offsets array that holds ``hit``, or of what
    looks like one: STRIDE steps to pass its end, then halving."""
    low, high = hit, hit + STRIDE
    while _holds_offsets(memory, high) and high - hit < 4 * kallsyms.MAX_SYMBOLS:
        low, high = high, high + STRIDE
    while high - low > PROBE:
        middle = low + (high - low) // 2 // PROBE * PROBE
        if _holds_offsets(memory, middle):
            low = middle
        else:
            high = middle
    return low


def _first_offsets_block(memory: KernelMemory, hit: int) -> int:
    """The first PROBE-sized block that looks like offsets, going back from ``hit``."""
    low, high = hit - STRIDE, hit
    while _holds_offsets(memory, low) and hit - low < 4 * kallsyms.MAX_SYMBOLS:
        low, high = low - STRIDE, low
    while high - low > PROBE:
        middle = low + (high - low) // 2 // PROBE * PROBE
        if _holds_offsets(memory, middle):
            high = middle
        else:
            low = middle
    return high


def read_tables(memory: KernelMemory, header: Header) -> list[KallsymsSymbol]:
    """Decode the tables ``header`` places: the offsets (checked before anything more
    is read), the names (read again if the guess fell short), the markers and the
    token table."""
    count, size = header.count, header.pointer_size
    addresses = kallsyms.decode_offsets(memory.read(header.offsets_address, 4 * count), count, header.relative_base)
    names_at = header.names_address
    names = memory.read(names_at, count * NAME_GUESS)
    walked, extent = kallsyms.walk_names(names, count)
    while walked < count:
        names += memory.read(names_at + len(names), (count - walked) * NAME_GUESS)
        walked, extent = kallsyms.walk_names(names, count)
    markers_at = kallsyms.align_up(names_at + extent, size)
    markers = memory.read(markers_at, size * kallsyms.marker_count(count))
    width = kallsyms.marker_width(markers, size)
    tokens = _token_table(memory, markers_at + width * kallsyms.marker_count(count), count, size)
    expanded, starts = kallsyms.decode_names(names, count, tokens)
    kallsyms.check_markers(markers, starts, width)
    return kallsyms.decode_symbols(addresses, expanded)


def _token_table(memory: KernelMemory, markers_end: int, count: int, pointer_size: int) -> tuple[str, ...]:
    for width in kallsyms.SEQS_WIDTHS:
        address = kallsyms.token_table_address(markers_end, count, width, pointer_size)
        try:
            return kallsyms.decode_token_table(memory.read(address, TOKENS_READ), pointer_size)
        except (DecodeError, TargetError):
            continue
    raise DecodeError("no kallsyms_token_table after the markers")


def _reordered_tables(memory: KernelMemory, hit: int, bases: list[int], pointer_size: int) \
        -> list[KallsymsSymbol] | None:
    """The tables in the newer order, around the offsets array that holds ``hit``, whose
    kallsyms_relative_base is at one of ``bases``: the token index ends where the
    offsets start, and the token table, the markers, the names and kallsyms_num_syms
    lie before it, each ending where the next begins."""
    if not bases:
        return None
    first = _first_offsets_block(memory, hit)
    window = first - TOKENS_READ - 4 * PROBE
    try:
        data = memory.read(window, TOKENS_READ + 8 * PROBE)
    except TargetError:
        return None
    for end in range(TOKENS_READ, len(data) + 1, pointer_size):
        found = kallsyms.token_table_before(data, end, pointer_size)
        if found is None:
            continue
        offsets_at, table_at, tokens = window + end, window + found[0], found[1]
        for base_address in bases:
            try:
                offsets = memory.read(offsets_at, base_address + pointer_size - offsets_at)
            except TargetError:
                continue
            for count in kallsyms.counts_between(offsets_at, base_address, pointer_size):
                try:
                    return _read_reordered(memory, offsets, offsets_at, count, table_at, tokens, pointer_size)
                except (DecodeError, TargetError):
                    continue
    return None


def _read_reordered(memory: KernelMemory, offsets: bytes, offsets_at: int, count: int, table_at: int,
                    tokens: tuple[str, ...], pointer_size: int) -> list[KallsymsSymbol]:
    """Decode tables in the newer order; ``offsets`` holds kallsyms_offsets and, last,
    kallsyms_relative_base."""
    (relative_base,) = struct.unpack_from("<Q" if pointer_size == 8 else "<I", offsets, len(offsets) - pointer_size)
    addresses = kallsyms.decode_offsets(offsets, count, relative_base)
    markers_at = kallsyms.align_down(table_at - 4 * kallsyms.marker_count(count), pointer_size)
    markers = memory.read(markers_at, 4 * kallsyms.marker_count(count))
    (last_marker,) = struct.unpack_from("<I", markers, len(markers) - 4)
    window = kallsyms.align_down(markers_at - last_marker - NAMES_TAIL, pointer_size)
    data = memory.read(window, markers_at - window)
    for position in kallsyms.count_positions(data[:len(data) - last_marker], count, pointer_size):
        names = data[position + pointer_size:]
        try:
            walked, extent = kallsyms.walk_names(names, count)
        except DecodeError:
            continue
        if walked == count and kallsyms.align_up(window + position + pointer_size + extent, pointer_size) == markers_at:
            expanded, starts = kallsyms.decode_names(names, count, tokens)
            kallsyms.check_markers(markers, starts)
            return kallsyms.decode_symbols(addresses, expanded)
    raise DecodeError("no kallsyms_num_syms before the names")
