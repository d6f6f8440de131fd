"""The long-mode guest read live: every field against its layout.json, in the
shell (MI) and inside gdb, per vCPU."""

import pytest

from tests.live.harness import gdb_json, shell_json, shell_session

READ_ONLY = ["idt --all", "gdt", "tss", "tss --cpu 1", "regs --cpu 1"]


def test_idt_gates_match_layout(long64, toolchain):
    expected = long64.layout["idt"]["gates"]
    with shell_session(long64, toolchain=toolchain) as (session, _):
        data = shell_json(session, "idt --all")
    assert data["mode"] == "long"
    assert data["idtr"] == {"base": long64.layout["idt"]["base"], "limit": long64.layout["idt"]["limit"]}
    assert len(data["gates"]) == 256
    for gate, want in zip(data["gates"], expected):
        assert gate["vector"] == want["vector"]
        assert gate["present"] == want["present"], gate
        if not want["present"]:
            continue
        assert (gate["type"], gate["dpl"], gate["ist"], gate["selector"]) == (
            want["type"], want["dpl"], want["ist"], want["selector"]), gate
        assert gate["symbol"] == want["handler"], gate


def test_gdt_matches_layout(long64):
    expected = {e["selector"]: e for e in long64.layout["gdt"]["entries"]}
    with shell_session(long64) as (session, _):
        data = shell_json(session, "gdt")
    assert data["gdtr"] == {"base": long64.layout["gdt"]["base"], "limit": long64.layout["gdt"]["limit"]}
    rows = {row["selector"]: row for row in data["entries"]}
    assert set(rows) == set(expected)
    for selector, want in expected.items():
        row = rows[selector]
        assert row["size"] == want["size"] and row["present"] == bool(want["p"]) and row["dpl"] == want["dpl"]
        if selector == 0:
            assert row["kind"] == "null"
            continue
        assert row["base"] == want["base"], row
        expected_limit = (want["limit"] << 12 | 0xFFF) if want["g"] else want["limit"]
        assert row["limit"] == expected_limit, row
        if want["s"]:
            assert row["long"] == bool(want["l"]) and row["default_big"] == bool(want["db"])
    tss_rows = [row for row in data["entries"] if row["kind"].startswith("tss")]
    assert [row["selector"] for row in tss_rows] == [cpu["tr"] for cpu in long64.layout["cpus"]]
    assert all(row["kind"] == "tss-busy" for row in tss_rows)
    assert "TR" in rows[long64.layout["cpus"][0]["tr"]]["loaded_as"]


@pytest.mark.parametrize("cpu", [0, 1])
def test_tss_and_regs_per_cpu(long64, cpu):
    want = long64.layout["cpus"][cpu]
    with shell_session(long64) as (session, _):
        tss = shell_json(session, f"tss --cpu {cpu} --port 0x3f8")
        regs = shell_json(session, f"regs --cpu {cpu}")
        other = shell_json(session, f"tss --port 0x60 --cpu {cpu}")
    assert tss["selector"] == want["tr"] and tss["base"] == want["tss"]
    assert tss["limit"] == long64.layout["tss"]["limit"]
    assert tss["rsp"] == want["tss_fields"]["rsp"]
    assert tss["ist"] == want["tss_fields"]["ist"]
    assert tss["iopb"] == want["tss_fields"]["iopb"]
    assert tss["allowed_ports"] == long64.layout["tss"]["io_allowed"]
    assert tss["port"] == {"port": 0x3F8, "allowed": True}
    assert other["port"] == {"port": 0x60, "allowed": False}
    assert regs["cpu"] == cpu and regs["mode"] == "long"
    assert regs["tr"]["selector"] == want["tr"] and regs["tr"]["base"] == want["tss"]
    assert regs["idtr"]["base"] == long64.layout["idt"]["base"]
    assert "LMA" in regs["efer"]["flags"] and "NXE" in regs["efer"]["flags"]
    assert "WP" in regs["cr0"]["flags"] and "PG" in regs["cr0"]["flags"]
    assert regs["cr3"] == long64.layout["paging"]["cr3"]


