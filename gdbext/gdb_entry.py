"""The gdb face of idtscope: one prefix command, ``x86``, with every idtscope
command under it (``x86 idt``, ``x86 tss`` ...), the same parsers, the same
output. Loaded by gdbext/gdbinit.py; only this module and the gdb target
import ``gdb``.

A user mistake, a guest's garbage or a dead QEMU becomes a gdb error of one
line (gdb.GdbError), never a Python traceback.
"""

from __future__ import annotations

import gdb

from .commands import completion, registry
from .errors import IdtscopeError, UsageError
from .session import SessionCore, split
from .target.gdb_python import GdbPythonTarget

PREFIX = "x86"
ABBREVIATIONS = {"Vol", "e.g", "i.e", "Fig"}

_core = SessionCore(GdbPythonTarget(), prog_prefix=f"{PREFIX} ")


def _drop_cache(*_event: object) -> None:
    _core.target.cache.clear()


def _color() -> bool:
    """Colour when gdb styles its own output, stdout is a terminal and NO_COLOR is unset."""
    import os

    try:
        styled = bool(gdb.parameter("style enabled"))
    except gdb.error:
        styled = False
    return styled and os.isatty(1) and "NO_COLOR" not in os.environ


def _width() -> int:
    """gdb's own line width; 0 (no limit) when gdb has none, as in batch mode."""
    try:
        width = gdb.parameter("width")
    except gdb.error:
        return 0
    return width if isinstance(width, int) and width > 20 else 0


def summary(doc: str) -> str:
    """The first sentence of a docstring, on one line (gdb lists that line)."""
    text = " ".join(doc.split())
    start = 0
    while True:
        end = text.find(". ", start)
        if end < 0:
            return text
        if text[:end].rsplit(" ", 1)[-1] not in ABBREVIATIONS:
            return text[:end + 1]
        start = end + 2


class X86Prefix(gdb.Command):
    """x86 interrupt architecture of the guest (idtscope). Type "help x86" for the list."""

    def __init__(self) -> None:
        super().__init__(PREFIX, gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND, prefix=True)


class X86Command(gdb.Command):
    def __init__(self, name: str) -> None:
        self.name = name
        parser = registry.parser(name, prog=f"{PREFIX} {name}")
        self.__doc__ = f"{summary(registry.module(name).__doc__ or name)}\n\n{parser.format_help().rstrip()}"
        super().__init__(f"{PREFIX} {name}", gdb.COMMAND_DATA)

    def invoke(self, argument: str, from_tty: bool) -> None:
        _check_symbol_file()
        _core.color, _core.width = _color(), _width()
        try:
            text = _core.run([self.name] + split(argument))
        except IdtscopeError as error:
            raise gdb.GdbError(str(error)) from None
        gdb.write(text + "\n")

    def complete(self, text: str, word: str) -> list[str]:
        """gdb replaces only ``word`` (its own word breaks split at '-' and '#'),
        so each candidate loses the part of the current word before it."""
        current, candidates = completion.matches(f"{self.name} {text}")
        cut = max(0, len(current) - len(word or ""))
        return [candidate[cut:] for candidate in candidates]


def _report_stop(event: object) -> None:
    """After any stop: the session's breakpoint changes and the report of a matching hit (gdb printed the stop)."""
    _check_symbol_file()
    _core.color, _core.width = _color(), _width()
    thread = gdb.selected_thread()
    plain = None if isinstance(event, gdb.BreakpointEvent) else (thread.num - 1 if thread is not None else 0)
    stop = _core.stop(None, cpu=plain)
    for error in stop.errors:
        gdb.write(f"idtscope: {error}\n", gdb.STDERR)
    text = _core.stop_text(stop, errors=False)
    if text:
        gdb.write(text + "\n")


#: a symbol file gdb loaded whose fit to the running kernel is still to be checked
_unchecked: list[str] = []


def _new_objfile(event: gdb.NewObjFileEvent) -> None:
    """gdb loaded a symbol file (``file``, ``symbol-file``): check it before the next prompt,
    stop or x86 command, once gdb has applied its ``-o`` offset (not yet applied here)."""
    _unchecked[:] = [event.new_objfile.filename]


def _check_symbol_file() -> None:
    """Say when gdb's own symbol file sits at a KASLR slide from the running kernel, with the
    command that loads it where the kernel is, or when it is of another build (symbols/fit.py)."""
    thread = gdb.selected_thread()
    if not _unchecked or thread is None or not thread.is_stopped() or _core.target.symbols is not None:
        return
    path = _unchecked.pop()
    from .machine.placement import place_reader
    from .symbols.fit import fit

    def address_of(name: str) -> int | None:
        try:
            return int(gdb.parse_and_eval(f"(unsigned long long) &{name}"))
        except gdb.error:
            return None

    try:
        handlers, read = place_reader(_core.target)
    except IdtscopeError:
        return
    try:
        found = fit(address_of, handlers, read, path)
    except UsageError as error:
        gdb.write(f"idtscope: {error}; gdb's names from it are wrong (`symbol-file` with no argument drops it)\n")
        return
    if found.slide:
        gdb.write(f"idtscope: {path} does not fit the running kernel as loaded: KASLR moved the kernel by "
                  f"{found.slide:#x} ({found.evidence}). Load it where the kernel is with:\n"
                  f"  symbol-file -o {found.slide:#x} {path}\n")


def register() -> None:
    from .gdb.unwind import install

    install(_core.context)
    X86Prefix()
    for name in registry.names():
        X86Command(name)
    for registry_event in (gdb.events.cont, gdb.events.new_objfile,
                           gdb.events.memory_changed, gdb.events.register_changed):
        registry_event.connect(_drop_cache)
    gdb.events.stop.connect(_report_stop)
    gdb.events.new_objfile.connect(_new_objfile)
    gdb.events.before_prompt.connect(_check_symbol_file)
