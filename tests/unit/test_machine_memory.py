"""gdbext.machine.memory on the snapshot fixtures: page walks of the pages layout.json
describes (long64's 4-level identity map, prot32-pae's probes), and a walk through a page
the snapshot does not hold, which names what is missing instead of failing."""

import pytest

from gdbext.machine.explain import walk_data
from gdbext.machine.memory import walk_for_cpu
from tests.unit.snapshot_fixtures import layout, open_fixture

#: the page-fault error code a refused access pushes (SDM Vol. 3A 4.7): P, W/R, U/S, RSVD, I/D
P, WRITE, USER, RSVD, FETCH = 1, 2, 4, 8, 16


@pytest.mark.parametrize("name, access, error_code", [
    ("ro_page", {"write": True}, P | WRITE),
    ("ro_page", {}, None),
    ("nx_page", {"fetch": True}, P | FETCH),
    ("user_stack_page", {"user": True, "write": True}, None),
    ("user_stack_page", {"user": True, "fetch": True}, P | USER | FETCH),
    ("user_unmapped_page", {"user": True, "write": True}, USER | WRITE),
])
def test_long64_pages(name, access, error_code):
    target, expected = open_fixture("long64"), layout("long64")
    page = next(page for page in expected["paging"]["pages"] if page["name"] == name)
    walk = walk_data(walk_for_cpu(target, 0, page["address"], **access))
    assert walk["mode"] == "4-level" and walk["unreadable"] is None
    if error_code is None:
        assert walk["allowed"] and walk["physical"] == page["address"]  # an identity map
    else:
        assert not walk["allowed"] and walk["refused_by"]["error_code"] == error_code


def test_prot32_pae_probes_fault_as_the_cpu_did():
    """Each probe's error code is what the guest recorded when it made the access."""
    target, expected = open_fixture("prot32-pae"), layout("prot32-pae")
    for probe in expected["paging"]["probes"]:
        walk = walk_data(walk_for_cpu(target, 0, probe["address"], write=probe["write"], fetch=probe["fetch"]))
        assert walk["mode"] == "PAE", probe
        if probe["error_code"] is None:
            assert walk["allowed"], probe
        elif probe["error_code"] & RSVD:
            # QEMU 7.2 (TCG) leaves P clear on a reserved-bit fault, where the SDM sets it: the walk
            # gives the SDM's code and says what QEMU pushes
            assert walk["refused_by"]["error_code"] == probe["error_code"] | P, probe
            assert any(f"pushes error code {probe['error_code']:#x}" in note for note in walk["notes"]), walk["notes"]
        else:
            assert walk["refused_by"]["error_code"] == probe["error_code"], probe


def test_a_page_table_outside_the_snapshot_is_named():
    """A user stack address of the Linux guest: its PML4E is in the saved CR3 page, the PDPT it
    points at was never read, so the walk stops there and says which page is missing."""
    target = open_fixture("linux-amd64")
    walk = walk_data(walk_for_cpu(target, 0, 0x7FFC00000000))
    assert walk["allowed"] is False and len(walk["steps"]) == 2 and walk["steps"][0]["present"]
    assert "not in the snapshot" in walk["unreadable"]
    assert f"{walk['steps'][0]['frame']:#x}" in walk["unreadable"]
