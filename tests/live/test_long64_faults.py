"""Break on handler entry by vector, decode the frame and explain the fault,
for every event the long-mode guest raises on purpose (its layout.json says
what the CPU pushes for each scenario)."""

import json

import pytest

from tests.live.harness import gdb_batch, shell_json, shell_session


def scenario_address(image):
    from gdbext.symbols import SymbolTable

    return SymbolTable.load(image.elf).address_of(image.layout["symbols"]["scenario"])


def run_scenario(session, image, number):
    session.run(f"gdb set {{long long}}{scenario_address(image):#x} = {number}")


def expect(image, number, index=0):
    return image.layout["scenarios"][number]["events"][index]


def symbol_of(image, name):
    """A label's address, or an address the layout names (such as the NX page)."""
    from gdbext.symbols import SymbolTable

    address = SymbolTable.load(image.elf).address_of(name)
    return address if address is not None else image.layout["memory"][name]


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6, 7])
def test_scenario_frame_matches_what_the_guest_raised(long64, number, toolchain):
    event = expect(long64, number)
    with shell_session(long64, toolchain=toolchain) as (session, _):
        session.run(f"break {event['vector']}")
        run_scenario(session, long64, number)
        stopped = session.run("continue 20")
        assert stopped.startswith("stopped at a handler"), stopped
        assert f"vector {event['vector']:#04x}" in stopped
        frame = shell_json(session, "frame")
    assert frame["vector"] == event["vector"]
    assert frame["error_code"] == event["error_code"]
    assert frame["cr2"] == event["cr2"]
    assert frame["from_cpl"] == event["from_cpl"] and frame["to_cpl"] == 0
    assert frame["stack"] == event["stack"]
    assert frame["rip"] == symbol_of(long64, event["rip_symbol"])
    if frame["stack"] != "same":
        assert frame["stack_check"].startswith("matches TSS."), frame["stack_check"]
    assert frame["warnings"] == []


@pytest.mark.parametrize("number, level, bit", [(2, "PTE", "P"), (3, "PTE", "R/W"), (4, "PTE", "XD")])
def test_page_fault_walk_names_level_and_bit(long64, number, level, bit):
    with shell_session(long64) as (session, _):
        session.run("break '#PF'")
        run_scenario(session, long64, number)
        session.run("continue 20")
        why = shell_json(session, "frame")["explanation"]
    assert why["kind"] == "page-fault"
    assert why["walk"]["refused_by"]["level"] == level and why["walk"]["refused_by"]["bit"] == bit
    assert why["agrees"] is True, why["summary"]


def test_gp_selector_names_the_gdt_entry(long64):
    with shell_session(long64) as (session, _):
        session.run("break gp")
        run_scenario(session, long64, 5)
        session.run("continue 20")
        why = shell_json(session, "frame")["explanation"]
    assert why["table"] == "GDT" and why["index"] == 0x38 >> 3
    assert "execute-only" in why["summary"]


def test_filters_and_counts(long64):
    with shell_session(long64) as (session, _):
        session.run("break pf --from user")
        run_scenario(session, long64, 3)
        assert session.run("continue 3").startswith("still running"), "a kernel #PF must not stop a --from user break"
        session.run("interrupt")
        run_scenario(session, long64, 2)
        stopped = session.run("continue 20")
        listed = shell_json(session, "break list")
    assert "hit 2, matched 1" in stopped
    row = listed["breakpoints"][0]
    assert (row["hits"], row["matched"], row["vector"]) == (2, 1, 14)


def test_error_code_filter_and_user_int3_through_dpl3_gate(long64, toolchain):
    with shell_session(long64, toolchain=toolchain) as (session, _):
        session.run("break 3 --from user")
        session.run("break 0x80")
        run_scenario(session, long64, 8)
        assert "vector 0x03" in session.run("continue 20")
        first = shell_json(session, "frame")
        assert "vector 0x80" in session.run("continue 20")
        second = shell_json(session, "frame")
    for frame, event in zip((first, second), expect_all(long64, 8)):
        assert frame["vector"] == event["vector"] and frame["from_cpl"] == 3 and frame["stack"] == "rsp0"
        assert frame["rip"] == symbol_of(long64, event["rip_symbol"])


def expect_all(image, number):
    return image.layout["scenarios"][number]["events"]


def test_double_fault_on_ist1_in_gdb_too(long64, toolchain):
    address = scenario_address(long64)
    outputs = gdb_batch(long64, ["x86 break 8", f"set {{long long}}{address:#x} = 7", "continue",
                                 "x86 frame --json", "x86 break list --json"], toolchain=toolchain)
    assert "breakpoint 1, vector 0x08" in outputs[2], outputs[2]
    frame = json.loads(outputs[3])
    assert frame["vector"] == 8 and frame["error_code"] == 0 and frame["stack"] == "ist1"
    assert frame["stack_check"].startswith("matches TSS.IST1")
    assert frame["explanation"]["kind"] == "double-fault"
    assert json.loads(outputs[4])["breakpoints"][0]["matched"] == 1


def test_stop_report_is_printed_in_gdb_for_a_page_fault(long64, toolchain):
    address = scenario_address(long64)
    outputs = gdb_batch(long64, ["x86 break 14", f"set {{long long}}{address:#x} = 2", "continue"],
                        toolchain=toolchain)
    report = outputs[2]
    assert "vector 14 (0x0e) #PF Page Fault on CPU 0" in report
    assert "user-mode write to a not-present page" in report and "PTE" in report


def test_breakpoint_on_absent_gate_is_refused(long64):
    with shell_session(long64) as (session, _):
        with pytest.raises(Exception, match="not present"):
            session.run("break 15")


def test_breakpoint_follows_the_idt(long64):
    idt = long64.layout["idt"]["base"]
    pf_gate, gp_gate = idt + 14 * 16, idt + 13 * 16
    with shell_session(long64) as (session, _):
        session.run("break 14")
        target = session.context.target
        low, high = (int(target.console(f"output/x *(unsigned long long *){gp_gate + i:#x}").strip(), 16)
                     for i in (0, 8))
        session.run(f"gdb set {{unsigned long long}}{pf_gate:#x} = {low:#x}")
        session.run(f"gdb set {{unsigned long long}}{pf_gate + 8:#x} = {high:#x}")
        session.run("continue 0.2")
        moved = session.run("interrupt")
        row = shell_json(session, "break list")["breakpoints"][0]
        session.run(f"gdb set {{unsigned long long}}{pf_gate:#x} = 0")
        session.run("continue 0.2")
        stale = session.run("interrupt")
        listed = shell_json(session, "break list")["breakpoints"][0]
    assert "breakpoint 1 (vector 0x0e) moved" in moved
    assert row["address"] == symbol_of(long64, "isr_gp") and row["symbol"] == "isr_gp"
    assert "is stale: the gate of vector 0x0e is not present" in stale
    assert listed["stale"] == "the gate of vector 0x0e is not present"


def test_break_on_every_exception_then_delete(long64):
    with shell_session(long64) as (session, _):
        added = shell_json(session, "break --exceptions")
        deleted = shell_json(session, "break delete all")
    present = [g["vector"] for g in long64.layout["idt"]["gates"] if g["present"] and g["vector"] < 32]
    assert [row["vector"] for row in added["breakpoints"]] == present
    assert added["skipped"] == [v for v in range(32) if v not in present]
    assert deleted["breakpoints"] == [] and len(deleted["deleted"]) == len(present)
