"""One shell session: the command context plus the shell's own commands (help, quit).

The interactive prompt, stdin scripts and ``-c`` all feed lines to
``Session.run``, so each behaves the same way.
"""

from __future__ import annotations

import os
import sys

from gdbext.commands import registry
from gdbext.commands.base import HelpRequested
from gdbext.errors import IdtscopeError, UsageError
from gdbext.session import SessionCore, split

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

    from gdbext.commands.base import Context
    from gdbext.target.gdb_mi import GdbMiTarget
    from gdbext.target.mi import MiClient

SHELL_COMMANDS = {
    "attach": "attach HOST:PORT [--log FILE]: connect to a QEMU gdbstub (qemu -s is localhost:1234); --log "
              "follows its -d int log",
    "detach": "detach: leave the guest running and drop the connection",
    "continue": "continue [SECONDS]: run the guest until it stops (breakpoint) or SECONDS pass",
    "interrupt": "interrupt: stop a running guest (Ctrl-C while `continue` waits does the same)",
    "stepi": "stepi [N] [--irqs]: execute N instructions; --irqs lets interrupts in (QEMU masks them)",
    "x": "x ADDR [BYTES] [--phys]: dump memory as hex with the symbol of each line",
    "print": "print EXPR: evaluate an expression with gdb (registers: $rip, $rsp, ...)",
    "gdb": "gdb COMMAND...: pass a raw command to gdb and show what it printed",
    "help": "help [COMMAND]: list the commands, or show one command's options",
    "quit": "quit (or exit, Ctrl-D): leave the shell",
}


class QuitRequested(Exception):
    """The user asked to leave."""


