"""A structure the guest does not have is an answer (exit 0, saying what is there and
why), not an error: `ist`, `tss` and `ldt` with TR and LDTR null (the real-mode guest),
`ist` on a 32-bit TSS (prot32), `lint` after them in the same one-shot run, and a GDT
limit that covers no whole descriptor (long64)."""

import json
import subprocess
import sys

import pytest

from shell.guests.build import build
from tests.live.harness import shell_json, shell_session


@pytest.fixture(scope="module")
def real16():
    return build("real16")


def test_null_tr_and_ldtr_are_answers_in_the_shell(real16):
    with shell_session(real16, smp=1) as (session, _):
        ist = shell_json(session, "ist")
        tss = shell_json(session, "tss")
        ldt = shell_json(session, "ldt")
        texts = [session.run(command) for command in ("ist", "tss", "ldt")]
        lint = shell_json(session, "lint")
    assert ist["stacks"] == [] and ist["tss"] is None and ist["absent"].startswith("TR is null")
    assert tss["error"] is None and tss["absent"].startswith("TR is null") and tss["base"] is None
    assert ldt["error"] is None and ldt["ldtr"] is None and ldt["absent"].startswith("LDTR is null")
    assert texts == [f"CPU 0: {ist['absent']}", f"CPU 0: {tss['absent']}", f"CPU 0: {ldt['absent']}"]
    assert lint == {"cpu": 0, "guest": None, "findings": [], "counts": {"error": 0, "warning": 0, "info": 0}}


def test_one_shot_goes_on_past_an_absent_tss(real16):
    """`-c ist -c lint` runs both: an absent TSS no longer stops the script with exit 2."""
    with shell_session(real16, smp=1) as (session, guest):
        session.close()
        run = subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{guest.port}",
                              "-c", "ist", "-c", "tss --json", "-c", "lint"],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("CPU 0: TR is null")
    assert lines[-2:] == ["real-address mode: no gates, TSS or privilege levels to judge", "CPU 0: no findings"]
    assert json.loads("\n".join(lines[1:-2]))["absent"].startswith("TR is null")


def test_ist_on_a_32_bit_tss_names_its_ring_0_stack():
    image = build("prot32")
    main = image.layout["tss"]["main"]
    with shell_session(image, smp=1) as (session, _):
        ist = shell_json(session, "ist")
        text = session.run("ist")
    assert ist["stacks"] == [] and ist["tss"] == {"selector": main["selector"], "base": main["base"]}
    assert ist["absent"] == ("a 32-bit TSS has no IST: outside IA-32e mode only a privilege change switches "
                             f"stacks, to SS0:ESP0 ({main['ss0']:#06x}:{main['esp0']:#x}; see tss)")
    assert text == f"CPU 0: {ist['absent']}"


@pytest.mark.parametrize("limit", [0, 0x3B])
def test_gdt_bytes_that_hold_no_whole_descriptor_are_not_an_unreadable_row(long64, limit):
    """Scenario 13 loads GDTR from short_gdt_pointer. With its limit set to 0 first, the GDT
    covers one byte and holds no descriptor; with 0x3b, seven descriptors and 4 spare bytes."""
    from gdbext.symbols import SymbolTable

    table = SymbolTable.load(long64.elf)
    with shell_session(long64) as (session, _):
        session.run(f"gdb break *{table.address_of('scenario_done'):#x}")
        session.run(f"gdb set {{short}}{table.address_of('short_gdt_pointer'):#x} = {limit}")
        session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = 13")
        stopped = session.run("continue 60")
        gdt = shell_json(session, "gdt")
        text = session.run("gdt")
    assert "scenario_done" in stopped, stopped
    assert gdt["gdtr"]["limit"] == limit and gdt["error"] is None
    assert all(entry["kind"] != "unreadable" for entry in gdt["entries"])
    if limit == 0:
        assert gdt["entries"] == [] and gdt["tail"] is None
        assert gdt["absent"] == ("the GDT limit 0x0 covers no whole descriptor: the GDT is empty, "
                                 "and any selector into it raises #GP")
        assert text.splitlines()[1] == gdt["absent"]
    else:
        assert [entry["index"] for entry in gdt["entries"]] == list(range(7)) and gdt["absent"] is None
        assert gdt["tail"] == ("the limit 0x3b leaves 4 bytes after the last whole descriptor: too few for "
                               "one, so a selector reaching them raises #GP")
        assert gdt["tail"] in text
