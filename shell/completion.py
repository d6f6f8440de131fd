"""Tab completion for the prompt: the shared candidates, quoted for the shell."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from gdbext.commands.completion import matches

from .session import SHELL_COMMANDS, Session

#: commands whose first argument is an address, so symbol names complete there
ADDRESS_COMMANDS = {"x", "walk"}
MAX_SYMBOLS = 200


class ShellCompleter(Completer):
    def __init__(self, session: Session | None = None) -> None:
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        words = text.split()
        if self.session is not None and words and words[0] in ADDRESS_COMMANDS and \
                (len(words) == 1 and text.endswith(" ") or len(words) == 2 and not text.endswith(" ")):
            current = "" if text.endswith(" ") else words[1]
            for name in self._symbols(current):
                yield Completion(name, start_position=-len(current))
            return
        current, candidates = matches(text, tuple(SHELL_COMMANDS) + ("exit",))
        for word in candidates:
            yield Completion(_quote(word), start_position=-len(current))

    def _symbols(self, prefix: str) -> list[str]:
        if self.session is None:
            return []
        target = self.session.context.target
        table = None if target is None else target.symbols
        if table is None:
            return []
        return table.names_starting_with(prefix, MAX_SYMBOLS)


def _quote(word: str) -> str:
    return shlex.quote(word) if any(c in word for c in " #'\"") else word
