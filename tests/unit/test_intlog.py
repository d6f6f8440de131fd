"""QEMU -d int logs: records, counts, filters, timeline, triple-fault chains, the `log` command.

The logs in tests/fixtures/intlog/ were written by QEMU 7.2 running the guests in
tests/fixtures/intlog/src/ (see the README there), so the events and chains asserted
here are the ones those guests are known to produce.
"""

import itertools
import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdbext.commands import log as command
from gdbext.commands.base import CommandParser, Context
from gdbext.errors import ParseError, UsageError
from gdbext.model.intlog import (
    EventFilter,
    EventKind,
    ExceptionCheck,
    HardwareInterrupt,
    IntEvent,
    LogAnalysis,
    LogMark,
    Malformed,
    Mark,
    _RawFilter,
    read_records,
    require_events,
)
from gdbext.model.triplefault import ChainStep, TripleFault, explain
from gdbext.render.log import log as render_log
from gdbext.render.log import sparkline
from gdbext.render.plot import timeline_svg
from gdbext.render.style import Style

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "intlog"
SVG = "{http://www.w3.org/2000/svg}"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def analyse(text: str, **options) -> "LogAnalysis":
    analysis = LogAnalysis(**options)
    analysis.feed(text)
    return analysis.report()


def events(text: str) -> list[IntEvent]:
    return [record for record in read_records([text]) if isinstance(record, IntEvent)]


def run_log(*argv: str):
    parser = CommandParser(prog="log")
    command.add_arguments(parser)
    parser.add_argument("--json", action="store_true")
    return command.run(Context(), parser.parse_args(list(argv)))


# --- the events each guest is known to produce ---------------------------------------------

def test_events64_exceptions_and_software_interrupts_in_order():
    found = events(fixture("events64.log"))
    first = [(e.vector, e.kind, e.error_code if e.pushes_error_code else None, e.cpl) for e in found[:9]]
    assert first == [
        (0x00, EventKind.EXCEPTION, None, 0),  # div by zero
        (0x06, EventKind.EXCEPTION, None, 0),  # ud2
        (0x03, EventKind.SOFTWARE, None, 0),  # int3
        (0x80, EventKind.SOFTWARE, None, 0),  # int 0x80
        (0x0D, EventKind.EXCEPTION, 0x40, 0),  # mov ds, 0x40: past the GDT limit
        (0x0E, EventKind.EXCEPTION, 0x2, 0),  # supervisor write, not present
        (0x80, EventKind.SOFTWARE, None, 3),
        (0x03, EventKind.SOFTWARE, None, 3),
        (0x0E, EventKind.EXCEPTION, 0x6, 3),  # user write, not present
    ]
    assert [e.seq for e in found] == list(range(34))
    assert found[3].rax == 0x1234 and found[6].rax == 1
    assert (found[5].cr2, found[5].rax) == (0xDEADBEEF, None)
    assert found[8].cr2 == 0xDEADB000
    assert (found[8].cs, found[8].ss, found[5].cs, found[5].ss) == (0x1B, 0x23, 0x08, 0x10)
    assert found[0].pc == found[0].rip  # flat code segment: pc = CS.base + RIP
    assert not any(e.nested for e in found)


def test_events64_timer_ticks_hit_the_user_spin_loop():
    ticks = events(fixture("events64.log"))[9:]
    assert len(ticks) == 25
    assert {(e.vector, e.kind, e.cpl, e.cs) for e in ticks} == {(0x20, EventKind.IRQ, 3, 0x1B)}
    assert len({e.rip for e in ticks}) == 1
    assert not any(e.pushes_error_code for e in ticks)


def test_events64_summary_counts():
    report = analyse(fixture("events64.log"))
    assert report.total_events == report.events == 34
    assert report.by_vector == {0x00: 1, 0x06: 1, 0x03: 2, 0x80: 2, 0x0D: 1, 0x0E: 2, 0x20: 25}
    assert report.by_kind == {EventKind.EXCEPTION: 5, EventKind.SOFTWARE: 4, EventKind.IRQ: 25}
    assert report.by_cpl == {0: 6, 3: 28}
    assert (report.first_seq, report.last_seq) == (0, 33)
    assert report.lines == fixture("events64.log").count("\n")
    assert report.unlogged_irqs == 2  # SeaBIOS ticks in real mode: a "Servicing" line, no event line
    assert report.resets == 2 and report.smm_entries > 0
    assert report.malformed == 0 and report.truncated is None
    assert report.triple_fault_count == 0 and report.triple_faults == ()


