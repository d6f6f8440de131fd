"""Real QEMU + real gdb for the live tests: no mock stands in for either.

- ``shell_session(image)``: the idtscope shell's Session attached over MI to a
  fresh QEMU, stopped at the guest's ready label.
- ``gdb_batch(image, commands)``: a fresh QEMU and a real ``gdb -batch`` that
  sources gdbext/gdbinit.py, runs to the ready label and runs ``commands``;
  returns each command's output, split by markers.
Colours are off everywhere (NO_COLOR, gdb style disabled). Each takes the QEMU and gdb
to run (``toolchain``, tests/live/toolchain.py; the machine's own by default).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from shell.guests.build import GuestImage
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.live.toolchain import MACHINE, Toolchain

ROOT = Path(__file__).resolve().parents[2]
MARKER = "@@idtscope-test@@"


def ready_symbol(image: GuestImage) -> str:
    return image.layout["symbols"]["ready"]


@contextlib.contextmanager
def shell_session(image: GuestImage, smp: int | None = None,
                  toolchain: Toolchain = MACHINE) -> Iterator[tuple[Session, RunningGuest]]:
    with RunningGuest(image, smp=smp, qemu=toolchain.qemu) as guest:
        session = Session(gdb=toolchain.gdb)
        try:
            session.run(f"attach 127.0.0.1:{guest.port}")
            if image.elf is not None:
                session.run(f"symbols {image.elf}")
                session.context.target.console(f"tbreak {ready_symbol(image)}")
            else:
                session.context.target.console(f"tbreak *{image.layout['symbols_linear']['ready']:#x}")
            stop = session.context.target.resume(60)
            assert stop is not None, f"the guest never reached its ready label; serial: {guest.serial()}"
            yield session, guest
        finally:
            session.close()


@contextlib.contextmanager
def linux_shell(directory: Path, arch: str = "amd64",
                toolchain: Toolchain = MACHINE) -> Iterator[tuple[Session, dict[str, int]]]:
    """The shell attached to a booted Debian Linux (tests/guests/linux.py) with its kallsyms
    loaded; yields the session and the symbols as name -> address."""
    from tests.guests.linux import booted_linux

    with booted_linux(directory, arch=arch, qemu=toolchain.qemu) as (guest, system_map, symbols):
        with attached_shell(guest.port, system_map, gdb=toolchain.gdb) as session:
            yield session, symbols


@contextlib.contextmanager
def attached_shell(port: int, symbol_file: Path, gdb: str = "gdb") -> Iterator[Session]:
    """The shell attached (over gdb/MI) to the gdbstub on ``port``, names from ``symbol_file``."""
    session = Session(gdb=gdb)
    try:
        session.run(f"attach 127.0.0.1:{port}")
        session.run(f"symbols {symbol_file}")
        yield session
    finally:
        session.close()


def linux_boot_log(directory: Path, arch: str) -> tuple[dict, Path]:
    """QEMU's -d int log of a Linux boot on two vCPUs, read by idtscope's `log`: returns the
    summary and the log after checking what holds for any such log:
    - every event line counts (a plain regex finds their heads), those another vCPU cut in
      two too (gdbext/model/intlog_split.py); QEMU is stopped mid-run, so only whole lines
      count and a cut last line is reported as truncated;
    - no line is malformed and no triple fault is invented;
    - #BP from kernel INT3 only: int3_selftest() in arch/x86/kernel/alternative.c once per boot,
      and any CPU that meets the INT3 text_poke_bp() plants while it patches code;
    - for every #PF the U/S bit of the error code is set exactly when CPL (and CS.RPL) is 3,
      the processor's own rule (SDM Vol. 3A 4.7)."""
    from tests.guests.linux import booted_linux

    log = directory / "int.log"
    with booted_linux(directory, arch=arch, extra=["-d", "int,cpu_reset", "-D", str(log)]):
        pass
    text = log.read_text(errors="replace")
    whole = text[:text.rfind("\n") + 1]
    event_lines = len(re.findall(r"^ *\d+: v=[0-9a-f]{2} ", whole, flags=re.M))
    summary = log_json(f"log {log}")
    assert summary["total_events"] == summary["events"] == event_lines > 1000
    assert (summary["truncated"] is not None) == (whole != text)
    assert summary["malformed"]["count"] == 0 and summary["triple_faults"] == []
    counts = {row["vector"]: row["count"] for row in summary["vectors"]}
    breakpoints = log_json(f"log {log} --vector 3 --events --limit 1000")["listed"]
    assert len(breakpoints) == counts.get(0x03, 0) >= 1, counts
    assert all(event["kind"] == "software" and event["cpl"] == 0 for event in breakpoints), breakpoints
    faults = log_json(f"log {log} --vector 14 --events --limit 100000")["listed"]
    assert len(faults) == counts[0x0E] > 0
    for event in faults:
        assert bool(event["error_code"] & 0x4) == (event["cpl"] == 3) == (event["cs"] & 3 == 3), event
    return summary, log


