"""Symbol tables from an ELF (pyelftools) or a System.map / /proc/kallsyms text.

Names are written like gdb's ``info symbol`` reports them, ``name`` or
``name+offset`` (decimal), so that the shell and gdb print the same JSON.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from .errors import ParseError
from .model.record import record

_MAP_LINE = re.compile(r"^([0-9a-fA-F]+)\s+([A-Za-z?])\s+(\S+)")
#: how far past a System.map symbol (which has no size) an address still takes its name;
#: beyond it the map is too sparse there and a name would mislead
MAP_REACH = 1 << 16
_GDB_INFO_SYMBOL = re.compile(r"^(\S+)(?: \+ (\d+))? in section \S+")


@record
class Symbol:
    address: int
    size: int
    name: str


class SymbolTable:
    """Sorted symbols; an address resolves to the symbol containing it, or the
    nearest zero-size symbol before it within the same section span (ELF) or
    at most MAP_REACH bytes before it (System.map and kallsyms carry no sizes)."""

    def __init__(self, symbols: list[Symbol], spans: list[tuple[int, int]], source: str,
                 is_elf: bool = False) -> None:
        self.source = source
        self.is_elf = is_elf
        self._symbols = sorted(symbols, key=lambda s: (s.address, -s.size, s.name))
        self._addresses = [s.address for s in self._symbols]
        self._spans = sorted(spans)
        self._by_name = {s.name: s.address for s in self._symbols}
        self._sorted_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self._symbols)

    def address_of(self, name: str) -> int | None:
        return self._by_name.get(name)

    def names_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` symbol names that start with ``prefix``, sorted."""
        if self._sorted_names is None:
            self._sorted_names = sorted(self._by_name)
        start = bisect.bisect_left(self._sorted_names, prefix)
        found = []
        for name in self._sorted_names[start:start + limit]:
            if not name.startswith(prefix):
                break
            found.append(name)
        return found

    def _in_span(self, address: int) -> tuple[int, int] | None:
        if not self._spans:
            return (0, 1 << 64)
        for start, end in self._spans:
            if start <= address < end:
                return (start, end)
        return None

    def lookup(self, address: int) -> str | None:
        span = self._in_span(address)
        if span is None:
            return None
        position = bisect.bisect_right(self._addresses, address) - 1
        while position >= 0:
            symbol = self._symbols[position]
            if symbol.address < span[0]:
                return None
            reach = symbol.size or (MAP_REACH if not self.is_elf else None)
            if reach is None or address < symbol.address + reach:
                offset = address - symbol.address
                return symbol.name if offset == 0 else f"{symbol.name}+{offset}"
            position -= 1
        return None

    @classmethod
    def load(cls, path: str | Path) -> SymbolTable:
        """An ELF file, or a System.map/kallsyms text; ParseError otherwise."""
        path = Path(path)
        try:
            head = path.read_bytes()[:4]
        except OSError as error:
            raise ParseError(f"cannot read {path}: {error.strerror}") from None
        if head == b"\x7fELF":
            return cls.from_elf(path)
        return cls.from_system_map(path)

    @classmethod
    def from_elf(cls, path: Path) -> SymbolTable:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile

        symbols: list[Symbol] = []
        spans: list[tuple[int, int]] = []
        try:
            with path.open("rb") as stream:
                elf = ELFFile(stream)
                for section in elf.iter_sections():
                    if section["sh_flags"] & 0x2 and section["sh_size"]:  # SHF_ALLOC
                        spans.append((section["sh_addr"], section["sh_addr"] + section["sh_size"]))
                table = elf.get_section_by_name(".symtab")
                if table is not None:
                    for entry in table.iter_symbols():
                        kind = entry["st_info"]["type"]
                        if entry.name and kind in ("STT_FUNC", "STT_NOTYPE", "STT_OBJECT") \
                                and entry["st_shndx"] not in ("SHN_UNDEF", "SHN_ABS"):
                            symbols.append(Symbol(entry["st_value"], entry["st_size"], entry.name))
        except (ELFError, ValueError, KeyError) as error:
            raise ParseError(f"{path}: not a usable ELF file ({error})") from None
        if not symbols:
            raise ParseError(f"{path}: the ELF file has no symbols")
        return cls(symbols, spans, str(path), is_elf=True)

    @classmethod
    def from_system_map(cls, path: Path) -> SymbolTable:
        symbols: list[Symbol] = []
        try:
            text = path.read_text(errors="replace")
        except OSError as error:
            raise ParseError(f"cannot read {path}: {error.strerror}") from None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            match = _MAP_LINE.match(line)
            if not match:
                raise ParseError(f"{path}:{number}: not a System.map line: {line[:60]!r}")
            if match.group(2) in "tTwW" or match.group(2) in "dDbBrR":
                symbols.append(Symbol(int(match.group(1), 16), 0, match.group(3)))
        if not symbols:
            raise ParseError(f"{path}: no symbols found (expected System.map or kallsyms lines)")
        return cls(symbols, [], str(path))


def parse_gdb_info_symbol(text: str) -> str | None:
    """gdb's ``info symbol`` answer as ``name`` / ``name+offset``, or None."""
    match = _GDB_INFO_SYMBOL.match(text.strip())
    if not match:
        return None
    name, offset = match.groups()
    return name if not offset or offset == "0" else f"{name}+{offset}"
