"""A read-only command leaves QEMU as it found it (one-shot, shell and gdb).

The truth comes from outside idtscope: QEMU's own monitor on a separate socket says
whether the guest runs (asking there does not stop it, unlike a gdbstub client), and a
fresh raw gdb reads guest memory before and after:
- on Debian's Linux (amd64, and i386 with PAE), the IDT at its virtual address in the
  cpu_entry_area, far from its physical one, as QEMU's monitor gives it: a gdbstub left
  in physical-memory mode makes that gdb fail to read it, or read other bytes;
- on long64, the per-vCPU counter of the local APIC timer's interrupts: it moves on only
  while the guest runs.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shell.guests.build import build
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.guests.linux import booted_linux
from tests.live.harness import ROOT, gdb_run


def monitor(path: Path, command: str) -> str:
    """What QEMU's human monitor on a Unix socket prints for ``command``."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        text = b""
        while not text.endswith(b"(qemu) "):
            text += sock.recv(4096)
        sock.sendall(command.encode() + b"\n")
        text = b""
        while not text.endswith(b"(qemu) "):
            text += sock.recv(65536)
    return text.decode(errors="replace")


def monitor_status(path: Path) -> str:
    return re.search(r"VM status: [^\r\n]*", monitor(path, "info status"))[0]


def status_within(path: Path, wanted: str, seconds: float = 5.0) -> str:
    """The status once it is ``wanted`` (a gdb that exits detaches a moment later), or as it is then."""
    deadline = time.monotonic() + seconds
    while (status := monitor_status(path)) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return status


def raw_read(port: int, expression: str, setup: tuple[str, ...] = ()) -> str:
    """A plain gdb (no idtscope) attaches, reads two quadwords at ``expression`` and detaches
    (long64's ``timer_ticks``: one counter per vCPU)."""
    argv = ["gdb", "-nx", "-batch", *[a for c in setup for a in ("-ex", c)], "-ex", f"target remote 127.0.0.1:{port}",
            "-ex", f"x/2gx {expression}", "-ex", "detach"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    words = re.findall(r"^0x[0-9a-f]+(?: <[^>]*>)?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)$", run.stdout, flags=re.M)
    assert len(words) == 1, run.stdout + run.stderr
    return " ".join(words[0])


def hmp(directory: Path) -> tuple[Path, list[str]]:
    """A Unix socket path for QEMU's human monitor and the QEMU options that open it."""
    path = directory / "hmp.sock"
    return path, ["-monitor", f"unix:{path},server=on,wait=off"]


@pytest.fixture(scope="module", params=["amd64", "i386"])
def linux(request, tmp_path_factory):
    """(gdbstub port, monitor socket, IDT base as QEMU's monitor prints it, arch) of a running Linux."""
    directory = tmp_path_factory.mktemp(f"leave-as-found-{request.param}")
    socket_path, options = hmp(directory)
    with booted_linux(directory, arch=request.param, extra=options) as (guest, _, _):
        idt = int(re.search(r"IDT=\s*([0-9a-f]+)", monitor(socket_path, "info registers"))[1], 16)
        assert monitor_status(socket_path) == "VM status: running"
        yield guest.port, socket_path, idt, request.param


def one_shot(port: int, command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{port}", "-c", command],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_a_one_shot_before_any_gdb_leaves_the_guest_running(linux):
    port, socket_path, _, _ = linux
    run = one_shot(port, "lint")
    assert run.returncode == 0, run.stderr
    assert monitor_status(socket_path) == "VM status: running"


@pytest.mark.parametrize("command", ["idt", "lint", "walk IDT", "ist", "tss --json", "frame"])
def test_a_one_shot_after_gdb_leaves_virtual_reads_and_a_running_guest(linux, command):
    """`frame` fails (no handler entry here): the guest is left as found all the same."""
    port, socket_path, idt, _ = linux
    before = raw_read(port, f"{idt:#x}")
    run = one_shot(port, command.replace("IDT", f"{idt:#x}"))
    assert run.returncode == (2 if command == "frame" else 0), run.stderr
    assert "Traceback" not in run.stderr
    assert monitor_status(socket_path) == "VM status: running"
    assert raw_read(port, f"{idt:#x}") == before


def test_the_shell_leaves_virtual_reads_and_a_running_guest(linux):
    port, socket_path, idt, _ = linux
    before = raw_read(port, f"{idt:#x}")
    session = Session()
    try:
        session.run(f"attach 127.0.0.1:{port}")
        for command in ("lint", f"walk {idt:#x}", "tss"):
            session.run(command)
        shown = session.run(f"x {idt:#x} 16").split()[1:17]
        assert shown == [f"{b:02x}" for w in before.split() for b in int(w, 16).to_bytes(8, "little")]
    finally:
        session.close()
    assert status_within(socket_path, "VM status: running") == "VM status: running"
    assert raw_read(port, f"{idt:#x}") == before


def test_in_gdb_the_users_reads_are_not_affected(linux):
    port, socket_path, idt, _ = linux
    read = f"x/2gx {idt:#x}"
    outputs = gdb_run(port, [], [read, "x86 lint", read, f"x86 walk {idt:#x}", read, "x86 tss", read, "detach"])
    reads = [outputs[i].strip() for i in (0, 2, 4, 6)]
    assert reads[0].startswith(f"{idt:#x}:") and len(set(reads)) == 1, reads
    assert status_within(socket_path, "VM status: running") == "VM status: running"


def test_a_running_guest_runs_on_after_a_one_shot_even_after_gdb(tmp_path):
    image = build("long64")
    socket_path, options = hmp(tmp_path)
    ticks = "&timer_ticks", (f"symbol-file {image.elf}",)
    with RunningGuest(image, extra=options, stopped=False) as guest:
        for command in ("idt", "lint", "ist"):
            before = raw_read(guest.port, *ticks)
            run = one_shot(guest.port, command)
            assert run.returncode == 0, run.stderr
            assert monitor_status(socket_path) == "VM status: running"
            time.sleep(0.3)
            after = raw_read(guest.port, *ticks)
            assert sum(int(a, 16) for a in after.split()) > sum(int(b, 16) for b in before.split()), (before, after)


def test_a_guest_stopped_before_stays_stopped(tmp_path):
    socket_path, options = hmp(tmp_path)
    with RunningGuest(build("long64"), extra=options) as guest:
        assert monitor_status(socket_path) == "VM status: paused (prelaunch)"
        run = one_shot(guest.port, "regs --json")
        assert run.returncode == 0, run.stderr
        assert monitor_status(socket_path) == "VM status: paused (prelaunch)"
