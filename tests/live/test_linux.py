"""idtscope on a kernel it was not written against: Debian's Linux 6.1 cloud kernel.

The guest (tests/guests/linux.py) boots with a busybox initramfs whose /init
prints the kernel's own /proc/kallsyms to COM1. Expected values come from
that symbol list and from the Linux 6.1 source, cited at each assertion;
none comes from idtscope. The shell drives a real gdb (MI) against QEMU.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.guests.linux import booted_linux
from tests.live.harness import attached_shell, gdb_run, json_documents, linux_boot_log, linux_shell, shell_json

KERNEL_CS, USER_CS, USER_DS, TSS_SELECTOR = 0x10, 0x33, 0x2B, 0x40  # asm/segment.h (64-bit)
CPU_ENTRY_AREA_RO_IDT = 0xFFFFFE0000000000  # asm/pgtable_64_types.h, asm/cpu_entry_area.h
FIRST_EXTERNAL_VECTOR, FIRST_SYSTEM_VECTOR = 0x20, 0xEC  # asm/irq_vectors.h
IDT_ALIGN = 8  # asm/idtentry.h, without CONFIG_X86_KERNEL_IBT (the cloud kernel has none)
EARLY_IDT_HANDLER_SIZE = 9  # asm/segment.h, without IBT
EXCEPTION_STKSZ, ESTACK_STRIDE = 0x2000, 0x3000  # asm/page_64_types.h; each stack has a 4 KiB guard page
IST = {8: 1, 2: 2, 1: 3}  # asm/page_64_types.h: IST_INDEX_DF 0, _NMI 1, _DB 2 (the gate holds index + 1)
#: arch/x86/kernel/idt.c def_idts, apic_idts: vector -> entry symbol, DPL
HANDLERS = {
    0x00: ("asm_exc_divide_error", 0), 0x01: ("asm_exc_debug", 0), 0x02: ("asm_exc_nmi", 0),
    0x03: ("asm_exc_int3", 3), 0x04: ("asm_exc_overflow", 3), 0x05: ("asm_exc_bounds", 0),
    0x06: ("asm_exc_invalid_op", 0), 0x07: ("asm_exc_device_not_available", 0),
    0x08: ("asm_exc_double_fault", 0), 0x0A: ("asm_exc_invalid_tss", 0),
    0x0B: ("asm_exc_segment_not_present", 0), 0x0C: ("asm_exc_stack_segment", 0),
    0x0D: ("asm_exc_general_protection", 0), 0x0E: ("asm_exc_page_fault", 0),
    0x10: ("asm_exc_coprocessor_error", 0), 0x11: ("asm_exc_alignment_check", 0),
    0x13: ("asm_exc_simd_coprocessor_error", 0),
    0x20: ("asm_sysvec_irq_move_cleanup", 0), 0xEC: ("asm_sysvec_apic_timer_interrupt", 0),
    0xFB: ("asm_sysvec_call_function_single", 0), 0xFC: ("asm_sysvec_call_function", 0),
    0xFD: ("asm_sysvec_reschedule_ipi", 0), 0xFE: ("asm_sysvec_error_interrupt", 0),
    0xFF: ("asm_sysvec_spurious_apic_interrupt", 0),
}
#: int 0x80 from 32-bit user code: entry_INT80_compat, or asm_int80_emulation since the 2024 stable backports
INT80 = ("entry_INT80_compat", "asm_int80_emulation")


@pytest.fixture(scope="module")
def linux(tmp_path_factory, toolchain):
    """A shell attached to Linux idling after init printed its symbols, with those symbols loaded."""
    with linux_shell(tmp_path_factory.mktemp("linux"), toolchain=toolchain) as attached:
        yield attached


def test_idt_is_linux_read_only_idt_with_every_gate_an_interrupt_gate(linux):
    session, _ = linux
    for cpu in (0, 1):
        idt = shell_json(session, f"idt --cpu {cpu}")
        assert idt["mode"] == "long"
        assert idt["idtr"] == {"base": CPU_ENTRY_AREA_RO_IDT, "limit": 256 * 16 - 1}
        assert len(idt["gates"]) == 256
        for gate in idt["gates"]:
            assert (gate["present"], gate["type"], gate["selector"]) == (True, "interrupt", KERNEL_CS), gate


def test_exception_and_apic_gates_reach_the_handlers_linux_installs(linux):
    session, symbols = linux
    gates = shell_json(session, "idt")["gates"]
    for vector, (name, dpl) in HANDLERS.items():
        gate = gates[vector]
        assert gate["handler"] == symbols[name], (hex(vector), gate)
        assert gate["symbol"] == name and gate["dpl"] == dpl
        assert gate["ist"] == IST.get(vector, 0), (hex(vector), gate)
    assert gates[0x80]["symbol"] in INT80 and gates[0x80]["dpl"] == 3
    assert gates[0x80]["handler"] == symbols[gates[0x80]["symbol"]]


def test_device_and_unused_system_vectors_go_to_the_entry_stub_arrays(linux):
    """idt_setup_apic_and_irq_gates(): irq_entries_start + IDT_ALIGN * (vector - 0x20) for
    device vectors, spurious_entries_start + IDT_ALIGN * (vector - 0xec) for unused system ones."""
    session, symbols = linux
    gates = shell_json(session, "idt")["gates"]
    for vector in range(FIRST_EXTERNAL_VECTOR + 1, FIRST_SYSTEM_VECTOR):
        if vector == 0x80:
            continue
        offset = IDT_ALIGN * (vector - FIRST_EXTERNAL_VECTOR)
        assert gates[vector]["handler"] == symbols["irq_entries_start"] + offset
        assert gates[vector]["symbol"] == f"irq_entries_start+{offset}"
    for vector in range(FIRST_SYSTEM_VECTOR, 256):
        if not gates[vector]["symbol"].startswith("asm_sysvec_"):
            offset = IDT_ALIGN * (vector - FIRST_SYSTEM_VECTOR)
            assert gates[vector]["handler"] == symbols["spurious_entries_start"] + offset, hex(vector)


def test_vectors_linux_leaves_alone_keep_their_early_handlers(linux):
    """Without CONFIG_X86_MCE the #MC gate, and the reserved vectors, keep the boot-time
    early_idt_handler_array stubs (head_64.S), in init text freed after boot."""
    session, symbols = linux
    gates = shell_json(session, "idt")["gates"]
    for vector in (0x12, 0x14, 0x15, 0x16, 0x1F):
        assert gates[vector]["handler"] == symbols["early_idt_handler_array"] + EARLY_IDT_HANDLER_SIZE * vector


def test_gdt_matches_linux_segment_layout(linux):
    session, _ = linux
    for cpu in (0, 1):
        entries = {e["index"]: e for e in shell_json(session, f"gdt --cpu {cpu}")["entries"]}
        expected = {1: ("code", 0, False), 2: ("code", 0, True), 3: ("data", 0, False),
                    4: ("code", 3, False), 5: ("data", 3, False), 6: ("code", 3, True)}
        for index, (kind, dpl, long) in expected.items():
            assert (entries[index]["kind"], entries[index]["dpl"], entries[index]["long"]) == (kind, dpl, long)
        assert entries[8]["kind"] == "tss-busy" and entries[8]["selector"] == TSS_SELECTOR
        assert entries[15]["limit"] & 0xFFF == cpu  # GDT_ENTRY_CPUNODE: the CPU number for RDPID-less getcpu
        assert {entries[i]["kind"] for i in (7, 12, 13, 14)} == {"empty"}
        assert "invalid" not in {e["kind"] for e in entries.values()}


def test_tss_stacks_follow_the_cpu_entry_area(linux):
    """struct cpu_entry_area: the read-only GDT page, the entry stack, then the TSS; the
    exception stacks each sit above a guard page (asm/cpu_entry_area.h ESTACKS_MEMBERS)."""
    session, _ = linux
    for cpu in (0, 1):
        tss = shell_json(session, f"tss --cpu {cpu}")
        gdtr = shell_json(session, f"regs --cpu {cpu}")["gdtr"]
        assert tss["selector"] == TSS_SELECTOR
        assert tss["rsp"][0] == tss["base"]
        assert gdtr["base"] == tss["base"] - 0x2000
        ist = tss["ist"]
        assert all(ist[i + 1] - ist[i] == ESTACK_STRIDE for i in range(3))
        assert ist[5:] == [0, 0]
        stacks = {s["name"]: s for s in shell_json(session, f"ist --cpu {cpu}")["stacks"]}
        for name in ("ist1", "ist2", "ist3", "ist4"):
            assert stacks[name]["size"] == EXCEPTION_STKSZ, stacks[name]
            assert stacks[name]["guard_page"] == stacks[name]["top"] - EXCEPTION_STKSZ - 0x1000
        assert stacks["rsp0"]["guard_page"] == gdtr["base"] and stacks["rsp0"]["guard_reason"] == "read-only"
        assert stacks["ist5"]["bottom"] is None  # the #VC stack is mapped only under SEV-ES


def test_local_apics_as_setup_local_apic_leaves_them(linux):
    """apic.c: timer on LOCAL_TIMER_VECTOR, errors on ERROR_APIC_VECTOR, spurious 0xff,
    LINT0 ExtINT masked (an I/O APIC is in use), LINT1 NMI open on the boot CPU only."""
    session, symbols = linux
    for cpu in (0, 1):
        lapic = shell_json(session, f"lapic --cpu {cpu}")
        assert lapic["enabled"] and lapic["spurious_vector"] == 0xFF
        lvt = lapic["lvt"]
        assert (lvt["timer"]["vector"], lvt["timer"]["masked"]) == (0xEC, False)
        assert (lvt["error"]["vector"], lvt["error"]["masked"]) == (0xFE, False)
        assert (lvt["lint0"]["delivery_mode"], lvt["lint0"]["masked"]) == ("extint", True)
        assert (lvt["lint1"]["delivery_mode"], lvt["lint1"]["masked"]) == ("nmi", cpu != 0)


def test_io_apic_pins_and_masked_8259_pair(linux):
    """The serial console's IRQ 4 is routed through the I/O APIC to a device vector; the
    8259s sit masked at ISA_IRQ_VECTOR(0) = 0x30 (asm/irq_vectors.h)."""
    session, symbols = linux
    pins = {p["pin"]: p for p in shell_json(session, "ioapic")["pins"]}
    com1 = pins[4]
    assert not com1["masked"] and FIRST_EXTERNAL_VECTOR < com1["vector"] < FIRST_SYSTEM_VECTOR
    for pin in pins.values():
        if not pin["masked"]:
            assert pin["symbol"].startswith("irq_entries_start+"), pin
    pic = shell_json(session, "pic")
    assert (pic["master"]["base"], pic["slave"]["base"]) == (0x30, 0x38)
    assert (pic["master"]["imr"], pic["slave"]["imr"]) == (0xFF, 0xFF)


def test_lint_finds_no_error_or_warning_in_linux(linux):
    session, _ = linux
    for cpu in (0, 1):
        result = shell_json(session, f"lint --cpu {cpu}")
        assert result["counts"]["error"] == 0 and result["counts"]["warning"] == 0, result["findings"]
        assert result["guest"]["kind"] == "user"
        notes = {f["id"]: f for f in result["findings"]}
        assert set(notes) == {"dormant-handler-not-executable", "stack-unusable"}
        assert 0x12 in notes["dormant-handler-not-executable"]["vectors"]
        assert notes["stack-unusable"]["vectors"] == [0x1D]


def test_user_page_fault_frame_and_walk_agree_with_the_cpu(linux):
    """Demand paging of the programs /init starts: a #PF from user mode on RSP0, whose
    error code the page walk must reproduce bit for bit."""
    session, symbols = linux
    session.run("break 14 --from user")
    assert "vector 0x0e" in session.run("continue 30")
    frame = shell_json(session, "frame")
    tss = shell_json(session, f"tss --cpu {frame['cpu']}")
    assert (frame["vector"], frame["from_cpl"], frame["cs"], frame["ss"]) == (14, 3, USER_CS, USER_DS)
    assert frame["stack"] == "rsp0" and frame["frame_address"] + 48 == tss["rsp"][0]
    assert frame["error_code"] & 0x4 and frame["cr2"] < 1 << 47
    explanation = frame["explanation"]
    assert explanation["agrees"] and explanation["expected_error_code"] == frame["error_code"]
    refused = explanation["walk"]["refused_by"]
    assert refused["error_code"] == frame["error_code"]


def test_inside_gdb_with_a_system_map_only(tmp_path, toolchain):
    """A distribution kernel in gdb: no vmlinux, so `x86 symbols` takes the System.map;
    the IDT, lint and a user #PF stop report come out as in the shell."""
    with booted_linux(tmp_path, qemu=toolchain.qemu) as (guest, system_map, symbols):
        outputs = gdb_run(guest.port, [], [f"x86 symbols {system_map}", "x86 idt 0x0e-0x0e --json",
                                           "x86 lint --json", "x86 break 14 --from user", "continue",
                                           "x86 frame --json"], gdb=toolchain.gdb)
    assert f"table  {system_map}" in outputs[0] and f"symbols  {len(symbols)}" in outputs[0]
    assert "slide  0x0" in outputs[0], "booted with nokaslr, the kernel sits where it was linked"
    gate = json.loads(outputs[1])["gates"][0]
    assert (gate["symbol"], gate["handler"]) == ("asm_exc_page_fault", symbols["asm_exc_page_fault"])
    assert json.loads(outputs[2])["counts"]["error"] == 0
    assert "vector 14 (0x0e) #PF Page Fault" in outputs[4] and "from CPL  3" in outputs[4]
    frame = json.loads(outputs[5])
    assert frame["from_cpl"] == 3 and frame["explanation"]["agrees"]


