"""lint finds each mistake planted in the broken long-mode guest, and nothing on the clean one."""

import pytest

from shell.guests.build import build
from tests.live.harness import shell_json, shell_session

#: the guest's planted mistake ids -> the lint finding that must report each
EXPECTED = {
    "df_without_ist": ("critical-without-ist", [8]),
    "ud_not_present": ("exception-gate-missing", [6]),
    "bp_dpl0": ("user-gate-dpl0", [3]),
    "nmi_ist_empty_slot": ("ist-zero-slot", [2]),
    "ist2_no_guard": ("stack-without-guard", []),
}


@pytest.mark.parametrize("cpu", [0, 1])
def test_clean_guest_has_no_findings(long64, cpu):
    with shell_session(long64) as (session, _):
        data = shell_json(session, f"lint --cpu {cpu}")
    assert data["findings"] == [], data["findings"]
    tr, ist = data["guest"]["stacks"]
    assert data["guest"]["kind"] == "user" and data["guest"]["user_mode"]
    assert tr == f"TR {0x40 + 16 * cpu:#06x} is loaded" and ist.startswith("gates with an IST: ")


def test_broken_guest_findings_are_exactly_the_planted_mistakes():
    image = build("long64", "broken")
    planted = [mistake["id"] for mistake in image.layout["variants"]["broken"]["mistakes"]]
    assert sorted(planted) == sorted(EXPECTED)
    with shell_session(image) as (session, _):
        data = shell_json(session, "lint")
        text = session.run("lint")
    found = sorted((f["id"], f["vectors"]) for f in data["findings"])
    assert found == sorted(EXPECTED[m] for m in planted)
    assert all(f["why"] and f["fix"] for f in data["findings"])
    assert "IST2" in next(f["what"] for f in data["findings"] if f["id"] == "stack-without-guard")
    assert "fix:" in text and f"{data['counts']['error']} errors" in text


def test_user_int3_through_a_dpl0_gate_is_explained():
    """The canonical mistake: #GP with the IDT bit naming vector 3 (0x1a on real CPUs; QEMU
    before 8.0 writes 0x32 in long mode), explained as a DPL problem of the int3 gate."""
    from gdbext.symbols import SymbolTable

    image = build("long64", "broken")
    scenario = SymbolTable.load(image.elf).address_of("scenario")
    with shell_session(image) as (session, _):
        session.run("break gp")
        session.run(f"gdb set {{long long}}{scenario:#x} = 8")
        session.run("continue 20")
        frame = shell_json(session, "frame")
    assert frame["vector"] == 13 and frame["from_cpl"] == 3
    assert frame["error_code"] in (0x1A, 0x32)
    why = frame["explanation"]
    assert why["gate"]["vector"] == 3 and why["gate"]["dpl"] == 0
    assert "INT 0x03 from CPL 3 through a gate with DPL 0" in why["summary"]


def test_prot32_findings_are_the_two_its_tables_call_for():
    """prot32 gives int3 and int 0x80 (handler isr_syscall) DPL 3 but #OF DPL 0; SeaBIOS
    leaves its local APIC enabled with spurious vector 0xff, which has no gate, while nothing
    can deliver a fixed interrupt there (LVTs masked or ExtINT, I/O APIC masked, one vCPU)."""
    image = build("prot32")
    with shell_session(image, smp=1) as (session, _):
        data = shell_json(session, "lint")
        text = session.run("lint")
    assert data["guest"] == {"kind": "user", "user_mode": ["DPL 3 gates: 0x03, 0x80"],
                             "stacks": ["TR 0x0018 is loaded"]}
    assert [(f["id"], f["severity"], f["vectors"]) for f in data["findings"]] == [
        ("user-gate-dpl0", "warning", [4]), ("spurious-without-handler", "info", [0xFF])]
    assert text.splitlines()[0] == "judged as a kernel with user mode: DPL 3 gates: 0x03, 0x80; TR 0x0018 is loaded"


