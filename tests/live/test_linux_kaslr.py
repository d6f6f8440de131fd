"""Debian's Linux booted as distributions boot it, with KASLR on, named from a symbol
table made at link time: the debug package's System.map and vmlinux (amd64), and the
kallsyms of a ``nokaslr`` boot (i386, whose 762 MB debug package is not fetched).

Truth comes from outside idtscope: the running kernel's own /proc/kallsyms (printed
by the guest's /init), the table files themselves, and gdb's ``info symbol``.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from gdbext.errors import UsageError
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.guests.linux import SYMBOLS_END, booted_linux, debug_vmlinux, kallsyms, linux_image
from tests.live.harness import attached_shell, gdb_run, log_json, shell_json

#: the entry-stub arrays gates point into: idt.c (irq_entries_start, spurious_entries_start), head_64.S
ARRAYS = ("irq_entries_start", "spurious_entries_start", "early_idt_handler_array")


def map_addresses(path) -> dict[str, int]:
    """name -> address of a System.map, read here without idtscope."""
    return map_addresses_text(path.read_text())


def expected_name(handler: int, by_address: dict[int, set[str]], symbols: dict[str, int]) -> set[str]:
    """What /proc/kallsyms says is at ``handler``: a symbol there, or an offset into one
    of the stub arrays the IDT points into (arch/x86/kernel/idt.c, head_64.S, head_32.S)."""
    if handler in by_address:
        return by_address[handler]
    starts = [(handler - symbols[array], array) for array in ARRAYS
              if 0 < handler - symbols.get(array, 1 << 64) < 0x1000]
    return {f"{array}+{offset}" for offset, array in sorted(starts)[:1]}


def assert_named_as_kallsyms(session, symbols: dict[str, int]) -> None:
    by_address: dict[int, set[str]] = {}
    for name, address in symbols.items():
        by_address.setdefault(address, set()).add(name)
    gates = shell_json(session, "idt")["gates"]
    checked = 0
    for gate in gates:
        expected = expected_name(gate["handler"], by_address, symbols)
        if expected:
            assert gate["symbol"] in expected, (hex(gate["vector"]), gate["symbol"], expected)
            checked += 1
    assert checked >= 250, f"only {checked} gates had a kallsyms name to compare"


@pytest.fixture(scope="module")
def amd64(tmp_path_factory):
    """The guest, its kallsyms, the debug vmlinux, and QEMU's -d int log written as it runs."""
    vmlinux = debug_vmlinux("amd64")
    directory = tmp_path_factory.mktemp("kaslr")
    with booted_linux(directory, "amd64", extra=["-d", "int", "-D", str(directory / "int.log")],
                      kaslr=True) as (guest, _, symbols):
        yield guest, symbols, vmlinux, directory / "int.log"


def debug_map(vmlinux):
    return vmlinux.with_name(vmlinux.name.replace("vmlinux", "System.map"))


def test_amd64_system_map_fits_at_the_kaslr_slide(amd64):
    guest, symbols, vmlinux, _ = amd64
    system_map = debug_map(vmlinux)
    linked = map_addresses(system_map)
    slide = symbols["asm_exc_page_fault"] - linked["asm_exc_page_fault"]
    assert slide != 0 and slide % 0x200000 == 0, "KASLR moves the kernel by CONFIG_PHYSICAL_ALIGN steps"
    with attached_shell(guest.port, system_map) as session:
        shown = shell_json(session, "symbols")
        assert shown["slide"] == slide and shown["format"] == "System.map"
        assert shown["verified"]["banner"].startswith("Linux version 6.1.0-"), shown
        assert shown["verified"]["agreeing"] >= 18
        assert_named_as_kallsyms(session, symbols)


