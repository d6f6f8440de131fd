"""The session core every front end drives: gdb's ``x86`` commands, the shell,
one-shot ``-c`` use and the MCP server.

It owns what they share: splitting and dispatching a command line, the output
format (one JSON document, or text with colour to a width), and what happens
at a stop (breakpoints moved with the IDT, the report of a matching hit). A
front end only feeds it lines and stops, and prints what it returns.
"""

from __future__ import annotations

import shlex

from .commands import registry
from .commands.base import Context, HelpRequested, Result
from .errors import IdtscopeError, UsageError
from .model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .symbols import SymbolTable
    from .target.base import Target


def split(line: str) -> list[str]:
    """The words of a command line, as a shell would split them."""
    try:
        return shlex.split(line, comments=False)
    except ValueError as error:
        raise UsageError(f"cannot split the command line: {error}") from None


def _own_symbols(target: Target) -> SymbolTable:
    from .machine.kallsyms import own_symbols

    return own_symbols(target)


class SessionCore:
    """The command context of one session and how its output looks.

    ``color`` and ``width`` (0: no limit) are the front end's to set before
    each line; ``prog_prefix`` is how the front end spells a command
    (``"x86 "`` in gdb) in usage and error lines.
    """

    def __init__(self, target: Target | None = None, color: bool = False, width: int = 0,
                 prog_prefix: str = "") -> None:
        self.context = Context()
        self.adopt(target)
        self.color = color
        self.width = width
        self.prog_prefix = prog_prefix

    @property
    def target(self) -> Any:
        return self.context.target

    def adopt(self, target: Target | None) -> None:
        """Make ``target`` the one commands read. A live guest with no symbol table loaded (and
        none in the debugger) is named from its own kernel's kallsyms, if it runs Linux."""
        if target is not None and not target.is_snapshot:
            target.find_symbols = _own_symbols
        self.context.target = target

    def execute(self, argv: list[str]) -> tuple[Result, bool]:
        """Run ``argv`` (command name first); the result and whether JSON was asked for."""
        if not argv:
            raise UsageError("empty command")
        name, rest = argv[0], argv[1:]
        command = registry.module(name)
        args = registry.parser(name, prog=f"{self.prog_prefix}{name}", words=rest).parse_args(rest)
        result = command.run(self.context, args)
        target = self.target
        if target is not None and target.failure is not None:
            raise target.failure
        return result, bool(args.json)

    def run(self, argv: list[str]) -> str:
        """Run one command; its text, its JSON document, or its help. IdtscopeError escapes."""
        try:
            result, as_json = self.execute(argv)
        except HelpRequested as shown:
            return str(shown)
        if as_json:
            import json

            return json.dumps(result.data, indent=2)
        text = self.render(result)
        target = self.target
        if target is not None and target.is_snapshot:
            text = f"({target.label})\n{text}"
        return text

    def render(self, result: Result) -> str:
        from .render import render

        return render(result, color=self.color, width=self.width)

    def stop(self, line: str | None, cpu: int | None = None) -> Stop:
        """What a stop means to the session: breakpoints the IDT moved, the report of a matching hit.

        ``cpu`` asks to judge a plain stop of that vCPU as a possible hit: in real mode with CS != 0
        gdb sees IP, not the linear address a breakpoint was set at, and reports no breakpoint.
        """
        changes: list[str] = []
        errors: list[str] = []
        target = self.target
        if target is not None:
            target.cache.clear()
            self.learn_idt()
            changes += self._place_pending(errors)
        manager = self.context.breakpoints
        if manager is None or manager.target is not target:
            return Stop(line, changes, errors, None)
        try:
            changes += manager.refresh()
            if cpu is not None and manager.table.entries and manager.hit_at(target, cpu) is False:
                changes.append(f"idtscope: the hit on CPU {cpu} does not match its breakpoint's filters")
        except IdtscopeError as error:
            errors.append(str(error))
        hit = manager.take_hit()
        return Stop(line, changes, errors, None if hit is None else self._report(hit))

    def _place_pending(self, errors: list[str]) -> list[str]:
        """A table given before the kernel set its IDT up (at QEMU's -S) is fitted at the first stop
        that shows gates: its slide found then, or dropped in one line when it does not fit."""
        target = self.target
        table = target.symbols
        if table is None or table.fit is None or not table.fit.pending or target.is_running():
            return []
        from .machine.placement import place

        try:
            place(target, table)
        except IdtscopeError as error:
            target.symbols = None
            errors.append(str(error))
            return []
        if table.fit.pending:
            return []
        return [f"idtscope: {table.source} checked against the IDT now set up: {table.fit.evidence}"]

    def learn_idt(self) -> None:
        """Give the trace plugin's follower the stopped guest's IDT, to name deliveries by vector
        (its gates are resolved again only when the table changed). A guest whose IDT cannot be
        read now (mid-setup) keeps the last one learnt."""
        from .follow import TraceFollower

        follower, target = self.context.follower, self.target
        if not isinstance(follower, TraceFollower) or target is None or target.is_running():
            return
        from .commands.trace_stream import entry_points
        from .machine.tables import read_idt

        try:
            view = read_idt(target, target.selected_cpu())
            if view.slots != follower.idt_slots:
                follower.learn_idt(entry_points(target, view), view.slots)
        except IdtscopeError:
            return

    def watch(self) -> bool:
        """Whether the followed stream shows a caught event (polled while the guest runs)."""
        follower = self.context.follower
        if follower is None or not self.context.catches:
            return False
        follower.poll()
        return follower.stream.caught is not None

    def caught(self) -> list[Result]:
        """At a stop: what a catchpoint saw (and, at a triple fault, `why` on the followed log)."""
        follower = self.context.follower
        if follower is None:
            return []
        follower.poll()
        seen = follower.stream.take_caught()
        if seen is None:
            return []
        from .commands.catch import catch_data
        from .commands.events import event_data

        target = self.target
        event = seen.event
        symbol = None if event is None or event.rip is None or target is None else target.symbolize(event.rip)
        number = self.context.catches.index(seen.catch) + 1 if seen.catch in self.context.catches else 0
        results = [Result("stream.caught", {"catch": catch_data(number, seen.catch),
                                            "event": None if event is None else event_data(event),
                                            "where": seen.where, "symbol": symbol})]
        if event is None and target is not None:
            try:
                results.append(self.execute(["why", "--log", str(follower.path)])[0])
            except IdtscopeError as error:
                results.append(Result("frame.message", {"text": f"why: {error}"}))
        return results

    def _report(self, hit: Any) -> Result:
        if hit.stop is None:
            return Result("frame.message", {"text": hit.problem})
        from .commands.stops import stop_data

        data = stop_data(self.target, hit.stop)
        data["breakpoint"] = hit.breakpoint
        return Result("frame.stop", data)

    def stop_text(self, stop: Stop, errors: bool = True) -> str:
        """The stop as text: its line, the breakpoint changes, errors (unless the front end
        shows them apart), the hit's report."""
        lines = [] if stop.line is None else [stop.line]
        lines += stop.changes
        lines += [f"idtscope: {error}" for error in stop.errors] if errors else []
        if stop.report is not None:
            lines.append(self.render(stop.report))
        return "\n".join(lines)


@record
class Stop:
    """A stop as the session saw it: the front end's line (None in gdb, which prints its own),
    breakpoint changes, errors met while judging it, and the report of a matching hit."""

    line: str | None
    changes: list[str]
    errors: list[str]
    report: Result | None

    def data(self) -> dict[str, Any]:
        """The stop as JSON: ``stop``, ``changes``, ``report``."""
        return {"stop": self.line, "changes": list(self.changes),
                "report": None if self.report is None else self.report.data}