def log_json(command: str) -> dict:
    """One `idtscope -c "COMMAND --json"` run as a user would, offline."""
    run = subprocess.run([sys.executable, "-m", "shell", "-c", f"{command} --json"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def json_documents(text: str) -> list:
    """The JSON documents that one-shot commands printed one after another."""
    decoder, documents = json.JSONDecoder(), []
    position = len(text) - len(text.lstrip())
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        position = len(text) - len(text[position:].lstrip())
    return documents


def shell_json(session: Session, command: str) -> dict:
    return json.loads(session.run(f"{command} --json"))


def gdb_batch(image: GuestImage, commands: list[str], smp: int | None = None, timeout: int = 90,
              toolchain: Toolchain = MACHINE) -> list[str]:
    """Outputs of ``commands`` run by a real gdb inside one stop at the ready label."""
    if image.elf is not None:
        setup = [f"symbol-file {image.elf}", f"tbreak {ready_symbol(image)}"]
    else:
        setup = [f"tbreak *{image.layout['symbols_linear']['ready']:#x}"]
    with RunningGuest(image, smp=smp, qemu=toolchain.qemu) as guest:
        return gdb_run(guest.port, setup + ["continue"], commands, timeout, gdb=toolchain.gdb)


def gdb_run(port: int, setup: list[str], commands: list[str], timeout: int = 90, gdb: str = "gdb") -> list[str]:
    """A real ``gdb -batch`` with idtscope sourced, attached to the stub on ``port``: runs
    ``setup``, then ``commands``, and returns each command's output, split by markers."""
    argv = [gdb, "-nx", "-batch", "-ex", "set style enabled off", "-ex", "set pagination off",
            "-ex", "set width 0", "-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}",
            "-ex", f"target remote 127.0.0.1:{port}"]
    for command in setup:
        argv += ["-ex", command]
    for command in commands:
        argv += ["-ex", f"echo {MARKER}\\n", "-ex", command]
    argv += ["-ex", f"echo {MARKER}\\n"]
    env = dict(os.environ, NO_COLOR="1")
    run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    parts = run.stdout.split(MARKER + "\n")
    assert len(parts) == len(commands) + 2, f"gdb output did not split into {len(commands)} answers:\n{output}"
    return parts[1:-1]


def gdb_json(image: GuestImage, commands: list[str], smp: int | None = None,
             toolchain: Toolchain = MACHINE) -> list[dict]:
    outputs = gdb_batch(image, [f"x86 {c} --json" for c in commands], smp=smp, toolchain=toolchain)
    return [json.loads(text) for text in outputs]


def gdb_without_python() -> Path:
    """A real gdb built without Python: Debian's gdb-minimal, unpacked beside the
    test builds (it conflicts with the gdb package, so it is not installed)."""
    home = ROOT / "tests" / "guests" / "build" / "gdb-minimal"
    binary = home / "root" / "usr" / "bin" / "gdb"
    if not binary.exists():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "gdb-minimal"], cwd=home, check=True, capture_output=True, timeout=300)
        package = next(home.glob("gdb-minimal_*.deb"))
        subprocess.run(["dpkg", "-x", str(package), str(home / "root")], check=True, timeout=120)
    return binary
