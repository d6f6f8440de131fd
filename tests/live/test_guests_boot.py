"""The test guests boot under QEMU and look, through plain gdb, the way their layout.json says.

Each test builds a guest (tests/guests/build.py), starts QEMU stopped with a gdb
stub (tests/guests/run.py) and drives ``gdb -batch -nx`` over it: no idtscope
code is involved, so these tests vouch for the guests that idtscope's own live
tests trust. Registers the gdb stub does not expose (GDTR, IDTR, TR) come from
``monitor info registers``; tables are read raw with ``x`` and decoded here.
"""

from __future__ import annotations

import re
import subprocess
from typing import Sequence

import pytest

from shell.guests.build import GuestImage, build
from shell.guests.layout import GUEST_NAMES, load_layout
from shell.guests.run import RunningGuest

GDB_TIMEOUT = 25
MARK = "@@@cmd"


# --- driving gdb -------------------------------------------------------------

def gdb(guest: RunningGuest, commands: list[str]) -> list[str]:
    """Run ``commands`` in one ``gdb -batch`` attached to ``guest``; the output of each, in order."""
    argv = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set architecture i386:x86-64",
            "-ex", f"target remote 127.0.0.1:{guest.port}"]
    if guest.image.elf is not None:
        argv += ["-ex", f"symbol-file {guest.image.elf}"]
    for command in commands:
        argv += ["-ex", f"echo \\n{MARK}\\n", "-ex", command]
    try:
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=GDB_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if exc.stdout else ""
        pytest.fail(f"gdb did not finish within {GDB_TIMEOUT} s\n--- gdb ---\n{partial}"
                    f"\n--- serial ---\n{guest.serial()}")
    outputs = result.stdout.replace("\r", "").split(f"\n{MARK}\n")[1:]
    assert len(outputs) == len(commands), result.stdout
    return outputs


def number(text: str) -> int:
    """The last hex number gdb printed (``$1 = 0x...``, ``rip 0x7c30 ...``)."""
    return int(re.findall(r"0x[0-9a-f]+", text)[-1], 16)


def words(text: str) -> list[int]:
    """The values of an ``x/..x`` dump, in address order."""
    values = []
    for line in text.splitlines():
        if ":" in line:
            values += [int(tok, 16) for tok in re.findall(r"0x[0-9a-f]+", line.split(":", 1)[1])]
    return values


def cpu_blocks(text: str) -> dict[int, str]:
    """``monitor info registers [-a]`` split per CPU."""
    parts = re.split(r"^CPU#(\d+)$", text, flags=re.M)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


def table_register(block: str, name: str) -> tuple[int, int]:
    """(base, limit) of the ``GDT=`` / ``IDT=`` line."""
    match = re.search(rf"^{name}=\s+([0-9a-f]+) ([0-9a-f]+)", block, flags=re.M)
    assert match, block
    return int(match[1], 16), int(match[2], 16)


def tr_selector(block: str) -> int:
    match = re.search(r"^TR =([0-9a-f]{4}) ", block, flags=re.M)
    assert match, block
    return int(match[1], 16)


def symbols(image: GuestImage) -> dict[str, int]:
    """Every symbol of the guest's ELF (nm), absolute ones included."""
    out = subprocess.run(["nm", str(image.elf)], capture_output=True, text=True, check=True).stdout
    return {name: int(addr, 16) for addr, _, name in (line.split() for line in out.splitlines())}


# --- decoding what gdb dumped (SDM Vol. 3A §3.4.5, §6.11, §6.14.1) -------------

def descriptor(low: int, high: int = 0) -> dict:
    access, flags = (low >> 40) & 0xFF, (low >> 52) & 0xF
    return {
        "base": ((low >> 16) & 0xFFFFFF) | (((low >> 56) & 0xFF) << 24) | (high & 0xFFFFFFFF) << 32,
        "limit": (low & 0xFFFF) | (((low >> 48) & 0xF) << 16),
        "type": access & 0xF, "s": (access >> 4) & 1, "dpl": (access >> 5) & 3, "p": access >> 7,
        "avl": flags & 1, "l": (flags >> 1) & 1, "db": (flags >> 2) & 1, "g": flags >> 3,
    }


