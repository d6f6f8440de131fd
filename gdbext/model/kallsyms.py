"""Linux's own symbol table, kallsyms, as the kernel keeps it in its read-only data.

``scripts/kallsyms.c`` (``write_src``) emits these arrays into ``.rodata``, one
after the other, each label aligned to the pointer size (``ALGN``: 8 bytes on
64-bit kernels, 4 on 32-bit ones); ``kernel/kallsyms.c`` reads them back:

``kallsyms_offsets``        one 32-bit value per symbol (CONFIG_KALLSYMS_BASE_RELATIVE),
                            or ``kallsyms_addresses``: one pointer per symbol
``kallsyms_relative_base``  a pointer (base-relative kernels only)
``kallsyms_num_syms``       a 32-bit count N
``kallsyms_names``          per symbol: its length in token codes (ULEB128, one byte,
                            or two with the top bit of the first set: Linux 6.1 "big
                            symbols"), then the codes
``kallsyms_markers``        a 32-bit offset into the names every 256 symbols
                            (a pointer before Linux 4.20, as kallsyms_num_syms was)
``kallsyms_seqs_of_names``  Linux 6.2 (4 bytes a symbol) and 6.4 (3 bytes, also in
                            Debian's 6.1): the symbols in name order; not needed here
``kallsyms_token_table``    256 NUL-terminated strings, the expansion of each code
``kallsyms_token_index``    256 16-bit offsets of those strings in the table

Newer kernels (Debian 13's 6.12) reorder them: kallsyms_num_syms, names, markers,
token table and token index first, then kallsyms_offsets, kallsyms_relative_base
and kallsyms_seqs_of_names.

A symbol's expanded name starts with its type letter (``nm``'s: T, t, D, ...).
The symbols are sorted by address. A base-relative offset is unsigned from the
base, except on kernels built with ``--absolute-percpu`` (CONFIG_KALLSYMS_ABSOLUTE_PERCPU:
x86-64 SMP): there a non-negative offset is the absolute address of a per-CPU
symbol and a negative one means ``relative_base - 1 - offset``
(``kallsyms_sym_address`` in kernel/kallsyms.c, Linux 6.1).

The encoder builds such tables from a symbol list (a simpler compression than
scripts/kallsyms.c's, in the same format), so decoding can be checked against
any list.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError
from .record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

TOKENS = 256
#: bytes per symbol of kallsyms_seqs_of_names between the markers and the token table,
#: newest layout first: 3 (Linux 6.4+, Debian 6.1), 4 (6.2, 6.3), none (6.1 and before)
SEQS_WIDTHS = (3, 4, 0)
#: one marker per this many symbols
MARKER_STRIDE = 256
#: the most symbols believed (a kernel has about 10^5; guest garbage may claim 2^32)
MAX_SYMBOLS = 1 << 22
#: how far apart a kernel's first and last non-per-CPU symbol may be
MAX_SPAN = 1 << 30
#: the longest name, in characters (include/linux/kallsyms.h, Linux 6.1); a code is at least one
KSYM_NAME_LEN = 512


def align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def align_down(value: int, alignment: int) -> int:
    return value // alignment * alignment


@record(slots=True)
class KallsymsSymbol:
    address: int
    type: str
    name: str


@record
class Header:
    """Where the symbol count places the addresses and the names: kallsyms_offsets and
    kallsyms_relative_base, or kallsyms_addresses (``relative_base`` None)."""

    pointer_size: int
    addresses_address: int
    count: int
    relative_base: int | None
    names_address: int


def offset_key(value: int) -> int:
    """A signed 32-bit offset as a number that grows with the address it stands for,
    under either rule (unsigned offsets never reach 2^31: a kernel is not 2 GiB)."""
    return value if value >= 0 else (1 << 31) - 1 - value


def marker_count(count: int) -> int:
    return -(-count // MARKER_STRIDE)


def token_table_address(markers_end: int, count: int, seqs_width: int, alignment: int) -> int:
    """Where kallsyms_token_table starts after kallsyms_markers (ending at ``markers_end``),
    with kallsyms_seqs_of_names of ``seqs_width`` bytes a symbol between them."""
    return align_up(align_up(markers_end, alignment) + seqs_width * count, alignment)


def pointer_format(pointer_size: int) -> str:
    return "<Q" if pointer_size == 8 else "<I"


def pointer_at(data: bytes, position: int, pointer_size: int) -> int:
    return struct.unpack_from(pointer_format(pointer_size), data, position)[0]


def _words(data: bytes, size: int, signed: bool = False) -> tuple[int, ...]:
    """``data`` as little-endian words of ``size`` bytes (a partial last word dropped)."""
    kind = {4: "I", 8: "Q"}[size]
    return struct.unpack(f"<{len(data) // size}{kind.lower() if signed else kind}", data[:len(data) // size * size])


def _varied(values: tuple[int, ...]) -> bool:
    """Not mostly one repeated value, as padding is: one distinct value per 8 at least."""
    return len(set(values)) >= len(values) // 8


def offsets_in_order(data: bytes) -> bool:
    """Whether ``data`` (whole 32-bit words) could be part of kallsyms_offsets: growing
    addresses under either rule, a kernel's span apart (many symbols may share one address)."""
    keys = [offset_key(value) for value in _words(data, 4, signed=True)]
    if len(keys) < 8 or any(later < earlier for earlier, later in zip(keys, keys[1:])):
        return False
    relative = [key for key in keys if key >= 1 << 31] or keys
    return relative[-1] - relative[0] < MAX_SPAN


