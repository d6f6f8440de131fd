"""`bt` at a stop on a handler's first instruction: frame #1 is the code the CPU
interrupted, held against the frame the CPU pushed (`x86 frame`, read from the
stack) and the guest's layout (the saved RIP's symbol), in gdb (idtscope's frame
unwinder under gdb's own `bt`) and in the shell (`bt`)."""

from __future__ import annotations

import json
import re

import pytest

from gdbext.symbols import SymbolTable
from shell.guests.build import build
from tests.guests.linux import booted_linux
from tests.live.harness import gdb_batch, gdb_run, shell_json, shell_session

FRAME_LINE = re.compile(r"^#(\d+)\s+0x([0-9a-f]+)", re.M)


@pytest.fixture(scope="module")
def prot32():
    return build("prot32")


def address_of(image, name: str) -> int:
    return SymbolTable.load(image.elf).address_of(name)


def gdb_frames(text: str) -> dict[int, int]:
    return {int(level): int(pc, 16) for level, pc in FRAME_LINE.findall(text)}


def caller_registers(text: str) -> dict[str, int]:
    return {name: int(value, 16) for name, value in re.findall(r"^(\w+)\s+(0x[0-9a-f]+)", text, re.M)}


@pytest.mark.parametrize("scenario", [1, 2, 3])
def test_gdb_bt_continues_into_the_interrupted_code_on_long64(long64, scenario, toolchain):
    """1: int3 in the kernel (trap gate, no error code, same stack); 2: a user #PF (error code,
    stack switch to RSP0); 3: a kernel #PF (error code, same stack)."""
    event = long64.layout["scenarios"][scenario]["events"][0]
    outputs = gdb_batch(long64, [f"set {{unsigned long long}}&scenario = {scenario}", f"hbreak {event['handler']}",
                                 "continue", "bt", "x86 frame --json", "frame 1",
                                 "info registers rip rsp cs eflags ss", "x86 bt --json"], toolchain=toolchain)
    frames = gdb_frames(outputs[3])
    pushed = json.loads(outputs[4])
    assert frames[0] == address_of(long64, event["handler"])
    assert frames[1] == pushed["rip"] == address_of(long64, event["rip_symbol"])
    assert (pushed["from_cpl"], pushed["stack"]) == (event["from_cpl"], event["stack"])
    caller = caller_registers(outputs[6])
    assert (caller["rip"], caller["rsp"], caller["cs"], caller["eflags"], caller["ss"]) == \
        (pushed["rip"], pushed["rsp"], pushed["cs"], pushed["rflags"], pushed["ss"])
    ours = json.loads(outputs[7])["frames"]
    assert [ours[0]["pc"], ours[1]["pc"]] == [frames[0], frames[1]]
    assert ours[0]["error_code"] == pushed["error_code"] and ours[1]["sp"] == pushed["rsp"]


def test_shell_bt_on_long64(long64):
    event = long64.layout["scenarios"][3]["events"][0]
    scenario = address_of(long64, "scenario")
    with shell_session(long64) as (session, _):
        session.run("break 14")
        session.run(f"gdb set {{unsigned long long}}{scenario:#x} = 3")
        assert "vector 0x0e" in session.run("continue 30")
        data = shell_json(session, "bt")
        text = session.run("bt")
    handler, interrupted = data["frames"]
    assert (handler["symbol"], handler["vector"], handler["error_code"]) == ("isr_pf", 14, event["error_code"])
    assert (interrupted["pc"], interrupted["symbol"]) == (address_of(long64, "scn_ro_write"), "scn_ro_write")
    assert interrupted["sp"] & ~0xF == handler["sp"] + 48, "IA-32e aligns RSP to 16, then pushes 6 slots"
    assert interrupted["from_cpl"] == 0
    assert f"#1  {interrupted['pc']:#018x} in scn_ro_write" in text


def test_gdb_bt_through_a_32_bit_frame_on_prot32(prot32, toolchain):
    event = prot32.layout["scenarios"][6]["events"][0]
    scenario = prot32.layout["symbols"]["scenario"]
    outputs = gdb_batch(prot32, ["set architecture i386:x86-64", f"set {{int}}&{scenario} = 6",
                                 f"hbreak {event['handler']}", "continue", "bt", "x86 frame --json"], smp=1,
                        toolchain=toolchain)
    frames = gdb_frames(outputs[4])
    pushed = json.loads(outputs[5])
    assert pushed["mode"] == "protected" and pushed["rsp"] is None, "same privilege: no ESP pushed"
    assert frames[1] == pushed["rip"] == address_of(prot32, event["rip_symbol"])


def test_gdb_bt_on_a_linux_user_page_fault(tmp_path, toolchain):
    with booted_linux(tmp_path, qemu=toolchain.qemu) as (guest, system_map, symbols):
        outputs = gdb_run(guest.port, [], [f"x86 symbols {system_map}", "x86 break 14 --from user", "continue",
                                           "bt", "x86 frame --json", "x86 bt --json"], gdb=toolchain.gdb)
    frames = gdb_frames(outputs[3])
    pushed = json.loads(outputs[4])
    assert frames[0] == symbols["asm_exc_page_fault"]
    assert pushed["from_cpl"] == 3 and frames[1] == pushed["rip"] < 1 << 47, "frame #1 is the user RIP"
    ours = json.loads(outputs[5])["frames"]
    assert ours[1]["pc"] == pushed["rip"] and ours[1]["sp"] == pushed["rsp"] and ours[1]["ss"] == pushed["ss"]


@pytest.fixture(scope="module")
def real16():
    return build("real16")


def test_gdb_bt_through_a_16_bit_frame_on_real16(real16, toolchain):
    layout = real16.layout
    outputs = gdb_batch(real16, ["x86 break 0x60", f"set {{char}}{layout['symbols_linear']['scenario']:#x} = 1",
                                 "continue", "bt", "x86 frame --json", "x86 bt --json"], smp=1, toolchain=toolchain)
    frames = gdb_frames(outputs[3])
    pushed = json.loads(outputs[4])
    assert pushed["mode"] == "real" and pushed["vector"] == 0x60
    assert frames[0] == layout["labels"]["isr_int60"]
    assert frames[1] == pushed["rip"], "frame #1 is the IP the CPU pushed (gdb knows no segments)"
    ours = json.loads(outputs[5])["frames"]
    assert ours[1]["pc"] == pushed["rip"] and ours[1]["cs"] == pushed["cs"]
