"""The list of commands. Modules are imported on first use so that start-up
stays fast; each module is small and imports nothing heavy at import time."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import UsageError
from .base import CommandParser

_MODULES = {
    "explain": "explain",
    "vectors": "vectors",
    "decode": "decode",
    "regs": "regs",
    "cpu": "cpu",
    "idt": "idt",
    "gdt": "gdt",
    "ldt": "ldt",
    "tss": "tss",
    "ist": "ist",
    "lapic": "lapic",
    "ioapic": "ioapic",
    "pic": "pic",
    "break": "breakpoint",
    "frame": "frame",
    "walk": "walk",
    "snapshot": "snapshot",
    "symbols": "symbols",
    "lint": "lint",
    "log": "log",
    "why": "why",
    "bt": "bt",
}


def names() -> tuple[str, ...]:
    return tuple(sorted(_MODULES))


def module(name: str) -> ModuleType:
    if name not in _MODULES:
        import difflib

        close = difflib.get_close_matches(name, _MODULES, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (try `help`)"
        raise UsageError(f"unknown command {name!r}{hint}")
    return importlib.import_module(f"{__package__}.{_MODULES[name]}")


def parser(name: str, prog: str | None = None, words: list[str] | None = None) -> CommandParser:
    """The argparse parser of a command: its help text is the command's documentation.

    ``words`` (the arguments about to be parsed) lets a command with many
    sub-commands build only the one asked for (``decode pf`` need not build
    ten others); help and unknown sub-commands still get the full parser.
    """
    mod = module(name)
    result = CommandParser(prog=prog or name, description=mod.__doc__)
    if words is not None and hasattr(mod, "add_arguments_for"):
        mod.add_arguments_for(result, words)
    else:
        mod.add_arguments(result)
    result.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    return result
