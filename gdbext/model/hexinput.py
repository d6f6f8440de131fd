"""Bytes from what people paste: gdb ``x`` output, ``xxd``, ``hexdump -C`` or plain hex.

- gdb ``x/Nbx|hx|wx|gx``: ``ADDR [<sym+off>]:`` then 0x-prefixed values; each
  value's width is its zero-padded digit count, and values are little-endian
  in memory (this is x86).
- ``xxd`` (any ``-g``): ``OFFSET: 0600 0000 ...  ascii``; groups are bytes in order.
- ``hexdump -C``: ``OFFSET  06 00 ... |ascii|``.
- Plain hex: byte tokens (``06 00``), runs (``0600``) in memory order, or
  0x-prefixed words of ``word_size`` bytes (``0x6 0x401000``), little-endian.
"""

from __future__ import annotations

import re

from ..errors import ParseError

_GDB_LINE = re.compile(r"^\s*0x[0-9a-fA-F]+(?:\s*<[^>]*>)?:\s*(.*)$")
_XXD_LINE = re.compile(r"^\s*[0-9a-fA-F]{4,16}:\s+(.*)$")
_HEXDUMP_C_LINE = re.compile(r"^\s*[0-9a-fA-F]{6,16}\s{2}(.*?)(?:\|.*\|)?\s*$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_WORD_WIDTHS = {2: 1, 4: 2, 8: 4, 16: 8}


def parse_hex(text: str, word_size: int = 8) -> bytes:
    """Turn pasted text into bytes; ParseError names the first bad line."""
    if word_size not in (1, 2, 4, 8):
        raise ParseError(f"word size must be 1, 2, 4 or 8 bytes, got {word_size}")
    out = bytearray()
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out += _parse_line(line, word_size)
        except ParseError as error:
            raise ParseError(f"line {number}: {error}") from None
    if not out:
        raise ParseError("no hex bytes found")
    return bytes(out)


def _parse_line(line: str, word_size: int) -> bytes:
    match = _GDB_LINE.match(line)
    if match:
        return _gdb_values(match.group(1))
    match = _XXD_LINE.match(line)
    if match:
        return _byte_groups(match.group(1).split("  ")[0])
    match = _HEXDUMP_C_LINE.match(line)
    if match and "|" in line:
        return _byte_groups(match.group(1))
    return _plain(line, word_size)


def _gdb_values(rest: str) -> bytes:
    out = bytearray()
    for token in rest.split():
        if not token.lower().startswith("0x") or not _HEX.match(token[2:]):
            raise ParseError(f"{token!r} is not a gdb hex value")
        width = _WORD_WIDTHS.get(len(token) - 2)
        if width is None:
            raise ParseError(f"{token!r} has {len(token) - 2} digits; gdb pads to 2, 4, 8 or 16")
        out += int(token, 16).to_bytes(width, "little")
    return bytes(out)


def _byte_groups(rest: str) -> bytes:
    out = bytearray()
    for token in rest.split():
        if not _HEX.match(token) or len(token) % 2:
            raise ParseError(f"{token!r} is not a group of whole bytes")
        out += bytes.fromhex(token)
    return bytes(out)


def _plain(line: str, word_size: int) -> bytes:
    out = bytearray()
    for token in re.split(r"[\s,]+", line):
        if not token:
            continue
        if token.lower().startswith("0x"):
            digits = token[2:]
            if not digits or not _HEX.match(digits):
                raise ParseError(f"{token!r} is not a hex number")
            value = int(digits, 16)
            if value >> (8 * word_size):
                raise ParseError(f"{token} does not fit in a {word_size}-byte word")
            out += value.to_bytes(word_size, "little")
        elif _HEX.match(token):
            if len(token) % 2:
                raise ParseError(f"odd number of hex digits in {token!r}")
            out += bytes.fromhex(token)
        else:
            raise ParseError(f"{token!r} is not hex")
    return bytes(out)