def test_record_lines_point_at_the_lines_they_come_from():
    text = fixture("events64.log")
    lines = text.split("\n")
    marks = {Mark.CPU_RESET: "CPU Reset (CPU 0)", Mark.SMM_ENTER: "SMM: enter", Mark.SMM_EXIT: "SMM: after RSM"}
    for record in read_records([text]):
        line = lines[record.line - 1]
        if isinstance(record, IntEvent):
            assert f"{record.seq}: v={record.vector:02x}" in line
        elif isinstance(record, ExceptionCheck):
            assert line.startswith("check_exception") and line.endswith(f"new {record.new:#x}")
        elif isinstance(record, HardwareInterrupt):
            assert line == f"Servicing hardware INT={record.vector:#04x}"
        elif isinstance(record, LogMark):
            assert line == marks[record.mark]


def test_checks_and_servicing_lines_come_before_their_events():
    records = list(read_records([fixture("events64.log")]))
    for before, event in itertools.pairwise(records):
        if isinstance(event, IntEvent) and event.kind is EventKind.IRQ:
            assert isinstance(before, HardwareInterrupt) and before.vector == event.vector
            assert before.line == event.line - 1
        if isinstance(event, IntEvent) and event.kind is EventKind.EXCEPTION:
            assert isinstance(before, ExceptionCheck) and (before.old, before.new) == (None, event.vector)


@pytest.mark.parametrize("name", ["stackoverflow64.log", "linux_smp_cut_late.log", "linux_smp_cut_tail.log"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=24_000), max_size=40))
def test_records_do_not_depend_on_how_the_text_is_cut(name, cuts):
    text = fixture(name)
    points = sorted({cut % len(text) for cut in cuts})
    pieces = [text[a:b] for a, b in zip([0] + points, points + [len(text)])]
    assert list(read_records(pieces)) == list(read_records([text]))


def test_line_by_line_reading_matches_whole_text():
    text = fixture("idtlimit32_reboot.log")
    with (FIXTURES / "idtlimit32_reboot.log").open() as lines:
        assert list(read_records(lines)) == list(read_records([text]))


# --- event lines another vCPU cut in two (real Linux SMP logs) -----------------------------------

@pytest.mark.parametrize(("name", "line", "seq", "error_code", "cr2"), [
    ("linux_smp_cut_tail.log", 35, 1893, 0x14, 0x4610D3),  # tail first, then the other vCPU's line
    ("linux_smp_cut_late.log", 34, 2970, 0x7, 0x3FE2880C),  # the other vCPU's line, the tail on the next line
])
def test_cut_event_lines_are_put_back_together(name, line, seq, error_code, cr2):
    text = fixture(name)
    report = analyse(text, keep=10)
    assert report.malformed == 0 and report.total_events == 3
    cut = next(event for event in events(text) if event.seq == seq)
    assert (cut.line, cut.vector, cut.error_code, cut.cpl, cut.cr2) == (line, 0x0E, error_code, 3, cr2)
    assert cut in report.listed
    checks = [r for r in read_records([text]) if isinstance(r, ExceptionCheck)]
    assert line in {check.line for check in checks}, "the other vCPU's check_exception is kept as a record"


def test_a_cut_event_whose_tail_never_comes_is_malformed():
    lines = fixture("linux_smp_cut_late.log").splitlines(keepends=True)
    text = "".join(lines[:34])
    report = analyse(text)
    assert report.total_events == 1 and report.malformed == 1
    assert "never came" in report.malformed_examples[0].reason


# --- triple faults ---------------------------------------------------------------------------

def chain_of(fault: TripleFault) -> list[tuple]:
    return [(step.vector, step.error_code, step.logged) for step in fault.chain]


