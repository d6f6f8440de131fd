"""One shell session: the command context plus the shell's own commands (help, quit).

The interactive prompt, stdin scripts and ``-c`` all feed lines to
``Session.run``, so each behaves the same way.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field

from gdbext.commands import dispatch, registry
from gdbext.commands.base import Context, HelpRequested
from gdbext.errors import IdtscopeError

SHELL_COMMANDS = {
    "help": "help [COMMAND]: list the commands, or show one command's options",
    "quit": "quit (or exit, Ctrl-D): leave the shell",
}


class QuitRequested(Exception):
    """The user asked to leave."""


def want_color(stream: object) -> bool:
    """Colour only on a terminal and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and bool(getattr(stream, "isatty", lambda: False)())


@dataclass
class Session:
    context: Context = field(default_factory=Context)
    color: bool = False

    def run(self, line: str) -> str:
        """Run one line; return its text. IdtscopeError escapes for the caller to report."""
        argv = dispatch.split(line)
        if not argv or argv[0].startswith("#"):
            return ""
        name = argv[0]
        if name in ("quit", "exit"):
            raise QuitRequested
        if name == "help":
            return self.help(argv[1:])
        try:
            width = shutil.get_terminal_size((100, 24)).columns
            result, as_json = dispatch.execute(self.context, argv)
            if as_json:
                import json

                return json.dumps(result.data, indent=2)
            from gdbext.render import render

            return render(result, color=self.color, width=width)
        except HelpRequested as shown:
            return str(shown)

    def help(self, args: list[str]) -> str:
        if args:
            try:
                registry.parser(args[0]).print_help()
            except HelpRequested as shown:
                return str(shown)
            return ""
        lines = ["commands (`help COMMAND` for options; every command takes --json):"]
        for name in registry.names():
            lines.append(f"  {name:10} {summary(name)}")
        for name, text in SHELL_COMMANDS.items():
            lines.append(f"  {name:10} {text.split(': ', 1)[1]}")
        return "\n".join(lines)


def summary(name: str) -> str:
    """The first line of a command's documentation."""
    doc = registry.module(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def report(error: IdtscopeError, stream=sys.stderr) -> None:
    print(f"error: {error}", file=stream)
