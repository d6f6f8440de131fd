"""Records of a QEMU ``-d int`` log, read as a stream of text chunks.

Under TCG, QEMU logs every interrupt and exception it delivers while CR0.PE is
set (QEMU 7.2: ``do_interrupt_all`` in target/i386/tcg/seg_helper.c)::

    check_exception old: 0xffffffff new 0xe            (excp_helper.c, before an exception)
    Servicing hardware INT=0x20                         (before an external interrupt)
         5: v=0e e=0002 i=0 cpl=0 IP=0008:000000000010028d pc=000000000010028d
            SP=0010:0000000000090000 CR2=00000000deadbeef   (one line; EAX instead of CR2
                                                            for every vector but 0x0e)
    RAX=... RBX=...                                     (a register dump: skipped)
    Triple fault                                        (-d cpu_reset)
    CPU Reset (CPU 0)                                   (-d cpu_reset, then a dump)
    SMM: enter / SMM: after RSM

``v`` is the vector, ``e`` the error code QEMU passes (0 when none is pushed),
``i=1`` marks ``INT n``/``INT3``/``INTO`` (software), ``IP`` is CS:RIP of the
interrupted instruction, ``pc`` its linear address, ``SP`` SS:RSP before
delivery. ``old`` in a check_exception line is the exception being delivered
when the new one was raised (``0xffffffff`` = none); QEMU turns the pair into
#DF by SDM Vol. 3A Table 6-5 and shuts down when ``old`` is #DF itself. In
real mode only the "Servicing" and check_exception lines appear.

:class:`IntLogReader` finds the lines that matter with one regular expression
over each chunk (register dumps are never looked at one by one), so memory
stays flat and the cost per event is small; :class:`LogAnalysis` keeps
counters, a bounded list of events, a bounded timeline and the triple-fault
chains (:mod:`gdbext.model.triplefault`).
"""

from __future__ import annotations

import collections
import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import ParseError
from .triplefault import ChainTracker, TripleFault

NO_EXCEPTION = 0xFFFFFFFF  # QEMU's old_exception = -1, printed with %x
NMI_VECTOR = 2
FIRST_USER_VECTOR = 32

# A line that is not a register dump ("RAX=", "ES =", "XMM00=", "CR0="...) and not empty,
# found right after the newline that starts it.
_INTERESTING = re.compile(r"\n(?![A-Z][A-Za-z0-9 ]{0,5}=)([^\n]+)")
_EVENT = re.compile(
    r" *(-?[0-9]+): v=([0-9a-f]+) e=([0-9a-f]+) i=([01]) cpl=([0-3]) "
    r"IP=([0-9a-f]+):([0-9a-f]+) pc=([0-9a-f]+) SP=([0-9a-f]+):([0-9a-f]+)"
    r" (?:CR2=([0-9a-f]+)|(?:env->regs\[R_EAX\]|EAX)=([0-9a-f]+))[ \r]*"
)
_CHECK = re.compile(r"check_exception old: 0x([0-9a-f]+) new 0x([0-9a-f]+)[ \r]*")
_SERVICING = re.compile(r"Servicing (?:virtual )?hardware INT=0x([0-9a-f]+)[ \r]*")
_RESET = re.compile(r"CPU Reset \(CPU ([0-9]+)\)[ \r]*")
_TEXT_LIMIT = 160


