"""QEMU ``-d int`` logs read as a stream: events, counts, a timeline and triple faults.

Under TCG, QEMU logs each interrupt and exception it starts to deliver while
CR0.PE is set (QEMU 7.2: ``do_interrupt_all`` in target/i386/tcg/seg_helper.c,
``check_exception`` in excp_helper.c, ``x86_cpu_exec_interrupt``)::

    check_exception old: 0xffffffff new 0xe            before an exception
    Servicing hardware INT=0x20                         before an external interrupt
         5: v=0e e=0002 i=0 cpl=0 IP=0008:000000000010028d pc=000000000010028d SP=0010:0000000000090000 CR2=00000000deadbeef
    RAX=0000000000000007 RBX=...                        a register dump (skipped)
    Triple fault                                        -d cpu_reset
    CPU Reset (CPU 0)                                   -d cpu_reset, then a dump
    SMM: enter / SMM: after RSM

The event line gives a sequence number, the vector ``v``, the error code ``e``
(0 when none is pushed), ``i=1`` for INT n/INT3/INTO, the CPL, CS:RIP of the
interrupted instruction, its linear address ``pc``, SS:RSP before delivery and
CR2 (vector 0x0e) or EAX (any other vector). ``old`` in a check_exception line
is the exception still being delivered (``0xffffffff``: none); QEMU turns the
pair into #DF by SDM Vol. 3A Table 6-5 and shuts down when ``old`` is #DF
(:mod:`gdbext.model.triplefault`). In real mode only the "Servicing" and
check_exception lines appear.

Speed: one regular expression finds, in each chunk, the lines that do not
start with a capital letter plus the few capitalised record lines ("Servicing",
"SMM:", "Triple fault", "CPU Reset"); register dumps are never looked at one by
one, and an event becomes an :class:`IntEvent` only when it is listed or
belongs to a triple fault. Lines that start with a capital letter are taken as
register dumps, so garbage there goes unnoticed; any other line that does not
parse is reported as malformed.
"""

from __future__ import annotations

import collections
import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ..errors import ParseError
from .triplefault import (
    CONTEXT_EVENTS,
    DOUBLE_FAULT,
    MAX_CHAIN,
    MAX_KEPT,
    PAGE_FAULT,
    SELECTOR_ERROR_VECTORS,
    STACK_WINDOW,
    ChainStep,
    TripleFault,
)

NO_EXCEPTION = 0xFFFFFFFF  # QEMU's old_exception = -1, printed with %x
NMI_VECTOR = 2
FIRST_USER_VECTOR = 32
TEXT_LIMIT = 160

_EVENT_NEXT = r"[ \r]*\n *-?[0-9]{1,10}: v="
_INTERESTING = re.compile(
    r"\n(?:[^A-Zc\n]"
    r"|c(?!heck_exception old: 0x(?!8 )[0-9a-f]{1,8} new 0x[0-9a-f]{1,8}" + _EVENT_NEXT + ")"
    r"|S(?:ervicing (?!(?:virtual )?hardware INT=0x[0-9a-f]{1,2}" + _EVENT_NEXT + ")|MM: )"
    r"|Triple fault|CPU Reset)",
    re.ASCII,
)
_EVENT = re.compile(
    r" *(-?[0-9]{1,10}): v=([0-9a-f]{2}) e=([0-9a-f]{1,8}) i=([01]) cpl=([0-3]) "
    r"IP=(([0-9a-f]{1,4}):([0-9a-f]{1,16})) pc=([0-9a-f]{1,16}) SP=(([0-9a-f]{1,4}):([0-9a-f]{1,16})) "
    r"(?:CR2=([0-9a-f]{1,16})|(?:env->regs\[R_EAX\]|EAX)=([0-9a-f]{1,16}))[ \r]*(?=\n|\Z)",
    re.ASCII,
)
_CHECK = re.compile(r"check_exception old: 0x([0-9a-f]{1,8}) new 0x([0-9a-f]{1,8})[ \r]*(?=\n|\Z)", re.ASCII)
_SERVICING = re.compile(r"Servicing (?:virtual )?hardware INT=0x([0-9a-f]{1,2})[ \r]*(?=\n|\Z)", re.ASCII)
_RESET = re.compile(r"CPU Reset \(CPU ([0-9]{1,6})\)[ \r]*(?=\n|\Z)", re.ASCII)
_TRIPLE = re.compile(r"Triple fault[ \r]*(?=\n|\Z)")
_SMM = re.compile(r"SMM: (enter|after RSM)[ \r]*(?=\n|\Z)")
_LINE_END = re.compile(r"[^\n]*")

