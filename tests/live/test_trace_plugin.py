"""The trace plugin under QEMU 11.1 (the Debian sid root, tests/guests/newer.py) on the long-mode guest.

Truth comes from the guest: its own timer handler counts ticks per vCPU in memory
(`timer_ticks`), and its layout.json says what each scenario raises (vector, error
code, the instruction) and, for scenario 20, which handler runs nested in which. The IDT
the trace is matched against is the one idtscope reads from the running guest, and `log`
reads the same trace as a user would, with a snapshot of that guest.
"""

import json
import re
import subprocess
import sys

import pytest

from gdbext.model.trace import Pairing, TraceReader
from gdbext.plugin.build import build_plugin
from gdbext.symbols import SymbolTable
from shell.guests import run as guest_run
from shell.guests.run import RunningGuest
from shell.session import Session
from tests.guests import newer

SCENARIOS_WITH_EVENTS = (1, 2, 3, 4, 5, 6, 7, 8, 20)
NESTED_SCENARIO = 20


@pytest.fixture(scope="module")
def traced_long64(long64, tmp_path_factory):
    """Run scenarios 1-8 and 20 under QEMU 11.1 with the plugin; return the pairing, the IDT
    handlers, the guest's own tick counters, its symbols, the trace and a snapshot of the guest."""
    prefix = newer.qemu_prefix()
    library = build_plugin(prefix)
    directory = tmp_path_factory.mktemp("trace")
    trace, snapshot = directory / "trace.txt", directory / "guest.snap"
    table = SymbolTable.load(long64.elf)
    patch = pytest.MonkeyPatch()
    original = guest_run.qemu_command
    patch.setattr(guest_run, "qemu_command", lambda *args, **kwargs: prefix + original(*args, **kwargs)[1:])
    try:
        with RunningGuest(long64, extra=["-plugin", f"{library},out={trace},icount=on"]) as guest:
            session = Session()
            try:
                session.run(f"attach 127.0.0.1:{guest.port}")
                session.run(f"symbols {long64.elf}")
                session.run("gdb tbreak guest_ready")
                session.run("continue 60")
                idt = json.loads(session.run("idt --all --json"))
                session.run(f"snapshot save {snapshot}")
                session.run(f"gdb break *{table.address_of('scenario_done'):#x}")
                for number in SCENARIOS_WITH_EVENTS:
                    session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = {number}")
                    stopped = session.run("continue 30")
                    assert "scenario_done" in stopped, (number, stopped)
                dump = session.run(f"gdb x/{long64.layout['smp']}gx {table.address_of('timer_ticks'):#x}")
                guest.stop()
            finally:
                session.close()
    finally:
        patch.undo()
    ticks = [int(word, 16) for word in re.findall(r"0x[0-9a-f]{16}", dump)]
    handlers = {gate["vector"]: gate["handler"] for gate in idt["gates"] if gate["present"]}
    reader = TraceReader()
    pairing = Pairing(handlers)
    pairing.feed(reader.feed(trace.read_bytes()))
    pairing.feed(reader.close())
    assert reader.header is not None and reader.header.fields["api"] == "7"
    return pairing, handlers, ticks, table, trace, snapshot


def test_timer_interrupts_match_the_guests_own_count(traced_long64, long64):
    pairing, handlers, ticks, table, _, _ = traced_long64
    timer = handlers[long64.layout["lapic"]["registers"]["lvt_timer"] & 0xFF]
    assert timer == table.address_of("isr_apic_timer")
    assert len(ticks) == long64.layout["smp"] and all(ticks)
    for cpu, counted in enumerate(ticks):
        deliveries = [h for h in pairing.handled if h.delivery.cpu == cpu and h.delivery.to_pc == timer]
        returned = [h for h in deliveries if h.end_ns is not None]
        in_flight = len(deliveries) - len(returned)
        assert all(not h.exception and h.error_code is None for h in deliveries)
        # QEMU stops every vCPU at the breakpoint: a tick may be entered and not yet counted or
        # counted and not yet returned from, never more than one per vCPU
        assert in_flight <= 1 and len(returned) <= counted <= len(deliveries), (cpu, counted, len(deliveries))