def gate(low: int, high: int | None) -> dict:
    offset = (low & 0xFFFF) | ((low >> 48) << 16)
    if high is not None:
        offset |= (high & 0xFFFFFFFF) << 32
    return {"present": bool(low >> 47 & 1), "type_code": (low >> 40) & 0xF, "dpl": (low >> 45) & 3,
            "ist": (low >> 32) & 7 if high is not None else 0, "selector": (low >> 16) & 0xFFFF,
            "offset": offset}


def check_idt(layout: dict, dump: list[int], syms: dict[str, int]) -> None:
    """Every gate in memory is the row layout.json documents, handler symbol included."""
    long_mode = layout["idt"]["entry_size"] == 16
    step = 2 if long_mode else 1
    bases = {entry["selector"]: entry["base"] for entry in layout["gdt"]["entries"]}
    for row in layout["idt"]["gates"]:
        low = dump[row["vector"] * step]
        high = dump[row["vector"] * step + 1] if long_mode else None
        seen = gate(low, high)
        where = f"vector {row['vector']:#04x}"
        if not row["present"]:
            assert (low, high or 0) == (0, 0), where
            continue
        assert seen["present"], where
        assert seen["type_code"] == row["type_code"], where
        for key in ("dpl", "ist", "selector"):
            assert seen[key] == row[key], f"{where} {key}"
        if row["handler"] is None:
            assert seen["offset"] == 0, where
        else:
            assert seen["offset"] + bases[row["selector"]] == syms[row["handler"]], where


def check_gdt(layout: dict, dump: list[int]) -> None:
    """Every descriptor in memory is the entry layout.json documents (TSSs busy once loaded)."""
    for entry in layout["gdt"]["entries"]:
        index = entry["selector"] >> 3
        seen = descriptor(dump[index], dump[index + 1] if entry["size"] == 16 else 0)
        expected = {key: entry[key] for key in seen}
        if entry["s"] == 0 and entry["type"] == 0x9 and seen["type"] == 0xB:
            expected["type"] = 0xB          # ltr marked it busy
        assert seen == expected, entry["name"]


# --- fixtures -----------------------------------------------------------------

@pytest.fixture(scope="module")
def long64() -> GuestImage:
    return build("long64")


@pytest.fixture(scope="module")
def long64_broken() -> GuestImage:
    return build("long64", "broken")


@pytest.fixture(scope="module")
def prot32() -> GuestImage:
    return build("prot32")


@pytest.fixture(scope="module")
def real16() -> GuestImage:
    return build("real16")


def ready(layout: dict) -> list[str]:
    return [f"hbreak {layout['symbols']['ready']}", "continue", "delete"]


# --- builds and layouts (no QEMU) ---------------------------------------------

@pytest.mark.parametrize("name", GUEST_NAMES)
def test_layout_expands_and_builds(name: str) -> None:
    image = build(name)
    assert image.layout == load_layout(name)
    assert image.kernel.is_file() and image.kernel.stat().st_size > 0
    if "idt" in image.layout:
        gates = image.layout["idt"]["gates"]
        assert [row["vector"] for row in gates] == list(range(256))
        assert all(row["handler"] for row in gates if row["present"] and row["type"] != "task")
        handlers = [row["handler"] for row in gates if row["handler"]]
        assert len(handlers) == len(set(handlers)), "every present gate has its own handler symbol"
        assert set(handlers) <= set(symbols(image))


def test_build_is_skipped_when_outputs_are_newer(long64: GuestImage) -> None:
    before = long64.kernel.stat().st_mtime_ns
    assert build("long64").kernel.stat().st_mtime_ns == before


def test_build_without_nasm_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install nasm"):
        build("real16")


