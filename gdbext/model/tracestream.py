"""The trace plugin's stream (gdbext/model/trace.py) followed live, in flat memory.

:class:`TraceSource` is fed the stream in chunks of any size as QEMU writes it. Each
delivery is named from the IDT known so far (``learn_idt``: the session reads it from
the stopped guest) and, when named, goes to the :class:`EventStream` like an event
of the ``-d int`` log, with its vCPU, time, handler and nesting depth. Beside it,
:class:`HandlerStats` keeps per handler address and vCPU: deliveries, nesting, and
the time from the delivery to the IRET that pops its frame (SDM Vol. 3A 6.14.2,
"IRET": the handler's latency); per vCPU the time inside outermost handlers; and a
timeline of deliveries over time. Handlers are named at query time, so deliveries
seen before the IDT was read are named once it is.

Only handlers still open are kept (:class:`gdbext.model.trace.OpenHandlers`); the
distributions of durations are log-scale histograms (:class:`Durations`) whose median
is within 1/32 of the exact one; everything else is exact.
"""

from __future__ import annotations

from .exception_vectors import FIRST_USER_VECTOR, EventKind
from .trace import BadLine, OpenHandlers, TraceReader, vectors_by_handler

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .intstream import EventStream
    from .trace import Delivery, Handled, Return

NAME = "plugin"
#: significant bits a duration keeps in its histogram bucket (relative error < 2**-(BITS-1))
BITS = 6
BUCKETS = 60
#: the first timeline column's width; it doubles whenever the stream outgrows the columns
FIRST_WIDTH_NS = 1_000_000
#: distinct handler addresses kept apart; deliveries to any further one are counted in ``other``
MAX_HANDLERS = 1024


class Durations:
    """Count, sum, min, max and a log-scale histogram of durations (ns)."""

    __slots__ = ("count", "total", "least", "most", "buckets")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.least: int | None = None
        self.most: int | None = None
        self.buckets: dict[int, int] = {}

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value
        self.least = value if self.least is None else min(self.least, value)
        self.most = value if self.most is None else max(self.most, value)
        shift = max(value.bit_length() - BITS, 0)
        key = (shift << BITS) | (value >> shift)
        self.buckets[key] = self.buckets.get(key, 0) + 1

    def merge(self, other: Durations) -> None:
        self.count += other.count
        self.total += other.total
        for value in (other.least, other.most):
            if value is not None:
                self.least = value if self.least is None else min(self.least, value)
                self.most = value if self.most is None else max(self.most, value)
        for key, count in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + count

    def median(self) -> int | None:
        """The lower median, rounded down to its bucket: exact below 2**BITS ns, else within 1/32."""
        if not self.count:
            return None
        rank = (self.count - 1) // 2
        for key in sorted(self.buckets):
            rank -= self.buckets[key]
            if rank < 0:
                shift, top = key >> BITS, key & ((1 << BITS) - 1)
                return max(top << shift, self.least or 0)
        return self.most


class Cell:
    """One handler on one vCPU: deliveries, how many were exceptions and nested, the deepest
    nesting, and the durations of those whose IRET was seen."""

    __slots__ = ("count", "exceptions", "nested", "max_depth", "durations", "error_codes")

    def __init__(self) -> None:
        self.count = 0
        self.exceptions = 0
        self.nested = 0
        self.max_depth = 0
        self.durations = Durations()
        self.error_codes: set[int] = set()


class CpuTotals:
    """One vCPU: deliveries, nested ones, the deepest nesting, time inside outermost handlers."""

    __slots__ = ("events", "nested", "max_depth", "in_handlers_ns")

    def __init__(self) -> None:
        self.events = 0
        self.nested = 0
        self.max_depth = 0
        self.in_handlers_ns = 0


