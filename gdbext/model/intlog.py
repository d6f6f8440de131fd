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

Speed: the log is read as bytes; one regular expression finds, in each chunk,
the lines that do not start with a capital letter plus the few capitalised
record lines ("Servicing", "SMM:", "Triple fault", "CPU Reset"), so register
dumps are never looked at one by one; line numbers are counted only for what
needs them, and an event becomes an :class:`IntEvent` only when it is listed
or belongs to a triple fault. Lines that start with a capital letter are taken
as register dumps, so garbage there goes unnoticed; any other line that does
not parse is reported as malformed. Given ``lines_before`` (as ``log FILE``
does), the run of a chunk where every such line is a well-formed event is
counted by one ``findall`` and a Counter (:meth:`IntLogReader.bulk`), and lines
are counted only up to a record that carries a line number.
"""

from __future__ import annotations

import collections
import enum
import re
from collections.abc import Callable, Iterable, Iterator

from ..errors import ParseError
from .exception_vectors import SELECTOR_ERROR_VECTORS, EventKind, ExceptionVector
from .intlog_split import continuation, split
from .record import record, replace
from .triplefault import (
    CONTEXT_EVENTS,
    MAX_CHAIN,
    MAX_KEPT,
    STACK_WINDOW,
    ChainStep,
    TripleFault,
)
from .vectors import vector

NO_EXCEPTION = 0xFFFFFFFF  # QEMU's old_exception = -1, printed with %x
TEXT_LIMIT = 160
MAX_LINE_BYTES = 1 << 20  # a longer line is cut (it cannot be -d int output anyway)

_EVENT_START_TEXT = rb" *-?[0-9]{1,10}: v="  # how an event line starts
_EVENT_NEXT = rb"[ \r]*\n" + _EVENT_START_TEXT
_EVENT_START = re.compile(_EVENT_START_TEXT)
_INTERESTING = re.compile(
    rb"\n(?:[^A-Zc\n]"
    rb"|c(?!heck_exception old: 0x(?!8 )[0-9a-f]{1,8} new 0x[0-9a-f]{1,8}" + _EVENT_NEXT + rb")"
    rb"|S(?:ervicing (?!(?:virtual )?hardware INT=0x[0-9a-f]{1,2}" + _EVENT_NEXT + rb")|MM: )"
    rb"|Triple fault|CPU Reset)"
)


def _event_line(capture: frozenset[str], lead: bytes = rb" *", seq: bytes = rb"-?[0-9]{1,10}") -> bytes:
    """The pattern of an event line, capturing the fields named in ``capture`` (in the
    order seq, v..cpl, v, e, i, cpl, ip, cs, rip, pc, sp, ss, rsp, cr2, rax; v..cpl is the
    text from ``v=`` to the CPL, ip is cs:rip, sp ss:rsp). ``lead`` and ``seq`` are its
    start (what _BULK has not read of it yet)."""

    def field(name: str, pattern: bytes) -> bytes:
        return (b"(" if name in capture else b"(?:") + pattern + b")"

    address = rb"[0-9a-f]{1,16}"
    return (lead + field("seq", seq) + rb": "
            + field("v..cpl", rb"v=" + field("v", rb"[0-9a-f]{2}") + rb" e=" + field("e", rb"[0-9a-f]{1,8}")
                    + rb" i=" + field("i", rb"[01]") + rb" cpl=" + field("cpl", rb"[0-3]"))
            + rb" IP=" + field("ip", field("cs", rb"[0-9a-f]{1,4}") + rb":" + field("rip", address))
            + rb" pc=" + field("pc", address)
            + rb" SP=" + field("sp", field("ss", rb"[0-9a-f]{1,4}") + rb":" + field("rsp", address))
            + rb" (?:CR2=" + field("cr2", address) + rb"|(?:env->regs\[R_EAX\]|EAX)=" + field("rax", address)
            + rb")[ \r]*(?=\n|\Z)")


_EVENT = re.compile(_event_line(frozenset(
    ("seq", "v", "e", "i", "cpl", "ip", "cs", "rip", "pc", "sp", "ss", "rsp", "cr2", "rax"))))
# The bulk scan (IntLogReader.bulk): each line _INTERESTING would stop at, as an event's
# text from v= to its CPL in the group of its branch: 0 after its check_exception line (an
# old exception that is not #DF, written without leading zeros), 1-3 alone (the line starts
# with a space, "-" or a digit) and 4 after its Servicing line; any other line gives a
# tuple of empty groups. Each branch starts with a character test (no lookahead), so the
# many lines that start with another capital letter cost one test each.
_BULK_FIELDS = frozenset(("v..cpl",))
_BULK = re.compile(
    rb"\n(?:[^A-Z\n](?:(?<=\nc)heck_exception old: 0x(?:ffffffff|[0-79a-f]|[1-9a-f][0-9a-f]) new 0x[0-9a-f]{1,8}"
    rb"[ \r]*\n" + _event_line(_BULK_FIELDS)
    + rb"|(?<=\n )" + _event_line(_BULK_FIELDS)
    + rb"|(?<=\n-)" + _event_line(_BULK_FIELDS, b"", rb"[0-9]{1,10}")
    + rb"|(?<=\n[0-9])" + _event_line(_BULK_FIELDS, b"", rb"[0-9]{0,9}") + rb"|)"
    rb"|C(?:PU Reset)"
    rb"|S(?:MM: |ervicing (?:virtual )?hardware INT=0x[0-9a-f]{1,2}[ \r]*\n" + _event_line(_BULK_FIELDS) + rb"|ervicing )"
    rb"|T(?:riple fault))"
)
_CHECK_BRANCH, _SERVICING_BRANCH = 0, 4  # their groups (the alone branches: 1, 2, 3)
TAIL_EVENTS = MAX_CHAIN + CONTEXT_EVENTS  # events a bulk scan leaves to the careful scan (LogAnalysis._recent)
TAIL_BYTES = 16 << 10  # where the bulk scan first tries to stop short of a chunk's end
_CHECK = re.compile(rb"check_exception old: 0x([0-9a-f]{1,8}) new 0x([0-9a-f]{1,8})[ \r]*(?=\n|\Z)")
_SERVICING = re.compile(rb"Servicing (?:virtual )?hardware INT=0x([0-9a-f]{1,2})[ \r]*(?=\n|\Z)")
_RESET = re.compile(rb"CPU Reset \(CPU ([0-9]{1,6})\)[ \r]*(?=\n|\Z)")
_TRIPLE = re.compile(rb"Triple fault[ \r]*(?=\n|\Z)")
_SMM = re.compile(rb"SMM: (enter|after RSM)[ \r]*(?=\n|\Z)")
_LINE_END = re.compile(rb"[^\n]*")
_SERVICING_PREFIX = b"Servicing hardware INT=0x"  # then two hex digits: the common line, read without a regex
_VECTOR_TEXTS = frozenset(b"%02x" % v for v in range(256))

# Tags of the raw tuples IntLogReader.scan returns (first item of each), and event kinds as
# the hot loop keeps them (EventKind values).
_EVENT_TAG, _CHECK_TAG, _SERVICING_TAG, _MARK_TAG, _MALFORMED_TAG = range(5)
_IRQ, _EXCEPTION, _SOFTWARE = "irq", "exception", "software"


class Mark(enum.Enum):
    """Log lines that are neither events nor register dumps."""

    TRIPLE_FAULT = "triple fault"
    CPU_RESET = "cpu reset"
    SMM_ENTER = "smm enter"
    SMM_EXIT = "smm exit"


@record(slots=True)
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
        return self.kind is EventKind.EXCEPTION and vector(self.vector).pushes_error_code


@record(slots=True)
class ExceptionCheck:
    """``check_exception old: 0x.. new 0x..``: an exception raised, and the one it interrupted."""

    line: int
    old: int | None  # None: no exception was being delivered
    new: int

    @property
    def triple_fault(self) -> bool:
        """A fault while delivering #DF: the processor shuts down (SDM 3A 6.15, interrupt 8)."""
        return self.old == ExceptionVector.DF