def test_cpu_list_and_select(long64):
    with shell_session(long64) as (session, _):
        listed = shell_json(session, "cpu")
        selected = shell_json(session, "cpu 1")
        tss = shell_json(session, "tss")
    assert [row["cpu"] for row in listed["cpus"]] == [0, 1]
    assert listed["selected"] == 0 and listed["cpus"][0]["symbol"] == long64.layout["symbols"]["ready"]
    assert selected["selected"] == 1
    assert tss["selector"] == long64.layout["cpus"][1]["tr"]


def test_gdb_and_shell_give_the_same_json(long64, toolchain):
    inside_gdb = gdb_json(long64, READ_ONLY, toolchain=toolchain)
    with shell_session(long64, toolchain=toolchain) as (session, _):
        from_shell = [shell_json(session, command) for command in READ_ONLY]
    for command, left, right in zip(READ_ONLY, inside_gdb, from_shell):
        if command.startswith("regs"):
            for key in ("rip", "rsp", "rflags", "halted"):
                left.pop(key), right.pop(key)
        assert left == right, command


def test_disassembly_names_the_handler(long64):
    with shell_session(long64) as (session, _):
        data = shell_json(session, "idt #DF --disasm 2")
    gate = data["gates"][0]
    assert gate["vector"] == 8 and gate["ist"] == 1
    assert gate["disasm"][0]["address"] == gate["handler"]
    assert gate["disasm"][0]["symbol"] == "isr_df" and len(gate["disasm"]) == 2


@pytest.mark.parametrize("cpu", [0, 1])
def test_ist_stacks_extent_and_guards(long64, cpu):
    want = long64.layout["cpus"][cpu]["stacks"]
    with shell_session(long64) as (session, _):
        data = shell_json(session, f"ist --cpu {cpu}")
    stacks = {row["name"]: row for row in data["stacks"]}
    assert set(stacks) == {"rsp0", "ist1", "ist2", "ist3"}
    for name, row in stacks.items():
        assert (row["bottom"], row["top"], row["guard"], row["guard_page"]) == (
            want[name]["bottom"], want[name]["top"], want[name]["guard"], want[name]["guard_page"]), name
        assert row["problems"] == []
    gates = long64.layout["idt"]["gates"]
    for index in (1, 2, 3):
        assert stacks[f"ist{index}"]["used_by"] == [g["vector"] for g in gates if g["present"] and g["ist"] == index]


def test_idtr_limit_0xffff_like_linux_gives_256_gates(long64):
    from gdbext.symbols import SymbolTable

    scenario = SymbolTable.load(long64.elf).address_of("scenario")
    done = SymbolTable.load(long64.elf).address_of("scenario_done")
    with shell_session(long64) as (session, _):
        session.run(f"gdb tbreak *{done:#x}")
        session.run(f"gdb set {{long long}}{scenario:#x} = 11")
        session.run("continue 20")
        data = shell_json(session, "idt --all")
        text = session.run("idt")
    assert data["idtr"]["limit"] == long64.layout["scenarios"][11]["after"]["idt_limit"] == 0xFFFF
    assert data["covered"] == 256 and len(data["gates"]) == 256
    assert [g["symbol"] for g in data["gates"] if g["present"]] == [
        g["handler"] for g in long64.layout["idt"]["gates"] if g["present"]]
    assert "limit 0xffff, 256 vectors covered" in text


def test_gdb_help_and_completion():
    import subprocess

    from tests.live.harness import ROOT

    run = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}",
                          "-ex", "complete x86 dec", "-ex", "complete x86 idt --a", "-ex", "complete x86 explain #P",
                          "-ex", "help x86", "-ex", "help x86 break"], capture_output=True, text=True, timeout=30)
    lines = run.stdout.splitlines()
    assert "x86 decode" in lines and "x86 idt --all" in lines and "x86 explain #PF" in lines
    assert "x86 idt -- Show the IDT" in run.stdout and "--error-code MASK=VALUE" in run.stdout
    assert "Traceback" not in run.stderr
