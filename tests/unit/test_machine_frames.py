"""gdbext.machine.frames on the long64 snapshot stopped at its #PF handler after scenario 2
(a user write to a not-present page): where the CPU put the frame, against layout.json; a
stop that is not at a handler entry is one clear error. (The event itself, for every stop
fixture: test_machine_explain.py.)"""

import pytest

from gdbext.errors import IdtscopeError
from gdbext.machine.frames import read_stop_frame, vectors_at
from tests.unit.snapshot_fixtures import layout, open_fixture


@pytest.fixture(scope="module")
def stop():
    target = open_fixture("long64-pf")
    return target, read_stop_frame(target, 0)


def test_frame_sits_at_the_top_of_rsp0(stop):
    """A ring 3 -> 0 switch in IA-32e mode pushes SS, RSP, RFLAGS, CS, RIP and the error code
    (six 8-byte slots) below TSS.RSP0 (SDM Vol. 3A 6.14.2)."""
    target, frame = stop
    rsp0 = layout("long64-pf")["cpus"][0]["stacks"]["rsp0"]["top"]
    assert frame.address == rsp0 - 6 * 8
    assert frame.frame.ss & 3 == 3 and frame.frame.sp == layout("long64-pf")["memory"]["user_stack_page"] + 0x1000


def test_the_handler_entry_belongs_to_vector_14_only(stop):
    target, frame = stop
    assert vectors_at(target, 0, frame.gate.offset) == [14]


@pytest.mark.parametrize("fixture", ["long64", "prot32", "real16"])
def test_a_stop_away_from_any_handler_is_one_clear_error(fixture):
    with pytest.raises(IdtscopeError, match="not the entry of any gate's handler"):
        read_stop_frame(open_fixture(fixture), 0)