class EventKind(enum.Enum):
    """Where an event came from (SDM Vol. 3A 6.3 "Sources of Interrupts")."""

    IRQ = "irq"  # external (hardware) interrupt or NMI: "Servicing hardware INT" precedes it
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
    0x0e only, ``rax`` for every other vector. ``promoted_from`` is the vector
    that check_exception turned into this #DF (SDM 3A Table 6-5), else None.
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
        return self.old == 8


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
    """Turns text chunks of a -d int log into records, keeping only a partial line between chunks.

    ``feed`` accepts any slicing of the text (whole files, 1 MiB blocks, single
    lines); ``close`` handles a last line without a newline (reported as
    truncated). It also counts what real mode leaves behind: a "Servicing" or
    check_exception line with no event after it (QEMU logs the event itself
    only with CR0.PE set).
    """

    def __init__(self) -> None:
        self._carry = "\n"
        self._line = 0
        self._pending_irq: HardwareInterrupt | None = None
        self._pending_check: ExceptionCheck | None = None
        self.lines = 0
        self.truncated: Malformed | None = None
        self.unlogged_irqs = 0
        self.unlogged_exceptions = 0

    def feed(self, chunk: str) -> Iterator[Record]:
        text = self._carry + chunk
        end = text.rfind("\n")
        self._carry = text[end:]
        return self._scan(text, end)

    def close(self) -> Iterator[Record]:
        """Records of the last line when the text does not end in a newline."""
        text, self._carry = self._carry, "\n"
        yield from self._scan(text, len(text))
        check = self._pending_check
        if len(text) > 1:
            self.truncated = Malformed(self._line, text[1:_TEXT_LIMIT + 1], "the log ends in the middle of this line")
        elif check is not None:
            self.truncated = Malformed(check.line, f"check_exception old: {_hex(check.old)} new {check.new:#x}",
                                       "the log ends before the event of this exception")
            self._pending_check = None
        self.lines = self._line
        self._drop_pending()

    def _scan(self, text: str, end: int) -> Iterator[Record]:
        position = 0
        line = self._line
        count = text.count
        for match in _INTERESTING.finditer(text, 0, end):
            start = match.start()
            line += count("\n", position, start + 1)
            position = start + 1
            self._line = line
            record = self._record(line, match.group(1))
            if record is not None:
                yield record
        self._line = line + count("\n", position, end)

    def _record(self, line: int, text: str) -> Record | None:
        first = text[0]
        if first == " " or "0" <= first <= "9":
            return self._event(line, text)
        self._drop_pending()
        if first == "c":
            match = _CHECK.fullmatch(text)
            if match is None:
                return _malformed(line, text, "check_exception line does not parse")
            old, new = int(match[1], 16), int(match[2], 16)
            check = ExceptionCheck(line, None if old == NO_EXCEPTION else old, new)
            if not check.triple_fault:
                self._pending_check = check
            return check
        if first == "S":
            match = _SERVICING.fullmatch(text)
            if match is not None:
                self._pending_irq = HardwareInterrupt(line, int(match[1], 16))
                return self._pending_irq
            if text.startswith("SMM: enter"):
                return LogMark(line, Mark.SMM_ENTER)
            if text.startswith("SMM: after RSM"):
                return LogMark(line, Mark.SMM_EXIT)
        elif first == "T" and text.rstrip(" \r") == "Triple fault":
            return LogMark(line, Mark.TRIPLE_FAULT)
        elif first == "C":
            match = _RESET.fullmatch(text)
            if match is not None:
                return LogMark(line, Mark.CPU_RESET, int(match[1]))
        return _malformed(line, text, "not a line QEMU's -d int or -d cpu_reset writes")

    def _event(self, line: int, text: str) -> IntEvent | Malformed:
        match = _EVENT.fullmatch(text)
        if match is None:
            self._drop_pending()
            return _malformed(line, text, "event line does not parse")
        seq, v, e, i, cpl, cs, rip, pc, ss, rsp, cr2, rax = match.groups()
        vector = int(v, 16)
        if vector > 0xFF:
            self._drop_pending()
            return _malformed(line, text, f"vector {vector:#x} is out of range 0x00-0xff")
        software = i == "1"
        promoted_from = None
        check, irq = self._pending_check, self._pending_irq
        self._pending_check = self._pending_irq = None
        if irq is not None and irq.vector != vector:
            self.unlogged_irqs += 1
            irq = None
        if software:
            kind = EventKind.SOFTWARE
            if check is not None:
                self.unlogged_exceptions += 1
        elif check is not None:
            kind = EventKind.EXCEPTION
            if vector == 8 and check.new != 8:
                promoted_from = check.new
        elif irq is not None or vector == NMI_VECTOR or vector >= FIRST_USER_VECTOR:
            kind = EventKind.IRQ
        else:
            kind = EventKind.EXCEPTION
        return IntEvent(
            line, int(seq), vector, int(e, 16), software, int(cpl), int(cs, 16), int(rip, 16), int(pc, 16),
            int(ss, 16), int(rsp, 16), None if cr2 is None else int(cr2, 16), None if rax is None else int(rax, 16),
            kind, promoted_from,
        )

    def _drop_pending(self) -> None:
        if self._pending_irq is not None:
            self.unlogged_irqs += 1
            self._pending_irq = None
        if self._pending_check is not None:
            self.unlogged_exceptions += 1
            self._pending_check = None


def _malformed(line: int, text: str, reason: str) -> Malformed:
    return Malformed(line, text[:_TEXT_LIMIT], reason)


def read_records(chunks: Iterable[str]) -> Iterator[Record]:
    """Every record of a log given as text chunks (or lines)."""
    reader = IntLogReader()
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()


