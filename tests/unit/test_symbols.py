"""Symbol tables: System.map / kallsyms text and ELF, named the way gdb's ``info symbol``
names addresses, placed at a KASLR slide, and hostile files refused in one line.

The ELF files here are written byte by byte from the System V ABI layouts (ELF header,
Elf64_Shdr, Elf64_Sym), so the expected names come from what the file holds, not from
idtscope; the live tests compare with gdb and /proc/kallsyms.
"""

from __future__ import annotations

import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdbext.errors import ParseError, UsageError
from gdbext.symbols import Symbol, SymbolTable, parse_gdb_info_symbol
from gdbext.symbols.fit import fit, linux_entry_points
from gdbext.symbols.maptext import parse_map_text

SYSTEM_MAP = """\
ffffffff81000000 T _text
ffffffff81a00b10 T asm_exc_page_fault
ffffffff81a00b60 t asm_exc_double_fault
ffffffff82600000 D idt_table
ffffffff82800000 A __end_abs
ffffffff83000000 T _sinittext
ffffffff83000000 T early_idt_handler_array
ffffffff83100000 t local_twin
ffffffff83100000 T global_twin
"""

STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
STB_LOCAL, STB_GLOBAL = 0, 1
TEXT = 0xFFFFFFFF81000000


def elf64(symbols: list[tuple[str, int, int, int, int]], text_size: int = 0x10000) -> bytes:
    """An ELF64 file with .text at TEXT and ``symbols`` (name, value, size, type, binding) in .symtab."""
    strtab = b"\0" + b"".join(name.encode() + b"\0" for name, *_ in symbols)
    entries = [bytes(24)]
    offset = 1
    for name, value, size, kind, bind in symbols:
        entries.append(struct.pack("<IBBHQQ", offset, bind << 4 | kind, 0, 1, value, size))
        offset += len(name) + 1
    symtab = b"".join(entries)
    shstrtab = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
    body = symtab + strtab + shstrtab
    data_at = 64
    shoff = data_at + len(body)
    shoff += -shoff % 8
    sections = [
        bytes(64),
        struct.pack("<IIQQQQIIQQ", 1, 1, 0x6, TEXT, 0, text_size, 0, 0, 16, 0),  # PROGBITS, ALLOC|EXEC, no bytes
        struct.pack("<IIQQQQIIQQ", 7, 2, 0, 0, data_at, len(symtab), 3, 1, 8, 24),
        struct.pack("<IIQQQQIIQQ", 15, 3, 0, 0, data_at + len(symtab), len(strtab), 0, 0, 1, 0),
        struct.pack("<IIQQQQIIQQ", 23, 3, 0, 0, data_at + len(symtab) + len(strtab), len(shstrtab), 0, 0, 1, 0),
    ]
    header = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
              + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, TEXT, 0, shoff, 0, 64, 0, 0, 64, len(sections), 4))
    return header + body + bytes(shoff - data_at - len(body)) + b"".join(sections)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_system_map_lookup(tmp_path):
    table = SymbolTable.load(write(tmp_path, "System.map", SYSTEM_MAP.encode()))
    assert table.lookup(0xFFFFFFFF81A00B10) == "asm_exc_page_fault"
    assert table.lookup(0xFFFFFFFF81A00B14) == "asm_exc_page_fault+4"
    assert table.lookup(0xFFFFFFFF81A00B60) == "asm_exc_double_fault"
    assert table.lookup(0xFFFFFFFF80000000) is None
    assert table.lookup(0xFFFFFFFF81A00B60 + 0xFFFF) == "asm_exc_double_fault+65535"
    assert table.lookup(0xFFFFFFFF81A00B60 + 0x10000) is None, "a sparse map must not name what lies far beyond"
    assert table.address_of("idt_table") == 0xFFFFFFFF82600000
    assert table.address_of("__end_abs") is None, "absolute symbols are not code or data"
    assert table.names_starting_with("asm_exc", 10) == ["asm_exc_double_fault", "asm_exc_page_fault"]


def test_system_map_prefers_global_then_no_underscore(tmp_path):
    table = SymbolTable.load(write(tmp_path, "System.map", SYSTEM_MAP.encode()))
    assert table.lookup(0xFFFFFFFF83000000 + 180) == "early_idt_handler_array+180"
    assert table.lookup(0xFFFFFFFF83100000) == "global_twin"
    assert table.kind == "System.map" and table.slide == 0


