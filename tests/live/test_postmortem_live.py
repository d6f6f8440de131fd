"""`why` on long64's crash scenarios: QEMU paused at the triple fault, attached
one-shot, and offline from a snapshot plus the same log. Each scenario's layout
entry (`crash`) names the check that must come out and the vector it concerns;
the faulting RIP is held against the guest's own symbol."""

import json
import subprocess
import sys

import pytest

from gdbext.symbols import SymbolTable
from shell.guests.run import RunningGuest
from tests.guests.crash import CRASH_SCENARIOS, crash_options, start_scenario, wait_for_triple_fault
from tests.unit.test_docs_json import check, why_documents


def idtscope(*args: str) -> dict:
    run = subprocess.run([sys.executable, "-m", "shell", *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run


def checks(data: dict) -> set[tuple[str, int]]:
    return {(step["problem"]["check"], step["problem"]["vector"]) for step in data["steps"] if step["problem"]}


@pytest.mark.parametrize("scenario", CRASH_SCENARIOS)
def test_why_names_the_cause_live_and_offline(long64, tmp_path, scenario, toolchain):
    crash = long64.layout["scenarios"][scenario]["crash"]
    table = SymbolTable.load(long64.elf)
    log, snap = tmp_path / "qemu.log", tmp_path / "crash.snap"
    with RunningGuest(long64, extra=crash_options(log), qemu=toolchain.qemu) as guest:
        start_scenario(guest, long64, scenario, gdb=toolchain.gdb)
        wait_for_triple_fault(log)
        attach = ["--attach", f"127.0.0.1:{guest.port}", "--symbols", str(long64.elf)]
        status = idtscope(*attach, "-c", "gdb monitor info status", "--gdb", toolchain.gdb).stdout
        assert "paused (shutdown)" in status
        live = json.loads(idtscope(*attach, "-c", f"why --log {log} --json").stdout)
        other = 1 - live["cpu"]
        chosen = idtscope(*attach, "-c", f"gdb thread {other + 1}", "-c", f"why --log {log} --json",
                          "--gdb", toolchain.gdb).stdout
        assert json.loads(chosen[chosen.index("{"):])["cpu"] == live["cpu"], \
            "why explains the vCPU that triple-faulted, whichever vCPU is selected"
        text = idtscope(*attach, "-c", f"why --log {log}").stdout
        idtscope(*attach, "-c", f"snapshot save {snap}")
    offline = json.loads(idtscope("--snapshot", str(snap), "-c", f"why --log {log} --json").stdout)
    for data in (live, offline):
        assert (crash["cause"], crash["vector"]) in checks(data), data["steps"]
        named = [step["problem"] for step in data["steps"]
                 if step["problem"] and step["problem"]["check"] == crash["cause"]]
        assert named[0]["fix"] in data["fixes"]
        assert data["chain"][-1]["logged"] is False, "the fault that ended #DF's delivery has no event line"
        assert data["cause"]["vector"] == 8, "a triple fault is a #DF the CPU could not deliver"
    assert checks(live) == checks(offline)
    doubled = live["chain"][0]["error_code"] is not None and live["chain"][0]["error_code"] & 2 \
        and live["instruction"] and live["instruction"][0]["text"].startswith("int")
    assert bool(live["notes"]) == bool(doubled and toolchain.name == "qemu7"), live["notes"]
    assert all("QEMU issue 1382" in note for note in live["notes"])
    check("why", [live, offline] + why_documents())
    first = live["instruction"][0]
    assert first["address"] == live["chain"][0]["rip"]
    if crash["cause"] != "handler-not-executable":
        assert first["symbol"] == crash["rip_symbol"], first
        assert live["chain"][0]["rip"] == table.address_of(crash["rip_symbol"])
    assert "cause:" in text and "fix:" in text and "Traceback" not in text


def test_why_on_a_log_without_a_crash_is_one_line(long64, tmp_path):
    log = tmp_path / "quiet.log"
    log.write_text("check_exception old: 0xffffffff new 0xe\n")
    snap_run = subprocess.run([sys.executable, "-m", "shell", "-c", f"why --log {log}"],
                              capture_output=True, text=True, timeout=60)
    assert snap_run.returncode != 0 and "Traceback" not in snap_run.stderr
    assert len(snap_run.stderr.strip().splitlines()) == 1, snap_run.stderr
