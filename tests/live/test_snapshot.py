"""A snapshot of a live guest answers every read-only command with the same JSON."""

import json
import subprocess
import sys

import pytest

from shell.session import Session
from tests.live.harness import shell_json, shell_session

COMMANDS = ["regs", "regs --cpu 1", "cpu", "idt --all", "idt 8 --disasm 4", "gdt", "ldt", "tss", "tss --cpu 1",
            "tss --port 0x3f8", "ist", "ist --cpu 1"]


def test_snapshot_gives_the_same_json_as_live(long64, tmp_path):
    path = tmp_path / "long64.json"
    with shell_session(long64) as (session, _):
        live = {command: shell_json(session, command) for command in COMMANDS}
        saved = session.run(f"snapshot save {path}")
    assert saved.startswith(f"saved {path}: 2 vCPUs") and "not saved" not in saved
    offline = Session()
    offline.open_snapshot(str(path))
    for command in COMMANDS:
        assert shell_json(offline, command) == live[command], command
    assert offline.run("idt 3").startswith("(snapshot long64.json)")
    with pytest.raises(Exception, match="read-only"):
        offline.run("continue 1")
    run = subprocess.run([sys.executable, "-m", "shell", "--snapshot", str(path), "-c", "gdt --json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and json.loads(run.stdout) == live["gdt"]


def test_snapshot_at_a_fault_keeps_the_frame_and_walk(long64, tmp_path):
    from gdbext.symbols import SymbolTable

    path = tmp_path / "pf.json"
    scenario = SymbolTable.load(long64.elf).address_of("scenario")
    with shell_session(long64) as (session, _):
        session.run("break 14")
        session.run(f"gdb set {{long long}}{scenario:#x} = 2")
        session.run("continue 20")
        live = shell_json(session, "frame")
        session.run(f"snapshot save {path}")
    offline = Session()
    offline.open_snapshot(str(path))
    assert shell_json(offline, "frame") == live
    assert live["explanation"]["walk"]["refused_by"]["level"] == "PTE"


@pytest.mark.parametrize("name, commands", [
    ("prot32", ["regs", "idt --all", "gdt", "tss", "tss --selector 0x20", "lint"]),
    ("real16", ["regs", "idt --all", "cpu"]),
])
def test_snapshot_of_the_other_guests(name, commands, tmp_path):
    from shell.guests.build import build

    image = build(name)
    path = tmp_path / f"{name}.json"
    with shell_session(image, smp=1) as (session, _):
        live = {command: shell_json(session, command) for command in commands}
        session.run(f"snapshot save {path}")
    offline = Session()
    offline.open_snapshot(str(path))
    for command in commands:
        assert shell_json(offline, command) == live[command], command