def test_a_table_given_before_the_kernel_ran_is_fitted_at_the_first_stop_after_boot():
    """As `idtscope run --symbols System.map` gives it: at QEMU's -S the IDT is empty, so the
    table waits; the first stop after boot finds the KASLR slide of that boot."""
    system_map = debug_map(debug_vmlinux("amd64"))
    linked = map_addresses(system_map)
    with RunningGuest(linux_image("amd64", kaslr=True)) as guest:
        session = Session()
        try:
            session.run(f"attach 127.0.0.1:{guest.port}")
            waiting = shell_json(session, f"symbols {system_map}")
            assert waiting["slide"] == 0 and waiting["verified"]["evidence"].startswith("not checked yet"), waiting
            assert session.run("continue 1").startswith("still running")
            booted = map_addresses_text(kallsyms(guest.wait_for_serial(SYMBOLS_END, timeout=180)))
            stop = session.run("interrupt")
            placed = shell_json(session, "symbols")
        finally:
            session.close()
    slide = booted["asm_exc_page_fault"] - linked["asm_exc_page_fault"]
    assert slide != 0 and "checked against the IDT now set up" in stop, stop
    assert placed["slide"] == slide and placed["verified"]["agreeing"] >= 18, placed


def map_addresses_text(text: str) -> dict[str, int]:
    return {line.split()[2]: int(line.split()[0], 16) for line in text.splitlines() if line.strip()}


def test_amd64_vmlinux_fits_and_names_as_gdb_does(amd64):
    guest, symbols, vmlinux, _ = amd64
    with attached_shell(guest.port, vmlinux) as session:
        shown = shell_json(session, "symbols")
        assert shown["format"] == "ELF" and shown["verified"]["banner"].startswith("Linux version")
        assert_named_as_kallsyms(session, symbols)
        gates = shell_json(session, "idt 0x14-0x21")["gates"]
    named = {gate["vector"]: (gate["handler"], gate["symbol"]) for gate in gates}
    gdb = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"symbol-file -readnever -o {shown['slide']:#x} {vmlinux}"]
                         + [arg for vector in (0x14, 0x21) for arg in ("-ex", f"info symbol {named[vector][0]:#x}")],
                         capture_output=True, text=True, timeout=120, check=True)
    answers = [line.split(" in section")[0].replace(" + ", "+") for line in gdb.stdout.splitlines()
               if " in section " in line]
    assert answers == [named[0x14][1], named[0x21][1]], gdb.stdout + gdb.stderr
    assert answers == [f"early_idt_handler_array+{9 * 0x14}", "irq_entries_start+8"]


def test_a_table_of_another_kernel_is_refused_and_its_names_are_not_used(amd64, tmp_path):
    guest, symbols, _, _ = amd64
    other = tmp_path / "System.map"
    # the same kernel's entry points, as another build would place them: each moved differently
    other.write_text("".join(f"{address + 0x40 * index:016x} T {name}\n"
                             for index, (name, address) in enumerate(sorted(symbols.items()))))
    session = Session()
    try:
        session.run(f"attach 127.0.0.1:{guest.port}")
        with pytest.raises(UsageError, match="does not fit the running kernel") as refused:
            session.run(f"symbols {other}")
        assert "\n" not in str(refused.value)
        gates = shell_json(session, "idt")["gates"]
        assert shell_json(session, "symbols")["source"] == "guest memory", "the kernel's own names, not the file's"
        true_names = {address: name for name, address in symbols.items()}
        entries = [gate for gate in gates if gate["handler"] in true_names]
        assert len(entries) >= 20 and all(gate["symbol"] == true_names[gate["handler"]] for gate in entries)
    finally:
        session.close()


def test_i386_kallsyms_of_a_nokaslr_boot_fits_a_kaslr_boot(tmp_path):
    """32-bit Linux: the gate for #DF is a task gate (its TSS's EIP is not an entry point
    the table is compared on); every interrupt gate is named after the slide."""
    (tmp_path / "linked").mkdir()
    (tmp_path / "kaslr").mkdir()
    with booted_linux(tmp_path / "linked", "i386") as (_, linked_map, linked):
        pass
    with booted_linux(tmp_path / "kaslr", "i386", kaslr=True) as (guest, _, symbols):
        slide = symbols["asm_exc_page_fault"] - linked["asm_exc_page_fault"]
        assert slide != 0, "KASLR on: the kernel is not at its link-time address"
        with attached_shell(guest.port, linked_map) as session:
            shown = shell_json(session, "symbols")
            assert shown["slide"] == slide and shown["verified"]["agreeing"] >= 16, shown
            assert_named_as_kallsyms(session, symbols)


