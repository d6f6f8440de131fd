"""The trace plugin's stream (docs/trace.md): lines, chunked reading, vectors, error codes, pairing.

The hand-written lines follow what QEMU 11.1 and the plugin wrote for the long-mode guest
(a timer tick into isr_apic_timer, a #PF raised in user mode, a #DF after two raises).
"""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdbext.errors import ParseError, UsageError
from gdbext.model.trace import (
    EXCEPTION,
    INTERRUPT,
    BadLine,
    Delivery,
    Pairing,
    Return,
    TraceHeader,
    TraceReader,
    classify,
    format_record,
    parse_line,
    vectors_by_handler,
)

TIMER, PF, DF, BP = 0x40, 14, 8, 3
ISR_TIMER, ISR_PF, ISR_DF, ISR_BP = 0x100DAD, 0x100541, 0x100515, 0x1004E8
HANDLERS = {TIMER: ISR_TIMER, PF: ISR_PF, DF: ISR_DF, BP: ISR_BP}

HEADER = "# idtscope-trace 1 api=7 target=x86_64 vcpus=2 icount=on"
TICK = "I 0 796726249 12788862 100f40 100dad 21ffd8 100f40 8 246"
TICK_IRET = "R 0 796738000 12788874 100dd7 21ffd8"
PF_RAISE = "E 0 784633578 12785037 102000 102000 301000 0 0 0"
PF_DELIVER = "I 0 784638465 12785037 102005 100541 212fd0 6 102005 23"
PF_IRET = "R 0 785183000 12785100 1005b0 212fd8"


def read(text: str, pieces: int = 1) -> list:
    data = text.encode()
    reader = TraceReader()
    size = max(1, len(data) // pieces)
    items = []
    for start in range(0, len(data), size):
        items += reader.feed(data[start:start + size])
    return items + list(reader.close())


def test_lines_parse_as_the_plugin_writes_them():
    header = parse_line(HEADER, 1)
    assert header == TraceHeader(1, {"api": "7", "target": "x86_64", "vcpus": "2", "icount": "on"})
    tick = parse_line(TICK, 2)
    assert tick == Delivery(2, INTERRUPT, 0, 796726249, 12788862, 0x100F40, ISR_TIMER, 0x21FFD8, 0x100F40, 8, 0x246)
    assert parse_line(TICK_IRET, 3) == Return(3, 0, 796738000, 12788874, 0x100DD7, 0x21FFD8)
    assert parse_line("R 1 5 - 100dd7 -", 4) == Return(4, 1, 5, None, 0x100DD7, None)


def test_bad_lines_say_why():
    for text, reason in [("X 0 1", "unknown record type"), ("I 0 1 - 1 2", "6 fields instead of 10"),
                         ("R 0 zz - 1 2", "time 'zz' is not a number"), ("R 0 1 - - 2", "IRET address is missing"),
                         ("# idtscope-trace 2", "format version 2"), ("# something else", "not an idtscope-trace"),
                         ("R 0 1 - 1 10000000000000000", "out of range")]:
        try:
            parse_line(text, 1)
        except ParseError as error:
            assert reason in str(error), (text, error)
        else:
            raise AssertionError(f"{text!r} parsed")


def test_reader_keeps_a_partial_line_for_the_next_chunk_and_reports_a_cut_last_line():
    text = "\n".join([HEADER, TICK, TICK_IRET, "I 0 7"])
    whole = read(text)
    assert [type(item) for item in whole] == [Delivery, Return, BadLine]
    assert whole[-1].reason == "cut short (no newline)" and whole[-1].line == 4
    for pieces in (2, 3, 7, len(text)):
        assert read(text, pieces) == whole


def test_reader_turns_garbage_into_bad_lines():
    items = read("\x00\xff garbage\nI 0 1 2 3\n" + TICK + "\n")
    assert [type(item) for item in items] == [BadLine, BadLine, Delivery]
    assert items[2].line == 3


@given(st.binary(max_size=400))
def test_reader_never_raises_on_any_bytes(data):
    reader = TraceReader()
    items = list(reader.feed(data)) + list(reader.close())
    assert all(isinstance(item, (Delivery, Return, BadLine)) for item in items)


addresses = st.integers(0, (1 << 64) - 1)
maybe = st.none() | addresses
deliveries = st.builds(Delivery, st.integers(1, 10**6), st.sampled_from([INTERRUPT, EXCEPTION]), st.integers(0, 255),
                       st.integers(0, 1 << 62), st.none() | st.integers(0, 1 << 62), addresses, addresses, maybe,
                       maybe, maybe, maybe)
returns = st.builds(Return, st.integers(1, 10**6), st.integers(0, 255), st.integers(0, 1 << 62),
                    st.none() | st.integers(0, 1 << 62), addresses, maybe)
headers = st.builds(TraceHeader, st.just(1), st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True),
                                                                st.from_regex(r"[a-z0-9_]{0,6}", fullmatch=True),
                                                                max_size=4))