def test_stack_overflow_chain():
    report = analyse(fixture("stackoverflow64.log"))
    assert report.triple_fault_count == 1
    (fault,) = report.triple_faults
    assert chain_of(fault) == [(14, 0x2, True), (14, None, False), (8, 0, True), (14, None, False)]
    first = fault.chain[0]
    assert (first.cr2, first.rsp, first.cpl, first.seq) == (0x1FFFFF8, 0x2000000, 0, 0)
    assert first.stack_fault
    assert fault.logged and not fault.reset and fault.seq == 1
    text = fault.explanation
    assert text.startswith("#PF at RIP 0x10020c (CPL 0), CR2 0x1fffff8 (error 0x2: supervisor-mode write")
    assert "just below RSP 0x2000000" in text
    assert "#DF (page fault then page fault: SDM 3A Table 6-5)" in text
    assert "#PF while delivering #DF -> triple fault" in text and text.endswith("IST stack (SDM 3A 6.14.5) so a "
                                                                                 "bad stack cannot take it down.")


def test_the_chain_without_the_fix_guessed_from_the_log():
    (fault,) = analyse(fixture("stackoverflow64.log")).triple_faults
    bare = explain(fault, advice=False)
    assert "Fix:" not in bare and fault.explanation.startswith(bare + ". Fix: ")


def test_check_exception_records_mark_the_triple_fault():
    checks = [record for record in read_records([fixture("stackoverflow64.log")]) if isinstance(record, ExceptionCheck)]
    assert [(check.line, check.old, check.new, check.triple_fault) for check in checks] == [
        (476, None, 14, False), (498, 14, 14, False), (520, 8, 14, True)]


def test_zero_idt_chain():
    (fault,) = analyse(fixture("nogates32.log")).triple_faults
    assert chain_of(fault) == [(14, 0x2, True), (13, None, False), (8, 0, True), (13, None, False)]
    assert fault.chain[0].cr2 == 0xDEADBEEF
    assert "#DF (page fault then contributory" in fault.explanation
    assert "shutdown" in fault.explanation and "reset" not in fault.explanation.split("Fix:")[0]


def test_idt_limit_chain_starts_with_a_benign_exception():
    (fault,) = analyse(fixture("idtlimit32.log")).triple_faults
    assert chain_of(fault) == [(6, None, True), (13, 0x32, True), (13, None, False), (8, 0, True),
                               (13, None, False)]
    assert "#GP (error 0x32: IDT vector 6 (0x06)" in fault.explanation
    assert "contributory then contributory" in fault.explanation


def test_reboot_loop_keeps_every_triple_fault_and_its_reset():
    report = analyse(fixture("idtlimit32_reboot.log"))
    assert report.triple_fault_count == len(report.triple_faults) == 6
    assert report.resets == 2 + 6
    firsts = [(fault.chain[0].vector, fault.chain[0].kind) for fault in report.triple_faults]
    assert firsts == [(6, EventKind.EXCEPTION), (3, EventKind.SOFTWARE)] * 3
    for fault in report.triple_faults:
        assert fault.logged and fault.reset
        assert fault.explanation.endswith("inside the IDT limit (SDM 3A 6.10).")
    int3 = report.triple_faults[1]
    assert chain_of(int3)[:2] == [(3, None, True), (13, 0x1A, True)]
    assert int3.explanation.startswith("INT 0x03 (#BP) at RIP 0xefaad (CPL 0)")


def test_triple_fault_keeps_the_events_just_before_its_chain():
    crash = fixture("stackoverflow64.log")
    text = fixture("events64.log") + crash[crash.index("check_exception"):]
    report = analyse(text)
    (fault,) = report.triple_faults
    assert [(step.vector, step.seq) for step in fault.before] == [(0x20, 31), (0x20, 32), (0x20, 33)]
    assert [step.vector for step in fault.chain] == [14, 14, 8, 14]
    data = command.log_data(report, "joined.log", EventFilter(), 12)
    rendered = render_log(data, Style(False, 200))
    assert "events just before: vector 0x20 (seq 31, CPL 3) at RIP 0x1002f6" in rendered


def test_a_cpu_reset_forgets_the_events_before_it():
    report = analyse(fixture("events64.log") + fixture("stackoverflow64.log"))
    (fault,) = report.triple_faults
    assert fault.before == ()