# Tags of the raw tuples IntLogReader.scan returns (first item of each), and event kinds as
# the hot loop keeps them (EventKind values).
_EVENT_TAG, _CHECK_TAG, _SERVICING_TAG, _MARK_TAG, _MALFORMED_TAG = range(5)
_IRQ, _EXCEPTION, _SOFTWARE = "irq", "exception", "software"


class EventKind(enum.Enum):
    """Where an event came from (SDM Vol. 3A 6.3 "Sources of Interrupts")."""

    IRQ = "irq"  # external interrupt or NMI: "Servicing hardware INT" precedes it
    EXCEPTION = "exception"  # processor-detected: check_exception precedes it
    SOFTWARE = "software"  # INT n, INT3, INTO (i=1)


class Mark(enum.Enum):
    """Log lines that are neither events nor register dumps."""

    TRIPLE_FAULT = "triple fault"
    CPU_RESET = "cpu reset"
    SMM_ENTER = "smm enter"
    SMM_EXIT = "smm exit"


@dataclass(frozen=True, slots=True)
class IntEvent:
    """One interrupt or exception as QEMU began to deliver it.

    ``error_code`` is the ``e=`` field as logged (QEMU prints 0 when the event
    pushes none; see :attr:`pushes_error_code`). ``cr2`` is logged for vector
    0x0e only, ``rax`` for the others. ``promoted_from`` is the vector that
    check_exception turned into this #DF. ``nested``: QEMU raised it while
    still delivering the event before it (same CS:RIP and SS:RSP, and an
    exception in flight or an error code naming that event's gate).
    """

    line: int
    seq: int
    vector: int
    error_code: int
    software: bool
    cpl: int
    cs: int
    rip: int
    pc: int
    ss: int
    rsp: int
    cr2: int | None
    rax: int | None
    kind: EventKind
    promoted_from: int | None = None
    nested: bool = False

    @property
    def pushes_error_code(self) -> bool:
        """True when the processor pushed ``error_code`` (an exception whose vector has one)."""
        from .vectors import vector

        return self.kind is EventKind.EXCEPTION and vector(self.vector).pushes_error_code


@dataclass(frozen=True, slots=True)
class ExceptionCheck:
    """``check_exception old: 0x.. new 0x..``: an exception raised, and the one it interrupted."""

    line: int
    old: int | None  # None: no exception was being delivered
    new: int

    @property
    def triple_fault(self) -> bool:
        """A fault while delivering #DF: the processor shuts down (SDM 3A 6.15, interrupt 8)."""
        return self.old == DOUBLE_FAULT


@dataclass(frozen=True, slots=True)
class HardwareInterrupt:
    """``Servicing hardware INT=0x..``: the vector the PIC or APIC handed to the CPU."""

    line: int
    vector: int


