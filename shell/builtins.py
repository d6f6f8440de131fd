"""The shell's own commands: connection, run control and raw look-ups. Each
takes the session and its words and returns the text to show."""

from __future__ import annotations

from gdbext.errors import UsageError
from gdbext.model.numbers import parse_int

from .session import QuitRequested, Session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

SSTEP_DEFAULT = 0x7
SSTEP_WITH_IRQS = 0x5
MAX_DUMP = 4096


def attach(session: Session, args: list[str]) -> str:
    log = None
    if len(args) == 3 and args[1] == "--log":
        log = args[2]
    elif len(args) != 1:
        raise UsageError("attach HOST:PORT [--log FILE]")
    text = session.attach(args[0])
    return text if log is None else f"{text}\n{session.follow(log)}"


def detach(session: Session, args: list[str]) -> str:
    target = session.mi_target()
    session.close()
    return f"detached from {target.address}"


def continue_(session: Session, args: list[str]) -> str:
    try:
        timeout = float(args[0]) if args else None
    except ValueError:
        raise UsageError(f"continue [SECONDS], got {args[0]!r}") from None
    if timeout is not None and timeout <= 0:
        raise UsageError("continue SECONDS must be more than 0")
    core = session.core
    stop = session.mi_target().resume(timeout, watch=core.watch if session.context.catches else None)
    if stop is None:
        return f"still running after {timeout:g} s (use `interrupt`)"
    return session.after_stop(stop)


def interrupt(session: Session, args: list[str]) -> str:
    return session.after_stop(session.mi_target().interrupt())


def stepi(session: Session, args: list[str]) -> str:
    irqs = "--irqs" in args
    words = [a for a in args if a != "--irqs"]
    count = parse_int(words[0], "instruction count") if words else 1
    if not 1 <= count <= 100000:
        raise UsageError(f"stepi takes 1-100000 instructions, got {count}")
    target = session.mi_target()
    if irqs:
        target.console(f"maint packet Qqemu.sstep={SSTEP_WITH_IRQS:#x}")
    try:
        return session.after_stop(target.step_instructions(count))
    finally:
        if irqs:
            target.console(f"maint packet Qqemu.sstep={SSTEP_DEFAULT:#x}")


def examine(session: Session, args: list[str]) -> str:
    physical = "--phys" in args
    words = [a for a in args if a != "--phys"]
    if not words:
        raise UsageError("x ADDR [BYTES] [--phys]")
    target = session.context.require_target()
    address = resolve_address(target, words[0])
    size = parse_int(words[1], "byte count") if len(words) > 1 else 64
    if not 1 <= size <= MAX_DUMP:
        raise UsageError(f"x shows 1-{MAX_DUMP} bytes, got {size}")
    cpu = target.selected_cpu()
    data = target.read_memory(address, size, cpu, physical)
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset:offset + 16]
        where = address + offset
        name = None if physical else target.symbolize(where)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{where:#018x}  {chunk.hex(' '):<47}  {text}" + (f"  <{name}>" if name else ""))
    return "\n".join(lines)


def resolve_address(target, text: str) -> int:
    """A number, or a symbol name from the loaded symbol table."""
    table = target.symbols
    if table is not None and table.address_of(text) is not None:
        return table.address_of(text)
    return parse_int(text, "address (a number, or a symbol after `symbols FILE`)")


def print_(session: Session, args: list[str]) -> str:
    if not args:
        raise UsageError("print EXPR (e.g. print/x $rsp)")
    target = session.mi_target()
    command = "print" + (args[0] if args[0].startswith("/") else " " + args[0])
    rest = " ".join(args[1:])
    return target.console(f"{command} {rest}".rstrip()).rstrip("\n")


def gdb_command(session: Session, args: list[str]) -> str:
    if not args:
        raise UsageError("gdb COMMAND... (e.g. gdb info threads)")
    target = session.mi_target()
    try:
        text = target.console(" ".join(args))
    finally:
        target.cache.clear()
    return text.rstrip("\n")


def quit_(session: Session, args: list[str]) -> str:
    raise QuitRequested


BUILTINS: dict[str, Callable[[Session, list[str]], str]] = {
    "attach": attach,
    "detach": detach,
    "continue": continue_,
    "interrupt": interrupt,
    "stepi": stepi,
    "x": examine,
    "print": print_,
    "gdb": gdb_command,
    "quit": quit_,
}