def test_triple_fault_line_alone_has_an_empty_chain():
    report = analyse("Triple fault\nCPU Reset (CPU 0)\nEAX=00000000 EBX=00000000\n")
    (fault,) = report.triple_faults
    assert fault.chain == () and fault.logged and fault.reset
    assert "no -d int event before it" in fault.explanation
    require_events(report, "x.log")  # a triple fault is something to report


def test_explain_names_causes_and_unknown_vectors():
    irq = ChainStep(0x30, EventKind.IRQ, None, 8, 0x1000, 0x10, 0x9000, None, 0, 7, 10, True)
    np_ = ChainStep(11, EventKind.EXCEPTION, 0x182, 8, 0x1000, 0x10, 0x9000, None, 0, 8, 31, True)
    fault = TripleFault(60, (irq, np_, ChainStep.unlogged(11, 50), ChainStep(8, EventKind.EXCEPTION, 0, 8, 0x1000, 0x10,
                                                                                0x9000, None, 0, 9, 51, True),
                             ChainStep.unlogged(11, 60)), (), logged=False, reset=False)
    text = explain(fault)
    assert text.startswith("external interrupt 0x30 at RIP 0x1000 (CPL 0) -> #NP (error 0x182: IDT vector 48")
    assert "(the gate, or the code segment it names, is not present)" in text
    assert "#DF (contributory then contributory" in text
    assert text.endswith("whose code segment is present.")
    assert ChainStep.unlogged(0x30, 1).mnemonic == "vector 0x30"


# --- filters, listing, timeline ------------------------------------------------------------------

@pytest.mark.parametrize("event_filter, expected", [
    (EventFilter(vectors=frozenset({14})), 2),
    (EventFilter(vectors=frozenset({14, 0x20})), 27),
    (EventFilter(cpl=3), 28),
    (EventFilter(kind=EventKind.SOFTWARE), 4),
    (EventFilter(kind=EventKind.EXCEPTION, cpl=0), 4),
    (EventFilter(rip=range(0x100000, 0x100270)), 4),
    (EventFilter(vectors=frozenset({1})), 0),
])
def test_filters_count_only_matching_events(event_filter, expected):
    report = analyse(fixture("events64.log"), event_filter=event_filter, keep=100)
    assert report.total_events == 34
    assert report.events == sum(report.by_vector.values()) == expected
    assert len(report.listed) == expected
    assert all(event_filter.matches(event) for event in report.listed)
    assert report.triple_fault_count == 0


@settings(max_examples=60, deadline=None)
@given(vectors=st.none() | st.frozensets(st.sampled_from([0, 3, 6, 13, 14, 0x20, 0x80]), max_size=3),
       cpl=st.none() | st.sampled_from([0, 3]), kind=st.none() | st.sampled_from(list(EventKind)),
       low=st.integers(0x100200, 0x100300), size=st.integers(0, 0x100))
def test_raw_filter_agrees_with_event_filter(vectors, cpl, kind, low, size):
    event_filter = EventFilter(vectors, cpl, kind, range(low, low + size))
    raw = _RawFilter(event_filter)
    for event in events(fixture("events64.log")):
        assert raw.matches(b"%02x" % event.vector, b"%d" % event.cpl, event.kind.value,
                           b"%04x:%016x" % (event.cs, event.rip)) == event_filter.matches(event)


def test_listing_keeps_the_first_events_only():
    report = analyse(fixture("events64.log"), keep=5)
    assert [event.seq for event in report.listed] == [0, 1, 2, 3, 4]
    assert report.events == 34


def test_timeline_rows_add_up_to_the_counts():
    report = analyse(fixture("events64.log"), buckets=8)
    timeline = report.timeline
    assert timeline.width == 8 and timeline.used(34) == 5
    assert {vector: sum(row) for vector, row in timeline.rows.items()} == report.by_vector
    assert timeline.rows[0x00][0] == 1 and timeline.rows[0x20][4] == 2


def test_timeline_merges_buckets_and_memory_stays_bounded():
    text = fixture("events64.log")
    analysis = LogAnalysis(buckets=16)
    for _ in range(30):
        analysis.feed(text)
    report = analysis.report()
    assert report.total_events == 30 * 34
    timeline = report.timeline
    assert timeline.width == 64 and all(len(row) == 16 for row in timeline.rows.values())
    assert sum(map(sum, timeline.rows.values())) == 30 * 34
    assert report.resets == 60 and report.lines == 30 * text.count("\n")


