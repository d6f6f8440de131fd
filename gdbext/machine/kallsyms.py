"""A running Linux kernel's own symbol table, read from its memory (kallsyms).

A distribution kernel ships without its vmlinux, but it carries every symbol
in its read-only data (see model/kallsyms.py for the layouts). They are found
without scanning megabytes through a 2 KiB-per-packet gdbstub:

1. the IDT's interrupt and trap gates point into the kernel's text, and
   kallsyms lives in ``.rodata``, which the linker puts after ``.text``
   (arch/x86/kernel/vmlinux.lds.S);
2. one small probe every STRIDE bytes after the lowest handler looks for
   kallsyms_offsets (growing 32-bit offsets, 4 bytes a symbol, so the array is
   longer than STRIDE on any kernel of more than 16384 symbols) or, on kernels
   before 4.6, kallsyms_addresses (growing pointers near the text);
3. from a probe inside the array, further probes find its ends; the count and
   the base lie just past it, or in the newer order the token index ends where
   it starts; from there every table's address follows, and each is read in
   one go.

The kernel image is physically contiguous, so reads go to physical memory at
the handler's own virtual-to-physical distance: they work whatever page
tables the vCPU is on (a user process's, under page-table isolation), and the
unmapped gaps between the kernel's sections read as whatever RAM holds there.
"""

from __future__ import annotations

from ..errors import DecodeError, TargetError
from ..model import kallsyms
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode
from ..model.kallsyms import Header, KallsymsSymbol
from ..symbols import Symbol, SymbolTable
from ..symbols.maptext import KEPT_TYPES
from ..target.base import Target
from .memory import walk_for_cpu
from .tables import read_idt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: bytes read by one probe for kallsyms_offsets or kallsyms_addresses
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


class KernelMemory:
    """The kernel image's virtual addresses, read as physical memory ``distance`` below."""

    def __init__(self, target: Target, cpu: int, distance: int) -> None:
        self.target = target
        self.cpu = cpu
        self.distance = distance

    def read(self, address: int, size: int) -> bytes:
        return self.target.read_memory(address - self.distance, size, self.cpu, physical=True)


#: where x86-64 Linux (4.15 on) maps its IDT read-only: CPU_ENTRY_AREA_RO_IDT, the base of
#: the cpu_entry_area (arch/x86/include/asm/pgtable_64_types.h, CPU_ENTRY_AREA_PGD = -4)
LINUX_IDT_64 = 0xFFFFFE0000000000
#: the vectors i386 Linux sets up its own way (arch/x86/kernel/idt.c): #DF through a task
#: gate (doublefault_32.c), the int 0x80 system call through a DPL 3 gate
DOUBLE_FAULT, INT80 = 8, 0x80


def looks_like_linux(target: Target, cpu: int) -> bool:
    """Whether ``cpu``'s IDT has Linux's shape, from the IDT alone (one read, cached):
    in long mode the IDT at the cpu_entry_area, in protected mode a task gate for #DF
    and a DPL 3 gate for int 0x80."""
    view = read_idt(target, cpu)
    if view.mode is CpuMode.LONG:
        return view.base == LINUX_IDT_64
    if view.mode is not CpuMode.PROTECTED or len(view.slots) <= INT80:
        return False
    double_fault, int80 = view.slots[DOUBLE_FAULT].entry, view.slots[INT80].entry
    return (isinstance(double_fault, Gate) and double_fault.present and double_fault.kind is GateKind.TASK
            and isinstance(int80, Gate) and int80.present and int80.dpl == 3)


def own_symbols(target: Target) -> SymbolTable:
    """The guest's own table when its IDT has Linux's shape, placed as a file's would be:
    what names addresses when no table was given. TargetError or UsageError says why not."""
    from .placement import place

    cpu = target.selected_cpu()
    if not looks_like_linux(target, cpu):
        raise TargetError(f"the IDT of vCPU {cpu} does not have Linux's shape, so no kallsyms was looked for")
    table = read_guest_kallsyms(target, cpu)
    place(target, table)
    return table


def read_guest_kallsyms(target: Target, cpu: int | None = None) -> SymbolTable:
    """The running Linux kernel's symbols, from its kallsyms tables; TargetError if the
    guest runs no such kernel or the tables are not found."""
    return symbol_table(guest_kallsyms(target, cpu))


