"""The `idtscope` command: one-shot commands with -c, a script on stdin, or the prompt."""

from __future__ import annotations

import argparse
import sys

from gdbext import __version__
from gdbext.commands.base import help_formatter
from gdbext.errors import IdtscopeError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gdbext.target.mi import MiClient

    from .guests.run import RunningGuest
    from .session import Session

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idtscope",
        description="Read and explain the x86 interrupt architecture: offline decoders and a shell.",
        epilog=("Examples:\n  idtscope --demo\n  idtscope -c \"explain 14\"\n  idtscope -c \"decode pf 0x6 --json\"\n"
                "  idtscope --attach localhost:1234 --symbols vmlinux -c \"idt --json\"\n"
                "Sub-commands:\n  idtscope mcp [--attach HOST:PORT | --snapshot FILE | --demo]   serve the commands "
                "to an AI agent (MCP, stdio)\n  idtscope run [OPTIONS] -- QEMU...   start QEMU for "
                "idtscope, attach, catch a triple fault (idtscope run --help)\n"
                "  idtscope gdbinit   print the line that loads idtscope into gdb"),
        formatter_class=help_formatter,
    )
    parser.add_argument("--attach", metavar="HOST:PORT", help="connect to a QEMU gdbstub (qemu -s: localhost:1234)")
    parser.add_argument("--snapshot", metavar="FILE", help="open a saved snapshot (read-only, no guest needed)")
    parser.add_argument("--symbols", metavar="FILE", help="an ELF or System.map for handler names")
    parser.add_argument("--log", metavar="FILE", help="with --attach: follow this QEMU -d int log (events, stats, "
                        "catch)")
    parser.add_argument("--gdb", metavar="PATH", help="the gdb to drive (default: gdb); also makes one-shot "
                        "read-only commands go through gdb instead of straight to QEMU's gdbstub")
    parser.add_argument("--demo", action="store_true",
                        help="build and boot the bundled long-mode guest in QEMU, attach, open the shell")
    parser.add_argument("-c", dest="commands", action="append", metavar="CMD", default=[],
                        help="run CMD and exit (repeatable; stops at the first error with exit status 2)")
    parser.add_argument("--no-color", action="store_true", help="never colour the output")
    parser.add_argument("--version", action="version", version=f"idtscope {__version__}")
    return parser


def run_commands(session, commands: list[str]) -> int:
    from .session import QuitRequested, report

    for command in commands:
        try:
            text = session.run(command)
        except QuitRequested:
            return 0
        except IdtscopeError as error:
            report(error)
            return EXIT_ERROR
        if text:
            print(text, flush=True)
    return 0


def run_script(session, stream) -> int:
    """Run lines from a non-terminal stdin; report errors and go on; exit 2 if any failed."""
    from .session import QuitRequested, report

    status = 0
    for line in stream:
        try:
            text = session.run(line.strip())
        except QuitRequested:
            break
        except IdtscopeError as error:
            report(error)
            status = EXIT_ERROR
            continue
        if text:
            print(text, flush=True)
    return status


def connect(session, args: argparse.Namespace, greet: bool | None = None) -> RunningGuest | None:
    """Attach as the options ask; return the demo guest to stop at exit, if any.

    The demo greets with the first commands to try unless told (default: only when
    there are no -c commands)."""
    guest: RunningGuest | None = None
    if args.demo:
        from .demo import start

        guest = start(session, greet=not args.commands if greet is None else greet)
    elif args.attach and direct(args):
        session.attach_direct(args.attach)
    elif args.attach:
        session.run(f"attach {args.attach}")
    elif args.snapshot:
        session.open_snapshot(args.snapshot)
    if args.log:
        if not args.attach:
            raise UsageError("--log follows the log of a QEMU you attach to: give --attach HOST:PORT too "
                             "(offline: `events --log FILE`, `log FILE`)")
        session.follow(args.log)
    if args.symbols:
        if session.context.target is None or session.context.target.is_snapshot:
            raise UsageError("--symbols needs --attach (a snapshot keeps the names it was saved with)")
        session.run(f"symbols {args.symbols}")
    return guest


def preload(commands: list[str]) -> None:
    """Import the modules the one-shot commands need (run while gdb boots)."""
    from gdbext.commands import registry
    from gdbext.render import render  # noqa: F401

    for command in commands:
        name = command.split(maxsplit=1)[0] if command.strip() else ""
        if name in registry.names():
            registry.module(name)