@given(deliveries | returns | headers)
def test_format_and_parse_round_trip(item):
    assert parse_line(format_record(item), getattr(item, "line", 0)) == item


@given(st.lists(deliveries | returns, max_size=30), st.integers(1, 50))
def test_any_chunking_reads_the_same_records(items, size):
    text = "".join(format_record(item) + "\n" for item in items).encode()
    reader = TraceReader()
    got = []
    for start in range(0, len(text), size):
        got += reader.feed(text[start:start + size])
    got += reader.close()
    assert [format_record(item) for item in got] == [format_record(item) for item in items]


def test_vectors_by_handler_keeps_every_vector_of_a_shared_handler():
    assert vectors_by_handler({0x21: 0x500, 0x20: 0x500, 3: 0x600}) == {0x500: (0x20, 0x21), 0x600: (3,)}


def test_classify_reads_the_error_code_only_where_the_frame_has_one():
    by_handler = vectors_by_handler(HANDLERS)
    page_fault = parse_line(PF_DELIVER, 1)
    assert classify(page_fault, True, by_handler) == ((PF,), 6, 0x102005, 0x212FD8, 0x23)
    tick = parse_line(TICK, 1)
    assert classify(tick, False, by_handler) == ((TIMER,), None, 0x100F40, 0x21FFD8, 8)
    unknown = parse_line("I 0 1 - 102005 999000 212fd0 6 102005 23", 1)
    assert classify(unknown, True, by_handler) == ((), 6, 0x102005, 0x212FD8, 0x23), "no vector: the frame decides"
    real_mode = parse_line("I 0 1 - fd014 c578b 6d54 f000fd14 0 0", 1)
    assert classify(real_mode, False, by_handler) == ((), None, None, None, None), "no 64-bit frame: no pairing"


def pair(*lines: str) -> Pairing:
    pairing = Pairing(HANDLERS)
    pairing.feed(read("\n".join(lines) + "\n"))
    return pairing


def test_an_exception_is_the_delivery_right_after_its_raises():
    pairing = pair(PF_RAISE, PF_DELIVER, PF_IRET, TICK, TICK_IRET)
    page_fault, tick = pairing.handled
    assert (page_fault.vector, page_fault.exception, page_fault.raised, page_fault.error_code) == (PF, True, 1, 6)
    assert page_fault.duration_ns == 785183000 - 784638465
    assert (tick.vector, tick.exception, tick.error_code, tick.depth) == (TIMER, False, None, 0)
    assert tick.duration_ns == 796738000 - 796726249
    double = pair("E 0 1 - 101052 101052 21ffe8 100f70 7 0", "E 0 2 - 101052 101052 21ffe8 100f70 7 0",
                  "E 0 3 - 101052 101052 21ffe8 100f70 7 0", "I 0 4 - 101052 100515 215fd0 0 101052 8").handled
    assert [(h.vector, h.raised, h.error_code) for h in double] == [(DF, 3, 0)]


