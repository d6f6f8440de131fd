"""The interactive prompt (prompt_toolkit): a prompt that says where you are,
history kept across sessions, completion, and a pager for long output."""

from __future__ import annotations

import os
import pydoc
import shutil
from datetime import datetime
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory

from gdbext.errors import IdtscopeError

from .completion import ShellCompleter
from .session import QuitRequested, Session, report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def history_path() -> Path:
    """$XDG_STATE_HOME/idtscope/history (default ~/.local/state/idtscope/history)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "idtscope" / "history"


class AtomicFileHistory(FileHistory):
    """prompt_toolkit's history file, each entry appended with one write(2) on an
    O_APPEND descriptor, so two shells (or a crash) never leave half an entry."""

    def store_string(self, string: str) -> None:
        entry = f"\n# {datetime.now()}\n" + "".join(f"+{line}\n" for line in string.split("\n"))
        try:
            descriptor = os.open(self.filename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError:
            return
        try:
            os.write(descriptor, entry.encode("utf-8", errors="replace"))
        finally:
            os.close(descriptor)


def _history() -> FileHistory | None:
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return AtomicFileHistory(str(path))


def prompt_text(session: Session) -> str:
    return f"idtscope [{session.status()}]> "


def show(text: str) -> None:
    """Print, through a pager ($PAGER, else less -R) when taller than the terminal."""
    rows = shutil.get_terminal_size((100, 24)).lines
    if text.count("\n") + 1 > rows - 1 and os.environ.get("IDTSCOPE_PAGER", "1") != "0":
        os.environ.setdefault("LESS", "-R -F -X")
        pydoc.pager(text)
    else:
        print(text)


def interact(session: Session, **io: Any) -> int:
    """Read, run and show commands until quit; ``io`` may give prompt_toolkit's input/output."""
    prompt: PromptSession[str] = PromptSession(history=_history(), completer=ShellCompleter(session),
                                               complete_while_typing=False, **io)
    print("idtscope shell: `help` lists the commands, Tab completes, Ctrl-D quits.")
    while True:
        try:
            line = prompt.prompt(prompt_text(session))
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        try:
            text = session.run(line)
        except QuitRequested:
            return 0
        except KeyboardInterrupt:
            print("interrupted")
            continue
        except IdtscopeError as error:
            report(error)
            continue
        if text:
            show(text)
