"""gdbext.machine.controllers and .diagnose on the snapshot fixtures: the local APIC and the
8259A PICs as each guest programmed them (layout.json), and which vectors can land."""

import pytest

from gdbext.machine.controllers import read_lapic, read_pic
from gdbext.machine.diagnose import landings
from gdbext.machine.tables import read_idt
from tests.unit.snapshot_fixtures import layout, open_fixture


def test_long64_local_apics_are_programmed_as_the_layout_says():
    target, expected = open_fixture("long64"), layout("long64")
    registers = expected["lapic"]["registers"]
    for cpu in expected["cpus"]:
        view = read_lapic(target, cpu["index"])
        state = view.state
        assert view.apic_id == cpu["apic_id"]
        assert state.spiv.raw == registers["svr"] and state.spiv.vector == expected["lapic"]["spurious_vector"]
        assert state.lvt_timer.raw == registers["lvt_timer"]
        assert state.lvt_timer.vector == expected["lapic"]["timer"]["vector"]
        assert state.lvt_timer.timer_mode == expected["lapic"]["timer"]["mode"]
        assert state.lvt_lint0.raw == registers["lvt_lint0"] and state.lvt_lint1.raw == registers["lvt_lint1"]
        assert state.lvt_error.raw == registers["lvt_error"]
        assert state.timer.divide_by == expected["lapic"]["timer"]["divide"]
        assert state.timer.initial_count == registers["timer_initial_count"]
        assert 0 < state.timer.current_count <= state.timer.initial_count
        assert state.tpr == registers["tpr"] and state.isr == ()


@pytest.mark.parametrize("fixture", ["long64", "prot32", "real16"])
def test_pics_have_the_layouts_bases_and_masks(fixture):
    expected = layout(fixture)["pic"]
    state = read_pic(open_fixture(fixture))
    for chip, name in ((state.master, "master"), (state.slave, "slave")):
        assert chip.irq_base == expected[name]["base"], name
        if "imr" in expected[name]:
            assert chip.imr == expected[name]["imr"], name
        assert chip.isr == 0, name


def test_a_vector_lands_exactly_where_the_layout_has_a_present_gate():
    target, expected = open_fixture("long64"), layout("long64")
    lands = landings(read_idt(target, 0))
    assert [land.usable for land in lands] == [gate["present"] for gate in expected["idt"]["gates"]]
    for land in lands:
        assert (land.why_not is None) == land.usable
        if land.usable:
            assert target.symbolize(land.handler) == expected["idt"]["gates"][land.vector]["handler"]
