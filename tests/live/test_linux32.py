"""idtscope on 32-bit Linux: Debian's 686 kernel (2-level paging, 8-byte gates, a task gate).

As in test_linux.py, expected values come from the kernel's own kallsyms and
the Linux 6.1 source (arch/x86/include/asm/segment.h for 32-bit,
arch/x86/kernel/idt.c, arch/x86/kernel/doublefault_32.c), cited at each
assertion; the shell drives a real gdb against QEMU.
"""

from __future__ import annotations

import pytest

from shell.session import Session
from tests.live.harness import linux_boot_log, linux_shell, log_json, shell_json

#: asm/segment.h, 32-bit: GDT_ENTRY_KERNEL_CS 12, KERNEL_DS 13, DEFAULT_USER_CS 14, DEFAULT_USER_DS 15,
#: TSS 16, PERCPU 27, DOUBLEFAULT_TSS 31 (selector = index * 8, | 3 for user segments)
KERNEL_CS, KERNEL_DS, USER_CS, USER_DS, TSS, PERCPU, DOUBLEFAULT_TSS = 0x60, 0x68, 0x73, 0x7B, 0x80, 0xD8, 0xF8
X86_EFLAGS_FIXED = 0x2
#: arch/x86/kernel/idt.c def_idts (32-bit): vector -> entry symbol, DPL
HANDLERS = {
    0x00: ("asm_exc_divide_error", 0), 0x01: ("asm_exc_debug", 0), 0x02: ("asm_exc_nmi", 0),
    0x03: ("asm_exc_int3", 3), 0x04: ("asm_exc_overflow", 3), 0x0D: ("asm_exc_general_protection", 0),
    0x0E: ("asm_exc_page_fault", 0), 0x12: ("asm_exc_machine_check", 0), 0x80: ("entry_INT80_32", 3),
    0xEC: ("asm_sysvec_apic_timer_interrupt", 0), 0xFF: ("asm_sysvec_spurious_apic_interrupt", 0),
}


@pytest.fixture(scope="module")
def linux32(tmp_path_factory):
    with linux_shell(tmp_path_factory.mktemp("linux32"), arch="i386") as attached:
        yield attached


def test_idt_has_8_byte_gates_and_a_task_gate_for_double_fault(linux32):
    session, symbols = linux32
    idt = shell_json(session, "idt")
    assert idt["mode"] == "protected" and idt["idtr"]["limit"] == 256 * 8 - 1
    gates = idt["gates"]
    for vector, (name, dpl) in HANDLERS.items():
        gate = gates[vector]
        assert (gate["type"], gate["selector"], gate["dpl"]) == ("interrupt", KERNEL_CS, dpl), gate
        assert gate["handler"] == symbols[name] and gate["symbol"] == name
    double_fault = gates[8]
    assert (double_fault["type"], double_fault["selector"]) == ("task", DOUBLEFAULT_TSS)
    assert double_fault["handler"] == symbols["asm_exc_double_fault"]


def test_gdt_and_the_two_32_bit_tss(linux32):
    session, _ = linux32
    for cpu in (0, 1):
        entries = {e["index"]: e for e in shell_json(session, f"gdt --cpu {cpu}")["entries"]}
        segments = {KERNEL_CS: ("code", 0), KERNEL_DS: ("data", 0), USER_CS: ("code", 3), USER_DS: ("data", 3)}
        for selector, (kind, dpl) in segments.items():
            entry = entries[selector >> 3]
            assert (entry["kind"], entry["dpl"], entry["base"], entry["limit"]) == (kind, dpl, 0, 0xFFFFFFFF)
            assert not entry["long"] and (kind == "data" or entry["default_big"])
        assert entries[TSS >> 3]["kind"] == "tss-busy"
        assert entries[DOUBLEFAULT_TSS >> 3]["kind"] == "tss-available"
        assert entries[PERCPU >> 3]["kind"] == "data" and entries[PERCPU >> 3]["base"] != 0
        tss = shell_json(session, f"tss --cpu {cpu}")
        assert tss["selector"] == TSS and tss["ss0"] == KERNEL_DS and tss["esp0"] != 0


def test_double_fault_task_is_the_one_doublefault_32_c_builds(linux32):
    """doublefault_stack.tss: EIP asm_exc_double_fault, EFLAGS fixed bit only, kernel CS/SS,
    user DS/ES, per-CPU FS, GS 0, CR3 = __pa(swapper_pg_dir), ESP just below the TSS."""
    session, symbols = linux32
    for cpu in (0, 1):
        tss = shell_json(session, f"tss --cpu {cpu} --selector {DOUBLEFAULT_TSS:#x}")
        assert tss["eip"] == symbols["asm_exc_double_fault"]
        assert tss["eflags"] == X86_EFLAGS_FIXED
        assert (tss["cs"], tss["ss"], tss["ds"], tss["es"], tss["fs"], tss["gs"]) == \
               (KERNEL_CS, KERNEL_DS, USER_DS, USER_DS, PERCPU, 0)
        assert tss["esp"] == tss["base"]
        assert kernel_pde(session, cpu, tss["cr3"], tss["eip"]) == \
               kernel_pde(session, cpu, shell_json(session, f"regs --cpu {cpu}")["cr3"], tss["eip"])


def kernel_pde(session: Session, cpu: int, cr3: int, address: int) -> bytes:
    """The page-directory entry mapping ``address`` under ``cr3`` (2-level paging, raw bytes).

    Every page directory shares the kernel half of swapper_pg_dir, so the #DF task's CR3
    (__pa(swapper_pg_dir); i386 kallsyms has no data symbols to name it) must agree with
    the live one there."""
    return session.context.target.read_memory((cr3 & ~0xFFF) + (address >> 22) * 4, 4, cpu, physical=True)


def test_lint_finds_nothing_in_32_bit_linux(linux32):
    session, _ = linux32
    for cpu in (0, 1):
        result = shell_json(session, f"lint --cpu {cpu}")
        assert result["findings"] == [] and result["guest"]["kind"] == "user"


def test_user_page_fault_frame_with_ss_esp_on_esp0(linux32):
    """From CPL 3 the CPU switches to TSS.SS0:ESP0 and pushes SS, ESP, EFLAGS, CS, EIP and the
    error code (SDM 3A 6.12.1): six dwords ending at ESP0. The 2-level walk must give back the
    CPU's error code."""
    session, _ = linux32
    session.run("break 14 --from user")
    assert "vector 0x0e" in session.run("continue 60")
    frame = shell_json(session, "frame")
    tss = shell_json(session, f"tss --cpu {frame['cpu']}")
    assert (frame["mode"], frame["from_cpl"], frame["cs"], frame["ss"]) == ("protected", 3, USER_CS, USER_DS)
    assert frame["stack"] == "esp0" and frame["frame_address"] + 24 == tss["esp0"]
    assert frame["stack_check"] == f"matches TSS.ESP0 = {tss['esp0']:#x}"
    explanation = frame["explanation"]
    assert explanation["walk"]["mode"] == "32-bit"
    assert explanation["agrees"] and explanation["expected_error_code"] == frame["error_code"]


def test_interrupt_log_of_a_32_bit_linux_boot(tmp_path):
    """As on amd64 (harness.linux_boot_log), and busybox's system calls: INT 0x80 from CPL 3,
    logged as software interrupts (i=1)."""
    summary, log = linux_boot_log(tmp_path, "i386")
    calls = log_json(f"log {log} --vector 0x80 --events --limit 100000")["listed"]
    assert calls and all(call["kind"] == "software" and call["cpl"] == 3 for call in calls)
