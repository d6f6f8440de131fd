"""Live failures beyond the basic ones: gdb killed, gdb missing or without
Python, a port that speaks something else, a guest that switches modes
between commands, an empty IDT. Each gives one clear line, no hang over 5 s,
and a session that still works."""

import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from gdbext.errors import IdtscopeError, TargetError
from gdbext.symbols import SymbolTable
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.live.harness import gdb_without_python, shell_json, shell_session


def test_gdb_killed_then_reattach(long64):
    with shell_session(long64) as (session, guest):
        session.context.target.client.proc.kill()
        started = time.monotonic()
        with pytest.raises(TargetError) as failure:
            session.run("idt")
        assert time.monotonic() - started < 5 and "\n" not in str(failure.value)
        assert "gdb" in str(failure.value)
        assert "attached" in session.run(f"attach 127.0.0.1:{guest.port}")
        assert len(shell_json(session, "idt --all")["gates"]) == 256


def test_gdb_missing():
    session = Session(gdb="/nonexistent/gdb")
    with pytest.raises(TargetError, match="cannot start gdb"):
        session.run("attach 127.0.0.1:1234")
    assert "Page Fault" in session.run("explain 14")


def test_gdb_without_python_still_serves_the_shell(long64):
    gdb = gdb_without_python()
    with RunningGuest(long64) as guest:
        run = subprocess.run([sys.executable, "-m", "shell", "--gdb", str(gdb), "--attach", f"127.0.0.1:{guest.port}",
                              "-c", f"gdb symbol-file {long64.elf}", "-c", "gdb tbreak guest_ready",
                              "-c", "continue 30", "-c", "idt 0-3 --json"],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    gates = json.loads(run.stdout[run.stdout.index("{"):])["gates"]
    assert [g["symbol"] for g in gates] == ["isr_de", "isr_db", "isr_nmi", "isr_bp"]


def test_gdbinit_in_gdb_without_python_fails_in_one_line(long64):
    gdb = gdb_without_python()
    run = subprocess.run([str(gdb), "-nx", "-batch", "-ex", "source gdbext/gdbinit.py", "-ex", "print 6*7"],
                         capture_output=True, text=True, timeout=30)
    assert "Traceback" not in run.stderr and "Error in sourced command file" in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2


def _babbler():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        try:
            connection, _ = server.accept()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            time.sleep(6)
            connection.close()
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_port_that_speaks_something_else():
    server = _babbler()
    port = server.getsockname()[1]
    session = Session()
    started = time.monotonic()
    with pytest.raises(IdtscopeError) as failure:
        session.run(f"attach 127.0.0.1:{port}")
    server.close()
    assert time.monotonic() - started < 10
    assert "\n" not in str(failure.value) and "127.0.0.1" in str(failure.value)


def test_mode_switches_between_commands(long64):
    """SeaBIOS starts in real mode, the multiboot stub runs in protected mode, the kernel in long mode."""
    entry = SymbolTable.load(long64.elf).address_of(long64.layout["boot"]["entry_symbol"])
    ready = SymbolTable.load(long64.elf).address_of("guest_ready")
    with RunningGuest(long64) as guest:
        session = Session()
        session.run(f"attach 127.0.0.1:{guest.port}")
        modes = [shell_json(session, "regs")["mode"]]
        first = shell_json(session, "idt --all")
        session.run(f"gdb hbreak *{entry:#x}")
        session.run("continue 30")
        modes.append(shell_json(session, "regs")["mode"])
        second = shell_json(session, "idt --all")
        session.run(f"gdb hbreak *{ready:#x}")
        session.run("continue 30")
        modes.append(shell_json(session, "regs")["mode"])
        third = shell_json(session, "idt --all")
        session.close()
    assert modes == ["real", "protected", "long"]
    assert first["mode"] == "real" and len(first["gates"]) == 256 and first["gates"][0]["type"] == "real"
    assert second["mode"] == "protected"
    assert third["mode"] == "long" and len(third["gates"]) == 256


def test_empty_idt_before_a_triple_fault(long64):
    table = SymbolTable.load(long64.elf)
    with shell_session(long64) as (session, _):
        session.run(f"gdb tbreak *{table.address_of('scn_triple_int3'):#x}")
        session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = 10")
        session.run("continue 20")
        data = shell_json(session, "idt --all")
        text = session.run("idt")
        lint = shell_json(session, "lint")
    assert data["idtr"]["limit"] == 0 and data["covered"] == 0 and data["gates"] == []
    assert "0 vectors covered" in text and data["absent"].startswith("the IDTR limit 0x0 covers no whole 16-byte")
    assert text.splitlines()[1] == data["absent"]
    assert lint["findings"][0]["id"] == "exception-gate-missing"


def test_tr_selector_past_the_gdt_limit(long64):
    table = SymbolTable.load(long64.elf)
    done = table.address_of("scenario_done")
    with shell_session(long64) as (session, _):
        session.run(f"gdb break *{done:#x}")
        session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = 13")
        first = session.run("continue 60")
        gdt = shell_json(session, "gdt")
        tss = shell_json(session, "tss")
        text = session.run("tss")
        lint = shell_json(session, "lint")
        session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = 14")
        second = session.run("continue 60")
        restored = shell_json(session, "tss")
    assert "scenario_done" in first and "scenario_done" in second, (first, second)
    assert gdt["gdtr"]["limit"] == long64.layout["scenarios"][13]["after"]["gdt_limit"] == 0x3F
    assert len(gdt["entries"]) == 8
    assert tss["descriptor_error"] == "selector 0x0040 is past the GDT limit 0x3f"
    assert tss["rsp"] == long64.layout["cpus"][0]["tss_fields"]["rsp"], "TR's cached base still reaches the TSS"
    assert "the next LTR, task switch or IRET with NT=1 would fault" in text
    assert [f["id"] for f in lint["findings"]] == ["tr-descriptor"]
    assert restored["descriptor_error"] is None


def test_gdb_on_a_native_process_says_what_it_needs():
    from tests.live.harness import ROOT

    run = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}",
                          "-ex", "file /bin/sleep", "-ex", "set args 5", "-ex", "starti", "-ex", "x86 idt"],
                         capture_output=True, text=True, timeout=30)
    lines = [line for line in run.stderr.splitlines() if "monitor" in line]
    assert len(lines) == 1 and "connect gdb to QEMU's gdbstub" in lines[0]
    assert "Traceback" not in run.stderr