def test_a_ring_0_program_is_not_asked_for_user_gates():
    """prot32's ring0 variant: int3, into and int 0x80 gates DPL 0, TR null. Nothing there
    is wrong for a program that never leaves ring 0."""
    image = build("prot32", "ring0")
    with shell_session(image, smp=1) as (session, _):
        data = shell_json(session, "lint")
        idt = shell_json(session, "idt 0x80")
    assert idt["gates"][0]["dpl"] == 0 and idt["gates"][0]["symbol"] == "isr_syscall"
    assert data["guest"] == {"kind": "ring0", "user_mode": [], "stacks": []}
    assert [(f["id"], f["severity"]) for f in data["findings"]] == [("spurious-without-handler", "info")]


@pytest.mark.parametrize("cpu", [0, 1])
def test_a_64_bit_ring_0_program_needs_no_tss(cpu):
    """long64's ring0 variant, as firmware or a memory tester: every descriptor and gate DPL 0,
    no IST, TR null. No TSS, IST or user-gate finding, and `ist` / `tss` say why there is none."""
    image = build("long64", "ring0")
    with shell_session(image) as (session, _):
        data = shell_json(session, f"lint --cpu {cpu}")
        ist = shell_json(session, f"ist --cpu {cpu}")
        tss = shell_json(session, f"tss --cpu {cpu}")
        regs = shell_json(session, f"regs --cpu {cpu}")
    assert regs["mode"] == "long" and regs["tr"]["selector"] == 0
    assert data["guest"] == {"kind": "ring0", "user_mode": [], "stacks": []}
    assert data["findings"] == []
    assert ist["stacks"] == [] and ist["absent"].startswith("TR is null")
    assert tss["absent"].startswith("TR is null") and tss["error"] is None


@pytest.mark.parametrize("name, field, expected, others", [
    ("prot32", "{int}", "TSS 0x0018: SS0:ESP0 is 0x0010:0x0", ["user-gate-dpl0", "spurious-without-handler"]),
    ("long64", "{long long}", "TSS 0x0040: RSP0 is 0", []),
])
def test_a_kernel_with_user_mode_needs_a_ring_0_stack_in_its_tss(name, field, expected, others):
    """Zero the running TSS's ESP0 / RSP0 (offset 4 in both formats, SDM 3A Figures 8-2, 8-11):
    an interrupt from ring 3 would then push its frame below address 0. The other findings
    are each guest's usual ones (test_prot32_findings_are_the_two_its_tables_call_for)."""
    image = build(name)
    base = image.layout["tss"]["main"]["base"] if name == "prot32" else image.layout["cpus"][0]["tss"]
    with shell_session(image, smp=1 if name == "prot32" else None) as (session, _):
        session.run(f"gdb set {field}{base + 4:#x} = 0")
        data = shell_json(session, "lint --cpu 0")
    found = {f["id"]: f for f in data["findings"]}
    assert sorted(found) == sorted(others + ["ring0-stack-missing"])
    assert (found["ring0-stack-missing"]["severity"], found["ring0-stack-missing"]["what"]) == ("error", expected)


def test_an_ist_gate_without_a_tss_is_an_error():
    """long64's ring0 variant with the IST field of gate 8 set to 1 in memory (byte 4 of the
    16-byte gate, SDM 3A Figure 6-8): the gate switches stacks, so the TSS it needs is missing."""
    image = build("long64", "ring0")
    gate = image.layout["idt"]["base"] + 8 * 16
    with shell_session(image) as (session, _):
        session.run(f"gdb set {{char}}{gate + 4:#x} = 1")
        data = shell_json(session, "lint --cpu 0")
    assert data["guest"] == {"kind": "stacks", "user_mode": [], "stacks": ["gates with an IST: 0x08"]}
    found = {f["id"]: f for f in data["findings"]}
    assert found["tss-missing"]["severity"] == "error"
    assert found["tss-missing"]["what"].startswith("no usable 64-bit TSS: TR is null")
    assert sorted(found) == ["critical-without-ist", "tss-missing"]
    # NMI only: #MC cannot be raised with CR4.MCE=0, which long64 leaves clear
    assert [f["vectors"] for f in data["findings"] if f["id"] == "critical-without-ist"] == [[2]]
