"""kallsyms tables: known vectors written from the format (scripts/kallsyms.c write_src and
kernel/kallsyms.c of Linux 6.1), round-trips through the encoder, and the search that
finds the tables in a kernel image, run over synthetic images held in bytes."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdbext.errors import DecodeError, TargetError
from gdbext.machine.kallsyms import find_kallsyms, read_tables, symbol_table
from gdbext.model import kallsyms
from gdbext.model.kallsyms import Header, KallsymsSymbol

BASE_64 = 0xFFFFFFFF81000000
BASE_32 = 0xC1000000


def vector_tokens() -> list[str]:
    """Printable ASCII codes stand for themselves; 0x80-0x82 for longer strings; the rest are unused."""
    tokens = [chr(code) if 0x20 <= code < 0x7F else "" for code in range(256)]
    tokens[0x80], tokens[0x81], tokens[0x82] = "asm_exc_", "page_fault", "_text"
    return tokens


def table_bytes(tokens: list[str], alignment: int) -> bytes:
    """kallsyms_token_table then kallsyms_token_index, as write_src() lays them out."""
    table, starts = b"", []
    for token in tokens:
        starts.append(len(table))
        table += token.encode() + b"\0"
    table += bytes(-len(table) % alignment)
    return table + struct.pack("<256H", *starts)


def test_token_table_vector():
    tokens = vector_tokens()
    assert kallsyms.decode_token_table(table_bytes(tokens, 8), 8) == tuple(tokens)
    assert kallsyms.decode_token_table(table_bytes(tokens, 4), 4) == tuple(tokens)


def test_names_vector_with_a_two_byte_length():
    # "big" symbols (Linux 6.1): a length of 130 is ULEB128 0x82 0x01
    names = bytes([3, ord("T"), 0x80, 0x81]) + bytes([2, ord("T"), 0x82]) + bytes([0x82, 0x01]) + b"t" + b"x" * 129
    assert kallsyms.walk_names(names, 3) == (3, len(names))
    assert kallsyms.walk_names(names, 2) == (2, 7)
    assert kallsyms.walk_names(names[:-1], 3) == (2, 7)
    assert kallsyms.walk_names(names[:8], 3) == (2, 7), "cut between the two bytes of a length"
    expanded, starts = kallsyms.decode_names(names, 3, vector_tokens())
    assert expanded == ["Tasm_exc_page_fault", "T_text", "t" + "x" * 129]
    assert starts == [0, 4, 7]
    symbols = kallsyms.decode_symbols([BASE_64 + 0x800990, BASE_64, BASE_64 + 0x900000], expanded)
    assert symbols[0] == KallsymsSymbol(BASE_64 + 0x800990, "T", "asm_exc_page_fault")
    assert (symbols[2].type, len(symbols[2].name)) == ("t", 129)


def test_absolute_percpu_offsets_vector():
    # kallsyms_sym_address(): a non-negative offset is a per-CPU symbol's own address,
    # a negative one stands for relative_base - 1 - offset
    data = struct.pack("<4i", 0, 0x1000, -1, -0x800991)
    assert kallsyms.decode_offsets(data, 4, BASE_64) == [0, 0x1000, BASE_64, BASE_64 + 0x800990]


def test_relative_offsets_vector():
    # without --absolute-percpu every offset is unsigned from the base (the 32-bit kernel)
    data = struct.pack("<3I", 0, 0x78, 0x91BC80)
    assert kallsyms.decode_offsets(data, 3, BASE_32) == [BASE_32, BASE_32 + 0x78, BASE_32 + 0x91BC80]


def test_absolute_addresses_vector():
    data = struct.pack("<2Q", BASE_64, BASE_64 + 0x10)
    assert kallsyms.decode_addresses(data, 2, 8) == [BASE_64, BASE_64 + 0x10]


def test_header_vector():
    # three offsets (12 bytes, padded to 16 by ALGN), kallsyms_relative_base, kallsyms_num_syms = 3
    data = struct.pack("<3i", 0, -1, -0x800991) + bytes(4) + struct.pack("<QI", BASE_64, 3) + bytes(20)
    header = kallsyms.find_header(data, 0x1000, 8, covers=0x1004, inside=BASE_64 + 0x800000)
    assert header == Header(8, 0x1000, 3, BASE_64, 0x1020)
    assert kallsyms.find_header(data, 0x1000, 8, covers=0xFFC, inside=BASE_64 + 0x800000) is None, \
        "the array must reach back over the address that showed offsets"
    assert kallsyms.find_header(data, 0x1000, 8, covers=0x1004, inside=BASE_64 + 0x900000) is None, \
        "the last symbol must lie past the kernel text the search started from"


def test_address_header_vector():
    # kallsyms_addresses (not base-relative) then kallsyms_num_syms, a pointer before 4.20
    data = struct.pack("<3QQ", 0, BASE_64, BASE_64 + 0x800990, 3) + bytes(8)
    header = kallsyms.find_address_header(data, 0x1000, 8, covers=0x1008, inside=BASE_64 + 0x800000)
    assert header == Header(8, 0x1000, 3, None, 0x1020)
    assert kallsyms.find_address_header(data, 0x1000, 8, covers=0x1008, inside=BASE_64 + 0x900000) is None
    data32 = struct.pack("<3I", BASE_32, BASE_32 + 0x78, BASE_32 + 0x91BC80) + struct.pack("<I", 3)
    assert kallsyms.find_address_header(data32, 0x1000, 4, covers=0x1004, inside=BASE_32 + 0x900000) == \
        Header(4, 0x1000, 3, None, 0x1010)


def test_token_table_address_per_layout():
    # 6.1: the table right after the markers; 6.2: 4 bytes a symbol between; 6.4: 3 bytes
    assert kallsyms.token_table_address(0x1004, 5, 0, 8) == 0x1008
    assert kallsyms.token_table_address(0x1004, 5, 4, 8) == 0x1020
    assert kallsyms.token_table_address(0x1004, 5, 3, 8) == 0x1018
    assert kallsyms.token_table_address(0x1004, 5, 3, 4) == 0x1014


def test_marker_width_before_and_since_linux_4_20():
    assert kallsyms.marker_width(struct.pack("<2I", 0, 2786), 8) == 4
    assert kallsyms.marker_width(struct.pack("<2Q", 0, 2786), 8) == 8
    assert kallsyms.marker_width(struct.pack("<2I", 0, 3111), 4) == 4
    assert kallsyms.marker_width(struct.pack("<I", 0), 8) == 4, "one marker: both widths end at the same ALGN"
    kallsyms.check_markers(struct.pack("<2Q", 0, 2786), [0] + [9] * 255 + [2786], 8)
    with pytest.raises(DecodeError, match="markers"):
        kallsyms.check_markers(struct.pack("<2I", 0, 2786), [0] + [9] * 255 + [2786], 8)


def test_tables_in_the_newer_order_vectors():
    # token table, token index, then kallsyms_offsets: the index ends where the offsets start
    tokens = vector_tokens()
    tables = bytes(8) + table_bytes(tokens, 8)
    offsets = struct.pack("<3i", 0, -1, -0x800991) + bytes(4)
    data = tables + offsets + struct.pack("<Q", BASE_64) + b"\x00\x00\x02\x00\x00\x01\x00\x00\x00"
    assert kallsyms.token_table_before(data, len(tables), 8) == (8, tuple(tokens))
    assert kallsyms.token_table_before(data, len(tables) - 8, 8) is None
    assert kallsyms.base_candidates(data[len(tables):], 0x1000, 8, BASE_64 + 0x800000) == [0x1010]
    assert kallsyms.counts_between(0x1000, 0x1010, 8) == [4, 3], "4 offsets, or 3 and 4 bytes of ALGN"
    assert kallsyms.counts_between(0x1000, 0x1010, 4) == [4]
    assert kallsyms.counts_between(0x1000, 0x1012, 8) == []
    assert kallsyms.count_positions(b"\x03\0\0\0\0\0\0\0\x07\0\0\0\x03\0\0\0\x03\0\0\0", 3, 8) == [0, 16]


def test_array_shapes():
    growing = struct.pack("<64I", *range(0, 64 * 48, 48))
    percpu_then_text = struct.pack("<64i", *range(0, 32 * 0x1000, 0x1000), *range(-1, -32 * 64, -64))
    assert kallsyms.looks_like_offsets(growing) and kallsyms.looks_like_offsets(percpu_then_text)
    aliases = struct.pack("<64i", *[-0x117E672] * 64)
    assert kallsyms.offsets_in_order(aliases), "thousands of symbols may share one address (Linux 5.10)"
    assert not kallsyms.looks_like_offsets(aliases), "but a probe does not start from one repeated value"
    assert not kallsyms.looks_like_offsets(bytes(256)), "one repeated value"
    pointers = struct.pack("<32Q", *range(BASE_64, BASE_64 + 32 * 0x40, 0x40))
    assert kallsyms.looks_like_addresses(pointers, 8, BASE_64 + 0x1000)
    assert not kallsyms.looks_like_addresses(pointers, 8, BASE_64 + (1 << 31)), "far from the kernel text"
    assert not kallsyms.looks_like_addresses(pointers[::-1], 8, BASE_64 + 0x1000)
    assert kallsyms.pointers_in_order(struct.pack("<32Q", *range(0, 32 * 0x1000, 0x1000)), 8), "per-CPU symbols"
    assert not kallsyms.looks_like_offsets(b"kallsyms_token_table" * 13), "text"
    assert not kallsyms.looks_like_offsets(struct.pack("<64I", *range(64 * 48, 0, -48))), "shrinking"
    assert not kallsyms.looks_like_offsets(struct.pack("<64I", *range(0, 64 << 25, 1 << 25))), "wider than a kernel"


def test_garbage_tables_are_decode_errors():
    tokens = vector_tokens()
    table = bytearray(table_bytes(tokens, 8))
    table[-1] ^= 1
    with pytest.raises(DecodeError, match="token_index"):
        kallsyms.decode_token_table(bytes(table), 8)
    with pytest.raises(DecodeError, match="fewer than 256"):
        kallsyms.decode_token_table(b"a\0b\0", 8)
    with pytest.raises(DecodeError, match="length 0|0 codes"):
        kallsyms.walk_names(bytes([2, 1, 2, 0, 5]), 2)
    with pytest.raises(DecodeError, match="not sorted"):
        kallsyms.decode_offsets(struct.pack("<2I", 0x10, 0), 2, BASE_32)
    with pytest.raises(DecodeError, match="markers"):
        kallsyms.check_markers(struct.pack("<2I", 0, 7), list(range(0, 300 * 5, 5)))
    with pytest.raises(DecodeError, match="type letter"):
        kallsyms.decode_symbols([BASE_64], ["?x"])


names = st.text("abcdefghijklmnopqrstuvwxyz_0123456789.", min_size=1, max_size=150)
symbol_lists = st.lists(st.tuples(st.integers(0, 1 << 24), st.sampled_from("TtDdBbRrWwA"), names), max_size=300)


def synthetic(entries, pointer_size: int, absolute_percpu: bool, base: int) -> list[KallsymsSymbol]:
    """Symbols sorted by address as a kernel has them, _text at the base; with
    --absolute-percpu, the "A" ones are per-CPU symbols below it."""
    symbols = []
    for offset, kind, name in sorted(entries + [(0, "T", "_text")]):
        address = offset if absolute_percpu and kind == "A" else base + offset
        symbols.append(KallsymsSymbol(address, kind, name))
    return sorted(symbols, key=lambda symbol: symbol.address)


class Image:
    """Bytes at an address: the kernel memory find_kallsyms and read_tables read."""

    def __init__(self, address: int, data: bytes) -> None:
        self.address, self.data, self.reads = address, data, 0

    def read(self, address: int, size: int) -> bytes:
        self.reads += 1
        if address < self.address or address + size > self.address + len(self.data):
            raise TargetError(f"cannot read {size} bytes at {address:#x} (not mapped)")
        return self.data[address - self.address:address - self.address + size]


@settings(max_examples=100, deadline=None)
@given(symbol_lists, st.sampled_from([(8, True, True), (8, False, True), (4, False, True), (8, False, False),
                                      (4, False, False)]),
       st.sampled_from(kallsyms.SEQS_WIDTHS), st.booleans())
def test_round_trip_through_the_tables(entries, layout, seqs_width, pointer_markers):
    """Offsets (with or without --absolute-percpu) or absolute addresses; every layout of
    the markers and of kallsyms_seqs_of_names."""
    pointer_size, absolute_percpu, relative = layout
    base = BASE_64 if pointer_size == 8 else BASE_32
    symbols = synthetic(entries, pointer_size, absolute_percpu, base)
    encoded = kallsyms.encode(symbols, pointer_size, base if relative else None, absolute_percpu, seqs_width,
                              pointer_markers)
    at = 0x200000
    image = Image(at, encoded.data + bytes(0x2000))  # .rodata goes on after the tables
    labels = {name: at + offset for name, offset in encoded.labels.items()}
    header = Header(pointer_size, labels["kallsyms_offsets" if relative else "kallsyms_addresses"], len(symbols),
                    base if relative else None, labels["kallsyms_names"])
    assert read_tables(image, header) == symbols


def kernel_image(pointer_size: int, absolute_percpu: bool, seqs_width: int, pointer_markers: bool = False,
                 reordered: bool = False, relative: bool = True, count: int = 20001):
    """A kernel-like image: 'text' from the base, then other read-only data, then the tables
    (more symbols than STRIDE / 4, as any real kernel has), then more data. Returns the
    image, its symbols, a handler address in its text and where each table is."""
    base = BASE_64 if pointer_size == 8 else BASE_32
    symbols = [KallsymsSymbol(0x1000 * number, "A", f"percpu_{number}") for number in range(40)] \
        if absolute_percpu else []
    symbols += [KallsymsSymbol(base + 0x100 * number, "tT"[number % 2], f"function_{number}_{number * 7919 % 1000}")
                for number in range(count)]
    encoded = kallsyms.encode(symbols, pointer_size, base if relative else None, absolute_percpu, seqs_width,
                              pointer_markers, reordered)
    text = bytes(range(256)) * (0x300000 // 256)
    rodata = b"rodata: strings and tables\0" * 5000
    rodata += bytes(-(len(text) + len(rodata)) % 8)
    data = text + rodata + encoded.data + b"\xcc" * 0x20000
    labels = {name: base + len(text) + len(rodata) + offset for name, offset in encoded.labels.items()}
    return Image(base, data), symbols, base + 0x123450, labels


@pytest.mark.parametrize(("pointer_size", "absolute_percpu", "seqs_width", "pointer_markers", "reordered"),
                         [(8, True, 3, False, False), (8, False, 4, False, False), (4, False, 0, False, False),
                          (4, False, 3, False, False), (8, True, 0, True, False), (8, True, 3, False, True),
                          (4, False, 3, False, True)])
def test_search_finds_the_tables_after_the_text(pointer_size, absolute_percpu, seqs_width, pointer_markers,
                                                reordered):
    image, symbols, handler, _ = kernel_image(pointer_size, absolute_percpu, seqs_width, pointer_markers,
                                              reordered)
    assert find_kallsyms(image, handler, pointer_size) == symbols
    assert image.reads < 100, f"{image.reads} reads: the search must probe, not scan"


@pytest.mark.parametrize(("pointer_size", "percpu"), [(8, True), (4, False)])
def test_search_finds_absolute_address_tables(pointer_size, percpu):
    """Kernels before 4.6 (and any built without base-relative kallsyms) keep
    kallsyms_addresses; on x86-64 SMP the per-CPU symbols come first, near 0."""
    image, symbols, handler, _ = kernel_image(pointer_size, percpu, 0, pointer_markers=True, relative=False)
    assert find_kallsyms(image, handler, pointer_size) == symbols
    assert image.reads < 100


def test_search_without_tables_is_one_clear_error():
    image = Image(BASE_64, bytes(range(256)) * (0x400000 // 256))
    with pytest.raises(TargetError, match=r"^no kallsyms tables within 64 MiB after the interrupt handlers at "
                                          r"0xffffffff81001000: not a Linux kernel") as raised:
        find_kallsyms(image, BASE_64 + 0x1000, 8)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("label", "byte"), [("kallsyms_token_index", 1), ("kallsyms_markers", 1),
                                             ("kallsyms_names", 0), ("kallsyms_offsets", 4 * 100 + 3)])
def test_search_passes_over_tables_that_do_not_decode(label, byte):
    """A token index that does not index, a wrong marker, a first name one code
    longer than written, an offset out of order: each is found, and it is not a kallsyms table."""
    image, _, handler, labels = kernel_image(8, True, 3)
    broken = bytearray(image.data)
    broken[labels[label] - image.address + byte] ^= 0x40 if label != "kallsyms_names" else 0x01
    with pytest.raises(TargetError, match="no kallsyms tables"):
        find_kallsyms(Image(image.address, bytes(broken)), handler, 8)


def test_symbol_table_keeps_code_and_data_like_a_system_map():
    symbols = [KallsymsSymbol(0, "A", "fixed_percpu_data"), KallsymsSymbol(BASE_64, "T", "_text"),
               KallsymsSymbol(BASE_64 + 0x800990, "T", "asm_exc_divide_error"),
               KallsymsSymbol(BASE_64 + 0x1A00000, "D", "idt_table")]
    table = symbol_table(symbols)
    assert len(table) == 3
    assert table.lookup(BASE_64 + 0x800994) == "asm_exc_divide_error+4"
    assert table.address_of("idt_table") == BASE_64 + 0x1A00000
    assert table.address_of("fixed_percpu_data") is None and table.lookup(0x10) is None
