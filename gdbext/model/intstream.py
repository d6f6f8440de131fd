"""The interrupt stream: interrupts and exceptions as they happen, kept in flat memory.

A source (QEMU's ``-d int`` log today, read by :class:`IntLogSource`) turns its
own records into :class:`StreamEvent` values and hands them to an
:class:`EventStream`, which keeps a bounded ring of the latest events, counts
per vector, kind and vCPU, a timeline of fixed size (:class:`Timeline`), and
the first event that matches a catchpoint (:class:`Catch`).

The kinds of event are those of SDM Vol. 3A 6.3 (external interrupts,
exceptions, software INT n); "user" is CPL 3 and "kernel" CPL 0-2 at the moment
of the event (SDM Vol. 3A 5.5, privilege levels).
"""

from __future__ import annotations

import collections
import enum

from .exception_vectors import EventKind
from .intlog import IntEvent, IntLogReader, LogMark, Malformed, Mark, Timeline
from .record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

RING = 4096
BUCKETS = 60
USER_CPL = 3


@record(slots=True)
class StreamEvent:
    """One interrupt or exception from any source.

    ``index`` counts the events of the stream from 0; ``cpu`` is None when the
    source does not say which vCPU took it; ``error_code`` is None when none was
    pushed; ``where`` is the source's own position (a log line). The trace plugin also
    gives ``time_ns`` (since it started), ``handler`` (the address the CPU entered) and
    ``depth`` (handlers of that vCPU open when it came); the log gives none of them.
    """

    index: int
    source: str
    cpu: int | None
    vector: int
    kind: EventKind
    error_code: int | None
    cpl: int | None
    cs: int | None
    rip: int | None
    cr2: int | None
    where: int | None
    time_ns: int | None = None
    handler: int | None = None
    depth: int | None = None


class CatchKind(enum.Enum):
    EXCEPTION = "exception"
    TRIPLE_FAULT = "triple-fault"


class Privilege(enum.Enum):
    """Where the CPU was when the event came: CPL 3, or CPL 0-2."""

    USER = "user"
    KERNEL = "kernel"


@record
class Catch:
    """Stop the guest when the stream shows this: an exception (``vector``, optionally only
    from user or kernel mode) or a triple fault."""

    kind: CatchKind
    vector: int | None = None
    privilege: Privilege | None = None

    def matches(self, event: StreamEvent) -> bool:
        if self.kind is not CatchKind.EXCEPTION or event.vector != self.vector:
            return False
        if event.kind is not EventKind.EXCEPTION:
            return False
        if self.privilege is None:
            return True
        if event.cpl is None:
            return False
        return (event.cpl == USER_CPL) == (self.privilege is Privilege.USER)


@record
class Caught:
    """What a catchpoint saw: the catch, and the event (None for a triple fault) or the source position."""

    catch: Catch
    event: StreamEvent | None
    where: int | None


class EventStream:
    """The latest ``ring`` events, counts and a timeline; memory does not grow with the stream.

    ``catches`` are watched on every event; the first match is kept in
    ``caught`` until :meth:`take_caught` (a triple fault always ends in
    ``caught`` when a triple-fault catch is set).
    """

    def __init__(self, ring: int = RING, buckets: int = BUCKETS) -> None:
        self.recent: collections.deque[StreamEvent] = collections.deque(maxlen=ring)
        self.total = 0
        self.by_vector: dict[int, int] = {}
        self.by_kind: dict[EventKind, int] = {}
        self.by_cpu: dict[int | None, int] = {}
        self.timeline = Timeline(buckets)
        self.triple_faults = 0
        self.resets = 0
        self.malformed = 0
        #: deliveries whose handler the IDT known at the time did not name (trace plugin only)
        self.unnamed = 0
        self.catches: list[Catch] = []
        self.caught: Caught | None = None

    def add(self, source: str, cpu: int | None, vector: int, kind: EventKind, error_code: int | None,
            cpl: int | None, cs: int | None, rip: int | None, cr2: int | None, where: int | None,
            time_ns: int | None = None, handler: int | None = None, depth: int | None = None) -> StreamEvent:
        """Take one event (the next index is given here); returns it."""
        event = StreamEvent(self.total, source, cpu, vector, kind, error_code, cpl, cs, rip, cr2, where, time_ns,
                            handler, depth)
        self.total += 1
        self.recent.append(event)
        self.by_vector[vector] = self.by_vector.get(vector, 0) + 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        self.by_cpu[cpu] = self.by_cpu.get(cpu, 0) + 1
        timeline = self.timeline
        while event.index // timeline.width >= timeline.buckets:
            timeline.halve()
        row = timeline.rows.get(vector)
        if row is None:
            row = timeline.rows[vector] = [0] * timeline.buckets
        row[event.index // timeline.width] += 1
        if self.caught is None:
            for catch in self.catches:
                if catch.matches(event):
                    self.caught = Caught(catch, event, where)
                    break
        return event

    def triple_fault(self, where: int | None) -> None:
        self.triple_faults += 1
        if self.caught is None:
            for catch in self.catches:
                if catch.kind is CatchKind.TRIPLE_FAULT:
                    self.caught = Caught(catch, None, where)
                    break

    def take_caught(self) -> Caught | None:
        caught, self.caught = self.caught, None
        return caught

    def select(self, vectors: frozenset[int] | None = None, cpu: int | None = None,
               last: int | None = None) -> list[StreamEvent]:
        """The kept events that match, oldest first, at most the ``last`` ones."""
        chosen = [event for event in self.recent
                  if (vectors is None or event.vector in vectors) and (cpu is None or event.cpu == cpu)]
        return chosen if last is None else chosen[max(0, len(chosen) - last):]


class IntLogSource:
    """QEMU's ``-d int`` log as a source of the stream, fed in chunks of any size (a partial
    last line waits for the next chunk).

    The log does not name the vCPU of an event: ``cpu`` is given when the machine has
    only one, else events carry None. With ``events=False`` only the triple faults, resets
    and malformed lines count (another source, the trace plugin, gives the events).
    """

    NAME = "log"

    def __init__(self, stream: EventStream, cpu: int | None = None, events: bool = True) -> None:
        self.stream = stream
        self.cpu = cpu
        self.events = events
        self.reader = IntLogReader()

    def feed(self, chunk: bytes) -> None:
        self._take(self.reader.feed(chunk))

    def close(self) -> None:
        self._take(self.reader.close())

    def _take(self, records: Iterable[object]) -> None:
        stream, cpu, name = self.stream, self.cpu, self.NAME
        for item in records:
            if isinstance(item, IntEvent):
                if not self.events:
                    continue
                stream.add(name, cpu, item.vector, item.kind, item.error_code if item.pushes_error_code else None,
                           item.cpl, item.cs, item.rip, item.cr2, item.line)
            elif isinstance(item, LogMark):
                if item.mark is Mark.TRIPLE_FAULT:
                    stream.triple_fault(item.line)
                elif item.mark is Mark.CPU_RESET:
                    stream.resets += 1
            elif isinstance(item, Malformed):
                stream.malformed += 1