def looks_like_offsets(data: bytes) -> bool:
    """offsets_in_order and varied: a probe's test for kallsyms_offsets."""
    return offsets_in_order(data) and _varied(_words(data, 4))


def symbol_address(offset: int, relative_base: int, absolute_percpu: bool) -> int:
    """The address one kallsyms_offsets entry (signed) stands for."""
    if not absolute_percpu:
        return relative_base + (offset & 0xFFFFFFFF)
    return offset if offset >= 0 else relative_base - 1 - offset


def find_header(data: bytes, address: int, pointer_size: int, covers: int, inside: int) -> Header | None:
    """kallsyms_relative_base and kallsyms_num_syms in ``data`` (read at ``address``,
    which is pointer-aligned), just past the end of kallsyms_offsets.

    A candidate must describe an offsets array that reaches back over ``covers``
    (an address found to hold offsets) and whose last symbol lies at or past
    ``inside`` (an address of kernel text), and its base must not be past ``inside``.
    """
    for position in range(0, len(data) - pointer_size - 4 + 1, pointer_size):
        base = pointer_at(data, position, pointer_size)
        (count,) = struct.unpack_from("<I", data, position + pointer_size)
        if not 0 < count <= MAX_SYMBOLS or base > inside:
            continue
        offsets_address = address + position - align_up(4 * count, pointer_size)
        last = offsets_address + 4 * (count - 1) - address
        if offsets_address > covers or last < 0:
            continue
        (value,) = struct.unpack_from("<i", data, last)
        if value >= 0 and base + value >= inside or value < 0 and base - 1 - value >= inside:
            names_address = align_up(address + position + pointer_size + 4, pointer_size)
            return Header(pointer_size, offsets_address, count, base, names_address)
    return None


def pointers_in_order(data: bytes, pointer_size: int) -> bool:
    """Whether ``data`` could be part of kallsyms_addresses: growing pointers."""
    values = _words(data, pointer_size)
    return len(values) >= 8 and all(earlier <= later for earlier, later in zip(values, values[1:]))


def looks_like_addresses(data: bytes, pointer_size: int, inside: int) -> bool:
    """pointers_in_order, varied and within a kernel's span of text address ``inside``: a
    probe's test for kallsyms_addresses (kernels that are not base-relative)."""
    values = _words(data, pointer_size)
    return (pointers_in_order(data, pointer_size) and _varied(values)
            and inside - MAX_SPAN < values[0] and values[-1] < inside + MAX_SPAN)


