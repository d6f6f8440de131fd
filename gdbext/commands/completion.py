"""Completion candidates for a partial command line, shared by the shell and gdb.

Pure: it reads the command parsers and the vector model, nothing else.
"""

from __future__ import annotations

import argparse
import shlex

from ..errors import IdtscopeError
from . import registry

VECTOR_COMMANDS = {"explain", "idt"}
VECTOR_OPTIONS = {"--vector"}


def _words(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
    """Option strings and sub-command names reachable after the words in ``path``."""
    words: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if path and path[0] == name:
                    return _words(sub, path[1:])
                words.append(name)
        else:
            words.extend(action.option_strings)
    return words


def candidates(line: str, extra_commands: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """The word being completed and the words that may complete it."""
    try:
        parts = shlex.split(line)
    except ValueError:
        return "", []
    current = "" if line.endswith(" ") or not parts else parts.pop()
    if not parts:
        return current, list(registry.names()) + list(extra_commands)
    if parts[0] == "help":
        return current, list(registry.names())
    try:
        parser = registry.parser(parts[0])
    except IdtscopeError:
        return current, []
    if not current.startswith("-") and (parts[-1] in VECTOR_OPTIONS or
                                        (parts[0] in VECTOR_COMMANDS and len(parts) == 1)):
        from ..model.vectors import names_for_completion

        return current, list(names_for_completion())
    return current, _words(parser, [p for p in parts[1:] if not p.startswith("-")])


def matches(line: str, extra_commands: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """``candidates`` filtered by the current word's prefix (case-insensitive), sorted."""
    current, words = candidates(line, extra_commands)
    prefix = current.lower()
    return current, sorted({w for w in words if w.lower().startswith(prefix)})
