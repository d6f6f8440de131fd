"""The trace plugin's stream followed live (gdbext/model/tracestream.py, gdbext/follow.py):
fed in any chunking, it counts what the offline reader (gdbext/model/trace.py's Pairing over
the whole stream at once) finds, while keeping only the handlers still open."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gdbext.follow import TraceFollower
from gdbext.model.exception_vectors import EventKind
from gdbext.model.intstream import EventStream
from gdbext.model.trace import Delivery, Pairing, Return, TraceHeader, TraceReader, format_record
from gdbext.model.tracestream import BITS, Durations, TraceSource

#: vector -> handler: 0x500 is #PF's, 0x600 the timer's; 0x700 is entered but named by no gate
IDT = {14: 0x500, 0x20: 0x600}
HEADER = format_record(TraceHeader(1, {"api": "7", "target": "x86_64", "vcpus": "2", "icount": "off"}))
FROM_PCS = (0x100, 0x200)
RSPS = (0x1FD0, 0x1FD8, 0x2FD8)


@st.composite
def records(draw) -> list[str]:
    """A plausible stream: raises, deliveries whose frames may or may not fit, IRETs that may
    pop a recorded frame, on two vCPUs, in time order, with some garbage lines."""
    lines = [HEADER]
    time = 1000
    for _ in range(draw(st.integers(0, 60))):
        time += draw(st.integers(1, 5000))
        cpu = draw(st.integers(0, 1))
        what = draw(st.sampled_from(("raise", "deliver", "deliver", "return", "return", "bad")))
        if what == "bad":
            lines.append(draw(st.sampled_from(("I 0 1", "X y", "R 0 12 - zz 10", ""))))
            continue
        if what == "return":
            lines.append(format_record(Return(0, cpu, time, None, 0x5F0, draw(st.sampled_from(RSPS + (0x1FE0,))))))
            continue
        from_pc = draw(st.sampled_from(FROM_PCS))
        if what == "raise":
            lines.append(format_record(Delivery(0, "exception", cpu, time, None, from_pc, from_pc, 0x3000, 0, 0, 0)))
            continue
        slots = [draw(st.sampled_from((from_pc, from_pc + 2, 6, 0x11))),
                 draw(st.sampled_from((from_pc, 0x8, 0x23, 0x2B))), draw(st.sampled_from((0x8, 0x2B, 0x246)))]
        lines.append(format_record(Delivery(0, draw(st.sampled_from(("interrupt", "exception"))), cpu, time, None,
                                            from_pc, draw(st.sampled_from((0x500, 0x600, 0x700))),
                                            draw(st.sampled_from(RSPS)), *slots)))
    return lines


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[start:end] for start, end in zip([0, *points], [*points, len(data)])]


def offline(data: bytes) -> Pairing:
    reader, pairing = TraceReader(), Pairing(IDT)
    pairing.feed(reader.feed(data))
    pairing.feed(reader.close())
    return pairing


@settings(max_examples=200, deadline=None)
@given(records(), st.lists(st.integers(0, 4000), max_size=12))
def test_any_chunking_counts_what_the_offline_reader_finds(lines, cuts):
    data = ("\n".join(lines) + "\n").encode()
    pairing = offline(data)
    stream = EventStream()
    source = TraceSource(stream)
    source.learn_idt(IDT)
    for chunk in chunked(data, cuts):
        source.feed(chunk)
    source.close()
    stats = source.stats
    assert stats.deliveries == len(pairing.handled)
    for (handler, cpu), cell in stats.cells.items():
        group = [h for h in pairing.handled if h.delivery.to_pc == handler and h.delivery.cpu == cpu]
        ended = [h.duration_ns for h in group if h.duration_ns is not None]
        assert cell.count == len(group)
        assert cell.exceptions == sum(h.exception for h in group)
        assert cell.nested == sum(1 for h in group if h.depth)
        assert cell.max_depth == max(h.depth for h in group)
        assert cell.durations.count == len(ended) and cell.durations.total == sum(ended)
        assert (cell.durations.least, cell.durations.most) == (min(ended, default=None), max(ended, default=None))
        assert cell.error_codes == {h.error_code for h in group if h.error_code is not None}
    assert sum(cell.count for cell in stats.cells.values()) == len(pairing.handled)
    for cpu, totals in stats.cpus.items():
        group = [h for h in pairing.handled if h.delivery.cpu == cpu]
        assert totals.events == len(group)
        assert totals.in_handlers_ns == sum(h.duration_ns for h in group if h.duration_ns is not None and not h.depth)
    assert stats.paired == sum(1 for h in pairing.handled if h.end_ns is not None)
    assert (source.pairing.unpaired_returns, source.pairing.abandoned) == (pairing.unpaired_returns, pairing.abandoned)
    assert [h.index for h in source.pairing.still_open()] == [h.index for h in pairing.still_open()]
    named = [h for h in pairing.handled if h.vector is not None]
    assert stream.total == len(named) and stream.unnamed == len(pairing.handled) - len(named)
    assert stream.by_vector == {v: sum(1 for h in named if h.vector == v) for v in {h.vector for h in named}}
    assert stream.malformed == sum(1 for line in lines[1:] if not line.startswith(("I ", "E ", "R ")) or
                                   len(line.split(" ")) not in (6, 10) or "zz" in line)
    assert [(e.vector, e.cpu, e.time_ns, e.handler, e.depth, e.error_code, e.cpl) for e in stream.recent] == \
        [(h.vector, h.delivery.cpu, h.delivery.time_ns, h.delivery.to_pc, h.depth, h.error_code, h.cpl)
         for h in named][-len(stream.recent):] if stream.recent else not named


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 10**10), min_size=1, max_size=200))
def test_the_median_is_within_a_32nd_of_the_exact_one(values):
    durations = Durations()
    for value in values:
        durations.add(value)
    exact = statistics.median_low(values)
    found = durations.median()
    assert (durations.least, durations.most, durations.count, durations.total) == \
        (min(values), max(values), len(values), sum(values))
    if exact < 1 << BITS:
        assert found == exact
    assert found <= exact and exact - found <= exact / (1 << (BITS - 1))
    halves = Durations(), Durations()
    for number, value in enumerate(values):
        halves[number % 2].add(value)
    halves[0].merge(halves[1])
    assert halves[0].median() == found and halves[0].buckets == durations.buckets


def test_a_delivery_is_named_by_the_idt_known_when_it_came_and_stats_name_it_later():
    stream = EventStream()
    source = TraceSource(stream)
    early = format_record(Delivery(0, "interrupt", 0, 10, None, 0x100, 0x600, 0x1FD8, 0x100, 0x8, 0x246))
    late = format_record(Delivery(0, "exception", 1, 20, None, 0x200, 0x500, 0x1FD0, 0x6, 0x200, 0x2B))
    source.feed(f"{HEADER}\n{early}\n".encode())
    assert stream.total == 0 and stream.unnamed == 1
    source.learn_idt(IDT)
    source.feed(f"{late}\n".encode())
    assert stream.total == 1 and stream.unnamed == 1
    event = stream.recent[-1]
    assert (event.vector, event.kind, event.error_code, event.cpl, event.cpu) == (14, EventKind.EXCEPTION, 6, 3, 1)
    assert source.vectors_of(0x600) == (0x20,)


def test_the_follower_reads_a_growing_trace_and_takes_partial_lines_whole():
    lines = [HEADER, format_record(Delivery(0, "interrupt", 0, 10, None, 0x100, 0x600, 0x1FD8, 0x100, 0x8, 0x246)),
             format_record(Return(0, 0, 50, None, 0x5F0, 0x1FD8))]
    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryDirectory() as directory:
        trace, log = Path(directory) / "run.trace", Path(directory) / "qemu.log"
        log.write_text("")
        follower = TraceFollower(trace, log)
        follower.learn_idt(IDT, ())
        assert follower.poll() == 0 and follower.path == log
        for cut in range(0, len(data), 7):
            with trace.open("ab") as file:
                file.write(data[cut:cut + 7])
            follower.poll()
        log.write_text("Triple fault\n")
        follower.finish()
    assert follower.offset == len(data) and follower.stream.by_vector == {0x20: 1}
    assert follower.plugin.stats.paired == 1 and follower.stream.triple_faults == 1


def test_the_session_names_deliveries_from_the_idt_of_the_stopped_guest(tmp_path):
    """At a stop the session gives the follower the IDT it reads, and resolves its gates again
    only when the table changed (here a snapshot of long64: the same table at every stop)."""
    import json

    from shell.session import Session
    from tests.unit.snapshot_fixtures import SNAPSHOTS

    session = Session()
    session.open_snapshot(str(SNAPSHOTS / "long64.json"))
    gates = json.loads(session.run("idt --all --json"))["gates"]
    trace = tmp_path / "run.trace"
    pf = next(gate["handler"] for gate in gates if gate["vector"] == 14)
    raised = Delivery(0, "exception", 0, 4, None, 0x102000, 0x102000, 0x3000, 0, 0, 0)
    user_pf = Delivery(0, "interrupt", 0, 5, None, 0x102005, pf, 0x1FD0, 6, 0x102005, 0x23)
    trace.write_text(f"{HEADER}\n{format_record(raised)}\n{format_record(user_pf)}\n")
    follower = TraceFollower(trace)
    session.context.follow(follower)
    session.core.learn_idt()
    assert follower.handlers == {gate["vector"]: gate["handler"] for gate in gates if gate["handler"] is not None}
    learnt = follower.handlers
    session.core.stop(None)
    assert follower.handlers is learnt
    follower.finish()
    event = follower.stream.recent[-1]
    assert (event.vector, event.error_code, event.cpl, event.handler) == (14, 6, 3, pf)