def find_address_header(data: bytes, address: int, pointer_size: int, covers: int, inside: int) -> Header | None:
    """kallsyms_num_syms in ``data`` (read at pointer-aligned ``address``) just past the
    end of kallsyms_addresses, which must reach back over ``covers`` and end at or past
    text address ``inside``. The count was a pointer before Linux 4.20; since, ALGN
    pads it to one with zeros."""
    for position in range(pointer_size, len(data) - pointer_size + 1, pointer_size):
        count = pointer_at(data, position, pointer_size)
        addresses_address = address + position - pointer_size * count
        if not 0 < count <= MAX_SYMBOLS or addresses_address > covers:
            continue
        last = pointer_at(data, position - pointer_size, pointer_size)
        if 0 <= last - inside < MAX_SPAN:
            return Header(pointer_size, addresses_address, count, None, address + position + pointer_size)
    return None


def base_candidates(data: bytes, address: int, pointer_size: int, inside: int) -> list[int]:
    """Addresses in ``data`` (read at pointer-aligned ``address``) of pointers that could
    be kallsyms_relative_base: at most MAX_SPAN below kernel text address ``inside``."""
    found = []
    for position in range(0, len(data) - pointer_size + 1, pointer_size):
        if 0 <= inside - pointer_at(data, position, pointer_size) < MAX_SPAN:
            found.append(address + position)
    return found


def counts_between(offsets_address: int, base_address: int, pointer_size: int) -> list[int]:
    """The symbol counts for which kallsyms_offsets at ``offsets_address`` ends, aligned,
    at ``base_address``."""
    most = (base_address - offsets_address) // 4
    return [count for count in (most, most - 1)
            if 0 < count <= MAX_SYMBOLS and align_up(offsets_address + 4 * count, pointer_size) == base_address]


def token_table_before(data: bytes, end: int, alignment: int) -> tuple[int, tuple[str, ...]] | None:
    """kallsyms_token_table and kallsyms_token_index ending at offset ``end`` of ``data``
    (which starts aligned): the table's offset and its 256 strings, or None."""
    index_at = end - 2 * TOKENS
    if index_at < 0 or end > len(data):
        return None
    index = struct.unpack_from(f"<{TOKENS}H", data, index_at)
    if index[0] != 0 or any(later < earlier for earlier, later in zip(index, index[1:])):
        return None
    highest = align_down(index_at - index[-1] - 1, alignment)
    for table_at in range(highest, max(-1, highest - KSYM_NAME_LEN - alignment), -alignment):
        try:
            tokens = decode_token_table(data[table_at:end], alignment)
        except DecodeError:
            continue
        if table_at + align_up(index[-1] + len(tokens[-1]) + 1, alignment) == index_at:
            return table_at, tokens
    return None


def count_positions(data: bytes, count: int, pointer_size: int) -> list[int]:
    """Pointer-aligned offsets in ``data`` holding ``count`` as a 32-bit value (kallsyms_num_syms)."""
    wanted = struct.pack("<I", count)
    return [position for position in range(0, len(data) - 3, pointer_size) if data[position:position + 4] == wanted]


def decode_offsets(data: bytes, count: int, relative_base: int) -> list[int]:
    """The addresses of ``count`` symbols from kallsyms_offsets; the per-CPU rule applies
    when any offset is negative (only --absolute-percpu kernels have any)."""
    if len(data) < 4 * count:
        raise DecodeError(f"kallsyms_offsets holds {count} entries of 4 bytes, got {len(data)} bytes")
    values = struct.unpack(f"<{count}i", data[:4 * count])
    absolute_percpu = any(value < 0 for value in values)
    return _sorted_addresses([symbol_address(value, relative_base, absolute_percpu) for value in values])


def decode_addresses(data: bytes, count: int, pointer_size: int) -> list[int]:
    """The addresses of ``count`` symbols from kallsyms_addresses (kernels that are not base-relative)."""
    if len(data) < pointer_size * count:
        raise DecodeError(f"kallsyms_addresses holds {count} pointers, got {len(data)} bytes")
    return _sorted_addresses(list(_words(data[:pointer_size * count], pointer_size)))