def test_elf_sized_symbol_beats_markers_then_global_then_no_underscore(tmp_path):
    path = write(tmp_path, "vmlinux", elf64([
        ("__irqentry_text_start", TEXT + 0x290, 0, STT_NOTYPE, STB_GLOBAL),
        ("irq_entries_start", TEXT + 0x290, 0x660, STT_NOTYPE, STB_GLOBAL),
        ("_sinittext", TEXT + 0x4000, 0, STT_NOTYPE, STB_GLOBAL),
        ("early_idt_handler_array", TEXT + 0x4000, 288, STT_FUNC, STB_GLOBAL),
        ("local_name", TEXT + 0x5000, 16, STT_FUNC, STB_LOCAL),
        ("global_name", TEXT + 0x5000, 16, STT_FUNC, STB_GLOBAL),
        ("_under", TEXT + 0x6000, 0, STT_NOTYPE, STB_GLOBAL),
        ("plain", TEXT + 0x6000, 0, STT_NOTYPE, STB_GLOBAL),
        ("sized_before_gap", TEXT + 0x7000, 8, STT_FUNC, STB_GLOBAL),
        ("outer", TEXT + 0x8000, 0x100, STT_OBJECT, STB_GLOBAL),
        ("inner_label", TEXT + 0x8010, 0, STT_NOTYPE, STB_GLOBAL),
    ]))
    table = SymbolTable.load(path)
    assert table.kind == "ELF" and len(table) == 11
    assert table.lookup(TEXT + 0x298) == "irq_entries_start+8"
    assert table.lookup(TEXT + 0x4000 + 180) == "early_idt_handler_array+180"
    assert table.lookup(TEXT + 0x5004) == "global_name+4"
    assert table.lookup(TEXT + 0x6002) == "plain+2"
    assert table.lookup(TEXT + 0x7010) is None, "past a sized symbol with no marker after it, gdb names nothing"
    assert table.lookup(TEXT + 0x8020) == "outer+32", "the sized symbol walked back to contains it"
    assert table.lookup(TEXT + 0x20000) is None, "outside every allocated section"
    assert table.address_of("irq_entries_start") == TEXT + 0x290


def test_elf_and_map_of_the_same_symbols_name_alike(tmp_path):
    symbols = [("_stext", TEXT, 0, STT_NOTYPE, STB_GLOBAL), ("start", TEXT, 0x40, STT_FUNC, STB_GLOBAL),
               ("helper", TEXT + 0x40, 0x20, STT_FUNC, STB_LOCAL),
               ("_end_helper", TEXT + 0x60, 0, STT_NOTYPE, STB_LOCAL)]
    elf = SymbolTable.load(write(tmp_path, "k.elf", elf64(symbols)))
    text = "".join(f"{value:016x} {'t' if bind == STB_LOCAL else 'T'} {name}\n" for name, value, _, _, bind in symbols)
    mapped = SymbolTable.load(write(tmp_path, "k.map", text.encode()))
    for address in (TEXT, TEXT + 3, TEXT + 0x40, TEXT + 0x5F, TEXT + 0x60, TEXT + 0x61):
        assert elf.lookup(address) == mapped.lookup(address), hex(address)


def test_elf_symbols_stay_inside_sections(tmp_path):
    from shell.guests.build import build

    image = build("long64")
    table = SymbolTable.load(image.elf)
    handler = table.address_of("isr_pf")
    assert table.lookup(handler) == "isr_pf" and table.lookup(handler + 2) == "isr_pf+2"
    assert table.lookup(0xFFFF_8000_0000_0000) is None, "far outside every allocated section"


def test_symbols_handed_in_keep_the_constructor_the_kallsyms_reader_uses():
    table = SymbolTable([Symbol(0x1000, 0, "_marker"), Symbol(0x1000, 0x10, "func", "t"),
                         Symbol(0x2000, 0, "data", "D")], [], "guest kallsyms")
    assert table.lookup(0x1004) == "func+4" and table.lookup(0x2008) == "data+8"
    assert table.address_of("data") == 0x2000 and table.kind == "symbols"
    plain = SymbolTable([(0x2000, 0, "data", "D"), (0x1000, 0x10, "func"), (0x1000, 0, "_marker")], [], "tuples")
    assert [plain.lookup(a) for a in (0x1004, 0x2008)] == [table.lookup(a) for a in (0x1004, 0x2008)]