def want_color(stream: object) -> bool:
    """Colour only on a terminal and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and bool(getattr(stream, "isatty", lambda: False)())


class Session:
    """One shell over the session core (gdbext/session.py): the shell's own commands, and which gdb to drive.

    ``warmup`` is work to do while gdb starts and connects (the one-shot mode
    imports the commands it will run); ``spare_client`` is a gdb already
    started for the first attach (one-shot mode starts it before the imports).
    """

    def __init__(self, color: bool = False, gdb: str = "gdb", warmup: Callable[[], None] | None = None,
                 spare_client: MiClient | None = None) -> None:
        self.core = SessionCore(color=color)
        self.gdb = gdb
        self.warmup = warmup
        self.spare_client = spare_client
        #: the last stop as data (the stop line, breakpoint changes, the hit's report), for `idtscope mcp`
        self.last_stop: dict | None = None

    def run(self, line: str) -> str:
        """Run one line; return its text. IdtscopeError escapes for the caller to report."""
        argv = split(line)
        if not argv or argv[0].startswith("#"):
            return ""
        name = argv[0]
        if name.startswith(("print/", "p/")):
            name, _, form = name.partition("/")
            argv = [name, "/" + form] + argv[1:]
        if name == "p":
            name = "print"
        if name == "exit":
            raise QuitRequested
        if name == "help":
            return self.help(argv[1:])
        if name in SHELL_COMMANDS:
            from .builtins import BUILTINS

            return BUILTINS[name](self, argv[1:])
        self.core.width = self.width()
        return self.core.run(argv)

    @property
    def context(self) -> Context:
        return self.core.context

    @staticmethod
    def width() -> int:
        """The terminal's width when output goes to one; 0 (no limit) into a pipe or file."""
        if not sys.stdout.isatty():
            return 0
        import shutil

        return shutil.get_terminal_size((100, 24)).columns

    def mi_target(self) -> GdbMiTarget:
        from gdbext.target.gdb_mi import GdbMiTarget

        target = self.context.target
        if target is not None and target.is_snapshot:
            raise UsageError(f"{target.label} is read-only: nothing runs in a snapshot")
        if not isinstance(target, GdbMiTarget):
            raise UsageError("not attached: use `attach HOST:PORT` (or idtscope --attach HOST:PORT)")
        return target

    def open_snapshot(self, path: str) -> str:
        from gdbext.target.snapshot import SnapshotTarget

        self.close()
        self.core.adopt(SnapshotTarget.open(path))
        return f"opened {path}: {len(self.context.target.cpus())} vCPUs (read-only)"

    def attach_direct(self, address: str) -> str:
        """Attach without gdb (read-only commands only): see gdbext/target/rsp.py."""
        from gdbext.target.rsp import RspTarget

        self.close()
        self.core.adopt(RspTarget.attach(address))
        return f"attached to {address} directly ({len(self.context.target.cpus())} vCPUs, stopped)"

    def attach(self, address: str) -> str:
        from gdbext.target.gdb_mi import GdbMiTarget

        self.close()
        client, self.spare_client = self.spare_client, None
        self.core.adopt(GdbMiTarget.attach(address, gdb=self.gdb, meanwhile=self.warmup, client=client))
        state = "running" if self.context.target.is_running() else "stopped"
        return f"attached to {address} ({len(self.context.target.cpus())} vCPUs, {state})"

    def after_stop(self, line: str) -> str:
        """The stop line, then breakpoint changes, the report of a matching hit and what a catchpoint saw."""
        self.core.width = self.width()
        stop = self.core.stop(line)
        self.last_stop = stop.data()
        caught = self.core.caught()
        if caught:
            self.last_stop["caught"] = [result.data for result in caught]
        return "\n".join([self.core.stop_text(stop)] + [self.core.render(result) for result in caught])

    def follow(self, path: str, cpu: int | None = None, trace: str | None = None) -> str:
        """Follow QEMU's -d int log at ``path`` as the interrupt stream (events, stats, catch); with
        ``trace``, the trace plugin's stream gives the events and the log only its triple faults."""
        from gdbext.follow import LogFollower, TraceFollower

        if trace is None:
            self.context.follow(LogFollower(path, cpu))
            return f"following {path} (events, stats, catch)"
        self.context.follow(TraceFollower(trace, path))
        self.core.learn_idt()
        return f"following {trace} (events, stats, catch) and {path} (triple faults)"

    def stream_status(self) -> str:
        """The prompt's short live count: events so far, and the busiest vector."""
        follower = self.context.follower
        if follower is None:
            return ""
        try:
            follower.poll()
        except IdtscopeError:
            return " ev ?"
        stream = follower.stream
        if not stream.total:
            return " ev 0"
        from gdbext.model.vectors import vector

        busiest = max(stream.by_vector, key=stream.by_vector.__getitem__)
        name = vector(busiest).mnemonic or f"{busiest:#04x}"
        faults = f" TF{stream.triple_faults}" if stream.triple_faults else ""
        return f" ev {stream.total} ({name} {stream.by_vector[busiest]}){faults}"

    def status(self) -> str:
        """Where the user is, for the prompt: target, vCPU, mode, running or stopped."""
        return self._where() + self.stream_status()

    def _where(self) -> str:
        target = self.context.target
        if target is None:
            return "offline"
        if target.is_snapshot:
            return f"{target.label} cpu{target.selected_cpu()}"
        try:
            if target.is_running():
                return f"{target.label} running"
            from gdbext.machine.cpu import registers

            cpu = target.selected_cpu()
            return f"{target.label} cpu{cpu} {registers(target, cpu).mode.value} stopped"
        except IdtscopeError:
            return f"{target.label} ?"

    def close(self) -> None:
        """Let go of the target and the stream (a TargetError says how the target was left; the session
        is free either way)."""
        target, self.context.target = self.context.target, None
        self.context.follower = None
        if target is not None:
            target.close()

    def help(self, args: list[str]) -> str:
        if args and args[0] in SHELL_COMMANDS:
            return SHELL_COMMANDS[args[0]]
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


def report(error: IdtscopeError) -> None:
    print(f"error: {error}", file=sys.stderr)