def _sorted_addresses(addresses: list[int]) -> list[int]:
    if any(later < earlier for earlier, later in zip(addresses, addresses[1:])):
        raise DecodeError("the kallsyms addresses are not sorted: not a kallsyms table")
    return addresses


def walk_names(data: bytes, count: int) -> tuple[int, int]:
    """How many of ``count`` names ``data`` (from the start of kallsyms_names) holds
    whole, and how many bytes they take."""
    position = walked = 0
    size = len(data)
    while walked < count:
        length_bytes = 1
        if position >= size:
            break
        length = data[position]
        if length & 0x80:
            if position + 1 >= size:
                break
            length = (length & 0x7F) | (data[position + 1] << 7)
            length_bytes = 2
        if not 0 < length <= KSYM_NAME_LEN:
            raise DecodeError(f"a kallsyms name of {length} codes at offset {position}: not a kallsyms table")
        if position + length_bytes + length > size:
            break
        position += length_bytes + length
        walked += 1
    return walked, position


def decode_token_table(data: bytes, alignment: int) -> tuple[str, ...]:
    """The 256 token strings from ``data``, which starts at kallsyms_token_table and
    runs on over kallsyms_token_index; DecodeError unless the index matches the table."""
    starts = []
    position = 0
    for _ in range(TOKENS):
        end = data.find(b"\0", position)
        if end < 0:
            raise DecodeError("kallsyms_token_table: fewer than 256 strings")
        starts.append(position)
        position = end + 1
    index_at = align_up(position, alignment)
    if len(data) < index_at + 2 * TOKENS:
        raise DecodeError("kallsyms_token_index: cut short")
    index = struct.unpack_from(f"<{TOKENS}H", data, index_at)
    if list(index) != starts:
        raise DecodeError("kallsyms_token_index does not index the token table")
    return tuple(data[start:data.index(b"\0", start)].decode("latin-1") for start in starts)


def decode_names(data: bytes, count: int, tokens: Sequence[str]) -> tuple[list[str], list[int]]:
    """``count`` expanded names (type letter first) and where each starts in ``data``,
    which holds them whole (see walk_names)."""
    names: list[str] = []
    starts: list[int] = []
    position = 0
    for _ in range(count):
        starts.append(position)
        length = data[position]
        if length & 0x80:
            length = (length & 0x7F) | (data[position + 1] << 7)
            position += 1
        position += 1
        names.append("".join(map(tokens.__getitem__, data[position:position + length])))
        position += length
    return names, starts


def marker_width(markers: bytes, pointer_size: int) -> int:
    """The size of one kallsyms marker: 4, or the pointer size before Linux 4.20. The
    first marker is 0 and the second is not, so a second 32-bit word of 0 is the high
    half of a first 64-bit marker."""
    if pointer_size == 8 and len(markers) >= 8 and struct.unpack_from("<2I", markers) == (0, 0):
        return 8
    return 4


def check_markers(markers: bytes, starts: Sequence[int], width: int = 4) -> None:
    """DecodeError unless kallsyms_markers holds the offset of every 256th name."""
    wanted = starts[::MARKER_STRIDE]
    if len(markers) < width * len(wanted):
        raise DecodeError(f"kallsyms_markers holds {len(wanted)} markers, got {len(markers)} bytes")
    found = _words(markers[:width * len(wanted)], width)
    if list(found) != wanted:
        raise DecodeError("kallsyms_markers do not match the names: not a kallsyms table")


def decode_symbols(addresses: Sequence[int], names: Sequence[str]) -> list[KallsymsSymbol]:
    """Symbols from addresses and expanded names; a name without a type letter is garbage."""
    symbols = []
    for address, name in zip(addresses, names):
        if len(name) < 2 or not name[0].isalpha():
            raise DecodeError(f"kallsyms name {name[:40]!r} has no type letter: not a kallsyms table")
        symbols.append(KallsymsSymbol(address, name[0], name[1:]))
    return symbols


@record
class Encoded:
    """Tables as ``scripts/kallsyms.c`` lays them out, and where each label is in ``data``."""

    data: bytes
    labels: dict