def test_gdb_info_symbol_answers():
    assert parse_gdb_info_symbol("isr_pf in section .text\n") == "isr_pf"
    assert parse_gdb_info_symbol("isr_pf + 4 in section .text of /tmp/kernel.elf\n") == "isr_pf+4"
    assert parse_gdb_info_symbol("No symbol matches 0x10.\n") is None


def test_not_a_symbol_file(tmp_path):
    with pytest.raises(ParseError, match="not a System.map line"):
        SymbolTable.load(write(tmp_path, "notes.txt", b"hello world\n"))
    with pytest.raises(ParseError, match="no symbols found"):
        SymbolTable.load(write(tmp_path, "empty.map", b""))
    with pytest.raises(ParseError, match="placeholder"):
        SymbolTable.load(write(tmp_path, "System.map", b"ffffffffffffffff B The real System.map is in the"
                                                       b" linux-image-<version>-dbg package\n"))
    with pytest.raises(ParseError, match="kallsyms read without root"):
        SymbolTable.load(write(tmp_path, "kallsyms", b"0000000000000000 T _text\n0000000000000000 t foo\n"))


def test_hostile_files_give_one_line_fast(tmp_path):
    good = elf64([("start", TEXT, 16, STT_FUNC, STB_GLOBAL)])
    shoff = struct.unpack_from("<Q", good, 0x28)[0]
    many_sections = bytearray(good)
    struct.pack_into("<H", many_sections, 0x3C, 0xFFFF)
    symtab_far = bytearray(good)
    struct.pack_into("<Q", symtab_far, shoff + 2 * 64 + 0x20, 1 << 62)  # .symtab sh_size
    bad_link = bytearray(good)
    struct.pack_into("<I", bad_link, shoff + 2 * 64 + 0x28, 77)  # .symtab sh_link
    no_symtab = bytearray(good)
    struct.pack_into("<I", no_symtab, shoff + 2 * 64 + 4, 1)  # .symtab becomes PROGBITS
    enormous = tmp_path / "enormous.map"
    with enormous.open("wb") as out:
        out.truncate(1 << 40)
    cases = {"truncated.elf": good[:200], "headers.elf": bytes(many_sections), "far.elf": bytes(symtab_far),
             "link.elf": bytes(bad_link), "stripped.elf": bytes(no_symtab), "magic.elf": b"\x7fELF" + bytes(60),
             "binary.map": bytes(range(256)) * 64}
    paths = [write(tmp_path, name, data) for name, data in cases.items()] + [enormous, tmp_path, tmp_path / "gone"]
    for path in paths:
        start = time.perf_counter()
        with pytest.raises(ParseError) as refused:
            SymbolTable.load(path)
        assert "\n" not in str(refused.value) and time.perf_counter() - start < 1, path


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0x3FF), st.integers(0, 255)), max_size=12))
def test_elf_with_any_header_bytes_changed_loads_or_refuses(tmp_path_factory, changes):
    data = bytearray(elf64([("start", TEXT, 16, STT_FUNC, STB_GLOBAL), ("_m", TEXT + 0x10, 0, STT_NOTYPE, STB_LOCAL)]))
    for offset, value in changes:
        data[offset % len(data)] = value
    path = write(tmp_path_factory.mktemp("fuzz"), "f.elf", bytes(data))
    try:
        table = SymbolTable.load(path)
    except ParseError as error:
        assert "\n" not in str(error)
        return
    for symbol_address in (TEXT, TEXT + 0x11, 0):
        table.lookup(symbol_address)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(alphabet="0123456789abcdefTtDdWwAaBbRr? \t\n_[]xyz\0", max_size=400))
def test_map_text_of_any_bytes_loads_or_refuses(text):
    data = text if isinstance(text, bytes) else text.encode()
    try:
        table = parse_map_text(data, "fuzz")
    except ParseError as error:
        assert "\n" not in str(error)
        return
    assert len(table) > 0
    name = table.lookup(0x1234)
    assert name is None or table.address_of(name.split("+")[0]) is not None