def read_only(command: str) -> bool:
    """Whether a command line only reads: a one-shot run of such lines alone needs no gdb."""
    from gdbext.commands import registry

    name = command.split(maxsplit=1)[0]
    return name == "help" or (name in registry.names() and registry.read_only(name))


def direct(args: argparse.Namespace) -> bool:
    """One-shot read-only commands talk to QEMU's gdbstub directly: gdb's own
    start-up would be most of their run time."""
    return bool(args.attach and args.commands and args.gdb is None
                and all(read_only(c) for c in args.commands if c.strip()))


def early_gdb(args: argparse.Namespace) -> MiClient | None:
    """For one-shot attach, start gdb before anything else is imported, so that
    it boots while Python loads the rest."""
    if not (args.attach and args.commands) or direct(args):
        return None
    from gdbext.target.mi import MiClient

    try:
        return MiClient(args.gdb or "gdb")
    except IdtscopeError:
        return None


def mcp_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idtscope mcp", formatter_class=help_formatter,
        description="Serve idtscope's commands as Model Context Protocol tools over stdin/stdout, for an AI "
                    "agent. Each tool returns the command's JSON document. Attach here or with the `attach` tool.")
    parser.add_argument("--attach", metavar="HOST:PORT", help="attach (through gdb) to a QEMU gdbstub first")
    parser.add_argument("--snapshot", metavar="FILE", help="open a saved snapshot first")
    parser.add_argument("--symbols", metavar="FILE", help="an ELF, System.map or kallsyms text for handler names")
    parser.add_argument("--log", metavar="FILE", help="with --attach: follow this QEMU -d int log (events, stats)")
    parser.add_argument("--gdb", metavar="PATH", help="the gdb to drive (default: gdb)")
    parser.add_argument("--demo", action="store_true", help="boot the bundled demo guest and attach to it first")
    parser.set_defaults(commands=[])
    return parser


def mcp_main(argv: list[str]) -> int:
    args = mcp_parser().parse_args(argv)
    from .mcp_server import serve
    from .session import Session, report

    session = Session(gdb=args.gdb or "gdb")
    guest: RunningGuest | None = None
    try:
        try:
            guest = connect(session, args, greet=False)
        except IdtscopeError as error:
            report(error)
            return EXIT_ERROR
        return serve(session)
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()
        if guest is not None:
            guest.stop()


def gdbinit_main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="idtscope gdbinit", description="Print the line that loads idtscope into gdb: "
                            "put it in ~/.gdbinit (gdb's Python must be able to import this install).").parse_args(argv)
    from pathlib import Path

    import gdbext

    print(f"source {Path(gdbext.__file__).resolve().parent / 'gdbinit.py'}")
    return 0


def run_main(argv: list[str]) -> int:
    from .run import run_main as start

    return start(argv)


SUBCOMMANDS = {"mcp": mcp_main, "gdbinit": gdbinit_main, "run": run_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    args = build_parser().parse_args(argv)
    spare = early_gdb(args)
    from .session import Session, want_color

    session = Session(color=not args.no_color and want_color(sys.stdout), gdb=args.gdb or "gdb",
                      warmup=lambda: preload(args.commands), spare_client=spare)
    guest: RunningGuest | None = None
    status = EXIT_ERROR
    try:
        guest, status = serve(session, args)
    finally:
        status = leave(session, guest, status)
    return status


def serve(session: Session, args: argparse.Namespace) -> tuple[RunningGuest | None, int]:
    """Connect as asked, then run the commands, the stdin script or the prompt: (demo guest, exit status)."""
    from .session import report

    guest: RunningGuest | None = None
    try:
        guest = connect(session, args)
        if args.commands:
            return guest, run_commands(session, args.commands)
        if not sys.stdin.isatty():
            return guest, run_script(session, sys.stdin)
        from .repl import interact

        return guest, interact(session)
    except IdtscopeError as error:
        report(error)
        return guest, EXIT_ERROR
    except KeyboardInterrupt:
        return guest, 130
    except BrokenPipeError:
        return guest, 0


def leave(session: Session, guest: RunningGuest | None, status: int) -> int:
    """Let go of the target (and stop the demo guest); a failure to leave the guest as
    found is one more line and a non-zero status."""
    from .session import report

    try:
        session.close()
    except IdtscopeError as error:
        report(error)
        status = status or EXIT_ERROR
    finally:
        if guest is not None:
            guest.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