def encode(symbols: Sequence[KallsymsSymbol], pointer_size: int, relative_base: int | None,
           absolute_percpu: bool = False, seqs_width: int = 3, pointer_markers: bool = False,
           reordered: bool = False) -> Encoded:
    """Tables for ``symbols`` (sorted by address). ``relative_base`` None writes
    kallsyms_addresses; with ``absolute_percpu``, symbols below the base are per-CPU
    (absolute) ones. ``seqs_width``: 0, 3 or 4 (see SEQS_WIDTHS). ``pointer_markers``:
    kallsyms_num_syms and kallsyms_markers as pointers, as before Linux 4.20.
    ``reordered``: the newer order (offsets and base after the token index)."""
    pointer = pointer_format(pointer_size)
    count_format = pointer if pointer_markers else "<I"
    texts = [(symbol.type + symbol.name).encode("latin-1") for symbol in symbols]
    codes, tokens = _compress(texts)
    out = bytearray()
    labels: dict[str, int] = {}

    def label(name: str) -> None:
        out.extend(bytes(align_up(len(out), pointer_size) - len(out)))
        labels[name] = len(out)

    def addresses() -> None:
        if relative_base is None:
            label("kallsyms_addresses")
            for symbol in symbols:
                out.extend(struct.pack(pointer, symbol.address))
            return
        label("kallsyms_offsets")
        for symbol in symbols:
            if not absolute_percpu:
                offset = symbol.address - relative_base
            elif symbol.address < relative_base:
                offset = symbol.address
            else:
                offset = relative_base - 1 - symbol.address
            out.extend(struct.pack("<i" if absolute_percpu else "<I", offset))
        label("kallsyms_relative_base")
        out.extend(struct.pack(pointer, relative_base))

    def seqs() -> None:
        if seqs_width:
            label("kallsyms_seqs_of_names")
            for seq in sorted(range(len(texts)), key=lambda number: (texts[number][1:], symbols[number].address)):
                out.extend(seq.to_bytes(4, "big")[4 - seqs_width:])

    if not reordered:
        addresses()
    label("kallsyms_num_syms")
    out += struct.pack(count_format, len(symbols))
    label("kallsyms_names")
    markers = []
    for number, encoded in enumerate(codes):
        if number % MARKER_STRIDE == 0:
            markers.append(len(out) - labels["kallsyms_names"])
        length = len(encoded)
        out += bytes([length]) if length < 0x80 else bytes([(length & 0x7F) | 0x80, length >> 7])
        out += encoded
    label("kallsyms_markers")
    out += b"".join(struct.pack(count_format, marker) for marker in markers)
    if not reordered:
        seqs()
    label("kallsyms_token_table")
    starts = []
    for token in tokens:
        starts.append(len(out) - labels["kallsyms_token_table"])
        out += token + b"\0"
    label("kallsyms_token_index")
    out += struct.pack(f"<{TOKENS}H", *starts)
    if reordered:
        addresses()
        seqs()
    return Encoded(bytes(out), labels)


def _compress(texts: Sequence[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Each code a byte the names use stands for itself; the unused codes stand for the
    most frequent pairs of bytes; names are coded greedily from the left."""
    used = set(b"".join(texts))
    free = [code for code in range(TOKENS) if code not in used]
    counts: dict[bytes, int] = {}
    for text in texts:
        for position in range(len(text) - 1):
            pair = text[position:position + 2]
            counts[pair] = counts.get(pair, 0) + 1
    pairs = sorted(counts, key=lambda pair: (-counts[pair], pair))[:len(free)]
    tokens = [bytes([code]) if code in used else b"" for code in range(TOKENS)]
    pair_codes: dict[bytes, int] = {}
    for code, pair in zip(free, pairs):
        tokens[code] = pair
        pair_codes[pair] = code
    codes = []
    for text in texts:
        encoded = bytearray()
        position = 0
        while position < len(text):
            paired = pair_codes.get(text[position:position + 2])
            if paired is None:
                encoded.append(text[position])
                position += 1
            else:
                encoded.append(paired)
                position += 2
        codes.append(bytes(encoded))
    return codes, tokens
