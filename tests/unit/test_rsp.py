"""The remote-protocol client (gdbext/target/rsp.py) against a stand-in gdbstub that serves
a real Linux guest's saved state and misbehaves in one way at a time.

Each hostile case runs `idtscope --attach STUB -c idt` as a user would and must end
within 10 s with one line on stderr naming the peer, exit status 2, no traceback, and
a peak memory under 100 MB. A well-behaved stub gives exactly the snapshot's answers.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.unit.rsp_stub import RESET, StubServer, frame

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "fixtures" / "snapshots" / "linux-amd64.json"


#: runs argv[2:] in a child of its own and writes that child's peak resident KiB to argv[1]:
#: a process started straight from pytest would inherit pytest's own peak at exec (Linux keeps
#: the larger of the old and new address space's high-water mark in ru_maxrss)
MEASURE = """
import os, sys
child = os.fork()
if child == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(child, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def idtscope(*argv: str) -> tuple[int, str, str, float, int]:
    """(exit status, stdout, stderr, seconds, peak resident KiB) of one idtscope run, killed
    after 30 s."""
    with tempfile.TemporaryDirectory() as directory:
        out, err, peak = (Path(directory) / name for name in ("out", "err", "peak"))
        start = time.monotonic()
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen([sys.executable, "-c", MEASURE, str(peak), sys.executable, "-m", "shell", *argv],
                                       cwd=ROOT, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                       start_new_session=True)
            try:
                status = process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                status = process.wait()
        seconds = time.monotonic() - start
        used = int(peak.read_text()) if peak.exists() else 0
        return status, out.read_text(), err.read_text(), seconds, used


def on(request: str, *pieces, then=None):
    """A misbehaviour: ``pieces`` instead of the answer to requests starting with ``request``."""
    def misbehave(payload: str, stub: StubServer):
        if payload.startswith(request):
            return pieces if then is None else then()
        return None

    return misbehave


def slow_drip(payload: str, stub: StubServer):
    """Every answer one byte at a time, 3 s apart (no single recv waits 5 s)."""
    data = b"".join(stub.replies(payload))
    return itertools.chain.from_iterable((3.0, data[i:i + 1]) for i in range(len(data)))


def thread_flood():
    counter = itertools.count(2)
    return lambda payload, stub: ([frame("m" + ",".join(f"{next(counter):x}" for _ in range(100)))]
                                  if payload == "qsThreadInfo" else None)


HOSTILE = {
    "reset while acknowledged": (on("qSupported", frame("PacketSize=1000"), RESET), "connection"),
    "thread list mzz,-1": (on("qfThreadInfo", frame("mzz,-1")), "thread list idtscope cannot read"),
    "thread list that never ends": (on("qsThreadInfo", frame("m01")), "did not end its thread list"),
    "thread list of ever new threads": (thread_flood(), "more than 4096 threads"),
    "one byte every 3 s": (slow_drip, "within 5 s"),
    "silence": (on("qSupported"), "within 5 s"),
    "a packet body that never ends": (
        on("qRcmd", then=lambda: itertools.chain([b"$O"], itertools.repeat(b"41" * 4096))), "longer than"),
    "a 64 MB output packet": (on("qRcmd", b"$O", *itertools.repeat(b"41" * (1 << 19), 64), b"#00"), "longer than"),
    "a flood of stop replies": (on("Hg", then=lambda: itertools.repeat(frame("T05thread:01;"))), "stop replies"),
    "a flood of O packets": (on("qRcmd", then=lambda: itertools.repeat(frame("O41"))), "output packets"),
    "monitor output past 1 MiB": (on("qRcmd", then=lambda: itertools.repeat(frame("O" + "41" * 2000))),
                                  "bytes for `monitor"),
    "a bad checksum": (on("?", b"$T05thread:01;#00"), "bad checksum"),
    "memory that is not hex": (on("m", frame("zz" * 2048)), "for a memory read"),
    "a short memory read": (on("m", frame("00" * 7)), "characters for a read of"),
    "a run-length bomb": (on("m", frame("0" + "*~" * 2500)), "expands past"),
    "resend requests forever": (on("qfThreadInfo", then=lambda: itertools.repeat(b"-")), "rejected"),
    "a PacketSize that is not hex": (on("qSupported", frame("PacketSize=zz")), "PacketSize"),
    "OK where a stop reply belongs": (on("?", frame("OK")), "answered 'PacketSize=1000"),
    "garbage after a reply": (on("Hg", frame("OK") + b"\x00junk"), "does not speak the gdb remote protocol"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_stub_gives_one_line(case):
    misbehave, expected = HOSTILE[case]
    with StubServer(str(SNAPSHOT), misbehave) as stub:
        status, out, err, seconds, peak = idtscope("--attach", stub.address, "-c", "idt")
    assert seconds < 10, (case, seconds)
    assert status == 2, (case, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert stub.address in err or "QEMU" in err, err
    assert expected in err, err
    assert peak < 100 * 1024, (case, peak)


def test_a_hostile_stub_leaves_the_shell_usable():
    with StubServer(str(SNAPSHOT), on("qfThreadInfo", frame("mzz,-1"))) as bad, StubServer(str(SNAPSHOT)) as good:
        status, out, err, seconds, _ = idtscope("--attach", bad.address, "-c", "idt", "-c", "gdt")
        assert status == 2 and len(err.strip().splitlines()) == 1
        status, out, err, seconds, _ = idtscope("--attach", good.address, "-c", "idt --json")
        assert status == 0, err
        assert '"vector": 255' in out


def test_a_stub_that_refuses_to_detach_is_reported_after_the_answer():
    with StubServer(str(SNAPSHOT), on("D", frame("E22"))) as stub:
        status, out, err, _, _ = idtscope("--attach", stub.address, "-c", "idt --json")
    assert status == 2
    assert '"gates"' in out
    assert err.strip() == (f"error: QEMU at {stub.address} refused to detach (E22): the guest stays paused; "
                           "`cont` in QEMU's monitor resumes it")
    assert stub.requests[-2:] == ["D", "D;1"]


def test_a_stub_without_physical_reads_still_answers():
    with StubServer(str(SNAPSHOT), on("Qqemu.PhyMemMode", frame(""))) as stub:
        status, out, err, _, _ = idtscope("--attach", stub.address, "-c", "ist --json")
    assert status == 0, err
    assert "would not switch to physical-memory reads (Qqemu.PhyMemMode:1: not supported)" in out
    assert "Qqemu.PhyMemMode:0" not in stub.requests and stub.requests[-1] == "D"


COMMANDS = ["idt --json", "idt --all --json", "gdt --json", "tss --cpu 1 --json", "ist --json", "lapic --json",
            "pic --json"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_well_behaved_stub_gives_the_snapshots_answers(command, tmp_path):
    """The stub serves memory and monitor texts, not the names the snapshot kept: the
    offline side reads a copy without them."""
    state = json.loads(SNAPSHOT.read_text())
    state["symbols"] = {}
    unnamed = tmp_path / SNAPSHOT.name
    unnamed.write_text(json.dumps(state))
    offline = idtscope("--snapshot", str(unnamed), "-c", command)
    with StubServer(str(SNAPSHOT)) as stub:
        live = idtscope("--attach", stub.address, "-c", command)
    assert offline[0] == live[0] == 0, (offline[2], live[2])
    assert live[1] == offline[1].replace(f"(snapshot {SNAPSHOT.name})\n", "")
    assert stub.requests[-1] == "D"
    modes = [r for r in stub.requests if r.startswith("Qqemu.PhyMemMode")]
    assert modes == ["Qqemu.PhyMemMode:1", "Qqemu.PhyMemMode:0"] * (len(modes) // 2)