@record(slots=True)
class HardwareInterrupt:
    """``Servicing hardware INT=0x..``: the vector the PIC or APIC handed to the CPU."""

    line: int
    vector: int


@record(slots=True)
class LogMark:
    """A triple-fault, CPU-reset or SMM line; ``cpu`` is set for a reset."""

    line: int
    mark: Mark
    cpu: int | None = None


@record(slots=True)
class Malformed:
    """A line that should be -d int output but does not parse, with the reason."""

    line: int
    text: str
    reason: str


Record = IntEvent | ExceptionCheck | HardwareInterrupt | LogMark | Malformed


class _Lines:
    """Line numbers of positions in one chunk of the log, counted on demand.

    ``text[origin]`` is the newline that ends line ``base``; counting goes on
    from the last position asked, so asking in increasing order reads the chunk
    once. A ``base`` of None is not known yet: ``resolve()`` gives it when a
    number is first asked (the lines of chunks before went uncounted).
    """

    __slots__ = ("_line", "_position", "_resolve", "text")

    def __init__(self, text: bytes, base: int | None, origin: int,
                 resolve: Callable[[], int] | None = None) -> None:
        self.text = text
        self._position = origin
        self._line = base
        self._resolve = resolve

    def at(self, position: int) -> int:
        """The number of the line that starts at ``position``."""
        if self._line is None:
            assert self._resolve is not None  # a reader without lines_before always knows its base
            self._line = self._resolve()
        if position < self._position:
            self._line -= self.text.count(b"\n", position, self._position)
        else:
            self._line += self.text.count(b"\n", self._position, position)
        self._position = position
        return self._line

    def known_at(self, position: int) -> int | None:
        """``at(position)`` when the base is known already, else None (nothing is counted)."""
        return None if self._line is None else self.at(position)


