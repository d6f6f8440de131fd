"""gdbext.machine.tables on the snapshot fixtures: the IDT, IVT, GDT and LDT each test guest
set up, checked gate by gate and descriptor by descriptor against its layout.json."""

import pytest

from gdbext.machine.frames import entry_point
from gdbext.machine.tables import read_gdt, read_idt, read_ldt
from gdbext.model.idt import IvtEntry
from tests.unit.snapshot_fixtures import layout, open_fixture

#: SDM Vol. 3A Table 3-2: a 16-bit interrupt gate
INTERRUPT_GATE_16 = 6


@pytest.mark.parametrize("fixture", ["long64", "long64-broken", "prot32", "prot32-pae"])
def test_idt_gates_are_the_layouts(fixture):
    target, expected = open_fixture(fixture), layout(fixture)
    segments = {entry.index * 8: entry.descriptor for entry in read_gdt(target, 0).entries}
    for cpu in target.cpus():
        view = read_idt(target, cpu)
        assert (view.base, view.limit) == (expected["idt"]["base"], expected["idt"]["limit"])
        assert len(view.slots) == 256
        for slot, gate in zip(view.slots, expected["idt"]["gates"]):
            entry = slot.entry
            assert slot.error is None and entry.present == gate["present"], gate
            if not gate["present"]:
                continue
            assert entry.type == gate["type_code"], gate
            assert (entry.dpl, entry.selector) == (gate["dpl"], gate["selector"]), gate
            assert getattr(entry, "ist", 0) == gate["ist"], gate
            if gate["type_code"] == INTERRUPT_GATE_16:
                # prot32's gate 0x60 enters a 16-bit segment based at 0x100000: the handler is at
                # base + offset (SDM 3A 6.12.1), not at the offset
                code = segments[entry.selector]
                assert (code.base, code.db, code.l) == (0x100000, False, False) and entry.offset < 0x10000
                assert entry_point(target, cpu, entry) == (0x100000 + entry.offset, None)
            elif gate["handler"] is not None:
                assert target.symbolize(segments[entry.selector].base + entry.offset) == gate["handler"], gate


def test_real_mode_ivt_holds_the_installed_far_pointers():
    target, expected = open_fixture("real16"), layout("real16")
    view = read_idt(target, 0)
    assert (view.base, view.limit) == (expected["ivt"]["base"], expected["ivt"]["limit"])
    for installed in expected["ivt"]["installed"]:
        entry = view.slots[installed["vector"]].entry
        assert isinstance(entry, IvtEntry)
        assert (entry.segment, entry.offset) == (installed["segment"], installed["offset"])
        assert entry.segment * 16 + entry.offset == installed["linear"]


@pytest.mark.parametrize("fixture", ["long64", "prot32"])
def test_gdt_descriptors_are_the_layouts(fixture):
    target, expected = open_fixture(fixture), layout(fixture)
    view = read_gdt(target, 0)
    assert (view.base, view.limit) == (expected["gdt"]["base"], expected["gdt"]["limit"]) and view.error is None
    by_selector = {entry.index * 8: entry.descriptor for entry in view.entries}
    loaded = {cpu["tr"] for cpu in expected["cpus"]} if "cpus" in expected else {expected["tss"]["main"]["selector"]}
    for row in expected["gdt"]["entries"]:
        descriptor = by_selector[row["selector"]]
        # each vCPU's ltr marks its TSS busy (type 9 -> 0xb); the layout writes them available
        busy = 2 if row["selector"] in loaded else 0
        assert (descriptor.base, descriptor.limit_raw, descriptor.dpl) == (row["base"], row["limit"], row["dpl"]), row
        assert descriptor.type == row["type"] | busy, row
        assert (descriptor.present, descriptor.s) == (bool(row["p"]), bool(row["s"])), row
        assert (descriptor.l, descriptor.db, descriptor.g) == (bool(row["l"]), bool(row["db"]), bool(row["g"])), row


def test_both_vcpus_of_long64_read_one_gdt():
    target = open_fixture("long64")
    assert read_gdt(target, 1).entries == read_gdt(target, 0).entries


@pytest.mark.parametrize("fixture", ["long64", "prot32", "real16"])
def test_no_guest_loads_an_ldt(fixture):
    assert read_ldt(open_fixture(fixture), 0) is None


def test_an_empty_real_mode_gdt_has_no_entries():
    view = read_gdt(open_fixture("real16"), 0)
    assert view.limit == 0 and view.entries == ()
