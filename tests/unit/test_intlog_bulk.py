"""The bulk path of gdbext/model/intlog.py (LogAnalysis with ``lines_before``, as `log` runs it)
against the careful path (every event read one by one, every line counted), on QEMU 7.2's own
logs (tests/fixtures/intlog/) strung together and cut anyhow."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdbext.commands import log as command
from gdbext.commands.base import CommandParser, Context
from gdbext.commands.log import LineCounter
from gdbext.model import intlog
from gdbext.model.exception_vectors import EventKind
from gdbext.model.intlog import EventFilter, IntLogReader, LogAnalysis, LogReport
from gdbext.model.record import as_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "intlog"
LOGS = sorted(path.name for path in FIXTURES.glob("*.log"))
EVENTS64 = (FIXTURES / "events64.log").read_bytes()
BODY = EVENTS64[EVENTS64.index(b"check_exception"):]  # 34 events, no reset, as bench/ repeats it


def report(data: bytes, cuts: list[int], **options) -> LogReport:
    analysis = LogAnalysis(**options)
    start = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        analysis.feed(data[start:cut])
        start = cut
    return analysis.report()


def assert_same(bulk: LogReport, careful: LogReport, data: bytes) -> None:
    last_line = 1 if data and not data.endswith(b"\n") else 0  # a last line with no newline counts too
    assert careful.lines == data.count(b"\n") + last_line and bulk.lines is None
    assert bulk.size == careful.size == len(data)
    assert ({k: v for k, v in as_dict(bulk).items() if k not in ("lines", "timeline")}
            == {k: v for k, v in as_dict(careful).items() if k not in ("lines", "timeline")})
    assert (bulk.timeline.width, bulk.timeline.rows) == (careful.timeline.width, careful.timeline.rows)


@st.composite
def logs(draw) -> tuple[bytes, list[int]]:
    """Fixture logs and repeats of events64's events strung together, and cut points."""
    parts = draw(st.lists(st.sampled_from(LOGS + ["body"] * 4), min_size=1, max_size=10))
    data = b"".join(BODY * draw(st.integers(1, 30)) if name == "body" else (FIXTURES / name).read_bytes()
                    for name in parts)
    if draw(st.booleans()):
        # QEMU prints the sequence number with %6d: 6 digits and more start the line with a
        # digit, a wrapped counter with "-"; 11 digits do not parse (careful: malformed)
        numbers = itertools.cycle(draw(st.lists(st.integers(-(1 << 31), 10**11), min_size=1, max_size=5)))
        data = re.sub(rb"\n *-?[0-9]+: v=", lambda match: b"\n%6d: v=" % next(numbers), data)
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]  # ends anywhere, in a line or between lines
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=8))
    return data, cuts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(logs(), st.sampled_from([16 << 10, 1, 1 << 20]), st.sampled_from([2, 4, 60]), st.integers(0, 3),
       st.sampled_from([None, EventFilter(vectors=frozenset({0x20})), EventFilter(kind=EventKind.EXCEPTION)]))
def test_the_bulk_path_reports_what_the_careful_path_reports(log, tail_bytes, buckets, keep, event_filter):
    data, cuts = log
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(intlog, "TAIL_BYTES", tail_bytes)  # where bulk first tries to stop: small, usual, past the chunk
        bulk = report(data, cuts, buckets=buckets, keep=keep, event_filter=event_filter,
                      lines_before=lambda n: data.count(b"\n", 0, n))
    careful = report(data, cuts, buckets=buckets, keep=keep, event_filter=event_filter)
    assert_same(bulk, careful, data)


@pytest.mark.parametrize("name", LOGS)
def test_each_fixture_log_read_in_small_chunks_by_both_paths(name):
    data = (FIXTURES / name).read_bytes() + BODY * 20 + (FIXTURES / name).read_bytes()
    cuts = list(range(0, len(data), 40_000))
    bulk = report(data, cuts, keep=5, lines_before=lambda n: data.count(b"\n", 0, n))
    assert_same(bulk, report(data, cuts, keep=5), data)


def test_bulk_reads_all_but_the_last_events_of_a_plain_chunk_at_once():
    reader = IntLogReader(lambda n: 0)
    chunk = BODY * 10
    items, (text, first, last, _) = reader.scan_head(chunk)
    counts, events, cut = reader.bulk(text, first, last)
    assert sum(counts.values()) == len(events) and chunk.count(b": v=", first, cut) == len(events)
    assert chunk.count(b": v=", cut) >= intlog.TAIL_EVENTS and len(events) > 200
    # each event with the line before it: check_exception (group 0), none (1-3), Servicing (4)
    assert all(any(key) for key in counts)
    assert sum(n for key, n in counts.items() if key[0]) == chunk.count(b"\ncheck_exception", first, cut)
    assert sum(n for key, n in counts.items() if key[4]) == chunk.count(b"\nServicing", first, cut)


def test_a_line_that_is_not_an_event_or_a_dump_leaves_the_chunk_to_the_careful_path():
    reader = IntLogReader(lambda n: 0)
    chunk = BODY * 5 + b"garbage\n" + BODY * 5
    items, (text, first, last, _) = reader.scan_head(chunk)
    assert reader.bulk(text, first, last) is None


def test_the_line_counter_counts_newlines_before_an_offset_going_on_from_the_last(tmp_path):
    path = tmp_path / "q.log"
    data = EVENTS64 * 3
    path.write_bytes(data)
    counter = LineCounter(path)
    for offset in (10, 5000, len(data), 3, len(data) // 2):
        assert counter(offset) == data.count(b"\n", 0, offset)


def test_a_servicing_line_before_a_broken_event_line_counts_wherever_the_chunk_ends():
    text = b"Servicing hardware INT=0x20\n    33: v=20 e=0000 i=0 cpl=3 IP=001b:garbage\n"
    boundary = text.index(b"\n") + 1
    for pieces in ([text], [text[:boundary], text[boundary:]]):
        reader = IntLogReader()
        records = [record for piece in pieces for record in reader.feed(piece)] + list(reader.close())
        assert [type(record).__name__ for record in records] == ["HardwareInterrupt", "Malformed"]
        assert reader.unlogged_irqs == 1


def run_log(*argv: str) -> dict:
    parser = CommandParser(prog="log")
    command.add_arguments(parser)
    return command.run(Context(), parser.parse_args(list(argv))).data


def test_log_numbers_a_line_past_the_bulk_chunks_as_the_careful_path_does(tmp_path):
    data = EVENTS64 + BODY * 40 + b"garbage line\n" + BODY * 40
    path = tmp_path / "q.log"
    path.write_bytes(data)
    found = run_log(str(path), "--events", "--limit", "3")
    careful = report(data, list(range(0, len(data), command.CHUNK_BYTES)), keep=3)
    line = data[:data.index(b"garbage")].count(b"\n") + 1
    assert found["malformed"]["lines"][0]["line"] == careful.malformed_examples[0].line == line
    assert [event["line"] for event in found["listed"]] == [event.line for event in careful.listed]
    assert found["total_events"] == careful.total_events == 34 * 81 and found["bytes"] == len(data)
