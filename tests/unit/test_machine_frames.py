"""gdbext.machine.frames and .explain on the long64 snapshot stopped at its #PF handler after
scenario 2 (a user write to a not-present page): the frame and the reason, against the event
layout.json says the CPU raises; a stop that is not at a handler entry is one clear error."""

import pytest

from gdbext.errors import IdtscopeError
from gdbext.machine.explain import explain_stop
from gdbext.machine.frames import read_stop_frame, vectors_at
from tests.unit.snapshot_fixtures import layout, open_fixture

SCENARIO = 2


@pytest.fixture(scope="module")
def stop():
    target = open_fixture("long64-pf")
    return target, read_stop_frame(target, 0)


@pytest.fixture(scope="module")
def event():
    return layout("long64-pf")["scenarios"][SCENARIO]["events"][0]


def test_frame_is_the_one_the_scenario_raises(stop, event):
    target, frame = stop
    assert frame.vector == event["vector"] and frame.frame.error_code == event["error_code"]
    assert frame.cr2 == event["cr2"] and frame.stack == event["stack"]
    assert frame.frame.cs & 3 == event["from_cpl"] and frame.to_cpl == 0
    assert target.symbolize(frame.frame.ip) == event["rip_symbol"]
    assert target.symbolize(frame.gate.offset) == event["handler"]
    assert frame.warnings == ()


def test_frame_sits_at_the_top_of_rsp0(stop):
    """A ring 3 -> 0 switch in IA-32e mode pushes SS, RSP, RFLAGS, CS, RIP and the error code
    (six 8-byte slots) below TSS.RSP0 (SDM Vol. 3A 6.14.2)."""
    target, frame = stop
    rsp0 = layout("long64-pf")["cpus"][0]["stacks"]["rsp0"]["top"]
    assert frame.address == rsp0 - 6 * 8
    assert frame.frame.ss & 3 == 3 and frame.frame.sp == layout("long64-pf")["memory"]["user_stack_page"] + 0x1000


def test_explanation_names_the_pte_and_agrees_with_the_cpu(stop, event):
    target, frame = stop
    why = explain_stop(target, frame)
    assert why["kind"] == "page-fault" and why["agrees"] is True
    assert why["expected_error_code"] == event["error_code"]
    assert (why["walk"]["refused_by"]["level"], why["walk"]["refused_by"]["bit"]) == ("PTE", "P")
    assert why["walk"]["linear"] == event["cr2"]


def test_the_handler_entry_belongs_to_vector_14_only(stop):
    target, frame = stop
    assert vectors_at(target, 0, frame.gate.offset) == [14]


@pytest.mark.parametrize("fixture", ["long64", "prot32", "real16"])
def test_a_stop_away_from_any_handler_is_one_clear_error(fixture):
    with pytest.raises(IdtscopeError, match="not the entry of any gate's handler"):
        read_stop_frame(open_fixture(fixture), 0)
