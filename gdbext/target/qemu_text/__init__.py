"""Parsers for the text of QEMU's human monitor (HMP) commands.

The caller passes the text (through gdb's ``monitor`` command it arrives with
``\\r\\n`` line ends and often a leading blank line); each parser returns frozen
records with integer fields, or raises ParseError naming what is missing.
Lines a parser does not know are kept in ``extra_lines``.

- ``info registers`` [``-a``]: :mod:`.registers`
- ``info lapic``: :mod:`.lapic`
- ``info pic``: :mod:`.pic`
"""

from .lapic import ApicTimer, InterruptCommand, LapicState, LvtEntry, SpuriousVector, parse_info_lapic
from .pic import PicState, parse_info_pic
from .registers import CpuRegisters, SegmentCache, TableRegister, parse_info_registers

__all__ = [
    "ApicTimer",
    "CpuRegisters",
    "InterruptCommand",
    "LapicState",
    "LvtEntry",
    "PicState",
    "SegmentCache",
    "SpuriousVector",
    "TableRegister",
    "parse_info_lapic",
    "parse_info_pic",
    "parse_info_registers",
]