def test_timeline_needs_an_even_bucket_count():
    with pytest.raises(ValueError):
        LogAnalysis(buckets=7)


# --- malformed, truncated, empty, binary -----------------------------------------------------

def test_malformed_lines_are_counted_with_line_numbers_and_reading_goes_on():
    lines = fixture("events64.log").split("\n")
    broken_event = lines[477].replace("v=00", "v=zz")  # seq 0 (#DE)
    lines[477] = broken_event
    lines.insert(700, "@@ something else wrote here")
    lines.insert(900, "check_exception old: 0xffffffff new")
    report = analyse("\n".join(lines), examples=2)
    assert report.malformed == 3
    assert [(m.line, m.reason) for m in report.malformed_examples] == [
        (478, "event line does not parse"),
        (701, "not a line QEMU's -d int or -d cpu_reset writes"),
    ]
    assert report.malformed_examples[0].text == broken_event
    assert report.total_events == 33  # the broken #DE is not an event; everything else still is


def test_log_cut_in_the_middle_of_an_event_line():
    text = fixture("stackoverflow64.log")
    cut = text.index("v=08") + 10
    report = analyse(text[:cut])
    assert report.total_events == 1
    assert report.truncated is not None and report.truncated.line == 499
    assert report.truncated.reason == "the log ends in the middle of this line"
    assert report.truncated.text.endswith("v=08 e=000")
    assert report.malformed == 1  # the cut line itself


def test_log_cut_between_check_exception_and_its_event():
    text = fixture("stackoverflow64.log")
    cut = text.index("check_exception old: 0xe new 0xe")
    cut = text.index("\n", cut) + 1
    report = analyse(text[:cut])
    assert report.truncated.line == 498
    assert report.truncated.reason == "the log ends before the event of this exception"
    assert report.unlogged_exceptions == 0


def test_empty_and_foreign_text_has_no_events():
    for text in ("", "hello\nworld\n", "RAX=0000 RBX=0000\n" * 3):
        report = analyse(text)
        with pytest.raises(ParseError, match=r"no -d int events found in x\.log \(was QEMU run with -d int\?"):
            require_events(report, "x.log")


TOKENS = list("0123456789abcdefv=:xSCTEi \n\r\t-#()") + [
    "\x00", "é", "Servicing hardware INT=0x", "check_exception old: 0x", " new 0x", ": v=", " e=",
    " i=1 cpl=3 IP=", " i=0 cpl=0 IP=", " pc=", " SP=", " CR2=", " env->regs[R_EAX]=", "Triple fault",
    "CPU Reset (CPU 0)", "SMM: enter", "0008:0000000000100045", "ffffffff", "\n     1: v=08 e=0000 ",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=80).map("".join))
