"""Tab completion: command names, each command's options and sub-commands, and
vector numbers, mnemonics and names where a vector is expected."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from gdbext.commands import registry
from gdbext.errors import IdtscopeError
from gdbext.model import vectors

from .session import SHELL_COMMANDS

VECTOR_COMMANDS = {"explain"}
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


class ShellCompleter(Completer):
    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        try:
            parts = shlex.split(text)
        except ValueError:
            return
        current = "" if text.endswith(" ") or not parts else parts.pop()
        if not parts:
            candidates = list(registry.names()) + list(SHELL_COMMANDS) + ["exit"]
        elif parts[0] == "help":
            candidates = list(registry.names())
        else:
            candidates = self._for_command(parts, current)
        for word in sorted(set(candidates)):
            if word.lower().startswith(current.lower()):
                yield Completion(_quote(word), start_position=-len(current))

    def _for_command(self, parts: list[str], current: str) -> list[str]:
        name = parts[0]
        try:
            parser = registry.parser(name)
        except IdtscopeError:
            return []
        if (parts[-1] in VECTOR_OPTIONS or name in VECTOR_COMMANDS) and not current.startswith("-"):
            return list(vectors.names_for_completion())
        return _words(parser, [p for p in parts[1:] if not p.startswith("-")])


def _quote(word: str) -> str:
    return shlex.quote(word) if any(c in word for c in " #'\"") else word
