"""The commands: each is one module of this package, declaring everything about
itself (its documentation, parser, ``run``, ``READ_ONLY``; its result's ``kind``
names the renderer). Adding a command is adding its module. Modules are imported
on first use so that start-up stays fast; each is small and imports nothing
heavy at import time."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from ..errors import UsageError
from .base import CommandParser

#: modules of this package that are not commands
HELPERS = frozenset({"base", "completion", "decode_bytes", "registry", "shapes", "stops", "trace_stream"})

_modules: dict[str, str] = {}


def _commands() -> dict[str, str]:
    """Command name -> module name: every module of this package but the helpers (found by file
    name, without importing any). A trailing ``_`` spares a keyword: ``break_.py`` is ``break``."""
    if not _modules:
        for entry in os.listdir(os.path.dirname(__file__)):
            stem, dot, extension = entry.rpartition(".")
            if dot and extension == "py" and not stem.startswith("_") and stem not in HELPERS:
                _modules[stem.rstrip("_")] = stem
    return _modules


def names() -> tuple[str, ...]:
    return tuple(sorted(_commands()))


def read_only(name: str) -> bool:
    """Whether a command only reads the guest (``READ_ONLY`` in its module)."""
    return bool(module(name).READ_ONLY)


def module(name: str) -> ModuleType:
    modules = _commands()
    if name not in modules:
        import difflib

        close = difflib.get_close_matches(name, modules, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (try `help`)"
        raise UsageError(f"unknown command {name!r}{hint}")
    return importlib.import_module(f"{__package__}.{modules[name]}")


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