def test_any_text_gives_records_or_a_parse_error(text):
    analysis = LogAnalysis(keep=10, event_filter=EventFilter(rip=range(1 << 20)))
    for piece in (text[: len(text) // 2], text[len(text) // 2:]):
        analysis.feed(piece)
    report = analysis.report()
    try:
        require_events(report, "fuzz.log")
    except ParseError:
        assert report.total_events == 0
    for fault in report.triple_faults:
        assert isinstance(fault.explanation, str)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_real_logs_never_raise(data):
    text = fixture("nogates32.log")
    interesting = [i for i, line in enumerate(text.split("\n")) if line[:1].islower() or line[:1] in " ST"]
    lines = text.split("\n")
    for index in data.draw(st.lists(st.sampled_from(interesting), max_size=4)):
        line = lines[index]
        position = data.draw(st.integers(0, max(0, len(line) - 1)))
        lines[index] = line[:position] + data.draw(st.sampled_from(["", "z", "8", "\n", " v=08", "0x8 "])) + \
            line[position + 1:]
    report = analyse("\n".join(lines))
    assert report.triple_fault_count <= 2
    for fault in report.triple_faults:
        assert "triple fault" in fault.explanation


# --- the command -------------------------------------------------------------------------------

def test_command_json_document():
    data = run_log(str(FIXTURES / "stackoverflow64.log"), "--events").data
    assert json.loads(json.dumps(data)) == data
    assert data["events"] == 2 and data["total_events"] == 2
    assert data["vectors"] == [
        {"vector": 8, "mnemonic": "#DF", "name": "Double Fault", "count": 1, "per_1000": 500.0, "legacy_irq": None,
         "handler": None, "meaning": None},
        {"vector": 14, "mnemonic": "#PF", "name": "Page Fault", "count": 1, "per_1000": 500.0, "legacy_irq": None,
         "handler": None, "meaning": None},
    ]
    (fault,) = data["triple_faults"]
    assert [step["vector"] for step in fault["chain"]] == [14, 14, 8, 14]
    assert {"vector", "mnemonic", "error_code", "rip", "cr2", "cpl"} <= set(fault["chain"][0])
    assert (fault["chain"][0]["error_code"], fault["chain"][0]["cr2"]) == (2, 0x1FFFFF8)
    assert fault["line"] == 520 and fault["seq"] == 1 and fault["explanation"].startswith("#PF at RIP")
    listed = data["listed"]
    assert [(e["vector"], e["error_code"], e["promoted_from"]) for e in listed] == [(14, 2, None), (8, 0, 14)]
    assert listed[0]["error_summary"] == "supervisor-mode write to a not-present page"
    assert listed[1]["error_summary"] is None
    assert data["by_kind"] == {"irq": 0, "exception": 2, "software": 0}
    assert data["truncated"] is None and data["malformed"] == {"count": 0, "lines": []}


def test_command_names_legacy_irqs():
    rows = {row["vector"]: row for row in run_log(str(FIXTURES / "events64.log")).data["vectors"]}
    assert rows[0x20]["legacy_irq"] == {"irq": 0, "device": "PIT timer (8254)"}
    assert rows[0x80]["legacy_irq"] is None


def test_command_filters_and_usage_errors():
    path = str(FIXTURES / "events64.log")
    data = run_log(path, "--vector", "#PF", "--vector", "0x20", "--cpl", "3").data
    assert data["events"] == 26 and data["filter"] == {"vectors": [14, 32], "cpl": 3, "kind": None, "rip": None}
    data = run_log(path, "--kind", "software", "--rip", "0x100000-0x100263").data
    assert data["events"] == 1 and data["filter"]["rip"] == [0x100000, 0x100263]
    for argv, message in [
        (["--vector", "#XX"], "unknown vector"),
        (["--rip", "0x200-0x100"], "RIP range"),
        (["--rip", "zz"], "not a number"),
        (["--limit", "0"], "at least 1"),
        (["--plot", "out.png"], ".svg or .html"),
    ]:
        with pytest.raises(UsageError, match=message):
            run_log(path, *argv)


def test_command_file_errors(tmp_path):
    with pytest.raises(ParseError, match="cannot read .*missing.log: No such file"):
        run_log(str(tmp_path / "missing.log"))
    with pytest.raises(ParseError, match="cannot read"):
        run_log(str(tmp_path))
    binary = tmp_path / "guest.bin"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(64))
    with pytest.raises(ParseError, match=r"guest.bin is binary \(a NUL byte at offset 7\)"):
        run_log(str(binary))
    empty = tmp_path / "empty.log"
    empty.write_text("")
    with pytest.raises(ParseError, match="no -d int events found in .*empty.log"):
        run_log(str(empty))


def test_command_reads_invalid_utf8_as_malformed_lines(tmp_path):
    path = tmp_path / "latin1.log"
    path.write_bytes(fixture("idtlimit32.log").encode() + "caf\xe9 \xff\n".encode("latin-1"))
    data = run_log(str(path)).data
    assert data["total_events"] == 3 and data["malformed"]["count"] == 1
    assert data["malformed"]["lines"][0]["text"] == "caf\ufffd \ufffd"


def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch):
    class Terminal:
        def __init__(self, tty):
            self.tty, self.text = tty, ""

        def isatty(self):
            return self.tty

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    monkeypatch.setattr(command, "PROGRESS_MIN_BYTES", 0)
    for tty in (True, False):
        stream = Terminal(tty)
        command.read_log(FIXTURES / "events64.log", LogAnalysis(), stream)
        assert ("log: [" in stream.text) is tty
        assert stream.text.endswith("\r\x1b[K") is tty