def test_every_exception_the_guest_raises_is_reported_with_vector_error_code_and_instruction(traced_long64, long64):
    pairing, _, _, table, _, _ = traced_long64
    exceptions = [h for h in pairing.handled if h.exception and h.frame is not None]
    expected = [event for number in SCENARIOS_WITH_EVENTS for event in long64.layout["scenarios"][number]["events"]]
    assert [h.vector for h in exceptions] == [event["vector"] for event in expected]
    for handled, event in zip(exceptions, expected):
        assert handled.error_code == event["error_code"], (handled, event)
        assert handled.cpl == event["from_cpl"]
        assert handled.delivery.to_pc == table.address_of(event["handler"])
        place = table.address_of(event["rip_symbol"]) or long64.layout["memory"][event["rip_symbol"]]
        assert handled.saved_rip == place
        if event["vector"] in (3, 0x80):  # traps: the instruction before the saved RIP
            assert 0 < handled.saved_rip - handled.delivery.from_pc <= 2
        else:  # faults: the faulting instruction itself
            assert handled.delivery.from_pc == place
    double_fault = next(h for h in exceptions if h.vector == 8)
    assert double_fault.raised == 3, "#NP raised, #NP raised while delivering it, then #DF"


def test_handler_durations_are_positive_and_nest_inside_their_parent(traced_long64, long64):
    pairing, _, _, table, _, _ = traced_long64
    framed = [h for h in pairing.handled if h.frame is not None]
    ended = [h for h in framed if h.end_ns is not None]
    assert len(ended) >= len(framed) - long64.layout["smp"], "at most one handler per vCPU open at the stop"
    assert all(h.duration_ns > 0 for h in ended)
    for handled in framed:
        if handled.parent is not None:
            parent = pairing.handled[handled.parent]
            assert parent.delivery.cpu == handled.delivery.cpu and handled.depth == parent.depth + 1
            assert parent.delivery.time_ns <= handled.delivery.time_ns
            if handled.end_ns is not None and parent.end_ns is not None:
                assert handled.end_ns <= parent.end_ns
    nested = long64.layout["scenarios"][NESTED_SCENARIO]["nested"]
    outer = next(h for h in framed if h.delivery.from_pc == table.address_of("scn_bp_nested"))
    assert outer.vector == nested["inside_vector"] and outer.depth == 0
    inner = [h for h in framed if h.parent == outer.index]
    assert inner and all(h.vector == nested["vector"] and h.depth == 1 for h in inner)
    assert all(h.delivery.to_pc == table.address_of(nested["handler"]) for h in inner)
    assert all(outer.delivery.time_ns < h.delivery.time_ns < h.end_ns < outer.end_ns for h in inner)
    others = [h for h in framed if h.depth and h.parent != outer.index]
    assert all(pairing.handled[h.parent].vector == 3 for h in others), "only #BP's trap gate lets a tick in"


def test_log_reads_the_trace_with_the_guests_idt(traced_long64, long64):
    pairing, _, _, _, trace, snapshot = traced_long64
    run = subprocess.run([sys.executable, "-m", "shell", "-c", f"log {trace} --snapshot {snapshot} --json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["total_events"] == len(pairing.handled) and data["bad_lines"]["count"] == 0
    rows = {row["vector"]: row for row in data["vectors"]}
    timer = long64.layout["scenarios"][NESTED_SCENARIO]["nested"]["vector"]
    deliveries = [h for h in pairing.handled if h.vector == timer]
    assert rows[timer]["count"] == len(deliveries) and rows[timer]["symbol"] == "isr_apic_timer"
    assert rows[timer]["nested"] >= 1 and rows[timer]["in_handler_ns"] > 0
    assert rows[14]["error_codes"] == sorted({0x6, 0x3, 0x11}) and rows[13]["error_codes"] == [0x38]
    assert rows[3]["count"] == 3 and rows[3]["exceptions"] == 3
    text = subprocess.run([sys.executable, "-m", "shell", "-c", f"log {trace} --snapshot {snapshot}"],
                          capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "isr_apic_timer" in text.stdout and "in handler" in text.stdout
