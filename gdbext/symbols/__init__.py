"""Symbol tables for naming handler addresses: an ELF's ``.symtab``, a System.map,
``/proc/kallsyms`` text, or tables another module builds (``SymbolTable(symbols, ...)``).

Names are written as gdb's ``info symbol`` writes them, ``name`` or ``name+offset``
(decimal), and chosen by gdb's preference (``table.py``); a kernel loaded at a
KASLR slide is fitted by ``fit.py``.
"""

from __future__ import annotations

from .table import MAP_REACH, Symbol, SymbolTable, load, parse_gdb_info_symbol

__all__ = ["MAP_REACH", "Symbol", "SymbolTable", "load", "parse_gdb_info_symbol"]
