"""Tab completion for the prompt: the shared candidates, quoted for the shell."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from gdbext.commands.completion import matches

from .session import SHELL_COMMANDS


class ShellCompleter(Completer):
    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        current, words = matches(document.text_before_cursor, tuple(SHELL_COMMANDS) + ("exit",))
        for word in words:
            yield Completion(_quote(word), start_position=-len(current))


def _quote(word: str) -> str:
    return shlex.quote(word) if any(c in word for c in " #'\"") else word