class _OneLine:
    """A rebuilt event line (see intlog_split) standing alone, with its line number in the log."""

    __slots__ = ("_line", "text")

    def __init__(self, text: bytes, line: int) -> None:
        self.text = text
        self._line = line

    def at(self, position: int) -> int:
        return self._line


class IntLogReader:
    """Turns chunks of a -d int log into records; only a partial line is kept between chunks.

    ``feed`` takes the log as bytes (as read from the file; text that is not
    UTF-8 ends up in Malformed records with U+FFFD) or as str, sliced anyhow:
    whole files, 1 MiB blocks, single lines. ``close`` handles a last line
    without a newline (reported in ``truncated``) and a log that stops between
    a check_exception line and its event. It counts what real mode leaves
    behind: a "Servicing" or check_exception line with no event after it.

    ``scan``/``finish`` return the records as raw tuples for
    :class:`LogAnalysis`: an event is ``(tag, lines, start, stop, seq, v, i,
    cpl, ip, kind, promoted_from, nested)`` with its fields as logged (bytes),
    its text at ``start:stop`` of ``lines.text`` and its line number counted
    only when asked (``lines.at(start)``); the check_exception or Servicing line
    right before it has no tuple of its own (see :func:`_line_before`). Other
    records are ``(tag, line, ...)`` in the order of their record fields.

    ``lines_before(n)``, when given, is the number of newlines in the first
    ``n`` bytes of the log: the reader then counts no lines of its own until a
    record needs a line number (``lines`` stays None), and :meth:`bulk` may
    count a chunk's events without looking at each one.
    """

    def __init__(self, lines_before: Callable[[int], int] | None = None) -> None:
        self._lines_before = lines_before
        self._carry = b"\n"
        self._carry_at = -1  # where the carry's newline is in the log (-1: the one before the first line)
        self._line: int | None = 0  # the line the carry's newline ends; None: not counted
        self.size = 0  # bytes fed
        # A check_exception or Servicing line that _other read, waiting for its event:
        # where the next line starts, its line, then (old, new) or the vector as logged.
        self._pending_irq: tuple[int, int, bytes] | None = None
        self._pending_check: tuple[int, int, int | None, int] | None = None
        self._last_place: tuple[bytes | None, bytes | None] = (None, None)  # CS:RIP, SS:RSP of the last event
        self._last_vector = b""
        # An event line another vCPU cut before its CR2/EAX: line, fields, the line before it.
        self._split: tuple[int, bytes, tuple | None] | None = None
        self.lines: int | None = 0
        self.truncated: Malformed | None = None
        self.unlogged_irqs = 0
        self.unlogged_exceptions = 0

    def feed(self, chunk: bytes | str) -> Iterator[Record]:
        return _records(self.scan(chunk))

    def close(self) -> Iterator[Record]:
        return _records(self.finish())

    def scan(self, chunk: bytes | str) -> list[tuple]:
        items, rest = self.scan_head(chunk)
        if rest is not None:
            items += self.scan_rest(*rest)
        return items

    def scan_head(self, chunk: bytes | str) -> tuple[list[tuple], tuple[bytes, int, int, int] | None]:
        """The records of the line the carry began, which ends in ``chunk``; and what
        :meth:`scan_rest` (or :meth:`bulk`) takes for the rest: the chunk, its first and
        last newline and where it starts in the log (None when the chunk ends no line)."""
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "surrogatepass")
        offset = self.size
        self.size += len(chunk)
        first = chunk.find(b"\n")
        if first < 0:
            self._carry = (self._carry + chunk)[:MAX_LINE_BYTES]
            return [], None
        # The line the carry began ends at `first`; the rest of the chunk is scanned in
        # place (no copy of the chunk), up to its last newline. With lines_before, a
        # check_exception or Servicing line is read in the same text as the line after it
        # (its event), so that it needs no record of its own, whose line would be counted.
        last = chunk.rfind(b"\n")
        if self._lines_before is not None:
            start = self._carry[self._carry.rfind(b"\n") + 1:][:1] or chunk[:1]
            while start in (b"c", b"S") and first < last:
                start, first = chunk[first + 1:first + 2], chunk.find(b"\n", first + 1)
            while last > first and chunk[chunk.rfind(b"\n", first, last) + 1] in b"cS":
                last = chunk.rfind(b"\n", first, last)  # that line waits in the carry
        head = self._carry + chunk[:first]
        items = self._scan(head, 0, len(head), first, self._carry_at)
        self._carry = chunk[last:last + MAX_LINE_BYTES]
        self._carry_at = offset + last
        return items, (chunk, first, last, offset)

    def scan_rest(self, chunk: bytes, origin: int, last: int, offset: int) -> list[tuple]:
        """The records of ``chunk[origin + 1:last]`` (``chunk[origin]`` is a newline), after scan_head."""
        return self._scan(chunk, origin, last, 0, offset + origin)

    def bulk(self, chunk: bytes, first: int, last: int) -> tuple[collections.Counter[tuple], list[tuple], int] | None:
        """Read the events at the start of ``chunk[first + 1:last]`` at once, or None.

        Only with ``lines_before``, and only when those lines are events (each with
        its check_exception or Servicing line, if any) and register dumps: then
        ``(counts of the _BULK tuples, the tuples in order, where scan_rest goes on)``.
        At least TAIL_EVENTS events are left for scan_rest, so what the reader and
        LogAnalysis keep of the latest events comes out as a scan of the whole chunk
        leaves it; None (nothing read) when anything else is there.
        """
        if (self._lines_before is None or self._pending_irq is not None or self._pending_check is not None
                or self._split is not None):
            return None
        size = TAIL_BYTES
        while True:
            cut = chunk.rfind(b"\n", first, max(first, last - size) + 1)
            # the event after the cut must not be cut off from its check_exception/Servicing line
            while cut > first and chunk[chunk.rfind(b"\n", first, cut) + 1] in b"cS":
                cut = chunk.rfind(b"\n", first, cut)
            if cut == first:
                return None
            tail = collections.Counter(_BULK.findall(chunk, cut, last))
            if sum(n for key, n in tail.items() if any(key)) >= TAIL_EVENTS:
                break
            size *= 4
        events = _BULK.findall(chunk, first, cut)
        counts = collections.Counter(events)
        if not all(any(key) for key in counts):  # a line that is neither an event nor a register dump
            return None
        at = chunk.rfind(b": v=", first, cut)
        match = _EVENT.match(chunk, chunk.rfind(b"\n", first, at) + 1, cut) if at >= 0 else None
        if match is None:
            return None
        self._last_place, self._last_vector = (match[6], match[10]), match[2]
        self._line = None
        return counts, events, cut

    def finish(self) -> list[tuple]:
        # The carry: the last line, if the log does not end in a newline, after the whole
        # lines that wait there for the line after them (scan_head).
        text, self._carry = self._carry, b"\n"
        at = self._carry_at
        end = len(text) - 1 if text.endswith(b"\n") else len(text)
        items = self._scan(text, 0, end, 0, at)
        if end == len(text):
            if self._line is None:
                self._line = self._count_lines(at) + text.count(b"\n", 0, end)
            tail = text[text.rfind(b"\n") + 1:]
            self.truncated = Malformed(self._line, _decode(tail), "the log ends in the middle of this line")
        elif self._pending_check is not None:
            _, line, old, new = self._pending_check
            self.truncated = Malformed(line, f"check_exception old: {_hex32(old)} new {new:#x}",
                                       "the log ends before the event of this exception")
            self._pending_check = None
        self._drop_pending()
        if self._split is not None:
            line, head, _ = self._split
            items.append(_malformed(line, head, "event line cut by another vCPU's output; its CR2/EAX never came"))
            self._split = None
        self.lines = None if self._lines_before is not None else self._line
        return items

    def _count_lines(self, at: int) -> int:
        """The number of the line that the newline at ``at`` in the log ends (0: the one before the log)."""
        assert self._lines_before is not None  # without it, lines are always counted
        return self._lines_before(at + 1)

    def _scan(self, text: bytes, origin: int, end: int, next_origin: int, at: int) -> list[tuple]:
        # The lines of text[origin:end]; text[origin] is the newline that ends line self._line
        # (None: not counted), at `at` in the log, and next_origin is where that newline sits in
        # the next text scanned. The hot loop:
        # _INTERESTING skips the check_exception and "Servicing" lines right before an
        # event; an event that needs them looks back (_line_before). Events stay bytes (no
        # number or enum conversions, no line counting); other lines go to _other.
        lines = _Lines(text, self._line, origin, None if self._line is not None else lambda: self._count_lines(at))
        items: list[tuple] = []
        append = items.append
        event_match = _EVENT.match
        last_ip, last_sp = self._last_place
        last_vector = self._last_vector
        pending = self._pending_irq is not None or self._pending_check is not None
        for found in _INTERESTING.finditer(text, origin, end):
            start = found.start() + 1
            match = event_match(text, start, end)
            if match is None:
                self._last_place, self._last_vector = (last_ip, last_sp), last_vector
                items += self._other(lines, text, start, end)
                (last_ip, last_sp), last_vector = self._last_place, self._last_vector
                pending = self._pending_irq is not None or self._pending_check is not None
                continue
            seq, v, i, cpl, ip, sp = match.group(1, 2, 4, 5, 6, 10)
            irq = check = promoted_from = None
            if pending:
                irq, check = self._take_pending(start, v)
                pending = False
            nested = False
            if i == b"1":
                kind = _SOFTWARE
            elif v >= b"20":
                kind = _IRQ
            else:
                if irq is None and check is None:
                    before = _line_before(text, start)
                    if before is not None:
                        if before[0] == _CHECK_TAG:
                            check = before[1:]
                        else:
                            irq = before[1]
                if check is not None:
                    kind = _EXCEPTION
                    nested = check[0] is not None and last_ip is not None
                    if v == b"08" and check[1] != ExceptionVector.DF:
                        promoted_from = check[1]
                elif irq is not None or v == b"02":
                    kind = _IRQ
                else:
                    kind = _EXCEPTION
            if not nested and kind == _EXCEPTION and ip == last_ip and sp == last_sp:
                nested = _delivery_fault(match, last_vector)
            append((_EVENT_TAG, lines, start, match.end(), seq, v, i, cpl, ip, kind, promoted_from, nested))
            last_ip, last_sp, last_vector = ip, sp, v
        self._last_place, self._last_vector = (last_ip, last_sp), last_vector
        self._line = lines.known_at(end)
        self._carry_pending(end, next_origin)
        return items

    def _take_pending(self, start: int, vector: bytes) -> tuple[bytes | None, tuple[int | None, int] | None]:
        """The pending Servicing/check_exception line if it is the line right before ``start``."""
        irq, check = self._pending_irq, self._pending_check
        self._pending_irq = self._pending_check = None
        if irq is not None and (irq[0] != start or irq[2] != vector):
            self.unlogged_irqs += 1
            irq = None
        if check is not None and check[0] != start:
            self.unlogged_exceptions += 1
            check = None
        return (None if irq is None else irq[2]), (None if check is None else check[2:])

    def _carry_pending(self, end: int, next_origin: int) -> None:
        # The newline at `end` is at `next_origin` in the next text: a pending line that
        # ended there is right before the next text's first line.
        if self._pending_irq is not None:
            self._pending_irq = (next_origin + 1 if self._pending_irq[0] == end + 1 else -1, *self._pending_irq[1:])
        if self._pending_check is not None:
            self._pending_check = (next_origin + 1 if self._pending_check[0] == end + 1 else -1,
                                   *self._pending_check[1:])

    def _other(self, lines: _Lines, text: bytes, start: int, end: int) -> list[tuple]:
        """Lines the hot loop leaves: check_exception and Servicing lines with no event after
        them (real mode, a triple fault, a chunk boundary), marks, event lines another vCPU
        cut in two, and what does not parse."""
        line = lines.at(start)
        whole = _LINE_END.match(text, start, end)
        assert whole is not None  # _LINE_END matches any text, up to its line end
        records = []
        if whole.group()[:1] in b" -0123456789":
            cut = self._cut_event(line, whole.group(), text, start)
            if cut is not None:
                return cut
            # _INTERESTING skipped a check_exception or Servicing line before this line that
            # starts like an event: it gets its record, and counts as unlogged, as it does
            # when a chunk boundary falls between the two
            before = _line_before(text, start) if _EVENT_START.match(text, start, end) else None
            if before is not None:
                records.append(_line_before_record(line - 1, before))
                if before[0] == _CHECK_TAG:
                    self.unlogged_exceptions += 1
                else:
                    self.unlogged_irqs += 1
        self._drop_pending()
        record = self._other_record(line, whole.group(), whole.end() + 1)
        if record[0] not in (_CHECK_TAG, _SERVICING_TAG):
            self._last_place = (None, None)
        records.append(record)
        return records

    def _cut_event(self, line: int, text: bytes, chunk: bytes, start: int) -> list[tuple] | None:
        """Records of an event line another vCPU cut (intlog_split), or None if it is not one."""
        tail = continuation(text)
        if tail is not None and self._split is not None:
            self._drop_pending()
            first_line, head, before = self._split
            self._split = None
            return [self._rebuilt_event(first_line, head + tail, before)]
        parts = split(text)
        if parts is None:
            return None
        head, tail, foreign = parts
        # the event's own check_exception/Servicing line: in this text (no record yet), or
        # pending from the text before (its record already went out)
        records = []
        before = _line_before(chunk, start)
        if before is not None:
            records.append(_line_before_record(line - 1, before))
        else:
            at = head.index(b"v=") + 2
            irq, check = self._take_pending(start, head[at:at + 2])
            before = (_CHECK_TAG, *check) if check is not None else None if irq is None else (_SERVICING_TAG, irq)
        self._drop_pending()
        if tail is None:
            if self._split is not None:
                records.append(_malformed(self._split[0], self._split[1], "event line cut by another vCPU's "
                                          "output; its CR2/EAX never came"))
            self._split = (line, head, before)
        else:
            records.append(self._rebuilt_event(line, head + tail, before))
        records.append(self._other_record(line, foreign, -1))
        self._pending_irq = self._pending_check = None  # the other vCPU's event is not the next line
        return records

    def _rebuilt_event(self, line: int, text: bytes, before: tuple | None) -> tuple:
        """The raw event tuple of an event line put back together, classified as the hot loop does."""
        match = _EVENT.match(text)
        if match is None:
            return _malformed(line, text, "event line cut by another vCPU's output does not parse")
        seq, v, i, cpl, ip, sp = match.group(1, 2, 4, 5, 6, 10)
        check = before[1:] if before is not None and before[0] == _CHECK_TAG else None
        if i == b"1":
            kind = _SOFTWARE
        elif v >= b"20" or (check is None and (before is not None or v == b"02")):
            kind = _IRQ
        else:
            kind = _EXCEPTION
        promoted_from = check[1] if check is not None and v == b"08" and check[1] != ExceptionVector.DF else None
        self._last_place, self._last_vector = (ip, sp), v
        return (_EVENT_TAG, _OneLine(text, line), 0, match.end(), seq, v, i, cpl, ip, kind, promoted_from,
                check is not None and check[0] is not None)

    def _other_record(self, line: int, text: bytes, next_start: int) -> tuple:
        first = text[:1]
        if first == b"c":
            match = _CHECK.fullmatch(text)
            if match is None:
                return _malformed(line, text, "check_exception line does not parse")
            old = int(match[1], 16)
            check = (None if old == NO_EXCEPTION else old, int(match[2], 16))
            if check[0] != ExceptionVector.DF:
                self._pending_check = (next_start, line, *check)
            return (_CHECK_TAG, line, *check)
        if first == b"S":
            match = _SERVICING.fullmatch(text)
            if match is not None:
                self._pending_irq = (next_start, line, match[1])
                return (_SERVICING_TAG, line, int(match[1], 16))
            match = _SMM.fullmatch(text)
            if match is not None:
                return (_MARK_TAG, line, Mark.SMM_ENTER if match[1] == b"enter" else Mark.SMM_EXIT, None)
            return _malformed(line, text, "Servicing/SMM line does not parse")
        if first == b"T" and _TRIPLE.fullmatch(text):
            return (_MARK_TAG, line, Mark.TRIPLE_FAULT, None)
        if first == b"C":
            match = _RESET.fullmatch(text)
            if match is not None:
                return (_MARK_TAG, line, Mark.CPU_RESET, int(match[1]))
            return _malformed(line, text, "CPU Reset line does not parse")
        if first == b" " or first.isdigit():
            return _malformed(line, text, "event line does not parse")
        return _malformed(line, text, "not a line QEMU's -d int or -d cpu_reset writes")

    def _drop_pending(self) -> None:
        if self._pending_irq is not None:
            self.unlogged_irqs += 1
            self._pending_irq = None
        if self._pending_check is not None:
            self.unlogged_exceptions += 1
            self._pending_check = None


