"""What a user meets when things go wrong live: one clear line, and a session
that still works afterwards."""

import json
import subprocess
import sys

import pytest

from gdbext.errors import IdtscopeError, TargetError
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.live.harness import shell_json, shell_session


def _clear_present_bit(session, linear_pte):
    target = session.context.target
    target.console("maint packet Qqemu.PhyMemMode:1")
    try:
        value = int(target.console(f"output/x *(unsigned long long *){linear_pte:#x}").strip(), 16)
        target.console(f"set *(unsigned long long *){linear_pte:#x} = {value & ~1:#x}")
    finally:
        target.console("maint packet Qqemu.PhyMemMode:0")
    target.cache.clear()


def test_unmapped_idt_page_marks_rows_and_the_rest_prints(long64):
    paging = long64.layout["paging"]
    idt_base = long64.layout["idt"]["base"]
    with shell_session(long64) as (session, _):
        _clear_present_bit(session, paging["pt_low"] + (idt_base >> 12) * 8)
        data = shell_json(session, "idt --all")
        text = session.run("idt")
        regs = shell_json(session, "regs")
    assert len(data["gates"]) == 256
    assert all(g["type"] == "unreadable" and "0x201000" in g["error"] for g in data["gates"])
    assert "unreadable" in text
    assert regs["idtr"]["base"] == idt_base


def test_unmapped_gdt_page_marks_entries(long64):
    paging = long64.layout["paging"]
    gdt_base = long64.layout["gdt"]["base"]
    with shell_session(long64) as (session, _):
        _clear_present_bit(session, paging["pt_low"] + (gdt_base >> 12) * 8)
        data = shell_json(session, "gdt")
        tss = shell_json(session, "tss")
    assert data["error"] and all(row["kind"] == "unreadable" for row in data["entries"])
    assert tss["rsp"] == long64.layout["cpus"][0]["tss_fields"]["rsp"], "TR's cached base still reaches the TSS"


def test_running_guest_gets_one_line_and_interrupt_stops_it(long64):
    with shell_session(long64) as (session, _):
        assert session.run("continue 0.3").startswith("still running")
        with pytest.raises(TargetError, match="the guest is running; stop it first"):
            session.run("idt")
        assert "stopped" in session.run("interrupt")
        assert len(shell_json(session, "idt")["gates"]) == 256


def test_qemu_killed_mid_session_then_reattach(long64):
    with shell_session(long64) as (session, guest):
        guest.proc.kill()
        guest.proc.wait()
        with pytest.raises(IdtscopeError) as failure:
            session.run("idt")
        assert "\n" not in str(failure.value)
        assert "Page Fault" in session.run("explain 14")
        with RunningGuest(long64) as second:
            assert "attached" in session.run(f"attach 127.0.0.1:{second.port}")
            assert shell_json(session, "regs")["mode"] in ("real", "protected", "long")


def test_nothing_listening_and_bad_address():
    session = Session()
    with pytest.raises(TargetError, match="cannot attach to 127.0.0.1:9"):
        session.run("attach 127.0.0.1:9")
    with pytest.raises(TargetError, match="HOST:PORT"):
        session.run("attach nowhere")
    with pytest.raises(IdtscopeError, match="needs a guest"):
        session.run("idt")


def test_one_shot_attach_failure_is_one_line_exit_2():
    run = subprocess.run([sys.executable, "-m", "shell", "--attach", "127.0.0.1:9", "-c", "idt"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_one_shot_attach_json(long64):
    with RunningGuest(long64) as guest:
        run = subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{guest.port}",
                              "--symbols", str(long64.elf), "-c", "idt 14 --json"],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    gate = json.loads(run.stdout)["gates"][0]
    assert gate["vector"] == 14 and gate["present"] and gate["symbol"] in ("isr_pf", None)


def test_running_guest_inside_gdb_is_one_line(long64):
    from tests.live.harness import ROOT

    with RunningGuest(long64) as guest:
        run = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}",
                              "-ex", f"target remote 127.0.0.1:{guest.port}", "-ex", "continue &",
                              "-ex", "x86 idt 3", "-ex", "x86 explain 3"], capture_output=True, text=True, timeout=60)
    assert "the guest is running; stop it first (`interrupt`, or Ctrl-C in gdb)" in run.stderr
    assert "Traceback" not in run.stderr and "Breakpoint" in run.stdout
