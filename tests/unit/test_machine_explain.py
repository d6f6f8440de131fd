"""gdbext.machine.explain on the long64 snapshots stopped at a fault (tests/fixtures/snapshots):
the #GP of scenario 5 names the execute-only GDT entry its error code points at, the #DF of
scenario 7 says it ran on IST1, and the #PF of scenario 2 the PTE that refused the write.
The events come from layout.json, the descriptor from its GDT."""

import pytest

from gdbext.machine.explain import explain_stop
from gdbext.machine.frames import read_stop_frame
from tests.unit.snapshot_fixtures import AT_A_HIT, layout, open_fixture


def stop_and_event(fixture):
    target = open_fixture(fixture)
    return target, read_stop_frame(target, 0), layout(fixture)["scenarios"][AT_A_HIT[fixture]]["events"][0]


@pytest.mark.parametrize("fixture", sorted(AT_A_HIT))
def test_each_stop_is_the_event_its_scenario_raises(fixture):
    target, stop, event = stop_and_event(fixture)
    assert (stop.vector, stop.frame.error_code, stop.cr2) == (event["vector"], event["error_code"], event["cr2"])
    assert (stop.stack, stop.frame.cs & 3) == (event["stack"], event["from_cpl"])
    assert target.symbolize(stop.frame.ip) == event["rip_symbol"]
    assert target.symbolize(stop.gate.offset) == event["handler"]


def test_gp_names_the_execute_only_segment():
    target, stop, event = stop_and_event("long64-gp")
    expected = layout("long64-gp")
    entry = next(row for row in expected["gdt"]["entries"] if row["selector"] == event["error_code"])
    assert entry["name"] == "exec_only_code32" and entry["type"] & 0b1010 == 0b1000  # code, not readable
    why = explain_stop(target, stop)
    assert (why["kind"], why["table"], why["external"]) == ("selector", "GDT", False)
    assert why["index"] == entry["selector"] >> 3
    assert why["descriptor"] == {"index": entry["selector"] >> 3, "kind": "code", "present": True, "dpl": entry["dpl"]}
    assert "execute-only" in why["summary"]


def test_double_fault_runs_on_ist1():
    """Scenario 7's #DF: the gate of vector 8 has IST 1, so the frame sits 48 bytes below
    TSS.IST1 (SS, RSP, RFLAGS, CS, RIP and the error code 0)."""
    target, stop, event = stop_and_event("long64-df")
    expected = layout("long64-df")
    assert expected["idt"]["gates"][8]["ist"] == 1
    assert stop.address == expected["cpus"][0]["stacks"]["ist1"]["top"] - 6 * 8
    why = explain_stop(target, stop)
    assert why["kind"] == "double-fault" and "IST1" in why["summary"]


def test_page_fault_names_the_pte():
    target, stop, event = stop_and_event("long64-pf")
    why = explain_stop(target, stop)
    assert (why["kind"], why["agrees"]) == ("page-fault", True)
    assert (why["cr2"], why["error_code"]) == (event["cr2"], event["error_code"])
    assert (why["walk"]["refused_by"]["level"], why["walk"]["refused_by"]["bit"]) == ("PTE", "P")
