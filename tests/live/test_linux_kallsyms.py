"""The symbols of a running Linux kernel, read from its own kallsyms tables in guest memory.

Truth is the kernel's /proc/kallsyms of the same boot: /init prints all of it
(tests/guests/linux.py, ``all_symbols``). Every symbol of the kernel proper must
come back with the same address, type letter and name, in the same order;
/proc/kallsyms adds only module-like lines (``name [module]``: BPF, kprobe and
ftrace pages), which are not in the kernel's tables. Debian's amd64 cloud kernel
and 686 kernel (Linux 6.1), each with KASLR on as distributions boot, and amd64
without it, through the direct gdbstub client and through a real gdb.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gdbext.errors import TargetError
from gdbext.machine.kallsyms import guest_kallsyms, read_guest_kallsyms
from gdbext.machine.tables import read_idt
from gdbext.target.rsp import RspTarget
from shell.session import Session
from tests.guests.linux import all_kallsyms, booted_linux
from tests.live.harness import json_documents, shell_session


def proc_kallsyms(text: str) -> list[tuple[int, str, str]]:
    """The kernel's own lines of /proc/kallsyms (``ADDRESS TYPE NAME``; module lines dropped)."""
    rows = [line.split() for line in text.splitlines()]
    return [(int(row[0], 16), row[1], row[2]) for row in rows if len(row) == 3]


def as_rows(symbols) -> list[tuple[int, str, str]]:
    return [(symbol.address, symbol.type, symbol.name) for symbol in symbols]


@pytest.mark.parametrize("arch", ["amd64", "i386"])
def test_every_symbol_equals_proc_kallsyms_with_kaslr(tmp_path, arch):
    with booted_linux(tmp_path, arch, kaslr=True, all_symbols=True, timeout=300) as (guest, _, _):
        proc = proc_kallsyms(all_kallsyms(guest.serial()))
        target = RspTarget.attach(f"127.0.0.1:{guest.port}")
        try:
            read = guest_kallsyms(target, cpu=1)
            table = read_guest_kallsyms(target)
            idt = read_idt(target, 0)
        finally:
            target.close()
        command = subprocess.run([sys.executable, "-m", "shell.cli", "--attach", f"127.0.0.1:{guest.port}",
                                  "-c", "symbols --guest --json", "-c", "idt --json"],
                                 capture_output=True, text=True, timeout=120)
        unasked = subprocess.run([sys.executable, "-m", "shell.cli", "--attach", f"127.0.0.1:{guest.port}",
                                  "-c", "idt --json", "-c", "symbols --json"],
                                 capture_output=True, text=True, timeout=120)
    assert command.returncode == 0, command.stderr
    assert unasked.returncode == 0, unasked.stderr
    placed, gates = json_documents(command.stdout)
    assert placed["format"] == "kallsyms" and placed["slide"] == 0
    text_names = {address: name for address, kind, name in proc if kind in "tT"}
    addresses = {name: address for address, _, name in proc}
    for idt_document in (gates, json_documents(unasked.stdout)[0]):
        named = [gate for gate in idt_document["gates"] if gate["handler"] in text_names]
        assert len(named) >= 30, "every exception entry is a symbol of its own"
        assert all(gate["symbol"] == text_names[gate["handler"]] for gate in named)
        for gate in idt_document["gates"]:
            name, _, offset = gate["symbol"].partition("+")
            assert addresses[name] + int(offset or "0", 0) == gate["handler"], gate
    found = json_documents(unasked.stdout)[1]
    assert (found["format"], found["source"], found["absent"]) == ("kallsyms", "guest memory", None)
    assert len(proc) > 40000, "the whole /proc/kallsyms, not the entry symbols"
    assert as_rows(read) == proc
    names = {address: name for address, kind, name in proc if kind in "tT"}
    handlers = [slot.entry.offset for slot in idt.slots if slot.entry is not None and slot.entry.present
                and slot.entry.kind.value in ("interrupt", "trap")]
    assert handlers
    for handler in handlers:
        if handler in names:
            assert table.lookup(handler) == names[handler]
    assert table.lookup(handlers[0]) is not None


def test_every_symbol_equals_proc_kallsyms_through_gdb(tmp_path):
    with booted_linux(tmp_path, "amd64", all_symbols=True, timeout=300) as (guest, _, symbols):
        proc = proc_kallsyms(all_kallsyms(guest.serial()))
        session = Session()
        try:
            session.run(f"attach 127.0.0.1:{guest.port}")
            read = guest_kallsyms(session.context.target)
            page_fault = json.loads(session.run("idt 14 --json"))["gates"][0]
            found = json.loads(session.run("symbols --json"))
        finally:
            session.close()
    assert as_rows(read) == proc
    assert page_fault["symbol"] == "asm_exc_page_fault", "gdb has no symbols: the kernel's own name the handler"
    assert found["format"] == "kallsyms"
    assert symbols["asm_exc_page_fault"] == next(s.address for s in read if s.name == "asm_exc_page_fault")


def test_a_guest_that_is_not_linux_is_one_clear_error(long64):
    """long64 has a full IDT but no kallsyms: the whole search runs and finds nothing."""
    with shell_session(long64) as (session, guest):
        session.close()
        target = RspTarget.attach(f"127.0.0.1:{guest.port}")
        try:
            with pytest.raises(TargetError) as raised:
                read_guest_kallsyms(target)
            assert read_idt(target, 0).mode.value == "long", "the session still answers"
        finally:
            target.close()
        unasked = subprocess.run([sys.executable, "-m", "shell.cli", "--attach", f"127.0.0.1:{guest.port}",
                                  "-c", "symbols --json", "-c", "symbols"], capture_output=True, text=True, timeout=60)
    message = str(raised.value)
    assert "\n" not in message
    assert unasked.returncode == 0, unasked.stderr
    why, end = json.JSONDecoder().raw_decode(unasked.stdout)
    assert why["source"] is None and "does not have Linux's shape" in why["absent"]
    assert why["absent"] in unasked.stdout[end:], "the text says why too"
    assert message.startswith("no kallsyms tables within 64 MiB after the interrupt handlers at 0x")
