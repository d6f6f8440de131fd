"""The protected-mode guest under PAE paging: `walk` and `lint` against what the CPU did.

Scenario 8 of the `pae` variant makes each access of `paging.probes` and records the
vector, error code and CR2 it took (or none). `walk` must predict exactly those faults,
and allow the accesses the CPU allowed, although QEMU has set bit 5 (a reserved bit in
the SDM's PDPTE format, SDM 3A 4.4.1 Table 4-8) in the PDPTE every probe goes through.
For a reserved-bit fault QEMU pushes the error code without P, which walk notes.
"""

import struct

import pytest

from gdbext.symbols import SymbolTable
from shell.guests.build import build
from tests.live.harness import shell_json, shell_session

NO_VECTOR = 0xFFFFFFFF
PF = 14


@pytest.fixture(scope="module")
def pae():
    return build("prot32", "pae")


@pytest.fixture(scope="module")
def probed(pae):
    """The shell on the PAE guest after scenario 8, with the guest's probe results."""
    table = SymbolTable.load(pae.elf)
    probes = pae.layout["paging"]["probes"]
    with shell_session(pae, smp=1) as (session, _):
        session.run(f"gdb break *{table.address_of('scenario_done'):#x}")
        session.run(f"gdb set {{int}}{table.address_of('scenario'):#x} = 8")
        stopped = session.run("continue 30")
        assert "scenario_done" in stopped, stopped
        raw = session.context.target.read_memory(table.address_of("probe_results"), 12 * len(probes), 0)
        results = [struct.unpack_from("<III", raw, 12 * i) for i in range(len(probes))]
        yield session, probes, results


def test_the_cpu_did_what_the_layout_documents(probed):
    _, probes, results = probed
    for probe, (vector, error_code, cr2) in zip(probes, results):
        if probe["error_code"] is None:
            assert vector == NO_VECTOR, probe["name"]
        else:
            assert (vector, error_code, cr2) == (PF, probe["error_code"], probe["address"]), probe["name"]


def test_walk_predicts_each_fault_the_cpu_took_and_no_other(probed):
    session, probes, results = probed
    for probe, (vector, error_code, _) in zip(probes, results):
        flags = " --write" * probe["write"] + " --fetch" * probe["fetch"]
        walk = shell_json(session, f"walk {probe['address']:#x}{flags}")
        assert walk["mode"] == "PAE"
        refused = walk["refused_by"]
        if vector == NO_VECTOR:
            assert refused is None and walk["allowed"], (probe["name"], walk)
        elif refused is not None and refused["bit"] == "RSVD":
            assert refused["error_code"] == error_code | 1, (probe["name"], walk)
            assert f"QEMU (TCG) pushes error code {error_code:#x}" in " ".join(walk["notes"])
        else:
            assert refused is not None and refused["error_code"] == error_code, (probe["name"], walk)


def test_qemu_sets_bit_5_in_the_pdpte_and_walk_only_notes_it(probed, pae):
    session, _, _ = probed
    paging = pae.layout["paging"]
    pdpte = int.from_bytes(session.context.target.read_memory(paging["pdpt"], 8, 0, physical=True), "little")
    assert pdpte == paging["page_directory"] | 0x21, f"{pdpte:#x}"
    walk = shell_json(session, f"walk {SymbolTable.load(pae.elf).address_of('isr_pf'):#x} --fetch")
    assert walk["allowed"] and walk["steps"][0]["reserved_bits"] == 0
    assert any("QEMU sets it" in note for note in walk["notes"])


def test_lint_judges_the_pae_guest_as_prot32(probed):
    """The same tables as prot32, whose int3 and int 0x80 gates are DPL 3: a kernel with
    user mode, where `into` from ring 3 would take #GP through #OF's DPL 0 gate. The
    firmware left the local APIC enabled with spurious vector 0xff, which has no gate; but
    with every LVT masked or ExtINT, the I/O APIC masked and one vCPU, that is a note."""
    session, _, _ = probed
    data = shell_json(session, "lint")
    assert data["guest"]["kind"] == "user"
    assert [(f["id"], f["severity"], f["vectors"]) for f in data["findings"]] == [
        ("user-gate-dpl0", "warning", [4]), ("spurious-without-handler", "info", [0xFF])]