@dataclass(frozen=True, slots=True)
class LogMark:
    """A triple-fault, CPU-reset or SMM line; ``cpu`` is set for a reset."""

    line: int
    mark: Mark
    cpu: int | None = None


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that should be -d int output but does not parse, with the reason."""

    line: int
    text: str
    reason: str


Record = IntEvent | ExceptionCheck | HardwareInterrupt | LogMark | Malformed


class IntLogReader:
    """Turns text chunks of a -d int log into records; only a partial line is kept between chunks.

    ``feed`` accepts any slicing of the text (whole files, 1 MiB blocks, single
    lines); ``close`` handles a last line without a newline (reported in
    ``truncated``) and a log that stops between a check_exception line and its
    event. It counts what real mode leaves behind: a "Servicing" or
    check_exception line with no event after it. ``scan``/``finish`` return the
    same records as raw tuples, for :class:`LogAnalysis`.
    """

    def __init__(self) -> None:
        self._carry = "\n"
        self._line = 0
        self._pending_irq: str | None = None  # the vector of a "Servicing" line, as logged
        self._pending_check: tuple[int, int | None, int] | None = None  # line, old, new
        self._last_place: tuple[str, str] | None = None  # CS:RIP, SS:RSP of the last event
        self._last_vector = ""
        self.lines = 0
        self.truncated: Malformed | None = None
        self.unlogged_irqs = 0
        self.unlogged_exceptions = 0

    def feed(self, chunk: str) -> Iterator[Record]:
        return _records(self.scan(chunk))

    def close(self) -> Iterator[Record]:
        return _records(self.finish())

    def scan(self, chunk: str) -> list[tuple]:
        text = self._carry + chunk
        end = text.rfind("\n")
        self._carry = text[end:]
        return self._scan(text, end)

    def finish(self) -> list[tuple]:
        text, self._carry = self._carry, "\n"
        items = self._scan(text, len(text))
        if len(text) > 1:
            self.truncated = Malformed(self._line, text[1:TEXT_LIMIT + 1], "the log ends in the middle of this line")
        elif self._pending_check is not None:
            line, old, new = self._pending_check
            self.truncated = Malformed(line, f"check_exception old: {_hex32(old)} new {new:#x}",
                                       "the log ends before the event of this exception")
            self._pending_check = None
        self._drop_pending()
        self.lines = self._line
        return items

    def _scan(self, text: str, end: int) -> list[tuple]:
        # The hot loop. _INTERESTING skips the check_exception and "Servicing" lines right
        # before an event: the event looks back at its previous line instead. Events are kept
        # as strings (no number or enum conversions); every other line goes through _other.
        items: list[tuple] = []
        append = items.append
        count, rfind = text.count, text.rfind
        event_match, check_match, servicing_match = _EVENT.match, _CHECK.match, _SERVICING.match
        position = 0
        line = self._line
        last_place, last_vector = self._last_place, self._last_vector
        for found in _INTERESTING.finditer(text, 0, end):
            # position is the start of line number `line`
            start = found.start() + 1
            if start != position:
                line += count("\n", position, start)
                position = start
            first = text[start]
            match = event_match(text, start, end) if first <= "9" else None
            if match is None:
                self._last_place, self._last_vector = last_place, last_vector
                append(self._other(line, text, start, end, first))
                last_place = self._last_place
                continue
            seq, v, i, cpl, ip, sp = match.group(1, 2, 4, 5, 6, 10)
            irq, check, prefix = self._pending_irq, self._pending_check, None
            if irq is None and check is None:
                previous = rfind("\n", 0, start - 1) + 1
                if previous:
                    head = text[previous]
                    if head == "c":
                        found_check = check_match(text, previous, start - 1)
                        if found_check is not None:
                            old = int(found_check[1], 16)
                            check = (line - 1, None if old == NO_EXCEPTION else old, int(found_check[2], 16))
                            prefix = (_CHECK_TAG, *check)
                    elif head == "S":
                        found_irq = servicing_match(text, previous, start - 1)
                        if found_irq is not None:
                            irq = found_irq[1]
                            prefix = (_SERVICING_TAG, line - 1, int(irq, 16))
            else:
                self._pending_irq = self._pending_check = None
                if irq is not None and irq != v:
                    self.unlogged_irqs += 1
                    irq = None
            promoted_from = check_line = None
            if i == "1":
                kind = _SOFTWARE
                if check is not None:
                    self.unlogged_exceptions += 1
                    check = None
            elif check is not None:
                kind = _EXCEPTION
                check_line = check[0]
                if v == "08" and check[2] != DOUBLE_FAULT:
                    promoted_from = check[2]
            elif irq is not None or v == "02" or v >= "20":
                kind = _IRQ
            else:
                kind = _EXCEPTION
            place = (ip, sp)
            nested = last_place is not None and (
                (check is not None and check[1] is not None)
                or (place == last_place and kind == _EXCEPTION and _delivery_fault(match, last_vector)))
            append((_EVENT_TAG, line, match.group(), seq, v, i, cpl, ip, kind, promoted_from, check_line, nested,
                    prefix))
            last_place, last_vector = place, v
            stop = match.end()
            if stop < end:
                position, line = stop + 1, line + 1
        self._last_place, self._last_vector = last_place, last_vector
        self._line = line + count("\n", position, end)
        return items

    def _other(self, line: int, text: str, start: int, end: int, first: str) -> tuple:
        """Lines the hot loop leaves: check_exception and Servicing lines with no event after
        them (real mode, a triple fault, a chunk boundary), marks, and what does not parse."""
        self._drop_pending()
        self._last_place = None
        if first == "c":
            match = _CHECK.match(text, start, end)
            if match is None:
                return self._malformed(line, text, start, end, "check_exception line does not parse")
            old = int(match[1], 16)
            check = (line, None if old == NO_EXCEPTION else old, int(match[2], 16))
            if check[1] != DOUBLE_FAULT:
                self._pending_check = check
            return (_CHECK_TAG, *check)
        if first == "S":
            match = _SERVICING.match(text, start, end)
            if match is not None:
                self._pending_irq = match[1]
                return (_SERVICING_TAG, line, int(match[1], 16))
            match = _SMM.match(text, start, end)
            if match is not None:
                return (_MARK_TAG, line, Mark.SMM_ENTER if match[1] == "enter" else Mark.SMM_EXIT, None)
            return self._malformed(line, text, start, end, "Servicing/SMM line does not parse")
        if first == "T" and _TRIPLE.match(text, start, end):
            return (_MARK_TAG, line, Mark.TRIPLE_FAULT, None)
        if first == "C":
            match = _RESET.match(text, start, end)
            if match is not None:
                return (_MARK_TAG, line, Mark.CPU_RESET, int(match[1]))
            return self._malformed(line, text, start, end, "CPU Reset line does not parse")
        if first == " " or "0" <= first <= "9":
            return self._malformed(line, text, start, end, "event line does not parse")
        return self._malformed(line, text, start, end, "not a line QEMU's -d int or -d cpu_reset writes")

    def _malformed(self, line: int, text: str, start: int, end: int, reason: str) -> tuple:
        whole = _LINE_END.match(text, start, end)
        return (_MALFORMED_TAG, line, whole.group()[:TEXT_LIMIT] if whole else "", reason)

    def _drop_pending(self) -> None:
        if self._pending_irq is not None:
            self.unlogged_irqs += 1
            self._pending_irq = None
        if self._pending_check is not None:
            self.unlogged_exceptions += 1
            self._pending_check = None


def _delivery_fault(match: re.Match, previous_vector: str) -> bool:
    """An exception at the previous event's CS:RIP and SS:RSP that its delivery raised.

    True for a selector-format error code whose IDT bit names the previous
    vector (SDM 3A 6.13) and for a #PF just below RSP (pushing the frame).
    """
    vector = int(match[2], 16)
    if vector in SELECTOR_ERROR_VECTORS:
        code = int(match[3], 16)
        return bool(code & 2) and (code >> 3) & 0x1FFF == int(previous_vector, 16)
    if vector == PAGE_FAULT:
        cr2, rsp = int(match[13], 16), int(match[12], 16)
        return rsp - STACK_WINDOW <= cr2 < rsp
    return False


def _hex32(value: int | None) -> str:
    return f"{NO_EXCEPTION:#x}" if value is None else f"{value:#x}"


def _event_from(item: tuple) -> IntEvent:
    """The IntEvent of a raw event tuple (parses its line again, fully)."""
    _, line, text, _, _, _, _, _, kind, promoted_from, _, nested, _ = item
    match = _EVENT.match(text)
    seq, v, e, i, cpl, _, cs, rip, pc, _, ss, rsp, cr2, rax = match.groups()
    return IntEvent(line, int(seq), int(v, 16), int(e, 16), i == "1", int(cpl), int(cs, 16), int(rip, 16),
                    int(pc, 16), int(ss, 16), int(rsp, 16), None if cr2 is None else int(cr2, 16),
                    None if rax is None else int(rax, 16), EventKind(kind), promoted_from, nested)


def _records(items: list[tuple]) -> Iterator[Record]:
    for item in items:
        tag = item[0]
        if tag == _EVENT_TAG:
            if item[12] is not None:
                yield from _records([item[12]])
            yield _event_from(item)
        elif tag == _CHECK_TAG:
            yield ExceptionCheck(*item[1:])
        elif tag == _SERVICING_TAG:
            yield HardwareInterrupt(*item[1:])
        elif tag == _MARK_TAG:
            yield LogMark(*item[1:])
        else:
            yield Malformed(*item[1:])


def read_records(chunks: Iterable[str]) -> Iterator[Record]:
    """Every record of a log given as text chunks (or lines)."""
    reader = IntLogReader()
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()


@dataclass(frozen=True)
class EventFilter:
    """Which events to count, list and plot; None means any. ``rip`` is a range of addresses."""

    vectors: frozenset[int] | None = None
    cpl: int | None = None
    kind: EventKind | None = None
    rip: range | None = None

    def matches(self, event: IntEvent) -> bool:
        return ((self.vectors is None or event.vector in self.vectors)
                and (self.cpl is None or event.cpl == self.cpl)
                and (self.kind is None or event.kind is self.kind)
                and (self.rip is None or event.rip in self.rip))

    @property
    def active(self) -> bool:
        return self != EventFilter()


class Timeline:
    """Counts per key (a vector) over at most ``buckets`` equal slices of the event order.

    Bucket ``b`` holds events ``b*width .. (b+1)*width - 1`` (0 = the first event
    of the log). When an event falls past the last bucket, neighbouring buckets
    are merged pairwise and ``width`` doubles, so memory stays fixed.
    """

    def __init__(self, buckets: int = 60) -> None:
        if buckets < 2 or buckets % 2:
            raise ValueError("a timeline needs an even number of buckets, at least 2")
        self.buckets = buckets
        self.width = 1
        self.rows: dict = {}

    def add(self, index: int, key: object) -> None:
        bucket = index // self.width
        while bucket >= self.buckets:
            self.halve()
            bucket = index // self.width
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * self.buckets
        row[bucket] += 1

    def halve(self) -> None:
        half = self.buckets // 2
        for row in self.rows.values():
            row[:half] = [row[2 * b] + row[2 * b + 1] for b in range(half)]
            row[half:] = [0] * half
        self.width *= 2

    def used(self, events: int) -> int:
        """How many buckets ``events`` events fill."""
        return min(self.buckets, -(-events // self.width))


@dataclass(frozen=True)
class LogReport:
    """What a whole log says, as counts and bounded lists."""

    lines: int
    total_events: int
    events: int  # matching the filter
    first_seq: int | None
    last_seq: int | None
    by_vector: dict[int, int]
    by_kind: dict[EventKind, int]
    by_cpl: dict[int, int]
    listed: tuple[IntEvent, ...]
    malformed: int
    malformed_examples: tuple[Malformed, ...]
    truncated: Malformed | None
    unlogged_irqs: int
    unlogged_exceptions: int
    resets: int
    smm_entries: int
    triple_fault_count: int
    triple_faults: tuple[TripleFault, ...]
    timeline: Timeline


class LogAnalysis:
    """Feed it chunks of a log; ``report()`` sums it up. Memory does not grow with the log.

    ``keep`` is how many matching events to keep for listing (the first ones),
    ``examples`` how many malformed lines to keep, ``buckets`` the timeline
    resolution. Up to MAX_KEPT triple faults are kept (all are counted).
    """

    def __init__(self, event_filter: EventFilter | None = None, keep: int = 0, examples: int = 5,
                 buckets: int = 60) -> None:
        self.filter = event_filter or EventFilter()
        self._reader = IntLogReader()
        self._keep = keep
        self._examples = examples
        self._listed: list[IntEvent] = []
        self._malformed: list[Malformed] = []
        self._malformed_count = 0
        self._counts: dict[tuple[str, str, str], int] = {}  # (vector, kind, CPL) as logged -> events
        self._total = 0
        self._matched = 0
        self._first_seq: str | None = None
        self._last_seq: str | None = None
        self._resets = 0
        self._smm = 0
        self._timeline = Timeline(buckets)
        self._recent: collections.deque[tuple] = collections.deque(maxlen=MAX_CHAIN + CONTEXT_EVENTS)
        self._chain_length = 0
        self._open: TripleFault | None = None
        self._kept: list[TripleFault] = []
        self._triple_faults = 0

    def feed(self, chunk: str) -> None:
        self._consume(self._reader.scan(chunk))

    def report(self) -> LogReport:
        """Finish the log (a last line without newline counts as truncated) and sum it up."""
        self._consume(self._reader.finish())
        self._close_fault()
        reader = self._reader
        timeline = self._timeline
        timeline.rows = {int(v, 16): row for v, row in timeline.rows.items()}
        by_vector: collections.Counter[int] = collections.Counter()
        by_kind: collections.Counter[EventKind] = collections.Counter()
        by_cpl: collections.Counter[int] = collections.Counter()
        for (v, kind, cpl), n in self._counts.items():
            by_vector[int(v, 16)] += n
            by_kind[EventKind(kind)] += n
            by_cpl[int(cpl)] += n
        return LogReport(
            lines=reader.lines, total_events=self._total, events=self._matched,
            first_seq=None if self._first_seq is None else int(self._first_seq),
            last_seq=None if self._last_seq is None else int(self._last_seq),
            by_vector=dict(by_vector), by_kind=dict(by_kind), by_cpl=dict(by_cpl),
            listed=tuple(self._listed), malformed=self._malformed_count,
            malformed_examples=tuple(self._malformed), truncated=reader.truncated,
            unlogged_irqs=reader.unlogged_irqs, unlogged_exceptions=reader.unlogged_exceptions,
            resets=self._resets, smm_entries=self._smm,
            triple_fault_count=self._triple_faults, triple_faults=tuple(self._kept), timeline=timeline,
        )

    def _consume(self, items: list[tuple]) -> None:
        # The hot loop: state lives in locals and is written back when a record that is not
        # an event needs the methods below.
        wanted = _RawFilter(self.filter) if self.filter.active else None
        counts = self._counts
        timeline = self._timeline
        rows, buckets, width = timeline.rows, timeline.buckets, timeline.width
        recent_append = self._recent.append
        total, matched, chain_length = self._total, self._matched, self._chain_length
        last_seq = self._last_seq
        for item in items:
            tag = item[0]
            if tag != _EVENT_TAG:
                if tag == _SERVICING_TAG or (tag == _CHECK_TAG and item[2] != DOUBLE_FAULT and self._open is None):
                    continue
                self._total, self._matched, self._chain_length, self._last_seq = total, matched, chain_length, last_seq
                self._other(item)
                chain_length = self._chain_length
                continue
            if self._open is not None:
                self._close_fault()
            index = total
            total += 1
            recent_append(item)
            chain_length = chain_length + 1 if item[11] else 1
            seq, v, _, cpl, ip, kind = item[3:9]
            if wanted is not None and not wanted.matches(v, cpl, kind, ip):
                continue
            matched += 1
            if last_seq is None:
                self._first_seq = seq
            last_seq = seq
            key = (v, kind, cpl)
            counts[key] = counts.get(key, 0) + 1
            bucket = index // width
            if bucket >= buckets:
                timeline.halve()
                width = timeline.width
                bucket = index // width
            row = rows.get(v)
            if row is None:
                row = rows[v] = [0] * buckets
            row[bucket] += 1
            if len(self._listed) < self._keep:
                self._listed.append(_event_from(item))
        self._total, self._matched, self._chain_length, self._last_seq = total, matched, chain_length, last_seq

    def _other(self, item: tuple) -> None:
        tag = item[0]
        if tag == _CHECK_TAG:
            self._close_fault()
            _, line, old, new = item
            if old == DOUBLE_FAULT:
                self._begin_fault(line, self._chain_steps() + [ChainStep.unlogged(new, line)], logged=False)
        elif tag == _MARK_TAG:
            mark = item[2]
            if mark is Mark.TRIPLE_FAULT:
                if self._open is not None and not self._open.logged:
                    self._open = replace(self._open, logged=True)
                else:
                    self._close_fault()
                    self._begin_fault(item[1], self._chain_steps(), logged=True)
            elif mark is Mark.CPU_RESET:
                self._resets += 1
                if self._open is not None:
                    self._open = replace(self._open, reset=True)
                    self._close_fault()
                self._chain_length = 0
            elif mark is Mark.SMM_ENTER:
                self._smm += 1
        elif tag == _MALFORMED_TAG:
            self._malformed_count += 1
            if len(self._malformed) < self._examples:
                self._malformed.append(Malformed(*item[1:]))

    def _chain_steps(self) -> list[ChainStep]:
        recent = list(self._recent)
        length = min(self._chain_length, len(recent), MAX_CHAIN)
        steps = []
        for item in recent[len(recent) - length:]:
            promoted_from, check_line = item[9], item[10]
            if promoted_from is not None:
                steps.append(ChainStep.unlogged(promoted_from, check_line))
            steps.append(ChainStep.from_event(_event_from(item)))
        return steps

    def _begin_fault(self, line: int, chain: list[ChainStep], logged: bool) -> None:
        recent = list(self._recent)
        length = min(self._chain_length, len(recent))
        before = recent[max(0, len(recent) - length - CONTEXT_EVENTS):len(recent) - length]
        self._triple_faults += 1
        self._open = TripleFault(line, tuple(chain), tuple(ChainStep.from_event(_event_from(item)) for item in before),
                                 logged, reset=False)
        self._recent.clear()
        self._chain_length = 0

    def _close_fault(self) -> None:
        if self._open is None:
            return
        if len(self._kept) < MAX_KEPT:
            self._kept.append(self._open)
        self._open = None


class _RawFilter:
    """An EventFilter applied to the strings of a raw event tuple (no number conversions)."""

    def __init__(self, event_filter: EventFilter) -> None:
        self.vectors = None if event_filter.vectors is None else {f"{v:02x}" for v in event_filter.vectors}
        self.cpl = None if event_filter.cpl is None else str(event_filter.cpl)
        self.kind = None if event_filter.kind is None else event_filter.kind.value
        self.rip = event_filter.rip

    def matches(self, vector: str, cpl: str, kind: str, ip: str) -> bool:
        return ((self.vectors is None or vector in self.vectors)
                and (self.cpl is None or cpl == self.cpl)
                and (self.kind is None or kind == self.kind)
                and (self.rip is None or int(ip.partition(":")[2], 16) in self.rip))


def require_events(report: LogReport, name: str) -> None:
    """ParseError when a log holds nothing -d int wrote."""
    if report.total_events == 0 and report.triple_fault_count == 0:
        raise ParseError(f"no -d int events found in {name} (was QEMU run with -d int? it logs only under TCG)")