def symbol_table(symbols: list[KallsymsSymbol]) -> SymbolTable:
    """The code and data symbols as a SymbolTable, as a System.map of them would load."""
    kept = [Symbol(symbol.address, 0, symbol.name, symbol.type) for symbol in symbols if ord(symbol.type) in KEPT_TYPES]
    return SymbolTable(kept, spans=[], source="guest memory", kind="kallsyms")


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
    def pointers(data: bytes) -> bool:
        return kallsyms.pointers_in_order(data, pointer_size)

    for probe in range(kallsyms.align_up(start, STRIDE), start + SCAN, STRIDE):
        try:
            block = memory.read(probe, PROBE)
        except TargetError:
            continue
        if kallsyms.looks_like_offsets(block):
            found = _base_relative_tables(memory, _Array(memory, probe, kallsyms.offsets_in_order), start,
                                          pointer_size)
        elif kallsyms.looks_like_addresses(block, pointer_size, start):
            found = _address_tables(memory, _Array(memory, probe, pointers), start, pointer_size)
        else:
            continue
        if found is not None:
            return found
    raise TargetError(f"no kallsyms tables within {SCAN >> 20} MiB after the interrupt handlers at {start:#x}: "
                      "not a Linux kernel built with CONFIG_KALLSYMS")


def _holds(memory: KernelMemory, address: int, shape: Callable[[bytes], bool]) -> bool:
    try:
        return shape(memory.read(address, PROBE))
    except TargetError:
        return False


class _Array:
    """The run of PROBE-sized blocks of one ``shape`` around a probe inside an array: its
    first and last block are found by STRIDE steps past each end, then halving."""

    def __init__(self, memory: KernelMemory, hit: int, shape: Callable[[bytes], bool]) -> None:
        self.memory, self.hit, self.shape = memory, hit, shape
        self._first: int | None = None
        self.last = self._end(STRIDE)

    @property
    def first(self) -> int:
        if self._first is None:
            self._first = self._end(-STRIDE)
        return self._first

    def starts(self, header: Header) -> bool:
        """Whether the array ``header`` places starts with a block of the run's shape
        (checked before its whole length, which garbage may make huge, is read)."""
        return _holds(self.memory, header.addresses_address, self.shape)

    def _end(self, step: int) -> int:
        inside, outside = self.hit, self.hit + step
        while _holds(self.memory, outside, self.shape) and abs(outside - self.hit) < 4 * kallsyms.MAX_SYMBOLS:
            inside, outside = outside, outside + step
        while abs(outside - inside) > PROBE:
            middle = min(inside, outside) + abs(outside - inside) // 2 // PROBE * PROBE
            if _holds(self.memory, middle, self.shape):
                inside = middle
            else:
                outside = middle
        return inside


def _base_relative_tables(memory: KernelMemory, array: _Array, start: int, pointer_size: int) \
        -> list[KallsymsSymbol] | None:
    """The tables around an offsets array: the count after its end (the order of
    scripts/kallsyms.c in 6.1), else the newer order."""
    try:
        tail = memory.read(array.last, 4 * PROBE)
    except TargetError:
        return None
    header = kallsyms.find_header(tail, array.last, pointer_size, covers=array.hit, inside=start)
    if header is not None and array.starts(header):
        try:
            return read_tables(memory, header)
        except (DecodeError, TargetError):
            pass
    return _reordered_tables(memory, array, kallsyms.base_candidates(tail, array.last, pointer_size, start),
                             pointer_size)


def _address_tables(memory: KernelMemory, array: _Array, start: int, pointer_size: int) \
        -> list[KallsymsSymbol] | None:
    """The tables after a kallsyms_addresses array (kernels that are not base-relative)."""
    try:
        tail = memory.read(array.last, 4 * PROBE)
        header = kallsyms.find_address_header(tail, array.last, pointer_size, array.hit, start)
        if header is None or not array.starts(header):
            return None
        return read_tables(memory, header)
    except (DecodeError, TargetError):
        return None


def read_tables(memory: KernelMemory, header: Header) -> list[KallsymsSymbol]:
    """Decode the tables ``header`` places: the addresses (checked before anything more
    is read), the names (read again if the guess fell short), the markers and the
    token table."""
    count, size = header.count, header.pointer_size
    if header.relative_base is None:
        addresses = kallsyms.decode_addresses(memory.read(header.addresses_address, size * count), count, size)
    else:
        addresses = kallsyms.decode_offsets(memory.read(header.addresses_address, 4 * count), count,
                                            header.relative_base)
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


def _reordered_tables(memory: KernelMemory, array: _Array, bases: list[int], pointer_size: int) \
        -> list[KallsymsSymbol] | None:
    """The tables in the newer order, around an offsets array whose
    kallsyms_relative_base is at one of ``bases``: the token index ends where the
    offsets start, and the token table, the markers, the names and kallsyms_num_syms
    lie before it, each ending where the next begins."""
    if not bases:
        return None
    window = array.first - TOKENS_READ - 4 * PROBE
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
    relative_base = kallsyms.pointer_at(offsets, len(offsets) - pointer_size, pointer_size)
    addresses = kallsyms.decode_offsets(offsets, count, relative_base)
    markers_at = kallsyms.align_down(table_at - 4 * kallsyms.marker_count(count), pointer_size)
    markers = memory.read(markers_at, 4 * kallsyms.marker_count(count))
    last_marker = kallsyms.pointer_at(markers, len(markers) - 4, 4)
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