def test_one_shot_without_gdb_reads_what_the_shell_reads(tmp_path, toolchain):
    """The one-shot path speaks to QEMU's gdbstub itself (gdbext/target/rsp.py); on Linux it must
    give the shell's JSON for the tables, and name the handlers from the same kallsyms."""
    commands = ["idt", "gdt --cpu 1", "tss --cpu 1", "ist --cpu 1", "lint --cpu 1"]
    with booted_linux(tmp_path, qemu=toolchain.qemu) as (guest, system_map, symbols):
        argv = [sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{guest.port}", "--symbols", str(system_map)]
        for command in commands:
            argv += ["-c", f"{command} --json"]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        direct = json_documents(run.stdout)
        with attached_shell(guest.port, system_map, gdb=toolchain.gdb) as session:
            via_gdb = [shell_json(session, command) for command in commands]
    assert direct == via_gdb
    assert direct[0]["gates"][14]["handler"] == symbols["asm_exc_page_fault"]


def test_interrupt_log_of_a_linux_boot(tmp_path):
    """QEMU's -d int log of the boot on two vCPUs, read as harness.linux_boot_log says."""
    summary, _ = linux_boot_log(tmp_path, "amd64")
    counts = {row["vector"]: row["count"] for row in summary["vectors"]}
    assert counts[0xEC] > 0  # LOCAL_TIMER_VECTOR