def test_nesting_depth_parent_and_the_iret_that_closes_each_handler():
    pairing = pair(
        "I 0 100 - 100f40 100dad 21ffd8 100f40 8 246",       # tick on vCPU 0
        "I 1 150 - 1004cb 100dad 22ffd8 1004cb 8 246",       # tick on vCPU 1: its own stack
        "E 0 200 - 100d00 100d00 21ffd0 0 0 0",
        "I 0 210 - 100dc0 1004e8 21ffb0 100dc1 8 46",      # int3 inside the tick handler
        "R 0 300 - 100f10 21ffb0",                       # iret of the int3
        "R 1 320 - 100dd7 22ffd8",
        "R 0 400 - 100dd7 21ffd8",                       # iret of the tick
        "R 0 500 - 100dd7 20f000",                       # pops no recorded frame (entering user mode, say)
    )
    outer, other_cpu, inner = pairing.handled
    assert (outer.depth, outer.parent, outer.end_ns) == (0, None, 400)
    assert (other_cpu.depth, other_cpu.end_ns) == (0, 320)
    assert (inner.vector, inner.depth, inner.parent, inner.end_ns) == (BP, 1, outer.index, 300)
    assert outer.delivery.time_ns < inner.delivery.time_ns < inner.end_ns < outer.end_ns
    assert pairing.unpaired_returns == 1 and pairing.abandoned == 0 and pairing.still_open() == []


def test_an_event_from_user_mode_ends_every_handler_still_open_on_its_vcpu():
    pairing = pair("I 0 100 - 100f40 100dad 21ffd8 100f40 8 246", "I 1 110 - 1004cb 100dad 22ffd8 1004cb 8 246",
                   PF_RAISE, PF_DELIVER)
    tick, other_cpu, page_fault = pairing.handled
    assert (page_fault.cpl, page_fault.depth, page_fault.parent) == (3, 0, None)
    assert pairing.abandoned == 1 and {h.index for h in pairing.still_open()} == {other_cpu.index, page_fault.index}
    assert tick.cpl == 0 and tick.end_ns is None


def test_an_iret_of_an_outer_frame_closes_the_handlers_left_without_iret():
    pairing = pair("I 0 100 - 100f40 100dad 21ffd8 100f40 8 246", "E 0 200 - 100d00 100d00 21ffd0 0 0 0",
                   "I 0 210 - 100dc0 1004e8 21ffb0 100dc1 8 46", "R 0 400 - 100dd7 21ffd8")
    outer, inner = pairing.handled
    assert outer.end_ns == 400 and inner.end_ns is None
    assert pairing.abandoned == 1 and pairing.still_open() == []


def write_trace(tmp_path, *lines: str):
    path = tmp_path / "trace.txt"
    path.write_text("\n".join((HEADER, *lines)) + "\n")
    return path


def test_log_reads_a_trace_and_says_what_it_cannot_do(tmp_path):
    import json

    from shell.session import Session

    path = write_trace(tmp_path, PF_RAISE, PF_DELIVER, PF_IRET, TICK, TICK_IRET, "I 0 oops")
    session = Session()
    data = json.loads(session.run(f"log {path} --json --events"))
    assert (data["format"], data["total_events"], data["by_kind"]) == ("idtscope-trace", 2, {"irq": 1, "exception": 1})
    assert data["returns"] == {"paired": 2, "unpaired": 0, "abandoned": 0, "still_open": 0}
    assert data["bad_lines"]["count"] == 1 and data["bad_lines"]["lines"][0]["line"] == 7
    assert [event["error_code"] for event in data["listed"]] == [6, None], "the frame's shape, with no IDT"
    assert data["vectors"] == [] and {row["handler"] for row in data["unnamed_handlers"]} == {ISR_PF, ISR_TIMER}
    user = json.loads(session.run(f"log {path} --json --cpl 3 --events"))
    assert [event["error_code"] for event in user["listed"]] == [6], "the #PF came from CS 0x23"
    for options, words in [("--vector 14", "needs the guest's IDT"),
                           ("--kind software", "--kind software"), ("--plot x.svg", "--plot draws -d int logs")]:
        with pytest.raises(UsageError, match=re.escape(words)):
            session.run(f"log {path} {options}")
    empty = write_trace(tmp_path, TICK_IRET)
    with pytest.raises(ParseError, match="no interrupt or exception"):
        session.run(f"log {empty}")