def _line_before(text: bytes, start: int) -> tuple | None:
    """The check_exception or Servicing line right before the event at ``start``, if any.

    ``(tag, old, new)`` or ``(tag, vector as logged)``. _INTERESTING skipped such a
    line (it is followed by an event), so no other record stands for it; a
    check_exception with old #DF is never skipped and not taken here.
    """
    previous = text.rfind(b"\n", 0, start - 1) + 1
    if not previous:
        return None
    if text.startswith(b"S", previous):
        vector = text[previous + 25:previous + 27]
        if (text.startswith(_SERVICING_PREFIX, previous) and vector in _VECTOR_TEXTS
                and not text[previous + 27:start - 1].strip(b" \r")):
            return (_SERVICING_TAG, vector)
        match = _SERVICING.match(text, previous, start - 1)
        return None if match is None else (_SERVICING_TAG, match[1])
    if text.startswith(b"c", previous):
        match = _CHECK.match(text, previous, start - 1)
        if match is not None:
            old = int(match[1], 16)
            if old != ExceptionVector.DF:
                return (_CHECK_TAG, None if old == NO_EXCEPTION else old, int(match[2], 16))
    return None


def _decode(text: bytes) -> str:
    return text[:TEXT_LIMIT * 4].decode("utf-8", "replace")[:TEXT_LIMIT]