@dataclass(frozen=True)
class EventFilter:
    """Which events to count, list and plot; None means any."""

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
    """Per-vector counts over at most ``buckets`` equal slices of the event order.

    Bucket ``b`` holds events ``b*width .. (b+1)*width - 1`` (0 = the first event
    of the log). When an event falls past the last bucket, neighbouring buckets
    are merged pairwise and ``width`` doubles, so memory stays fixed.
    """

    def __init__(self, buckets: int = 60) -> None:
        if buckets < 2 or buckets % 2:
            raise ValueError("a timeline needs an even number of buckets, at least 2")
        self.buckets = buckets
        self.width = 1
        self.rows: dict[int, list[int]] = {}

    def add(self, index: int, vector: int) -> None:
        bucket = index // self.width
        while bucket >= self.buckets:
            self._halve()
            bucket = index // self.width
        row = self.rows.get(vector)
        if row is None:
            row = self.rows[vector] = [0] * self.buckets
        row[bucket] += 1

    def _halve(self) -> None:
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
    resolution.
    """

    def __init__(self, event_filter: EventFilter = EventFilter(), keep: int = 0, examples: int = 5,
                 buckets: int = 60) -> None:
        self.filter = event_filter
        self._reader = IntLogReader()
        self._chains = ChainTracker()
        self._keep = keep
        self._examples = examples
        self._listed: list[IntEvent] = []
        self._malformed: list[Malformed] = []
        self._malformed_count = 0
        self._by_vector: collections.Counter[int] = collections.Counter()
        self._by_kind: collections.Counter[EventKind] = collections.Counter()
        self._by_cpl: collections.Counter[int] = collections.Counter()
        self._total = 0
        self._matched = 0
        self._first_seq: int | None = None
        self._last_seq: int | None = None
        self._resets = 0
        self._smm = 0
        self.timeline = Timeline(buckets)

    def feed(self, chunk: str) -> None:
        self._consume(self._reader.feed(chunk))

    def report(self) -> LogReport:
        """Finish the log (a last line without newline counts as truncated) and sum it up."""
        self._consume(self._reader.close())
        reader = self._reader
        return LogReport(
            lines=reader.lines, total_events=self._total, events=self._matched,
            first_seq=self._first_seq, last_seq=self._last_seq,
            by_vector=dict(self._by_vector), by_kind=dict(self._by_kind), by_cpl=dict(self._by_cpl),
            listed=tuple(self._listed), malformed=self._malformed_count,
            malformed_examples=tuple(self._malformed), truncated=reader.truncated,
            unlogged_irqs=reader.unlogged_irqs, unlogged_exceptions=reader.unlogged_exceptions,
            resets=self._resets, smm_entries=self._smm,
            triple_fault_count=self._chains.count, triple_faults=self._chains.finish(),
            timeline=self.timeline,
        )

    def _consume(self, records: Iterator[Record]) -> None:
        chains = self._chains
        matches = self.filter.matches if self.filter.active else None
        for record in records:
            if type(record) is IntEvent:
                index = self._total
                self._total = index + 1
                chains.event(record)
                if matches is not None and not matches(record):
                    continue
                self._matched += 1
                if self._first_seq is None:
                    self._first_seq = record.seq
                self._last_seq = record.seq
                self._by_vector[record.vector] += 1
                self._by_kind[record.kind] += 1
                self._by_cpl[record.cpl] += 1
                self.timeline.add(index, record.vector)
                if len(self._listed) < self._keep:
                    self._listed.append(record)
            elif type(record) is ExceptionCheck:
                chains.check(record)
            elif type(record) is LogMark:
                self._mark(record)
            elif type(record) is Malformed:
                self._malformed_count += 1
                if len(self._malformed) < self._examples:
                    self._malformed.append(record)

    def _mark(self, record: LogMark) -> None:
        if record.mark is Mark.TRIPLE_FAULT:
            self._chains.triple_fault_line(record.line)
        elif record.mark is Mark.CPU_RESET:
            self._resets += 1
            self._chains.reset()
        elif record.mark is Mark.SMM_ENTER:
            self._smm += 1


def _hex(value: int | None) -> str:
    return f"{NO_EXCEPTION:#x}" if value is None else f"{value:#x}"


def require_events(report: LogReport, name: str) -> None:
    """ParseError when a log holds nothing -d int wrote."""
    if report.total_events == 0 and report.triple_fault_count == 0:
        raise ParseError(f"no -d int events found in {name} (was QEMU run with -d int? it logs only under TCG)")
