"""`idtscope run [OPTIONS] -- QEMU-COMMAND-LINE`: start the user's QEMU with what idtscope needs,
attach, follow its interrupt log, and end QEMU when the session ends.

Added to the command line (and said so): a gdbstub on a free loopback port with
-S, ``-d int,cpu_reset -D LOG`` (QEMU logs interrupts only under TCG), the
idtscope trace plugin when QEMU can load it (TCG, QEMU 10.2 or later, a
qemu-plugin.h to build it against: docs/trace.md; else one line says why), and
``-no-reboot -action reboot=shutdown,shutdown=pause`` so that a triple fault
leaves the machine paused with its final state readable instead of resetting
it. Options the user gave that would collide are adapted (their -d list gets
int,cpu_reset; their -D file becomes the session log) or refused with one line
(their own gdbstub, -action reboot=/shutdown=, -daemonize).

QEMU runs in its own process group and gets SIGKILL if idtscope itself dies
(PR_SET_PDEATHSIG); at the session's end, on Ctrl-C, on an error or a SIGTERM
its group is terminated, then killed.

With the plugin, events, stats and catch exception follow its stream (the vCPU of each
event, times, handler durations and nesting); the log stays, for the triple fault and the
chain of exceptions before it that `why` explains: the plugin's callback is given no
vector, so the exceptions raised while delivering another (QEMU reports them with no
handler entered) cannot be named from its stream, and it sees no CPU reset.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gdbext.commands.base import help_formatter
from gdbext.errors import IdtscopeError, UsageError
from gdbext.model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .session import Session

EXIT_ERROR = 2
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
#: log categories idtscope needs: interrupts and exceptions, and the "Triple fault" line of a reset
LOG_ITEMS = ("int", "cpu_reset")
ACTION = "reboot=shutdown,shutdown=pause"
GDBSTUB_OPTIONS = ("-s", "-gdb")
PR_SET_PDEATHSIG = 1
KVM_LOSS = ("under KVM QEMU logs no interrupts (-d int is TCG only): events, stats and catch exception see "
            "nothing, and why has no chain to explain; the gdbstub has 4 hardware breakpoints")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idtscope run", formatter_class=help_formatter,
        description="Start QEMU with a gdbstub, its interrupt log followed and a triple fault caught, then open "
                    "the shell on it (or run -c commands); QEMU ends with the session.",
        epilog="Example:\n  idtscope run --serial serial.txt -c continue -- qemu-system-x86_64 -accel tcg "
               "-display none -kernel kernel.elf")
    parser.add_argument("--serial", metavar="FILE", help="the guest's serial port into FILE (default: this terminal)")
    parser.add_argument("--session-log", metavar="FILE",
                        help="where QEMU writes its -d int log (default: a new temporary directory; kept)")
    parser.add_argument("--symbols", metavar="FILE", help="an ELF or System.map for handler names")
    parser.add_argument("--gdb", metavar="PATH", default="gdb", help="the gdb to drive (default: gdb)")
    parser.add_argument("--no-catch", action="store_true", help="do not catch triple faults")
    parser.add_argument("--no-plugin", action="store_true",
                        help="do not load the trace plugin: events come from the -d int log")
    parser.add_argument("--plugin-header", metavar="FILE",
                        help="the qemu-plugin.h of this QEMU to build the trace plugin against "
                             "(default: $IDTSCOPE_QEMU_PLUGIN_H, a system header, or Debian's source)")
    parser.add_argument("-c", dest="commands", action="append", metavar="CMD", default=[],
                        help="run CMD and exit (repeatable; stops at the first error with exit status 2)")
    parser.add_argument("--no-color", action="store_true", help="never colour the output")
    parser.add_argument("qemu", nargs=argparse.REMAINDER, metavar="-- QEMU-COMMAND-LINE")
    return parser


@record
class QemuLaunch:
    """The QEMU argv to start, what was added (as words), notes for the user, and the facts read from it."""

    argv: list[str]
    added: list[str]
    notes: list[str]
    log: str
    cpus: int
    kvm: bool


def launch_command(qemu: list[str], port: int, log: str, serial: str | None, plugin: str | None = None) -> QemuLaunch:
    """The user's QEMU command with idtscope's options; UsageError for options that collide."""
    if not qemu:
        raise UsageError("idtscope run needs a QEMU command line after `--` (e.g. -- qemu-system-x86_64 -kernel k)")
    argv = [qemu[0]]
    notes: list[str] = []
    debug_items: list[str] = []
    session_log = log
    stopped = reboot_off = has_serial = kvm = False
    cpus = 1
    words = iter(qemu[1:])
    for word in words:
        option = "-" + word.lstrip("-") if word.startswith("-") else word
        if option in GDBSTUB_OPTIONS:
            raise UsageError(f"drop {word} from the QEMU command line: idtscope run adds its own gdbstub "
                             "(on a free loopback port)")
        if option == "-daemonize":
            raise UsageError("drop -daemonize: idtscope run owns QEMU's life and ends it with the session")
        if option in ("-d", "-D", "-action", "-accel", "-machine", "-M", "-smp", "-serial"):
            value = next(words, None)
            if value is None:
                raise UsageError(f"{word} needs a value")
            if option == "-d":
                debug_items += [item for item in value.split(",") if item]
                continue
            if option == "-D":
                session_log = value
                notes.append(f"your -D {value} is the session log")
                continue
            if option == "-action" and any(part.split("=")[0] in ("reboot", "shutdown") for part in value.split(",")):
                raise UsageError(f"drop -action {value}: idtscope run sets -action {ACTION} so that a triple "
                                 "fault leaves the machine paused")
            kvm = kvm or _kvm(option, value)
            if option == "-smp":
                cpus = _cpus(value)
            if option == "-serial":
                if serial is not None:
                    raise UsageError(f"--serial and the QEMU command's own -serial {value} collide: keep one")
                has_serial = True
            argv += [word, value]
            continue
        if option == "-enable-kvm":
            kvm = True
        elif option == "-S":
            stopped = True
        elif option == "-no-reboot":
            reboot_off = True
        elif option == "-nographic":
            has_serial = True
        argv.append(word)
    added = ["-gdb", f"tcp:127.0.0.1:{port}"] + ([] if stopped else ["-S"])
    items = debug_items + [item for item in LOG_ITEMS if item not in debug_items]
    added += ["-d", ",".join(items)]
    if session_log == log:
        added += ["-D", log]
    if plugin is not None:
        added += ["-plugin", plugin]
    added += ([] if reboot_off else ["-no-reboot"]) + ["-action", ACTION]
    if serial is not None:
        added += ["-serial", f"file:{serial}"]
    elif not has_serial:
        added += ["-serial", "stdio"]
    if kvm:
        notes.append(KVM_LOSS)
    return QemuLaunch(argv + added, added, notes, session_log, cpus, kvm)


def _kvm(option: str, value: str) -> bool:
    """Whether ``-accel kvm`` or ``-machine ...,accel=kvm`` asks for KVM."""
    if option == "-accel":
        return value.split(",")[0] == "kvm"
    return option in ("-machine", "-M") and "accel=kvm" in value.split(",")


def _cpus(value: str) -> int:
    """The vCPU count of an -smp value (``4`` or ``cpus=4,...``; 1 when it does not say)."""
    for part in value.split(","):
        key, _, number = part.rpartition("=")
        if key in ("", "cpus") and number.isdigit():
            return int(number)
    return 1


def trace_path(log: str) -> str:
    """Where the plugin writes its stream: beside the session log, as ``NAME.trace``."""
    path = Path(log).with_suffix(".trace")
    return str(path if path != Path(log) else Path(log + ".trace"))


def plugin_option(library: Path, trace: str) -> str:
    """``-plugin``'s value: QEMU's option syntax doubles a comma inside a value."""
    return f"{str(library).replace(',', ',,')},out={trace.replace(',', ',,')}"


def plugin_for(qemu: list[str], kvm: bool, header: str | None) -> tuple[Path | None, str]:
    """The trace plugin built for this QEMU, or None and why not (in a few words)."""
    if kvm:
        return None, "KVM runs the guest: TCG plugins see nothing"
    from gdbext.plugin.build import PluginBuildError, build_plugin

    try:
        return build_plugin(qemu, header=None if header is None else Path(header)), ""
    except PluginBuildError as error:
        return None, str(error)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Qemu:
    """The QEMU process, in its own process group; ``end`` terminates the group, then kills it."""

    def __init__(self, argv: list[str]) -> None:
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        except OSError as error:
            raise UsageError(f"cannot start {argv[0]}: {error.strerror or error}") from None

    def wait_for_stub(self, port: int, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UsageError(f"QEMU exited (status {self.proc.returncode}) before its gdbstub listened "
                                 "(its own message is above)")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise UsageError(f"QEMU's gdbstub did not listen on port {port} within {timeout:.0f} s")

    def end(self) -> None:
        if self.proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                continue


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGKILL when idtscope dies (Linux prctl)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    qemu_words = args.qemu[1:] if args.qemu[:1] == ["--"] else args.qemu
    from .session import Session, report, want_color

    session = Session(color=not args.no_color and want_color(sys.stdout), gdb=args.gdb)
    qemu: Qemu | None = None
    launch: QemuLaunch | None = None
    trace: str | None = None
    status = EXIT_ERROR
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        try:
            port = free_port()
            checked = launch_command(qemu_words, port, args.session_log or "LOG", args.serial)  # refuse before any file
            log = args.session_log or str(Path(tempfile.mkdtemp(prefix="idtscope-run-")) / "qemu.log")
            library, why_not = (None, "--no-plugin") if args.no_plugin else plugin_for(qemu_words, checked.kvm,
                                                                                         args.plugin_header)
            trace = None if library is None else trace_path(log)
            launch = launch_command(qemu_words, port, log, args.serial,
                                    None if library is None or trace is None else plugin_option(library, trace))
            say(f"idtscope run: added {' '.join(launch.added)}"
                + ("" if trace is None else " (the idtscope trace plugin: events, times, handler durations)"))
            if trace is None:
                say(f"idtscope run: no trace plugin ({why_not}): events come from the -d int log")
            for note in launch.notes:
                say(f"idtscope run: {note}")
            qemu = Qemu(launch.argv)
            qemu.wait_for_stub(port)
            say(session.attach(f"127.0.0.1:{port}"))
            say(session.follow(launch.log, cpu=0 if launch.cpus == 1 else None, trace=trace))
            if args.symbols:
                say(session.run(f"symbols {args.symbols}"))
            if not args.no_catch:
                session.run("catch triple-fault")
            status = serve(session, args.commands)
        except IdtscopeError as error:
            report(error)
        except KeyboardInterrupt:
            status = 130
    finally:
        try:
            session.close()
        except IdtscopeError as error:
            report(error)
        if qemu is not None:
            qemu.end()
        if launch is not None and Path(launch.log).exists():
            say(f"idtscope run: QEMU ended; its log is {launch.log}"
                + (f", the plugin's trace {trace}" if trace is not None and Path(trace).exists() else ""))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def serve(session: Session, commands: list[str]) -> int:
    from .cli import run_commands, run_script

    if commands:
        return run_commands(session, commands)
    if not sys.stdin.isatty():
        return run_script(session, sys.stdin)
    from .repl import interact

    return interact(session)


def say(text: str) -> None:
    """What `run` did, on stderr (stdout is the commands' own)."""
    print(text, file=sys.stderr, flush=True)