class TraceTimeline:
    """Deliveries per handler over time, in ``buckets`` columns of ``width_ns`` from the first
    delivery; when time outgrows them, neighbouring columns are merged and the width doubles."""

    def __init__(self, buckets: int = BUCKETS, width_ns: int = FIRST_WIDTH_NS) -> None:
        self.buckets = buckets
        self.width_ns = width_ns
        self.start_ns: int | None = None
        self.rows: dict[int | None, list[int]] = {}

    def add(self, handler: int | None, time_ns: int) -> None:
        if self.start_ns is None:
            self.start_ns = time_ns
        offset = max(time_ns - self.start_ns, 0)
        while offset // self.width_ns >= self.buckets:
            self._halve()
        row = self.rows.get(handler)
        if row is None:
            row = self.rows[handler] = [0] * self.buckets
        row[offset // self.width_ns] += 1

    def _halve(self) -> None:
        for handler, row in self.rows.items():
            merged = [row[i] + (row[i + 1] if i + 1 < len(row) else 0) for i in range(0, len(row), 2)]
            self.rows[handler] = merged + [0] * (self.buckets - len(merged))
        self.width_ns *= 2


class HandlerStats:
    """What the stream showed per handler address and vCPU (see the module docstring).

    Handler keys are addresses; past ``MAX_HANDLERS`` distinct ones, None stands for the rest.
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[int | None, int], Cell] = {}
        self.cpus: dict[int, CpuTotals] = {}
        self.timeline = TraceTimeline()
        self.handlers: set[int] = set()
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.deliveries = 0
        self.paired = 0

    def key(self, handler: int) -> int | None:
        if handler in self.handlers:
            return handler
        if len(self.handlers) < MAX_HANDLERS:
            self.handlers.add(handler)
            return handler
        return None

    def delivered(self, handled: Handled) -> None:
        delivery = handled.delivery
        self._saw(delivery.time_ns)
        self.deliveries += 1
        key = self.key(delivery.to_pc)
        cell = self.cells.get((key, delivery.cpu))
        if cell is None:
            cell = self.cells[(key, delivery.cpu)] = Cell()
        cell.count += 1
        cell.exceptions += handled.exception
        cell.nested += handled.depth > 0
        cell.max_depth = max(cell.max_depth, handled.depth)
        if handled.error_code is not None and len(cell.error_codes) < 16:
            cell.error_codes.add(handled.error_code)
        cpu = self.cpus.get(delivery.cpu)
        if cpu is None:
            cpu = self.cpus[delivery.cpu] = CpuTotals()
        cpu.events += 1
        cpu.nested += handled.depth > 0
        cpu.max_depth = max(cpu.max_depth, handled.depth)
        self.timeline.add(key, delivery.time_ns)

    def returned(self, handled: Handled) -> None:
        end, duration = handled.end_ns, handled.duration_ns
        if end is None or duration is None:
            return
        self._saw(end)
        self.paired += 1
        delivery = handled.delivery
        key = delivery.to_pc if delivery.to_pc in self.handlers else None
        cell = self.cells.get((key, delivery.cpu))
        if cell is not None:
            cell.durations.add(duration)
        if handled.depth == 0:
            self.cpus[delivery.cpu].in_handlers_ns += duration

    def _saw(self, time_ns: int) -> None:
        self.first_ns = time_ns if self.first_ns is None else min(self.first_ns, time_ns)
        self.last_ns = time_ns if self.last_ns is None else max(self.last_ns, time_ns)

    @property
    def span_ns(self) -> int:
        if self.first_ns is None or self.last_ns is None:
            return 0
        return max(self.last_ns - self.first_ns, 1)


def event_kind(exception: bool, vector: int) -> EventKind:
    """An exception the CPU raised (below 32) or INT n (32 and up), or an external interrupt."""
    if not exception:
        return EventKind.IRQ
    return EventKind.EXCEPTION if vector < FIRST_USER_VECTOR else EventKind.SOFTWARE


class _Pairing(OpenHandlers):
    """Open handlers that tell the source of each delivery and return."""

    def __init__(self, source: TraceSource) -> None:
        super().__init__({})
        self.source = source

    def delivered(self, handled: Handled) -> None:
        self.source.delivered(handled)

    def returned(self, handled: Handled) -> None:
        self.source.stats.returned(handled)


class TraceSource:
    """The plugin's stream as a source of the :class:`EventStream` and of :class:`HandlerStats`."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.stats = HandlerStats()
        self.reader = TraceReader()
        self.pairing = _Pairing(self)

    def learn_idt(self, handlers: Mapping[int, int]) -> None:
        """``{vector: handler}`` of the guest's IDT, for deliveries from now on and for naming
        what was seen: an address an older IDT entered keeps its vectors unless this one enters it."""
        known = dict(self.pairing.by_handler)
        known.update(vectors_by_handler(handlers))
        self.pairing.by_handler = known

    def vectors_of(self, handler: int) -> tuple[int, ...]:
        return self.pairing.by_handler.get(handler, ())

    def feed(self, chunk: bytes) -> None:
        self._take(self.reader.feed(chunk))

    def close(self) -> None:
        self._take(self.reader.close())

    def _take(self, items: Iterable[Delivery | Return | BadLine]) -> None:
        for item in items:
            if isinstance(item, BadLine):
                self.stream.malformed += 1
            else:
                self.pairing.feed((item,))

    def delivered(self, handled: Handled) -> None:
        self.stats.delivered(handled)
        vector = handled.vector
        if vector is None:
            self.stream.unnamed += 1
            return
        delivery = handled.delivery
        self.stream.add(NAME, delivery.cpu, vector, event_kind(handled.exception, vector), handled.error_code,
                        handled.cpl, handled.cs, delivery.from_pc if handled.saved_rip is None else handled.saved_rip,
                        None, delivery.line, delivery.time_ns, delivery.to_pc, handled.depth)
