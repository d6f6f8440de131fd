"""One symbol table, kept as parallel arrays sorted by address.

An address takes the name gdb's ``info symbol`` gives it (gdb 13,
``lookup_minimal_symbol_by_pc_section``), the same rule for every source:
1. walking back from the address over zero-size symbols, the first symbol with
   a size names it if it contains it, and wins over the zero-size markers walked
   over (``early_idt_handler_array`` over ``_sinittext``, ``irq_entries_start``
   over ``__irqentry_text_start``);
2. otherwise the zero-size symbols at the nearest address at or below it
   name it, within the same allocated section (ELF) or at most MAP_REACH
   bytes past the symbol (System.map and kallsyms text carry no sizes);
3. among equals, a global symbol before a local one, then a name without a
   leading underscore before one with it.

``slide`` is the KASLR displacement of the running kernel from the table
(``fit.py``): lookups subtract it, ``address_of`` adds it.
"""

from __future__ import annotations

import bisect
import re
from array import array
from operator import itemgetter
from pathlib import Path

from ..errors import ParseError
from ..model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from .fit import Fit

#: how far past a System.map symbol (which has no size) an address still takes its name;
#: beyond it the map is too sparse there and a name would mislead
MAP_REACH = 1 << 16
#: at most this many zero-size symbols are walked back over looking for a sized one
SCAN_LIMIT = 4096
#: preference bits, lower is better: a local symbol, a name with a leading underscore
LOCAL, UNDERSCORE = 2, 1
_GDB_INFO_SYMBOL = re.compile(r"^(\S+)(?: \+ (\d+))? in section \S+")


@record
class Symbol:
    """One entry as a caller hands it in; ``type`` is nm's letter (lower case: a local
    symbol; the default "T" counts as a global one)."""

    address: int
    size: int
    name: str
    type: str = "T"


def flags_of(name: str, local: bool) -> int:
    return (LOCAL if local else 0) | (UNDERSCORE if name.startswith("_") else 0)


class StringTableNames:
    """Names as offsets into an ELF string table, decoded only when asked for."""

    def __init__(self, strtab: bytes, offsets: array) -> None:
        self.strtab = strtab
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, index: int) -> str:
        start = self.offsets[index]
        end = self.strtab.find(b"\0", start)
        return self.strtab[start:end if end >= 0 else len(self.strtab)].decode("utf-8", "replace")

    def indices_of(self, name: str) -> list[int]:
        """Every index whose name is ``name`` (a name may also be the tail of a longer one)."""
        needle = name.encode() + b"\0"
        found: list[int] = []
        position = self.strtab.find(needle)
        while position >= 0:
            start = 0
            while True:
                try:
                    index = self.offsets.index(position, start)
                except ValueError:
                    break
                found.append(index)
                start = index + 1
            position = self.strtab.find(needle, position + 1)
        return found

    def __iter__(self) -> Iterator[str]:
        return (self[index] for index in range(len(self)))


class ListNames(list):
    """Names already decoded (text tables, or symbols handed in)."""

    def indices_of(self, name: str) -> list[int]:
        found: list[int] = []
        start = 0
        while True:
            try:
                index = self.index(name, start)
            except ValueError:
                return found
            found.append(index)
            start = index + 1