def test_qemu_that_dies_at_start_is_reported_with_its_stderr(real16: GuestImage) -> None:
    with pytest.raises(RuntimeError, match=r"QEMU exited \(1\)(.|\n)*no-such-option"):
        RunningGuest(real16, extra=["-no-such-option"]).start()


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="no variant 'sloppy'"):
        load_layout("long64", "sloppy")


# --- long64 -------------------------------------------------------------------

def test_long64_reaches_ready_with_the_documented_tables(long64: GuestImage) -> None:
    layout = long64.layout
    cpus = layout["cpus"]
    guards = [stack["guard_page"] for cpu in cpus for stack in cpu["stacks"].values()]
    with RunningGuest(long64) as guest:
        out = gdb(guest, ready(layout) + [
            "info threads",
            "monitor info registers -a",
            "monitor info lapic 0",
            "monitor info lapic 1",
            "monitor info pic",
            f"x/512gx {layout['idt']['base']:#x}",
            f"x/{(layout['gdt']['limit'] + 1) // 8}gx {layout['gdt']['base']:#x}",
            *(f"x/30gx {cpu['tss']:#x}" for cpu in cpus),
            *(f"x/gx {page:#x}" for page in guards),
        ])
        serial = guest.wait_for_serial("long64: AP up")
    assert "in guest_ready ()" in out[1]
    assert "long64: AP up" in serial, "the AP reported before the BSP reached guest_ready"

    threads = out[3]
    assert len(re.findall(r"Thread 1\.\d", threads)) == 2
    assert "ap_idle" in threads, "the AP idles in the guest's own code"

    blocks = cpu_blocks(out[4])
    assert sorted(blocks) == [0, 1]
    for cpu in cpus:
        block = blocks[cpu["index"]]
        assert table_register(block, "IDT") == (layout["idt"]["base"], layout["idt"]["limit"])
        assert table_register(block, "GDT") == (layout["gdt"]["base"], layout["gdt"]["limit"])
        assert tr_selector(block) == cpu["tr"]
    assert tr_selector(blocks[0]) != tr_selector(blocks[1])

    timer = layout["lapic"]["timer"]
    regs = layout["lapic"]["registers"]
    for text in out[5:7]:
        assert re.search(rf"^LVTT\s+0x{regs['lvt_timer']:08x} .*periodic .*\(vec {timer['vector']}\)",
                         text, flags=re.M), text
        assert f"DCR=0x{regs['timer_dcr']:x} (divide by {timer['divide']}) " \
               f"initial_count = {timer['initial_count']}" in text
        assert re.search(rf"^SPIV\s+0x{regs['svr']:08x} APIC enabled.*spurious vec "
                         rf"{layout['lapic']['spurious_vector']}", text, flags=re.M), text

    pic = layout["pic"]
    for chip, name in (("pic0", "master"), ("pic1", "slave")):
        imr, base = pic[name]["imr"], pic[name]["base"]
        assert re.search(rf"{chip}: .*imr={imr:02x} .*irq_base={base:02x}", out[7]), out[7]

    syms = symbols(long64)
    check_idt(layout, words(out[8]), syms)
    check_gdt(layout, words(out[9]))
    for cpu, text in zip(cpus, out[10:10 + len(cpus)]):
        tss = b"".join(word.to_bytes(8, "little") for word in words(text))
        fields = cpu["tss_fields"]
        assert [int.from_bytes(tss[4 + 8 * i:12 + 8 * i], "little") for i in range(3)] == fields["rsp"]
        assert [int.from_bytes(tss[36 + 8 * i:44 + 8 * i], "little") for i in range(7)] == fields["ist"]
        assert int.from_bytes(tss[102:104], "little") == fields["iopb"]
        bitmap = tss[fields["iopb"]:fields["iopb"] + layout["tss"]["iopb_bytes"] + 1]
        allowed = {port for port in range(8 * (len(bitmap) - 1)) if not bitmap[port // 8] >> (port % 8) & 1}
        ranges = layout["tss"]["io_allowed"]
        assert allowed == {port for first, last in ranges for port in range(first, last + 1)}
        assert bitmap[-1] == 0xFF, "the bitmap ends with the all-ones byte"
    for page, text in zip(guards, out[10 + len(cpus):]):
        assert "Cannot access memory" in text, f"guard page {page:#x} is mapped"


def frame_checks(layout: dict, syms: dict[str, int], event: dict, pc: int, rsp: int,
                 frame: list[int], cr2: int) -> None:
    """What a handler's first instruction sees matches the scenario's documented event."""
    cpu = layout["cpus"][0]
    assert pc == syms[event["handler"]]
    if event["error_code"] is not None:
        assert frame[0] == event["error_code"]
        frame = frame[1:]
    rip, cs = frame[0], frame[1]
    if event["rip_symbol"] is not None:
        assert rip == syms[event["rip_symbol"]]
    assert cs & 3 == event["from_cpl"]
    if event["cr2"] is not None:
        assert cr2 == event["cr2"]
    stack = cpu["stacks"]["kernel" if event["stack"] == "same" else event["stack"]]
    assert stack["bottom"] <= rsp < stack["top"], f"{rsp:#x} is not on the {event['stack']} stack"
    if event["stack"] != "same":
        pushed = 6 if event["error_code"] is not None else 5
        assert rsp == stack["top"] - 8 * pushed, "the frame starts at the top of a fresh stack"


def scenario_commands(layout: dict, n: int) -> list[str]:
    """Run scenario n, stopping at each documented event's handler, then at scenario_done."""
    commands = [f"set {{unsigned long long}}&scenario = {n}"]
    for event in layout["scenarios"][n]["events"]:
        commands += [f"hbreak {event['handler']}", "continue", "p/x $pc", "p/x $rsp",
                     "x/7gx $rsp", "p/x $cr2", "delete"]
    return commands + ["hbreak scenario_done", "continue", "delete",
                       "x/gx &last_scenario_done", "x/3gx &last_vector"]


def run_scenarios(image: GuestImage, numbers: list[int], extra: Sequence[str] = ()) -> tuple[list[str], str]:
    layout = image.layout
    commands = ready(layout)
    for n in numbers:
        commands += scenario_commands(layout, n)
    with RunningGuest(image) as guest:
        out = gdb(guest, commands + list(extra))
        return out, guest.wait_for_serial(*(f"long64: scenario {n} done" for n in numbers))


def check_scenarios(image: GuestImage, numbers: list[int], out: list[str], serial: str) -> int:
    """Check each scenario's events and completion; return the index after the last command used."""
    layout = image.layout
    syms = symbols(image)
    i = len(ready(layout))
    for n in numbers:
        i += 1
        events = layout["scenarios"][n]["events"]
        for event in events:
            pc, rsp, cr2 = number(out[i + 2]), number(out[i + 3]), number(out[i + 5])
            frame_checks(layout, syms, event, pc, rsp, words(out[i + 4]), cr2)
            i += 7
        assert number(out[i + 3]) == n, f"scenario {n} did not complete"
        vector, error, cr2 = words(out[i + 4])
        last = events[-1]
        assert vector == last["vector"]
        assert error == (last["error_code"] or 0)
        if last["cr2"] is not None:
            assert cr2 == last["cr2"]
        assert f"long64: scenario {n} done" in serial
        i += 5
    return i


def test_long64_user_page_fault_scenario(long64: GuestImage) -> None:
    out, serial = run_scenarios(long64, [2])
    check_scenarios(long64, [2], out, serial)


def test_long64_double_fault_lands_on_ist1(long64: GuestImage) -> None:
    layout = long64.layout
    idt = layout["idt"]["base"]
    cleared = layout["scenarios"][7]["cleared_gates"]
    out, serial = run_scenarios(long64, [7], [f"x/2gx {idt + 16 * v:#x}" for v in cleared])
    after = check_scenarios(long64, [7], out, serial)
    for text in out[after:]:
        assert gate(*words(text))["present"], "scenario 7 sets the gates present again"


def test_long64_every_recoverable_scenario_matches_its_layout(long64: GuestImage) -> None:
    numbers = [1, 3, 4, 5, 6, 8, 9, 15]
    out, serial = run_scenarios(long64, numbers, ["monitor info lapic 0", "x/2gx &timer_ticks", "monitor info pic"])
    after = check_scenarios(long64, numbers, out, serial)
    in_service = long64.layout["scenarios"][9]["after"]["lapic_isr_cpu0"]
    assert re.search(rf"^ISR\s+{' '.join(str(v) for v in in_service)}\s*$", out[after], flags=re.M), \
        f"vectors {in_service} should stay in service (no EOI)"
    assert words(out[after + 1])[0] > 0, "the BSP's timer ticked"
    master = long64.layout["pic"]["master"]
    pic_isr = long64.layout["scenarios"][15]["after"]["pic_isr_master"]
    assert re.search(rf"pic0: irr=[0-9a-f]{{2}} imr={master['imr']:02x} isr={pic_isr:02x} ", out[after + 2]), \
        "the 8259A keeps IRQ0 in service (no EOI), masked again"


def test_long64_triple_fault_ends_qemu(long64: GuestImage) -> None:
    with RunningGuest(long64) as guest:
        gdb(guest, ready(long64.layout) + ["set {unsigned long long}&scenario = 10", "continue"])
        assert guest.proc.wait(timeout=10) == 0
        assert "long64: ready" in guest.wait_for_serial("long64: ready")
        assert "long64: scenario 10 done" not in guest.serial()


def test_long64_broken_variant_plants_its_mistakes(long64: GuestImage, long64_broken: GuestImage) -> None:
    broken = long64_broken.layout
    assert {m["id"] for m in broken["mistakes"]} == {
        "df_without_ist", "ud_not_present", "bp_dpl0", "nmi_ist_empty_slot", "ist2_no_guard"}
    ist2_guards = [cpu["stacks"]["ist2"]["bottom"] - 0x1000 for cpu in broken["cpus"]]
    with RunningGuest(long64_broken) as guest:
        out = gdb(guest, ready(broken) + [f"x/512gx {broken['idt']['base']:#x}"]
                  + [f"x/gx {page:#x}" for page in ist2_guards])
        serial = guest.wait_for_serial("long64 (broken variant): booting")
    assert "in guest_ready ()" in out[1]
    assert "long64 (broken variant): booting" in serial
    check_idt(broken, words(out[3]), symbols(long64_broken))
    normal = {row["vector"]: row for row in long64.layout["idt"]["gates"]}
    dump = words(out[3])
    assert gate(dump[16], dump[17])["ist"] == 0 != normal[8]["ist"]
    assert dump[12:14] == [0, 0] and normal[6]["present"]
    assert gate(dump[6], dump[7])["dpl"] == 0 != normal[3]["dpl"]
    assert gate(dump[4], dump[5])["ist"] == 4 and broken["cpus"][0]["tss_fields"]["ist"][3] == 0
    for text in out[4:]:
        assert "Cannot access memory" not in text, "the IST2 guard page is mapped"


# --- prot32 -------------------------------------------------------------------

def test_prot32_tables_and_double_fault_task(prot32: GuestImage) -> None:
    layout = prot32.layout
    main, df = layout["tss"]["main"], layout["tss"]["df"]
    syms = symbols(prot32)
    with RunningGuest(prot32) as guest:
        out = gdb(guest, ready(layout) + [
            "monitor info registers",
            "monitor info pic",
            f"x/256gx {layout['idt']['base']:#x}",
            f"x/{(layout['gdt']['limit'] + 1) // 8}gx {layout['gdt']['base']:#x}",
            f"x/26wx {df['base']:#x}",
            f"x/26wx {main['base']:#x}",
            "set {unsigned int}&scenario = 7",
            "hbreak df_task_entry", "continue", "delete",
            "p/x $rsp", "x/wx $rsp", "monitor info registers", f"x/wx {main['base'] + 32:#x}",
            "hbreak scenario_done", "continue",
            "x/wx &last_scenario_done",
            "set {unsigned int}&scenario = 1", "continue", "x/wx &last_scenario_done", "x/wx &last_vector",
        ])
        serial = guest.wait_for_serial("prot32: #DF task")
    assert "in guest_ready ()" in out[1]
    assert "prot32: #DF task" in serial

    block = cpu_blocks(out[3])[0]
    assert table_register(block, "IDT") == (layout["idt"]["base"], layout["idt"]["limit"])
    assert table_register(block, "GDT") == (layout["gdt"]["base"], layout["gdt"]["limit"])
    assert tr_selector(block) == main["selector"]
    assert re.search(rf"pic0: .*irq_base={layout['pic']['master']['base']:02x}", out[4])
    assert re.search(rf"pic1: .*irq_base={layout['pic']['slave']['base']:02x}", out[4])

    check_idt(layout, words(out[5]), syms)
    assert layout["idt"]["gates"][8]["type"] == "task"
    assert layout["idt"]["gates"][0x60]["size"] == 16
    check_gdt(layout, words(out[6]))

    tss = words(out[7])
    assert tss[1] == df["esp0"] and tss[7] == df["cr3"] and tss[8] == syms[df["eip_symbol"]]
    assert tss[9] == df["eflags"] and tss[14] == df["esp"]
    assert tss[18:24] == [df[reg] for reg in ("es", "cs", "ss", "ds", "fs", "gs")]
    assert tss[25] >> 16 == df["iopb"]
    main_tss = words(out[8])
    assert (main_tss[1], main_tss[2], main_tss[7]) == (main["esp0"], main["ss0"], main["cr3"])

    event = layout["scenarios"][7]["events"][0]
    assert number(out[13]) == df["esp"] - 4, "the error code is pushed on the #DF task's stack"
    assert words(out[14]) == [event["error_code"]]
    assert tr_selector(cpu_blocks(out[15])[0]) == event["task_selector"]
    assert words(out[16]) == [syms[event["previous_task_eip_symbol"]]]
    assert words(out[19]) == [7]
    assert words(out[22]) == [1] and words(out[23]) == [3]


# --- real16 -------------------------------------------------------------------

def test_real16_ivt_and_software_interrupts(real16: GuestImage) -> None:
    layout = real16.layout
    labels = layout["labels"]
    assert layout["symbols_linear"]["ready"] == labels["guest_ready"]
    installed = layout["ivt"]["installed"]
    with RunningGuest(real16) as guest:
        out = gdb(guest, [
            f"hbreak *{labels['guest_ready']:#x}", "continue", "delete",
            "monitor info registers",
            f"x/{2 * len(installed)}hx {installed[0]['vector'] * 4:#x}",
            f"set {{unsigned char}}{labels['scenario']:#x} = 2",
            f"hbreak *{labels['isr_int61']:#x}", "continue", "delete",
            "p/x $cs", "p/x $rip",
            f"hbreak *{labels['scenario_done']:#x}", "continue",
            f"set {{unsigned char}}{labels['scenario']:#x} = 1", "continue",
            f"x/8xb {labels['scenario']:#x}",
        ])
        serial = guest.wait_for_serial("real16: ready", "real16: scenario 1 done")
    assert f"{labels['guest_ready']:#018x} in ?? ()" in out[1]
    assert "real16: ready" in serial and "real16: scenario 1 done" in serial

    block = cpu_blocks(out[3])[0]
    assert table_register(block, "IDT") == (layout["ivt"]["base"], layout["ivt"]["limit"])
    assert words(out[4]) == [half for e in installed for half in (e["offset"], e["segment"])]
    event = layout["scenarios"][2]["events"][0]
    assert (number(out[9]), number(out[10])) == (event["cs"], event["ip"])
    data = words(out[15])
    base = labels["scenario"]
    assert data[labels["last_scenario_done"] - base] == 1
    assert data[labels["ready_marker"] - base] == layout["ready_marker_value"]
    assert data[labels["int60_count"] - base] == 1 and data[labels["int61_count"] - base] == 1