EXCEPTIONS = linux_entry_points()


def test_fit_finds_the_kaslr_slide_and_checks_the_banner():
    linked = {name: 0xFFFFFFFF81C00000 + 0x40 * vector for vector, name in EXCEPTIONS.items()}
    linked["linux_banner"] = 0xFFFFFFFF82000000
    slide = 0x2F600000
    handlers = {vector: linked[name] + slide for vector, name in EXCEPTIONS.items() if vector != 0x15}
    handlers[0x15] = 0xFFFFFFFFB3000000  # not installed: the early stub
    memory = {linked["linux_banner"] + slide: b"Linux version 6.1.0-57-cloud-amd64 (debian-kernel@...)\n\0"}
    placed = fit(linked.get, handlers, lambda address, size: memory.get(address), "System.map")
    assert placed.slide == slide and placed.agreeing == len(EXCEPTIONS) - 1
    assert placed.banner == "Linux version 6.1.0-57-cloud-amd64"
    with pytest.raises(UsageError, match="linux_banner .* does not read 'Linux version '"):
        fit(linked.get, handlers, lambda address, size: b"\0" * size, "System.map")


def test_fit_refuses_another_build_and_ignores_a_table_without_linux_names():
    other = {name: 0xFFFFFFFF81C00000 + 0x40 * vector + (vector % 3) * 0x10 for vector, name in EXCEPTIONS.items()}
    handlers = {vector: 0xFFFFFFFF81C00000 + 0x40 * vector for vector in EXCEPTIONS}
    with pytest.raises(UsageError, match="does not fit the running kernel.*3 different distances"):
        fit(other.get, handlers, lambda address, size: None, "old.map")
    placed = fit({"isr_pf": 0x1000}.get, handlers, lambda address, size: None, "kernel.elf")
    assert placed.slide == 0 and placed.evidence.startswith("not checked: the table names none")
    assert not placed.pending, "no later stop changes what the table names"
    early = fit(other.get, {}, lambda address, size: None, "old.map")
    assert early.slide == 0 and early.pending and "no interrupt or trap gate" in early.evidence


def test_a_placed_table_names_running_addresses():
    table = SymbolTable([Symbol(0xFFFFFFFF81C00BE0, 39, "asm_exc_page_fault")], [], "map")
    handlers = {vector: 0 for vector in EXCEPTIONS}
    handlers[14] = 0xFFFFFFFFB1200BE0
    table.place(fit(table.address_of, handlers, lambda address, size: None, "map"))
    assert table.slide == 0x2F600000
    assert table.lookup(0xFFFFFFFFB1200BE4) == "asm_exc_page_fault+4" and table.lookup(0xFFFFFFFF81C00BE4) is None
    assert table.address_of("asm_exc_page_fault") == 0xFFFFFFFFB1200BE0


def test_vector_meanings_for_idt_rows():
    from gdbext.model.vectors import gate_meaning

    assert gate_meaning(14, "asm_exc_page_fault", None) == "#PF Page Fault"
    assert gate_meaning(8, None, None) == "#DF Double Fault"
    assert gate_meaning(0xEC, "asm_sysvec_apic_timer_interrupt", (0x30, 0x38)) == "local APIC timer"
    assert gate_meaning(0xFD, "asm_sysvec_reschedule_ipi", None) == "reschedule IPI"
    assert gate_meaning(0xFC, "asm_sysvec_call_function", None) == "call-function IPI"
    assert gate_meaning(0xFA, "asm_sysvec_thermal", None) == "thermal event"
    assert gate_meaning(0x22, "irq_entries_start+16", None) == "device interrupt"
    assert gate_meaning(0x20, "isr_timer", (0x20, 0x28)) == "IRQ0 PIT timer (8254)"
    assert gate_meaning(0x2C, None, (0x20, 0x28)) == "IRQ12 PS/2 mouse"
    assert gate_meaning(0x20, None, (0, 0)) == "User-Defined Interrupt", "unprogrammed PICs name no IRQ"
    assert gate_meaning(0x16, None, None) == "Reserved"
