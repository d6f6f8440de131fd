"""An ELF's symbol table read through its headers only (System V ABI, "Symbol Table"
and "Section Header" chapters; ELF-64 Object File Format 1.5, section 5).

pyelftools reads the ELF header; the section header table, the ``.symtab`` section and the string
table its ``sh_link`` names are then read in one piece each and unpacked in bulk (the
symbols column by column with ``array`` slices), so no Python object is built per symbol and the rest
of the file (the DWARF of a debug vmlinux, hundreds of MB) is never read.
"""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import compress
from pathlib import Path

from ..errors import ParseError
from ..model.record import record
from .table import LOCAL, UNDERSCORE, StringTableNames, SymbolTable

SHF_ALLOC = 0x2
#: no section, and the reserved indices (SHN_ABS, SHN_COMMON ...): not code or data of the image
SHN_UNDEF, SHN_LORESERVE = 0, 0xFF00
#: st_info types kept: STT_NOTYPE, STT_OBJECT, STT_FUNC
KEPT_TYPES = (0, 1, 2)
STB_LOCAL = 0
#: st_info -> 1 for a kept type, LOCAL for a local binding; first name byte -> UNDERSCORE for "_"
_KEPT = bytes(int(info & 0xF in KEPT_TYPES) for info in range(256))
_LOCAL = bytes(LOCAL if info >> 4 == STB_LOCAL else 0 for info in range(256))
_UNDERSCORE = bytes(UNDERSCORE if byte == ord("_") else 0 for byte in range(256))
#: a symbol or string table bigger than this is not a kernel's (Linux's is about 3 MB)
MAX_TABLE = 1 << 30
SHT_SYMTAB, SHT_STRTAB = 2, 3
#: class -> (Elf_Shdr fields as struct codes, its size): sh_name, sh_type, sh_flags, sh_addr,
#: sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
_SHDR = {64: ("IIQQQQIIQQ", 64), 32: ("IIIIIIIIII", 40)}
#: class -> (entry size, st_name column, st_value column and width, st_size column,
#: st_info byte offset, st_shndx column as 16-bit units)
_LAYOUT = {
    64: (24, ("I", 0, 6), ("Q", 1, 3), ("Q", 2, 3), 4, ("H", 3, 12)),
    32: (16, ("I", 0, 4), ("I", 1, 4), ("I", 2, 4), 12, ("H", 7, 8)),
}


@record(slots=True)
class _Section:
    """The fields of one section header (Elf64_Shdr / Elf32_Shdr) that are used."""

    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


def from_elf(path: Path) -> SymbolTable:
    """The table of ``path``; ParseError for anything that is not a usable ELF."""
    from elftools.common.exceptions import ELFError
    from elftools.construct.core import ConstructError

    try:
        with path.open("rb") as stream:
            file_size = stream.seek(0, 2)
            headers = _headers(stream, file_size)
            symtab, strtab, spans, elfclass, little = headers
            data = _read(stream, symtab, file_size, "symbol table")
            strings = _read(stream, strtab, file_size, "string table")
    except OSError as error:
        raise ParseError(f"cannot read {path}: {error.strerror}") from None
    except (ELFError, ConstructError, struct.error, ValueError, KeyError, IndexError, OverflowError,
            EOFError, UnicodeDecodeError) as error:
        raise ParseError(f"{path}: not a usable ELF file ({error})") from None
    return _table(data, strings, spans, elfclass, little, str(path))


def _headers(stream, file_size: int):
    """(symtab, strtab, spans, class, little-endian) from the ELF header (pyelftools)
    and the section header table, read in one piece and unpacked with struct."""
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(stream)
    count, offset, entry_size = elf.num_sections(), elf["e_shoff"], elf["e_shentsize"]
    fields, expected = _SHDR[elf.elfclass]
    if entry_size != expected:
        raise ParseError(f"the ELF header gives {entry_size}-byte section headers, not {expected}")
    if not count or offset + count * entry_size > file_size:
        raise ParseError(f"the ELF header claims {count} section headers at {offset:#x}, beyond the file")
    stream.seek(offset)
    order = "<" if elf.little_endian else ">"
    sections = [_Section(*row) for row in struct.iter_unpack(order + fields, stream.read(count * entry_size))]
    spans = [(s.addr, s.addr + s.size) for s in sections if s.flags & SHF_ALLOC and s.size]
    symtab = next((s for s in sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        raise ParseError("the ELF file has no symbol table (.symtab): stripped?")
    if not 0 < symtab.link < count or sections[symtab.link].type != SHT_STRTAB:
        raise ParseError(f"the symbol table's sh_link ({symtab.link}) names no string table")
    return symtab, sections[symtab.link], spans, elf.elfclass, elf.little_endian


def _read(stream, section: _Section, file_size: int, what: str) -> bytes:
    if section.size > MAX_TABLE or section.offset + section.size > file_size:
        raise ParseError(f"the {what} ({section.size} bytes at {section.offset:#x}) lies outside the file"
                         f" of {file_size} bytes")
    stream.seek(section.offset)
    return stream.read(section.size)


def _column(data: bytes, spec: tuple[str, int, int], swap: bool) -> array:
    code, start, stride = spec
    values = array(code, data)
    if swap:
        values.byteswap()
    return values[start::stride]


def _mask(*columns) -> bytes:
    """The byte-wise AND of 0/1 byte strings of one length (one big-integer operation)."""
    total = -1
    for column in columns:
        total &= int.from_bytes(bytes(column), "little")
    return total.to_bytes(len(columns[0]), "little")


def _table(data: bytes, strings: bytes, spans, elfclass: int, little: bool, source: str) -> SymbolTable:
    entry, name_spec, value_spec, size_spec, info_at, shndx_spec = _LAYOUT[elfclass]
    data = data[:len(data) - len(data) % entry]
    swap = little != (sys.byteorder == "little")
    names = _column(data, name_spec, swap)
    values = _column(data, value_spec, swap)
    sizes = _column(data, size_spec, swap)
    shndx = _column(data, shndx_spec, swap)
    info = data[info_at::entry]
    keep = _mask(info.translate(_KEPT), map(bool, names), map(len(strings).__gt__, names),
                 map(bool, shndx), map(SHN_LORESERVE.__gt__, shndx))
    kept = list(compress(range(len(names)), keep))
    if not kept:
        raise ParseError(f"{source}: the ELF file has no symbols")
    kept.sort(key=values.__getitem__)
    offsets = array("I", map(names.__getitem__, kept))
    local = bytes(map(info.__getitem__, kept)).translate(_LOCAL)
    underscore = bytes(map(strings.__getitem__, offsets)).translate(_UNDERSCORE)
    flags = (int.from_bytes(local, "little") | int.from_bytes(underscore, "little")).to_bytes(len(kept), "little")
    return SymbolTable.from_arrays(array("Q", map(values.__getitem__, kept)), array("Q", map(sizes.__getitem__, kept)),
                                   flags, StringTableNames(strings, offsets), spans, source, True, "ELF")
