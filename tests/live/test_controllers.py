"""The interrupt controllers of the long-mode guest read live: the local APIC
of each vCPU, the I/O APIC and the 8259As against layout.json, the vector
scenario 9 leaves in service, an APIC ID that differs from the vCPU index,
and the same JSON inside gdb and in the shell."""

import json

import pytest

from gdbext.errors import TargetError
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.live.harness import gdb_batch, gdb_json, shell_json, shell_session

MISSING_EOI_SCENARIO = 9
PIC_MISSING_EOI_SCENARIO = 15


def run_scenario(session, number: int) -> str:
    """Run a scenario the way layout.json's scenario_convention says; stop at scenario_done."""
    target = session.context.target
    target.console(f"set {{unsigned long long}}&scenario = {number}")
    target.console("hbreak scenario_done")
    stop = target.resume(60)
    target.console("delete")
    return stop


def errors(data: dict) -> list[dict]:
    return [d for d in data["diagnoses"] if d["severity"] == "error"]


@pytest.mark.parametrize("cpu", [0, 1])
def test_apic_timer_and_lvt_per_cpu(long64, cpu):
    want = long64.layout["lapic"]
    registers = want["registers"]
    with shell_session(long64) as (session, _):
        data = shell_json(session, f"lapic --cpu {cpu}")
        text = session.run(f"lapic --cpu {cpu}")
    assert data["cpu"] == cpu and data["apic_id"] == long64.layout["cpus"][cpu]["apic_id"]
    assert data["enabled"] is want["enabled"] and data["spurious_vector"] == want["spurious_vector"]
    assert data["svr"]["raw"] == registers["svr"] and data["tpr"] == registers["tpr"]
    timer = data["lvt"]["timer"]
    assert (timer["vector"], timer["masked"], timer["timer_mode"], timer["raw"]) == (
        want["timer"]["vector"], want["timer"]["masked"], want["timer"]["mode"], registers["lvt_timer"])
    assert data["timer"]["mode"] == want["timer"]["mode"] and data["timer"]["divide"] == want["timer"]["divide"]
    assert data["timer"]["initial_count"] == want["timer"]["initial_count"]
    assert data["timer"]["divide_configuration"] == registers["timer_dcr"]
    assert 0 < data["timer"]["current_count"] <= want["timer"]["initial_count"], "a periodic timer always counts"
    assert data["lvt"]["lint0"]["raw"] == registers["lvt_lint0"] and data["lvt"]["lint0"]["masked"]
    assert data["lvt"]["lint0"]["delivery_mode"] == "extint"
    assert data["lvt"]["lint1"]["raw"] == registers["lvt_lint1"] and data["lvt"]["lint1"]["delivery_mode"] == "nmi"
    assert data["lvt"]["error"]["raw"] == registers["lvt_error"] and data["lvt"]["error"]["masked"]
    rows = {row["vector"]: row for row in data["vectors"]}
    assert rows[want["timer"]["vector"]]["symbol"] == long64.layout["timer_handler"]["symbol"]
    assert rows[want["spurious_vector"]]["symbol"] == "isr_spurious"
    assert data["esr"] == 0 and data["missing"] == [] and data["unparsed"] == []
    assert errors(data) == []
    assert "isr_apic_timer" in text and "periodic, divide by 16, initial count 250000" in text


def test_lapic_all_lists_every_vcpu(long64):
    with shell_session(long64) as (session, _):
        data = shell_json(session, "lapic --all")
        text = session.run("lapic --all")
    assert [one["cpu"] for one in data["cpus"]] == [0, 1]
    assert [one["apic_id"] for one in data["cpus"]] == [cpu["apic_id"] for cpu in long64.layout["cpus"]]
    assert "local APIC of CPU 0" in text and "local APIC of CPU 1" in text


def test_pic_remap_and_masks(long64):
    want = long64.layout["pic"]
    gates = long64.layout["idt"]["gates"]
    with shell_session(long64) as (session, _):
        data = shell_json(session, "pic")
        text = session.run("pic")
    for chip in ("master", "slave"):
        assert data[chip]["base"] == want[chip]["base"] and data[chip]["imr"] == want[chip]["imr"], chip
        assert [line["vector"] for line in data[chip]["lines"]] == list(range(want[chip]["base"],
                                                                               want[chip]["base"] + 8))
    lines = data["master"]["lines"] + data["slave"]["lines"]
    assert [line["irq"] for line in lines if not line["masked"]] == [2]
    assert lines[2]["cascade"] and data["cascade_irq"] == 2
    for line in lines:
        gate = gates[line["vector"]]
        assert line["present"] == gate["present"], line
        if gate["present"]:
            assert line["symbol"] == gate["handler"], line
    assert lines[0]["device"] == "PIT timer (8254)" and lines[0]["symbol"] == "isr_irq0"
    assert errors(data) == [], "the open IRQ2 is the cascade, not a line missing its gate"
    assert "cascade from the slave" in text and "isr_irq0" in text


