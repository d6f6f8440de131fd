"""The 32-bit protected-mode guest (8-byte gates, a task gate for #DF, 32-bit
TSSs) and the real-mode guest (the IVT), read live against their layouts."""

import json

import pytest

from gdbext.symbols import SymbolTable
from shell.guests.build import build
from tests.live.harness import gdb_batch, shell_json, shell_session


@pytest.fixture(scope="module")
def prot32():
    return build("prot32")


@pytest.fixture(scope="module")
def real16():
    return build("real16")


def address_of(image, name):
    return SymbolTable.load(image.elf).address_of(name)


def test_prot32_idt_gdt_and_tss(prot32, toolchain):
    layout = prot32.layout
    with shell_session(prot32, smp=1, toolchain=toolchain) as (session, _):
        idt = shell_json(session, "idt --all")
        gdt = shell_json(session, "gdt")
        tss = shell_json(session, "tss")
        df_tss = shell_json(session, f"tss --selector {layout['tss']['df']['selector']:#x}")
        regs = shell_json(session, "regs")
    assert regs["mode"] == "protected" and idt["mode"] == "protected"
    assert idt["idtr"] == {"base": layout["idt"]["base"], "limit": layout["idt"]["limit"]}
    assert len(idt["gates"]) == 256
    for gate, want in zip(idt["gates"], layout["idt"]["gates"]):
        assert gate["present"] == want["present"], gate
        if not want["present"]:
            continue
        assert (gate["type"], gate["dpl"], gate["selector"]) == (want["type"], want["dpl"], want["selector"]), gate
        assert gate["ist"] is None
        if want["type"] == "task":
            assert gate["symbol"] == layout["tss"]["df"]["eip_symbol"]
            assert gate["task"]["tss_selector"] == layout["tss"]["df"]["selector"]
        else:
            assert gate["size"] == want["size"]
            if want["vector"] != 0x60:
                assert gate["symbol"] == want["handler"], gate
    rows = {row["selector"]: row for row in gdt["entries"]}
    for want in layout["gdt"]["entries"]:
        row = rows[want["selector"]]
        assert row["present"] == bool(want["p"]) and row["dpl"] == want["dpl"] and row["size"] == 8
        if want["selector"]:
            assert row["base"] == want["base"]
    main = layout["tss"]["main"]
    assert (tss["width"], tss["selector"], tss["base"], tss["limit"]) == (
        32,
        main["selector"],
        main["base"],
        main["limit"],
    )
    assert (tss["esp0"], tss["ss0"], tss["cr3"], tss["iopb"]) == (main["esp0"], main["ss0"], main["cr3"], main["iopb"])
    df = layout["tss"]["df"]
    assert df_tss["eip"] == address_of(prot32, df["eip_symbol"])
    assert (df_tss["esp"], df_tss["cs"], df_tss["ss"], df_tss["cr3"]) == (df["esp"], df["cs"], df["ss"], df["cr3"])


def test_prot32_double_fault_through_the_task_gate(prot32, toolchain):
    scenario = address_of(prot32, prot32.layout["symbols"]["scenario"])
    event = prot32.layout["scenarios"][7]["events"][0]
    with shell_session(prot32, smp=1, toolchain=toolchain) as (session, _):
        listed = shell_json(session, "break 8")
        session.run(f"gdb set {{int}}{scenario:#x} = 7")
        stopped = session.run("continue 20")
        frame = shell_json(session, "frame")
    assert listed["breakpoints"][0]["symbol"] == prot32.layout["tss"]["df"]["eip_symbol"]
    assert "vector 0x08" in stopped, stopped
    assert frame["vector"] == 8 and frame["stack"] == "task" and frame["error_code"] == event["error_code"]
    assert frame["rip"] == address_of(prot32, event["previous_task_eip_symbol"])
    assert frame["mode"] == "protected" and "task switch" in frame["stack_check"]


def test_prot32_same_json_in_gdb(prot32, toolchain):
    commands = ["idt --all", "gdt", "tss"]
    outputs = gdb_batch(prot32, ["set architecture i386:x86-64"] + [f"x86 {c} --json" for c in commands], smp=1,
                        toolchain=toolchain)
    with shell_session(prot32, smp=1, toolchain=toolchain) as (session, _):
        for command, text in zip(commands, outputs[1:]):
            assert json.loads(text) == shell_json(session, command), command


def test_real16_ivt(real16, toolchain):
    layout = real16.layout
    with shell_session(real16, smp=1, toolchain=toolchain) as (session, _):
        idt = shell_json(session, "idt --all")
        regs = shell_json(session, "regs")
    assert regs["mode"] == "real" and idt["mode"] == "real"
    assert idt["idtr"] == {"base": layout["ivt"]["base"], "limit": layout["ivt"]["limit"]}
    assert len(idt["gates"]) == 256
    for want in layout["ivt"]["installed"]:
        gate = idt["gates"][want["vector"]]
        assert (gate["segment"], gate["offset"], gate["handler"]) == (want["segment"], want["offset"], want["linear"])


@pytest.mark.parametrize("number", [1, 2])
def test_real16_break_on_ivt_handler(real16, number, toolchain):
    layout = real16.layout
    event = layout["scenarios"][number]["events"][0]
    with shell_session(real16, smp=1, toolchain=toolchain) as (session, _):
        session.run(f"break {event['vector']}")
        session.run(f"gdb set {{char}}{layout['symbols_linear']['scenario']:#x} = {number}")
        stopped = session.run("continue 20")
        frame = shell_json(session, "frame")
    assert f"vector {event['vector']:#04x}" in stopped, stopped
    assert frame["mode"] == "real" and frame["vector"] == event["vector"] and frame["error_code"] is None


def test_real16_break_in_gdb_through_a_segment_other_than_0(real16, toolchain):
    """int 0x61's handler runs at 07c0:00a0: gdb reports a SIGTRAP at IP 0xa0, idtscope
    recognizes its breakpoint at the linear address and prints the report."""
    layout = real16.layout
    event = layout["scenarios"][2]["events"][0]
    outputs = gdb_batch(real16, ["x86 break 0x61", f"set {{char}}{layout['symbols_linear']['scenario']:#x} = 2",
                                 "continue", "x86 frame --json"], smp=1, toolchain=toolchain)
    assert "breakpoint 1, vector 0x61" in outputs[2], outputs[2]
    frame = json.loads(outputs[3])
    assert frame["mode"] == "real" and frame["vector"] == event["vector"]
