"""Run one command line: split it, parse it, run the command, render the result.

The same function serves the gdb commands, the shell and one-shot ``-c`` use.
"""

from __future__ import annotations

import shlex

from ..errors import UsageError
from . import registry
from .base import Context, Result


def split(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False)
    except ValueError as error:
        raise UsageError(f"cannot split the command line: {error}") from None


def execute(context: Context, argv: list[str], prog_prefix: str = "") -> tuple[Result, bool]:
    """Run ``argv`` (command name first); return the result and whether JSON was asked for."""
    if not argv:
        raise UsageError("empty command")
    name, rest = argv[0], argv[1:]
    mod = registry.module(name)
    args = registry.parser(name, prog=f"{prog_prefix}{name}", words=rest).parse_args(rest)
    return mod.run(context, args), bool(args.json)


def run_line(context: Context, line: str, prog_prefix: str = "", color: bool = False) -> str:
    """Run a command line and return the text to print."""
    result, as_json = execute(context, split(line), prog_prefix)
    if as_json:
        import json

        return json.dumps(result.data, indent=2)
    from ..render import render

    return render(result, color=color)