def test_ioapic_pins_decode(long64):
    with shell_session(long64) as (session, _):
        data = shell_json(session, "ioapic")
        text = session.run("ioapic")
    assert len(data["ioapics"]) == 1 and data["ioapics"][0]["pins"] == 24
    assert [pin["pin"] for pin in data["pins"]] == list(range(24))
    for pin in data["pins"]:
        assert pin["masked"] and pin["delivery_mode"] == "fixed" and pin["trigger"] == "edge", pin
        assert pin["polarity"] == "active-high" and not pin["remote_irr"] and pin["raw"] == 1 << 16, pin
    assert data["pins"][2]["isa_irq"] == 0 and data["pins"][2]["device"] == "PIT timer (8254)"
    assert data["diagnoses"] == []
    assert "I/O APIC 0" in text and "masked" in text


def test_missing_eoi_on_cpu0_only(long64):
    vector = long64.layout["lapic"]["missing_eoi_vector"]
    scenario = long64.layout["scenarios"][MISSING_EOI_SCENARIO]
    handler = scenario["events"][0]["handler"]
    with shell_session(long64) as (session, _):
        stop = run_scenario(session, MISSING_EOI_SCENARIO)
        cpu0 = shell_json(session, "lapic --cpu 0")
        cpu1 = shell_json(session, "lapic --cpu 1")
        text = session.run("lapic --cpu 0")
    assert "scenario_done" in stop
    assert cpu0["isr"] == scenario["after"]["lapic_isr_cpu0"]
    assert cpu0["ppr"] == vector & 0xF0, "the in-service vector raises the processor priority to its class"
    row = next(row for row in cpu0["vectors"] if row["vector"] == vector)
    assert row["symbol"] == handler and "ISR" in row["roles"]
    assert [(d["code"], d["vector"]) for d in errors(cpu0)] == [("missing-eoi", vector)]
    assert handler in errors(cpu0)[0]["message"] and "scenario_done" in errors(cpu0)[0]["message"]
    assert vector not in (cpu1["isr"] or [])
    assert [d for d in cpu1["diagnoses"] if d["code"] == "missing-eoi"] == []
    assert "in service (ISR) on CPU 0" in text and "without an EOI" in text


def test_pic_line_left_in_service(long64):
    scenario = long64.layout["scenarios"][PIC_MISSING_EOI_SCENARIO]
    vector = scenario["events"][0]["vector"]
    with shell_session(long64) as (session, _):
        stop = run_scenario(session, PIC_MISSING_EOI_SCENARIO)
        data = shell_json(session, "pic")
        text = session.run("pic")
    assert "scenario_done" in stop
    assert data["master"]["isr"] == scenario["after"]["pic_isr_master"]
    assert data["master"]["imr"] == long64.layout["pic"]["master"]["imr"]
    assert [(d["code"], d["vector"]) for d in errors(data)] == [("pic-missing-eoi", vector)]
    assert scenario["events"][0]["handler"] in errors(data)[0]["message"]
    assert "CPU 0 is outside its handler" in errors(data)[0]["message"]
    assert "without an EOI (OCW2)" in text


def test_missing_eoi_inside_gdb(long64):
    out = gdb_batch(long64, ["set {unsigned long long}&scenario = 9", "hbreak scenario_done", "continue",
                             "delete", "x86 lapic --cpu 0", "x86 lapic --cpu 0 --json"])
    assert "isr_missing_eoi" in out[4] and "without an EOI" in out[4]
    data = json.loads(out[5])
    assert [d["code"] for d in errors(data)] == ["missing-eoi"]


def test_gdb_and_shell_give_the_same_json(long64, toolchain):
    commands = ["lapic --cpu 0", "pic", "ioapic"]
    inside_gdb = gdb_json(long64, commands, toolchain=toolchain)
    with shell_session(long64, toolchain=toolchain) as (session, _):
        from_shell = [shell_json(session, command) for command in commands]
    for command, left, right in zip(commands, inside_gdb, from_shell):
        if command.startswith("lapic"):
            for side in (left, right):
                side["timer"].pop("current_count")
                side.pop("irr"), side.pop("vectors")
        assert left == right, command


def test_apic_id_found_when_it_differs_from_the_vcpu_index(long64):
    """Three threads per core: vCPUs 0-2 get APIC IDs 0-2, vCPU 3 starts the next core at 4."""
    topology = ["-smp", "4,sockets=1,cores=2,threads=3,maxcpus=6"]
    with RunningGuest(long64, extra=topology) as guest:
        session = Session()
        try:
            session.run(f"attach 127.0.0.1:{guest.port}")
            ids = [shell_json(session, f"lapic --cpu {cpu}")["apic_id"] for cpu in range(4)]
            reset = shell_json(session, "lapic --cpu 3")
            with pytest.raises(TargetError, match="no vCPU 4; this guest has 0, 1, 2, 3"):
                session.run("lapic --cpu 4")
        finally:
            session.close()
    assert ids == [0, 1, 2, 4]
    assert reset["cpu"] == 3 and reset["enabled"] is False
    assert [d["code"] for d in reset["diagnoses"]] == ["apic-disabled"]