def _line_before_record(line: int, before: tuple) -> tuple:
    """The raw record of what _line_before found, for the line it stands on."""
    if before[0] == _CHECK_TAG:
        return (_CHECK_TAG, line, *before[1:])
    return (_SERVICING_TAG, line, int(before[1], 16))


def _malformed(line: int, text: bytes, reason: str) -> tuple:
    return (_MALFORMED_TAG, line, _decode(text), reason)


def _delivery_fault(match: re.Match, previous_vector: bytes) -> bool:
    """An exception at the previous event's CS:RIP and SS:RSP that its delivery raised.

    True for a selector-format error code whose IDT bit names the previous
    vector (SDM 3A 6.13) and for a #PF just below RSP (pushing the frame).
    """
    vector = int(match[2], 16)
    if vector in SELECTOR_ERROR_VECTORS:
        code = int(match[3], 16)
        return bool(code & 2) and (code >> 3) & 0x1FFF == int(previous_vector, 16)
    if vector == ExceptionVector.PF and match[13] is not None:
        cr2, rsp = int(match[13], 16), int(match[12], 16)
        return rsp - STACK_WINDOW <= cr2 < rsp
    return False


def _hex32(value: int | None) -> str:
    return f"{NO_EXCEPTION:#x}" if value is None else f"{value:#x}"