def test_text_rendering():
    text = render_log(run_log(str(FIXTURES / "nogates32.log"), "--events").data, Style(False, 160))
    size = (FIXTURES / "nogates32.log").stat().st_size
    assert text.splitlines()[0].endswith(f"nogates32.log: 2 events in {size:,} bytes (seq 0..1)")
    assert "triple fault 1 of 1 (line 517, after event 1): QEMU logged \"Triple fault\"" in text
    assert "#PF at RIP 0x10007a (CPL 0), CR2 0xdeadbeef" in text
    assert "0x0e #PF  exception     0x2" in text
    assert "events (2 of 2)" in text
    assert "CR2=0xdeadbeef supervisor-mode write to a not-present page" in text
    assert "#DF from 0x0d" in text
    coloured = render_log(run_log(str(FIXTURES / "nogates32.log")).data, Style(True, 100))
    assert "\x1b[31m" in coloured


def test_text_rendering_of_problems(tmp_path):
    path = tmp_path / "cut.log"
    text = fixture("events64.log")
    path.write_text(text[:text.index("v=20") + 4] + "\n@@\n    99: v=")
    rendered = render_log(run_log(str(path), "--limit", "3", "--events").data, Style(False, 120))
    assert "3 malformed lines" in rendered
    assert "line 672: event line does not parse: '     9: v=20'" in rendered
    assert "line 673: not a line QEMU's -d int or -d cpu_reset writes: '@@'" in rendered
    assert "truncated at line 674: the log ends in the middle of this line: '    99: v='" in rendered
    assert "events (3 of 9; --limit N for more)" in rendered


def test_sparkline():
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([3, 1000]) == "▁█"
    assert sparkline([0, 0]) == "  "
    assert sparkline([]) == ""


# --- the picture -------------------------------------------------------------------------------

def test_svg_plot_has_one_row_per_vector(tmp_path):
    target = tmp_path / "timeline.svg"
    data = run_log(str(FIXTURES / "events64.log"), "--plot", str(target)).data
    assert data["plot"] == str(target)
    root = ElementTree.parse(target).getroot()
    assert root.tag == f"{SVG}svg"
    rows = [group for group in root.iter(f"{SVG}g") if group.get("class") == "row"]
    assert [int(group.get("data-vector")) for group in rows] == [0x20, 0x03, 0x0E, 0x80, 0x00, 0x06, 0x0D]
    bars = [rect for rect in rows[0].iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert sum(int(rect.find(f"{SVG}title").text) for rect in bars) == 25
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert "0" in labels and "34" in labels and "event number (order in the log)" in labels
    assert os.listdir(tmp_path) == ["timeline.svg"]  # the temporary file was renamed


def test_html_plot_and_top_rows(tmp_path):
    target = tmp_path / "timeline.html"
    run_log(str(FIXTURES / "events64.log"), "--plot", str(target), "--top", "2")
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>idtscope log timeline:" in page
    svg = ElementTree.fromstring(page[page.index("<svg"):page.index("</svg>") + 6])
    rows = [group for group in svg.iter(f"{SVG}g") if group.get("class") == "row"]
    assert len(rows) == 2
    assert any("5 quieter vectors not shown" in (text.text or "") for text in svg.iter(f"{SVG}text"))


def test_plot_into_a_missing_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot write .*nowhere/t.svg"):
        run_log(str(FIXTURES / "events64.log"), "--plot", str(tmp_path / "nowhere" / "t.svg"))


def test_svg_with_no_matching_event_is_still_well_formed():
    data = run_log(str(FIXTURES / "events64.log"), "--vector", "1").data
    root = ElementTree.fromstring(timeline_svg(data))
    assert [group for group in root.iter(f"{SVG}g") if group.get("class") == "row"] == []
    assert any(text.text == "no event matches" for text in root.iter(f"{SVG}text"))


def test_malformed_record_keeps_the_line_text():
    records = list(read_records(["x\n"]))
    assert records == [Malformed(1, "x", "not a line QEMU's -d int or -d cpu_reset writes")]