class SymbolTable:
    """Sorted symbols and how to name an address from them (module docstring)."""

    def __init__(self, symbols: Sequence[Symbol | tuple], spans: list[tuple[int, int]], source: str,
                 is_elf: bool = False, kind: str = "symbols") -> None:
        """``symbols``: Symbol records or plain ``(address, size, name[, type])`` tuples."""
        rows = sorted(((s.address, s.size, s.name, s.type) if isinstance(s, Symbol) else (*s, "T")[:4]
                       for s in symbols), key=itemgetter(0))
        self._set(array("Q", map(itemgetter(0), rows)), array("Q", map(itemgetter(1), rows)),
                  bytes(flags_of(name, kind.islower()) for _, _, name, kind in rows),
                  ListNames(map(itemgetter(2), rows)), spans, source, is_elf, kind)

    @classmethod
    def from_arrays(cls, addresses: array, sizes: array, flags: bytes, names: StringTableNames | ListNames,
                    spans: list[tuple[int, int]], source: str, is_elf: bool, kind: str) -> SymbolTable:
        """A table from arrays already sorted by address (the parsers' fast path)."""
        table = cls.__new__(cls)
        table._set(addresses, sizes, flags, names, spans, source, is_elf, kind)
        return table

    def _set(self, addresses: array, sizes: array, flags: bytes, names: StringTableNames | ListNames,
             spans: list[tuple[int, int]], source: str, is_elf: bool, kind: str) -> None:
        self.source = source
        self.is_elf = is_elf
        #: "ELF", "System.map" (also kallsyms text), "kallsyms" (read from guest memory) or "symbols" (handed in)
        self.kind = kind
        self.slide = 0
        #: how the slide was found (fit.Fit), None until the table is placed
        self.fit: Fit | None = None
        self._addresses = addresses
        self._sizes = sizes
        #: text tables have no sizes: no walk back for a sized symbol
        self._sized_any = any(sizes)
        self._flags = flags
        self._names = names
        self._spans = sorted(spans)
        self._sorted_names: list[str] | None = None

    @staticmethod
    def load(path: str | Path) -> SymbolTable:
        """``load(path)``: an ELF, a System.map or kallsyms text."""
        return load(path)

    def __len__(self) -> int:
        return len(self._addresses)

    def place(self, fit: Fit) -> None:
        """Take the slide (and its evidence) found for the running kernel."""
        self.slide = fit.slide
        self.fit = fit

    def address_of(self, name: str) -> int | None:
        """Where ``name`` is in the running kernel (the table's address plus the slide)."""
        indices = self._names.indices_of(name)
        if not indices:
            return None
        best = min(indices, key=lambda i: (self._flags[i], -self._sizes[i]))
        return self._addresses[best] + self.slide

    def names_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` symbol names that start with ``prefix``, sorted."""
        if self._sorted_names is None:
            self._sorted_names = sorted(set(self._names))
        start = bisect.bisect_left(self._sorted_names, prefix)
        found = []
        for name in self._sorted_names[start:start + limit]:
            if not name.startswith(prefix):
                break
            found.append(name)
        return found

    def _span_start(self, address: int) -> int | None:
        if not self._spans:
            return 0
        position = bisect.bisect_right(self._spans, (address, 1 << 65)) - 1
        if position >= 0 and self._spans[position][0] <= address < self._spans[position][1]:
            return self._spans[position][0]
        return None

    def lookup(self, address: int) -> str | None:
        """``name`` or ``name+offset`` for a running-kernel address, or None."""
        here = address - self.slide
        floor = self._span_start(here)
        if floor is None:
            return None
        nearest = bisect.bisect_right(self._addresses, here) - 1
        if nearest < 0 or self._addresses[nearest] < floor:
            return None
        index = self._sized(here, nearest, floor) if self._sized_any else None
        if index is None:
            index = self._marker(here, nearest)
        if index is None:
            return None
        offset = here - self._addresses[index]
        return self._names[index] if offset == 0 else f"{self._names[index]}+{offset}"

    def _sized(self, here: int, nearest: int, floor: int) -> int | None:
        """gdb's walk: back over zero-size symbols to the first sized one; it names
        ``here`` if it contains it (the best of the sized ones at its address)."""
        index = nearest
        stop = max(-1, nearest - SCAN_LIMIT)
        while index > stop and self._addresses[index] >= floor and not self._sizes[index]:
            index -= 1
        if index <= stop or self._addresses[index] < floor:
            return None
        start = self._addresses[index]
        best: tuple[int, int] | None = None
        while index >= 0 and self._addresses[index] == start:
            if here < start + self._sizes[index]:
                key = (self._flags[index], index)
                if best is None or key < best:
                    best = key
            index -= 1
        return None if best is None else best[1]

    def _marker(self, here: int, nearest: int) -> int | None:
        """The best zero-size symbol at the nearest address at or below ``here``."""
        start = self._addresses[nearest]
        if not self.is_elf and here - start >= MAP_REACH:
            return None
        best: tuple[int, int] | None = None
        index = nearest
        while index >= 0 and self._addresses[index] == start:
            if not self._sizes[index]:
                key = (self._flags[index], index)
                if best is None or key < best:
                    best = key
            index -= 1
        return None if best is None else best[1]

def load(path: str | Path) -> SymbolTable:
    """An ELF file, or a System.map / kallsyms text; ParseError otherwise."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(4)
    except OSError as error:
        raise ParseError(f"cannot read {path}: {error.strerror}") from None
    if head == b"\x7fELF":
        from .elf import from_elf

        return from_elf(path)
    from .maptext import from_map_text

    return from_map_text(path)


def parse_gdb_info_symbol(text: str) -> str | None:
    """gdb's ``info symbol`` answer as ``name`` / ``name+offset``, or None."""
    match = _GDB_INFO_SYMBOL.match(text.strip())
    if not match:
        return None
    name, offset = match.groups()
    return name if not offset or offset == "0" else f"{name}+{offset}"