def _event_from(item: tuple) -> IntEvent:
    """The IntEvent of a raw event tuple (parses its line again, fully)."""
    _, lines, position, stop, _, _, _, _, _, kind, promoted_from, nested = item
    match = _EVENT.match(lines.text, position, stop)
    assert match is not None  # the tuple was made from this match
    seq, v, e, i, cpl, _, cs, rip, pc, _, ss, rsp, cr2, rax = match.groups()
    return IntEvent(lines.at(position), int(seq), int(v, 16), int(e, 16), i == b"1", int(cpl), int(cs, 16),
                    int(rip, 16), int(pc, 16), int(ss, 16), int(rsp, 16), None if cr2 is None else int(cr2, 16),
                    None if rax is None else int(rax, 16), EventKind(kind), promoted_from, nested)


def _records(items: list[tuple]) -> Iterator[Record]:
    for item in items:
        tag = item[0]
        if tag == _EVENT_TAG:
            event = _event_from(item)
            before = _line_before(item[1].text, item[2])
            if before is not None and before[0] == _CHECK_TAG:
                yield ExceptionCheck(event.line - 1, *before[1:])
            elif before is not None:
                yield HardwareInterrupt(event.line - 1, int(before[1], 16))
            yield event
        elif tag == _CHECK_TAG:
            yield ExceptionCheck(*item[1:])
        elif tag == _SERVICING_TAG:
            yield HardwareInterrupt(*item[1:])
        elif tag == _MARK_TAG:
            yield LogMark(*item[1:])
        else:
            yield Malformed(*item[1:])


