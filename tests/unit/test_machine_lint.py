"""gdbext.machine.lint on the snapshot fixtures: the healthy long64 has nothing to report, its
`broken` variant gets exactly the mistakes its layout.json plants, real mode is not judged,
and Debian's Linux is judged by facts of the Linux 6.1 source."""

from gdbext.machine.lint import lint
from gdbext.machine.severity import Severity
from gdbext.machine.tables import read_idt
from tests.unit.snapshot_fixtures import layout, open_fixture

#: layout.json mistake id -> the finding lint must give for it, and its vectors
MISTAKES = {
    "df_without_ist": ("critical-without-ist", (8,)),
    "ud_not_present": ("exception-gate-missing", (6,)),
    "bp_dpl0": ("user-gate-dpl0", (3,)),
    "nmi_ist_empty_slot": ("ist-zero-slot", (2,)),
    "ist2_no_guard": ("stack-without-guard", ()),
}


def test_healthy_long64_is_a_kernel_with_user_mode_and_clean():
    target = open_fixture("long64")
    for cpu in target.cpus():
        kind, findings = lint(target, cpu)
        assert kind.name == "user" and findings == []


def test_broken_variant_gets_each_planted_mistake():
    expected = layout("long64-broken")
    kind, findings = lint(open_fixture("long64-broken"), 0)
    assert kind.name == "user"
    found = {(finding.id, finding.vectors) for finding in findings}
    assert found == {MISTAKES[mistake["id"]] for mistake in expected["mistakes"]}
    errors = {finding.id for finding in findings if finding.severity is Severity.ERROR}
    assert errors == {"exception-gate-missing", "ist-zero-slot"}


def test_real_mode_has_nothing_to_judge():
    assert lint(open_fixture("real16"), 0) == (None, [])


def test_prot32_into_gate_needs_dpl3_for_user_code():
    """prot32 gives int3 and int 0x80 DPL 3 but #OF DPL 0: INTO from ring 3 would raise #GP."""
    expected = layout("prot32")
    assert expected["idt"]["gates"][4]["dpl"] == 0 and expected["idt"]["gates"][3]["dpl"] == 3
    kind, findings = lint(open_fixture("prot32"), 0)
    assert ("user-gate-dpl0", (4,)) in {(finding.id, finding.vectors) for finding in findings}
    assert not [finding for finding in findings if finding.severity is Severity.ERROR]


def test_linux_ist_gates_and_its_unmapped_vc_stack():
    """arch/x86/kernel/idt.c gives #DB, NMI, #DF and #VC an IST stack (IST_INDEX_DB/NMI/DF/VC + 1
    in arch/x86/include/asm/page_64_types.h: 3, 2, 1, 5); the #VC stacks are mapped only for
    SEV-ES guests (arch/x86/kernel/sev.c), so lint gives a note, and nothing worse."""
    target = open_fixture("linux-amd64")
    gates = read_idt(target, 0).slots
    assert {vector: gates[vector].entry.ist for vector in (1, 2, 8, 0x1D)} == {1: 3, 2: 2, 8: 1, 0x1D: 5}
    assert target.symbolize(gates[0x1D].entry.offset) == "asm_exc_vmm_communication"
    kind, findings = lint(target, 0)
    assert kind.name == "user"
    found = [(finding.id, finding.severity, finding.vectors) for finding in findings]
    assert found == [("stack-unusable", Severity.INFO, (0x1D,))]
