"""System.map and ``/proc/kallsyms`` text: ``ADDRESS TYPE NAME [\\[MODULE\\]]`` lines, the
format ``nm -n`` writes (scripts/mksysmap and kernel/kallsyms.c, s_show, in Linux).

Code and data symbols are kept (nm types t T w W d D b B r R); an upper-case type is a
global symbol, a lower-case one local. A file whose every address is 0 (kallsyms read
by an unprivileged user) or all ones (Debian's placeholder /boot/System.map, one line
saying the real one is in the -dbg package) names nothing and is refused.
"""

from __future__ import annotations

import os
import re
from array import array
from pathlib import Path

from ..errors import ParseError
from .table import LOCAL, UNDERSCORE, ListNames, SymbolTable

_LINE = re.compile(rb"([0-9a-fA-F]{1,16})[ \t]+([A-Za-z?])[ \t]+(\S+)")
KEPT_TYPES = frozenset(b"tTwWdDbBrR")
#: a real System.map is about 5 MB and kallsyms text of a big kernel about 20 MB
MAX_TEXT = 256 << 20
#: the address of the one line of Debian's placeholder /boot/System.map
PLACEHOLDER = (1 << 64) - 1


def from_map_text(path: Path) -> SymbolTable:
    try:
        with path.open("rb") as stream:
            if os.fstat(stream.fileno()).st_size > MAX_TEXT:
                raise ParseError(f"{path}: larger than {MAX_TEXT >> 20} MiB, not a System.map or kallsyms text")
            text = stream.read(MAX_TEXT + 1)
    except OSError as error:
        raise ParseError(f"cannot read {path}: {error.strerror}") from None
    if len(text) > MAX_TEXT:
        raise ParseError(f"{path}: larger than {MAX_TEXT >> 20} MiB, not a System.map or kallsyms text")
    return parse_map_text(text, str(path))


def parse_map_text(text: bytes, source: str) -> SymbolTable:
    """The table of System.map / kallsyms ``text``; ParseError at the first line that is neither."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if match is None:
            if not line.strip():
                continue
            shown = line[:60].decode("ascii", "backslashreplace")
            raise ParseError(f"{source}:{number}: not a System.map line: {shown!r}")
        kind = match.group(2)[0]
        if kind in KEPT_TYPES:
            entries.append((int(match.group(1), 16), kind, match.group(3)))
    if not entries:
        raise ParseError(f"{source}: no symbols found (expected System.map or kallsyms lines)")
    if all(address in (0, PLACEHOLDER) for address, _, _ in entries):
        raise ParseError(f"{source}: no real addresses (kallsyms read without root shows 0s; Debian's"
                         " /boot/System.map is a placeholder, the real one is in the -dbg package)")
    entries.sort(key=lambda entry: entry[0])
    names = ListNames(name.decode("utf-8", "replace") for _, _, name in entries)
    flags = bytes((LOCAL if kind >= 0x61 else 0) | (UNDERSCORE if name[0] == 95 else 0) for _, kind, name in entries)
    return SymbolTable.from_arrays(
        array("Q", (address for address, _, _ in entries)),
        array("Q", bytes(8 * len(entries))),
        flags,
        names,
        [],
        source,
        False,
        "System.map",
    )