def read_records(chunks: Iterable[bytes | str]) -> Iterator[Record]:
    """Every record of a log given as chunks (or lines) of bytes or text."""
    reader = IntLogReader()
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()


@record
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
    """Counts per vector over at most ``buckets`` equal slices of the event order.

    ``rows[vector][b]`` counts the events ``b*width .. (b+1)*width - 1`` (0 = the
    first event of the log). When an event falls past the last bucket,
    :class:`LogAnalysis` calls :meth:`halve`: neighbouring buckets merge
    pairwise and ``width`` doubles, so memory stays fixed.
    """

    def __init__(self, buckets: int = 60) -> None:
        if buckets < 2 or buckets % 2:
            raise ValueError("a timeline needs an even number of buckets, at least 2")
        self.buckets = buckets
        self.width = 1
        self.rows: dict = {}

    def halve(self) -> None:
        half = self.buckets // 2
        for row in self.rows.values():
            row[:half] = [row[2 * b] + row[2 * b + 1] for b in range(half)]
            row[half:] = [0] * half
        self.width *= 2

    def used(self, events: int) -> int:
        """How many buckets ``events`` events fill."""
        return min(self.buckets, -(-events // self.width))


@record
class LogReport:
    """What a whole log says, as counts and bounded lists; ``lines`` is None when the
    analysis was not asked to count them (LogAnalysis ``lines_before``)."""

    size: int  # bytes
    lines: int | None
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

    With ``lines_before`` (see :class:`IntLogReader`) lines are counted only for
    the records that carry a line number, and a chunk's run of plain events is
    counted in bulk (:meth:`IntLogReader.bulk`) when nothing asks for them one by
    one (no filter, nothing left to list, no triple fault being read): the
    report is the same, but for ``lines`` (None).
    """

    def __init__(self, event_filter: EventFilter | None = None, keep: int = 0, examples: int = 5,
                 buckets: int = 60, lines_before: Callable[[int], int] | None = None) -> None:
        self.filter = event_filter or EventFilter()
        self._reader = IntLogReader(lines_before)
        self._keep = keep
        self._examples = examples
        self._listed: list[IntEvent] = []
        self._malformed: list[Malformed] = []
        self._malformed_count = 0
        self._counts: dict[tuple[bytes, str, bytes], int] = {}  # (vector, kind, CPL) as logged -> events
        self._total = 0
        self._matched = 0
        self._first_seq: bytes | None = None
        self._last_seq: bytes | None = None
        self._resets = 0
        self._smm = 0
        self._timeline = Timeline(buckets)
        self._recent: collections.deque[tuple] = collections.deque(maxlen=MAX_CHAIN + CONTEXT_EVENTS)
        self._chain_length = 0
        self._open: TripleFault | None = None
        self._kept: list[TripleFault] = []
        self._triple_faults = 0

    def feed(self, chunk: bytes | str) -> None:
        reader = self._reader
        if self.filter.active or len(self._listed) < self._keep:
            self._consume(reader.scan(chunk))
            return
        items, rest = reader.scan_head(chunk)
        self._consume(items)
        if rest is None:
            return
        text, origin, last, offset = rest
        if self._open is None and self._first_seq is not None:
            body = reader.bulk(text, origin, last)
            if body is not None:
                counts, events, origin = body
                self._count_bulk(counts, events)
        self._consume(reader.scan_rest(text, origin, last, offset))

    def _count_bulk(self, counts: collections.Counter[tuple], events: list[tuple]) -> None:
        """Count the events IntLogReader.bulk read (``counts`` of its _BULK tuples, ``events`` in order)."""
        first, total = self._total, len(events)
        last = first + total - 1
        timeline = self._timeline
        while last // timeline.width >= timeline.buckets:
            timeline.halve()
        rows, width = timeline.rows, timeline.width
        buckets = {first // width: counts} if first // width == last // width else {
            bucket: collections.Counter(events[max(first, bucket * width) - first:
                                               min(last + 1, (bucket + 1) * width) - first])
            for bucket in range(first // width, last // width + 1)}
        for key, n in counts.items():
            branch = next(branch for branch, text in enumerate(key) if text)
            text = key[branch]
            v, i, cpl = text[2:4], text[-7:-6], text[-1:]  # v=XX e=... i=I cpl=C
            kind = _SOFTWARE if i == b"1" else _IRQ if v >= b"20" else _EXCEPTION if branch == _CHECK_BRANCH \
                else _IRQ if branch == _SERVICING_BRANCH or v == b"02" else _EXCEPTION
            self._counts[v, kind, cpl] = self._counts.get((v, kind, cpl), 0) + n
        for bucket, in_bucket in buckets.items():
            for key, n in in_bucket.items():
                v = next(text for text in key if text)[2:4]
                row = rows.get(v)
                if row is None:
                    row = rows[v] = [0] * timeline.buckets
                row[bucket] += n
        self._total += total
        self._matched += total

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
            size=reader.size, lines=reader.lines, total_events=self._total, events=self._matched,
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
        # The hot loop: state lives in locals and is written back around the records that
        # are not events (the methods below use it).
        wanted = _RawFilter(self.filter) if self.filter.active else None
        counts = self._counts
        timeline = self._timeline
        rows, buckets, width = timeline.rows, timeline.buckets, timeline.width
        recent_append = self._recent.append
        total, matched, chain_length = self._total, self._matched, self._chain_length
        last_seq, room = self._last_seq, self._keep - len(self._listed)
        for item in items:
            if item[0] != _EVENT_TAG:
                tag = item[0]
                plain_check = tag == _CHECK_TAG and item[2] != ExceptionVector.DF
                if tag == _SERVICING_TAG or (plain_check and self._open is None):
                    continue
                self._total, self._matched, self._chain_length, self._last_seq = total, matched, chain_length, last_seq
                self._other(item)
                chain_length = self._chain_length
                continue
            if self._open is not None:
                self._close_fault()
            _, _, _, _, seq, v, _, cpl, ip, kind, _, nested = item
            index = total
            total += 1
            recent_append(item)
            chain_length = chain_length + 1 if nested else 1
            if wanted is not None and not wanted.matches(v, cpl, kind, ip):
                continue
            matched += 1
            if last_seq is None:
                self._first_seq = seq
            last_seq = seq
            key = (v, kind, cpl)
            counts[key] = counts.get(key, 0) + 1
            bucket = index // width
            while bucket >= buckets:
                timeline.halve()
                width = timeline.width
                bucket = index // width
            row = rows.get(v)
            if row is None:
                row = rows[v] = [0] * buckets
            row[bucket] += 1
            if room > 0:
                room -= 1
                self._listed.append(_event_from(item))
        self._total, self._matched, self._chain_length, self._last_seq = total, matched, chain_length, last_seq

    def _other(self, item: tuple) -> None:
        tag = item[0]
        if tag == _CHECK_TAG:
            self._close_fault()
            _, line, old, new = item
            if old == ExceptionVector.DF:
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
                self._recent.clear()
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
            event = _event_from(item)
            if event.promoted_from is not None:
                steps.append(ChainStep.unlogged(event.promoted_from, event.line - 1))
            steps.append(ChainStep.from_event(event))
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
    """An EventFilter applied to the fields of a raw event tuple, as logged (no conversions)."""

    def __init__(self, event_filter: EventFilter) -> None:
        self.vectors = None if event_filter.vectors is None else {b"%02x" % v for v in event_filter.vectors}
        self.cpl = None if event_filter.cpl is None else b"%d" % event_filter.cpl
        self.kind = None if event_filter.kind is None else event_filter.kind.value
        self.rip = event_filter.rip

    def matches(self, vector: bytes, cpl: bytes, kind: str, ip: bytes) -> bool:
        return ((self.vectors is None or vector in self.vectors)
                and (self.cpl is None or cpl == self.cpl)
                and (self.kind is None or kind == self.kind)
                and (self.rip is None or int(ip.partition(b":")[2], 16) in self.rip))


def require_events(report: LogReport, name: str) -> None:
    """ParseError when a log holds nothing -d int wrote."""
    if report.total_events == 0 and report.triple_fault_count == 0:
        raise ParseError(f"no -d int events found in {name} (was QEMU run with -d int? it logs only under TCG)")
