"""Symbol tables: System.map / kallsyms text and ELF, resolved the way gdb's `info symbol` prints names."""

import pytest

from gdbext.errors import ParseError
from gdbext.symbols import SymbolTable, parse_gdb_info_symbol

SYSTEM_MAP = """\
ffffffff81000000 T _text
ffffffff81a00b10 T asm_exc_page_fault
ffffffff81a00b60 t asm_exc_double_fault
ffffffff82600000 D idt_table
ffffffff82800000 A __end_abs
"""


def test_system_map_lookup(tmp_path):
    path = tmp_path / "System.map"
    path.write_text(SYSTEM_MAP)
    table = SymbolTable.load(path)
    assert table.lookup(0xFFFFFFFF81A00B10) == "asm_exc_page_fault"
    assert table.lookup(0xFFFFFFFF81A00B14) == "asm_exc_page_fault+4"
    assert table.lookup(0xFFFFFFFF81A00B60) == "asm_exc_double_fault"
    assert table.lookup(0xFFFFFFFF80000000) is None
    assert table.lookup(0xFFFFFFFF81A00B60 + 0xFFFF) == "asm_exc_double_fault+65535"
    assert table.lookup(0xFFFFFFFF81A00B60 + 0x10000) is None, "a sparse map must not name what lies far beyond"
    assert table.address_of("idt_table") == 0xFFFFFFFF82600000
    assert table.address_of("__end_abs") is None, "absolute symbols are not code or data"
    assert table.names_starting_with("asm_exc", 10) == ["asm_exc_double_fault", "asm_exc_page_fault"]


def test_elf_symbols_stay_inside_sections(tmp_path):
    from tests.guests.build import build

    image = build("long64")
    table = SymbolTable.load(image.elf)
    handler = table.address_of("isr_pf")
    assert table.lookup(handler) == "isr_pf" and table.lookup(handler + 2) == "isr_pf+2"
    assert table.lookup(0xFFFF_8000_0000_0000) is None, "far outside every allocated section"


def test_gdb_info_symbol_answers():
    assert parse_gdb_info_symbol("isr_pf in section .text\n") == "isr_pf"
    assert parse_gdb_info_symbol("isr_pf + 4 in section .text of /tmp/kernel.elf\n") == "isr_pf+4"
    assert parse_gdb_info_symbol("No symbol matches 0x10.\n") is None


def test_not_a_symbol_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\n")
    with pytest.raises(ParseError, match="not a System.map line"):
        SymbolTable.load(path)
    empty = tmp_path / "empty.map"
    empty.write_text("")
    with pytest.raises(ParseError, match="no symbols found"):
        SymbolTable.load(empty)
