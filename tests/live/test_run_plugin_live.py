"""`idtscope run` with the trace plugin: under QEMU 11.1 (the Debian sid root, tests/guests/newer.py)
with the header tests/guests/plugin_header.py derives, `run` loads the plugin by itself and
`events`, `stats` and `catch` follow its stream; under the machine's QEMU 7.2 it falls back
to -d int and says why.

Truth comes from the guest (long64): its own timer handler counts its ticks per vCPU in
memory (`timer_ticks`), its layout.json says what scenario 2 raises from user mode and which
handler scenario 20 runs nested in which, and its ELF names the handlers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from gdbext.symbols import SymbolTable
from tests.guests import newer, plugin_header
from tests.guests.crash import CRASH_SCENARIOS
from tests.unit.test_docs_json import check

USER_PF_SCENARIO = 2
NESTED_SCENARIO = 20


def idtscope_run(qemu: list[str], commands: list[str], options: list[str], env: dict[str, str] | None = None,
                 timeout: int = 300) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "shell", "run", "--no-color", *options]
    for command in commands:
        argv += ["-c", command]
    run = subprocess.run(argv + ["--", *qemu], capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, NO_COLOR="1", **(env or {})))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    return run


def documents(text: str) -> list[dict]:
    """Every JSON document the commands printed, in order (each starts with a line ``{``)."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(text, match.start())[0] for match in re.finditer(r"(?m)^\{$", text)]


def qemu11(image) -> list[str]:
    return [*newer.qemu_prefix(), "-accel", "tcg", "-display", "none", "-smp", str(image.layout["smp"]),
            "-m", image.layout.get("qemu_memory", "128M"), "-kernel", str(image.kernel)]


def test_run_loads_the_plugin_and_stats_match_the_guest(long64, tmp_path):
    table = SymbolTable.load(long64.elf)
    qemu = qemu11(long64)
    log = tmp_path / "qemu.log"
    run = idtscope_run(qemu, [
        "gdb hbreak guest_ready", "continue 60", "gdb delete",
        "catch exception 14 --from user",
        f"gdb set {{unsigned long long}}&scenario = {USER_PF_SCENARIO}", "continue 60",
        "events --vector 14 --json",
        "catch delete all",
        # scenario 2 may have ended before the catch stopped the guest: stop once 20 has
        f"gdb break scenario_done if *(long long *)&last_scenario_done == {NESTED_SCENARIO}",
        f"gdb set {{unsigned long long}}&scenario = {NESTED_SCENARIO}", "continue 60",
        "stats --json", "events --json --last 100",
        f"gdb x/{long64.layout['smp']}gx &timer_ticks",
    ], ["--serial", str(tmp_path / "serial.txt"), "--session-log", str(log), "--symbols", str(long64.elf)],
        env={"IDTSCOPE_QEMU_PLUGIN_H": str(plugin_header.derived())})
    added = next(line for line in run.stderr.splitlines() if line.startswith("idtscope run: added "))
    assert "-plugin " in added and "idtscope trace plugin" in added, run.stderr
    assert "no trace plugin" not in run.stderr
    out = run.stdout
    caught = out[out.index("caught"):]
    assert "#PF" in caught.split("\n")[0] or "14" in caught.split("\n")[0], caught[:400]
    pf_events, stats, events = documents(out)

    # the user #PF of scenario 2, from the plugin: vCPU, time, handler, error code, CPL 3
    expected = long64.layout["scenarios"][USER_PF_SCENARIO]["events"]
    user_pf = [event for event in expected if event["vector"] == 14 and event["from_cpl"] == 3]
    assert user_pf, expected
    seen = [event for event in pf_events["events"] if event["cpl"] == 3]
    assert seen and seen[-1]["source"] == "plugin" and seen[-1]["cpu"] is not None
    assert seen[-1]["error_code"] == user_pf[0]["error_code"]
    assert seen[-1]["handler"] == table.address_of(user_pf[0]["handler"]) and seen[-1]["time_ns"] > 0

    # the APIC timer per vCPU: the guest's own counters against the plugin's deliveries
    dump = out[out.rindex("\n}\n"):]
    ticks = [int(word, 16) for word in re.findall(r"0x[0-9a-f]{16}", dump)]
    assert len(ticks) == long64.layout["smp"] and all(ticks), dump
    plugin = stats["plugin"]
    rows = {row["vector"]: row for row in plugin["vectors"]}
    timer = long64.layout["lapic"]["registers"]["lvt_timer"] & 0xFF
    assert rows[timer]["handlers"] == [table.address_of("isr_apic_timer")]
    per_cpu = {row["cpu"]: row for row in rows[timer]["cpus"]}
    for cpu, counted in enumerate(ticks):
        # stopped at a breakpoint: a tick may be entered and not yet counted, or counted and
        # not yet returned from, never more than one per vCPU
        assert per_cpu[cpu]["returned"] <= counted <= per_cpu[cpu]["count"] <= counted + 1, (cpu, counted, per_cpu)

    # handler durations and nesting: every returned handler took time; scenario 20 nests a tick in #BP
    for row in plugin["vectors"]:
        if row["returned"]:
            assert row["latency_ns"]["min"] > 0 and row["in_handler_ns"] >= row["latency_ns"]["max"]
            assert row["latency_ns"]["min"] <= row["latency_ns"]["median"] <= row["latency_ns"]["max"]
    nested = long64.layout["scenarios"][NESTED_SCENARIO]["nested"]
    assert rows[nested["vector"]]["nested"] >= 1 and rows[nested["vector"]]["max_depth"] == 1
    assert rows[nested["inside_vector"]]["max_depth"] == 0
    inner = [event for event in events["events"] if event["vector"] == nested["vector"] and event["depth"] == 1]
    assert inner and all(event["handler"] == table.address_of(nested["handler"]) for event in inner)
    assert any(row["max_depth"] >= 1 for row in plugin["cpus"])
    assert plugin["returns"]["paired"] > 0

    check("stats", [stats])
    check("events", [pf_events, events])


def test_run_falls_back_to_the_log_under_qemu_72(long64, tmp_path):
    run = idtscope_run(["qemu-system-x86_64", "-accel", "tcg", "-display", "none", "-kernel", str(long64.kernel)],
                       ["stats --json"], ["--serial", str(tmp_path / "serial.txt")])
    assert "idtscope run: no trace plugin (QEMU 7.2" in run.stderr and "older than 10.2" in run.stderr
    assert "-plugin" not in run.stderr and "-d int,cpu_reset" in run.stderr
    assert json.loads(run.stdout)["plugin"] is None


def test_a_triple_fault_is_still_caught_and_explained_with_the_plugin(long64, tmp_path):
    """The plugin gives the events; the log beside it still gives the triple fault and `why` its chain."""
    scenario = CRASH_SCENARIOS[0]
    crash = long64.layout["scenarios"][scenario]["crash"]
    run = idtscope_run(qemu11(long64), [
        "gdb hbreak guest_ready", "continue 60", "gdb delete",
        f"gdb set {{unsigned long long}}&scenario = {scenario}", "continue 60", "stats --json",
    ], ["--serial", str(tmp_path / "serial.txt"), "--symbols", str(long64.elf)],
        env={"IDTSCOPE_QEMU_PLUGIN_H": str(plugin_header.derived())})
    assert "-plugin " in run.stderr
    stop = run.stdout[run.stdout.index("caught a triple fault"):]
    chain = next(line for line in stop.splitlines() if line.startswith("chain: "))
    # the chain comes from the log: the scenario's instruction raises, then #DF, then the triple fault
    place = f"at RIP {SymbolTable.load(long64.elf).address_of(crash['rip_symbol']):#x}"
    assert chain.index(place) < chain.index("#DF") < chain.index("triple fault"), chain
    assert f"[{crash['cause']}]" in stop, "why names the cause on the vCPU that triple-faulted"
    stats = documents(run.stdout)[-1]
    assert stats["triple_faults"] == 1 and stats["plugin"]["deliveries"] > 0
