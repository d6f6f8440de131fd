"""What every command shares: a parser that raises instead of exiting, the
result type, and the context a command runs in.

A command module defines ``NAME``, ``SUMMARY``, ``add_arguments(parser)`` and
``run(context, args) -> Result``; the session core (gdbext/session.py) adds ``--json``.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import IdtscopeError, UsageError
from ..model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class HelpRequested(IdtscopeError):
    """``-h``/``--help`` was given: the message is the help text, not an error."""


def help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's RawDescriptionHelpFormatter at the width it would pick itself.

    Left to choose, argparse imports shutil (and with it bz2 and lzma) for
    the terminal width whenever an argument is added: a few milliseconds of
    every start.
    """
    return argparse.RawDescriptionHelpFormatter(prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    """$COLUMNS, else the width of the terminal on stdout, else 80 (as shutil.get_terminal_size)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    if sys.__stdout__ is None:
        return 80
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that never writes to stdout or exits the process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", help_formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message.strip() if message else f"{self.prog}: exit {status}")

    def print_help(self, file: Any = None) -> None:
        raise HelpRequested(self.format_help().rstrip())

    def print_usage(self, file: Any = None) -> None:
        raise HelpRequested(self.format_usage().rstrip())


@record
class Result:
    """What a command returns: ``kind`` names its text renderer (``module.function`` in gdbext/render/),
    ``data`` is the JSON document."""

    kind: str
    data: Any


class Context:
    """Where a command runs: the target (None offline) and session-wide state."""

    def __init__(self, target: Any = None, symbols: Any = None) -> None:
        self.target = target
        self.symbols = symbols
        #: the vector breakpoints of the target (a BreakpointManager), once `break` made one
        self.breakpoints: Any = None
        #: the interrupt stream followed live (a gdbext.follow.LogFollower), under `idtscope run` or attach --log
        self.follower: Any = None
        #: catchpoints (model.intstream.Catch), watched by the follower while the guest runs
        self.catches: list[Any] = []

    def follow(self, follower: Any) -> None:
        """Follow this stream from now on; the session's catchpoints watch it."""
        follower.stream.catches = self.catches
        self.follower = follower

    def require_target(self) -> Any:
        if self.target is None:
            raise UsageError("this command needs a guest: attach with `idtscope --attach HOST:PORT`, "
                             "open a snapshot, or run it inside gdb")
        return self.target


def add_cpu_argument(parser: Any) -> None:
    """The ``--cpu N`` option every live command takes."""
    parser.add_argument("--cpu", type=_cpu_index, metavar="N", help="vCPU index (default: the selected one)")


def _cpu_index(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a vCPU index: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a vCPU index is 0 or more, got {value}")
    return value