def test_log_names_vectors_by_the_linux_handlers(amd64, tmp_path):
    """`log --symbols` by the entry points Linux installs (asm/irq_vectors.h); `log --snapshot`
    by the handlers the saved IDT enters, named as /proc/kallsyms names them."""
    guest, symbols, vmlinux, int_log = amd64
    by_table = {row["vector"]: row for row in log_json(f"log {int_log} --symbols {debug_map(vmlinux)}")["vectors"]}
    assert by_table[0xEC]["handler"] == "asm_sysvec_apic_timer_interrupt" and by_table[0xEC]["count"] > 0
    assert by_table[0xEC]["meaning"] == "local APIC timer"
    assert by_table[0x0E]["meaning"] == "#PF Page Fault"
    snapshot = tmp_path / "linux.snap"
    with attached_shell(guest.port, debug_map(vmlinux)) as session:
        session.run(f"snapshot save {snapshot}")
    by_idt = {row["vector"]: row for row in log_json(f"log {int_log} --snapshot {snapshot}")["vectors"]}
    for row in by_idt.values():
        if row["handler"] in symbols:
            assert row["handler"].startswith(("asm_exc_", "asm_sysvec_", "asm_int80", "entry_INT80")), row
    assert by_idt[0xEC]["handler"] == "asm_sysvec_apic_timer_interrupt"
    assert by_idt[0xEC]["meaning"] == "local APIC timer"
    devices = [row for vector, row in by_idt.items() if 0x20 < vector < 0xEC and vector != 0x80]
    assert devices and all(row["handler"].startswith("irq_entries_start+") for row in devices), devices
    assert {row["meaning"] for row in devices} == {"device interrupt"}


def test_inside_gdb_a_vmlinux_at_link_addresses_gets_the_symbol_file_command_that_fits(amd64):
    """The user's own `symbol-file vmlinux` on a KASLR boot: idtscope says it does not fit
    and prints the command that loads it at the slide (before the next prompt; in batch
    mode, before the next x86 command); after it, gdb names #PF's gate."""
    guest, symbols, vmlinux, _ = amd64
    advice = gdb_run(guest.port, [], [f"symbol-file -readnever {vmlinux}", "x86 idt 14"])[1]
    slide = symbols["asm_exc_page_fault"] - map_addresses(debug_map(vmlinux))["asm_exc_page_fault"]
    command = f"symbol-file -o {slide:#x} {vmlinux}"
    assert advice.count(command) == 1, advice
    fixed = gdb_run(guest.port, [], [command.replace("symbol-file", "symbol-file -readnever"), "x86 idt 14 --json"])
    assert "idtscope:" not in fixed[0] + fixed[1], "a symbol file at the right slide draws no advice"
    gate = json.loads(fixed[1])["gates"][0]
    assert (gate["handler"], gate["symbol"]) == (symbols["asm_exc_page_fault"], "asm_exc_page_fault")


def test_inside_gdb_a_vmlinux_of_another_build_is_called_wrong(amd64, tmp_path):
    """An ELF whose Linux entry points are laid out unlike the running kernel's (as another
    build's are): idtscope tells the gdb user its names are wrong, and suggests no offset."""
    guest, _, _, _ = amd64
    from gdbext.symbols.fit import linux_entry_points

    names = sorted(set(linux_entry_points().values()))
    source = tmp_path / "other.asm"
    source.write_text("bits 64\nsection .text\n" + "".join(
        f"global {name}\n{name}:\n    times {0x40 + 0x10 * index} db 0xcc\n" for index, name in enumerate(names)))
    subprocess.run(["nasm", "-f", "elf64", "-o", str(tmp_path / "other.o"), str(source)], check=True)
    elf = tmp_path / "vmlinux-other"
    subprocess.run(["ld", "-e", "0", "-Ttext=0xffffffff81c00000", "-o", str(elf), str(tmp_path / "other.o")],
                   check=True)
    advice = gdb_run(guest.port, [], [f"symbol-file {elf}", "x86 idt 14"])[1]
    assert f"idtscope: {elf} does not fit the running kernel" in advice, advice
    assert "gdb's names from it are wrong" in advice and "symbol-file -o" not in advice
