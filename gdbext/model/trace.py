"""The trace plugin's stream (gdbext/plugin/idtscope_trace.c; docs/trace.md): parse, name, pair.

One line per record, fields separated by one space, numbers in hex except the vCPU,
the time and the instruction count (decimal); ``-`` marks a value the plugin could
not read::

    # idtscope-trace 1 api=7 target=x86_64 vcpus=2 icount=on
    I 0 3957497287 12947680 100f40 100dad 21ffd8 100f40 8 246     an interrupt delivered
    E 0 784633578 12785037 102000 102000 301000 0 0 0            an exception raised
    R 0 3957502424 12947692 100dd7 21ffd8                         an IRET

``I``/``E``: vCPU, nanoseconds since the plugin started, instructions that vCPU has
executed (``-`` without ``icount=on``), the PC it left, the PC it entered (the handler),
then RSP after the CPU pushed its frame and the three 8-byte slots at RSP. ``R``: vCPU,
time, count, the address of the IRET and RSP as it starts to pop its frame.

Vectors are not in the stream (QEMU's callback does not give them): :func:`vectors_by_handler`
matches the entered PC against the guest's IDT. In the 64-bit frame (SDM Vol. 3A 6.14.2,
Figure 6-9) the first slot is the error code when the exception pushes one (SDM 3A 6.13),
else the saved RIP, which CS follows; IRET pops RIP from the slot the frame put it in, so a delivery and the
IRET whose RSP is that slot are one handler's entry and exit (:class:`Pairing`).
"""

from __future__ import annotations

from ..errors import ParseError
from .record import record, replace
from .vectors import vector as vector_row

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

MAGIC = "idtscope-trace"
FORMAT_VERSION = 1
INTERRUPT, EXCEPTION = "interrupt", "exception"
KINDS = {"I": INTERRUPT, "E": EXCEPTION}
SLOT_BYTES = 8
USER_CPL = 3
MAX_INSTRUCTION = 15
MAX_LINE = 4096


@record(slots=True)
class TraceHeader:
    version: int
    fields: dict[str, str]


@record(slots=True)
class Delivery:
    """An interrupt or exception as the CPU entered its handler."""

    line: int
    kind: str
    cpu: int
    time_ns: int
    icount: int | None
    from_pc: int
    to_pc: int
    rsp: int | None
    slot0: int | None
    slot1: int | None
    slot2: int | None


@record(slots=True)
class Return:
    """An IRET about to pop the frame at ``rsp``."""

    line: int
    cpu: int
    time_ns: int
    icount: int | None
    pc: int
    rsp: int | None


@record(slots=True)
class BadLine:
    line: int
    text: str
    reason: str


def _number(text: str, base: int, what: str) -> int | None:
    if text == "-":
        return None
    try:
        value = int(text, base)
    except ValueError:
        raise ParseError(f"{what} {text!r} is not a number") from None
    if value < 0 or value >= 1 << 64:
        raise ParseError(f"{what} {text!r} is out of range")
    return value


def _required(text: str, base: int, what: str) -> int:
    value = _number(text, base, what)
    if value is None:
        raise ParseError(f"{what} is missing")
    return value


def parse_line(text: str, line: int) -> TraceHeader | Delivery | Return:
    """One line of the stream (without its newline); ParseError when it is not one."""
    fields = text.split(" ")
    tag = fields[0]
    if tag == "#":
        if len(fields) < 3 or fields[1] != MAGIC:
            raise ParseError(f"not an {MAGIC} header")
        version = _required(fields[2], 10, "format version")
        if version != FORMAT_VERSION:
            raise ParseError(f"format version {version}; this idtscope reads version {FORMAT_VERSION}")
        return TraceHeader(version, dict(field.partition("=")[::2] for field in fields[3:]))
    if tag in KINDS:
        if len(fields) != 10:
            raise ParseError(f"{tag} record with {len(fields)} fields instead of 10")
        return Delivery(line, KINDS[tag], _required(fields[1], 10, "vCPU"), _required(fields[2], 10, "time"),
                        _number(fields[3], 10, "instruction count"), _required(fields[4], 16, "from-PC"),
                        _required(fields[5], 16, "to-PC"), _number(fields[6], 16, "RSP"),
                        _number(fields[7], 16, "stack slot 0"), _number(fields[8], 16, "stack slot 1"),
                        _number(fields[9], 16, "stack slot 2"))
    if tag == "R":
        if len(fields) != 6:
            raise ParseError(f"R record with {len(fields)} fields instead of 6")
        return Return(line, _required(fields[1], 10, "vCPU"), _required(fields[2], 10, "time"),
                      _number(fields[3], 10, "instruction count"), _required(fields[4], 16, "IRET address"),
                      _number(fields[5], 16, "RSP"))
    raise ParseError(f"unknown record type {tag[:10]!r}")


def format_record(item: TraceHeader | Delivery | Return) -> str:
    """The line the plugin writes for ``item`` (the inverse of :func:`parse_line`)."""
    def opt(value: int | None, hexadecimal: bool = True) -> str:
        return "-" if value is None else (f"{value:x}" if hexadecimal else str(value))

    if isinstance(item, TraceHeader):
        return " ".join(["#", MAGIC, str(item.version), *(f"{k}={v}" for k, v in item.fields.items())])
    if isinstance(item, Delivery):
        tag = "I" if item.kind == INTERRUPT else "E"
        return (f"{tag} {item.cpu} {item.time_ns} {opt(item.icount, False)} {item.from_pc:x} {item.to_pc:x} "
                f"{opt(item.rsp)} {opt(item.slot0)} {opt(item.slot1)} {opt(item.slot2)}")
    return f"R {item.cpu} {item.time_ns} {opt(item.icount, False)} {item.pc:x} {opt(item.rsp)}"


class TraceReader:
    """Turns chunks of the stream into records, keeping a partial last line for the next chunk
    (the file grows while QEMU runs). Lines that do not parse become :class:`BadLine`."""

    def __init__(self) -> None:
        self._carry = b""
        self.lines = 0
        self.header: TraceHeader | None = None

    def feed(self, chunk: bytes) -> Iterator[Delivery | Return | BadLine]:
        data = self._carry + chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._carry = data if len(data) <= MAX_LINE else b""
            return iter(())
        self._carry = data[end + 1:]
        return self._parse(data[:end].split(b"\n"))

    def close(self) -> Iterator[Delivery | Return | BadLine]:
        """The last line when it has no newline: QEMU was stopped while writing it."""
        rest, self._carry = self._carry, b""
        if not rest:
            return iter(())
        self.lines += 1
        return iter((BadLine(self.lines, rest.decode(errors="replace")[:160], "cut short (no newline)"),))

    def _parse(self, lines: list[bytes]) -> Iterator[Delivery | Return | BadLine]:
        for raw in lines:
            self.lines += 1
            text = raw.decode(errors="replace").rstrip("\r")
            try:
                item = parse_line(text, self.lines)
            except ParseError as error:
                yield BadLine(self.lines, text[:160], str(error))
                continue
            if isinstance(item, TraceHeader):
                self.header = item
            else:
                yield item


def vectors_by_handler(handlers: Mapping[int, int]) -> dict[int, tuple[int, ...]]:
    """Handler address -> the vectors whose gate enters it, from ``{vector: handler}``."""
    found: dict[int, list[int]] = {}
    for number in sorted(handlers):
        found.setdefault(handlers[number], []).append(number)
    return {address: tuple(numbers) for address, numbers in found.items()}


@record(slots=True)
class Handled:
    """A delivery with its vector, error code and (once its IRET is seen) its return.

    ``exception``: the CPU raised it at ``from_pc`` (``raised`` times: 2 or 3 when delivering
    one exception raised another, as on the way to a #DF); otherwise an external interrupt.

    ``vectors``: every vector whose gate enters ``to_pc`` (one when the IDT is unambiguous,
    none for a handler the IDT does not name). ``error_code`` is set for an exception that
    pushed one (see :func:`classify`). ``saved_rip``: the RIP the CPU pushed. ``frame``: where
    IRET will find it (None: no 64-bit frame was recognised, so no pairing). ``cs``: the CS
    the CPU pushed (its RPL is the CPL the event came from). ``depth``: how many
    handlers of the same vCPU were open when it began (0 = not nested). ``parent``: the
    index of the innermost of them. ``end_ns``: the time of its IRET (None: not seen).
    """

    index: int
    delivery: Delivery
    exception: bool
    raised: int
    vectors: tuple[int, ...]
    error_code: int | None
    saved_rip: int | None
    frame: int | None
    cs: int | None
    depth: int
    parent: int | None
    end_ns: int | None = None

    @property
    def vector(self) -> int | None:
        return self.vectors[0] if len(self.vectors) == 1 else None

    @property
    def cpl(self) -> int | None:
        return None if self.cs is None else self.cs & 3

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.delivery.time_ns


def _saved_rip_fits(saved_rip: int | None, from_pc: int) -> bool:
    """The RIP a frame saved is the instruction the event left or the next one: a fault and an
    interrupt save ``from_pc`` itself, a trap (INT n, INT3) the instruction after it (SDM 3A 6.5),
    at most 15 bytes on (SDM Vol. 2A 2.3.11)."""
    return saved_rip is not None and 0 <= saved_rip - from_pc <= MAX_INSTRUCTION


def classify(delivery: Delivery, exception: bool, by_handler: Mapping[int, tuple[int, ...]]) -> tuple[
        tuple[int, ...], int | None, int | None, int | None, int | None]:
    """The vectors, error code, saved RIP, frame address (where IRET finds RIP) and saved CS of one delivery.

    Only an exception can push an error code, and only one whose vector has one (when the IDT
    names a single vector for the handler). Whether it did shows in the frame too: the saved
    RIP fits ``from_pc`` in the second slot, not in the first. A delivery whose slots hold no
    RIP that fits (a real-mode or 32-bit frame, an unreadable stack) has no frame: it cannot
    be paired or nested.
    """
    vectors = by_handler.get(delivery.to_pc, ())
    if delivery.rsp is None:
        return vectors, None, None, None, None
    may_push = exception and (len(vectors) != 1 or vector_row(vectors[0]).pushes_error_code)
    if may_push and not _saved_rip_fits(delivery.slot0, delivery.from_pc) \
            and _saved_rip_fits(delivery.slot1, delivery.from_pc):
        return vectors, delivery.slot0, delivery.slot1, delivery.rsp + SLOT_BYTES, delivery.slot2
    if _saved_rip_fits(delivery.slot0, delivery.from_pc):
        return vectors, None, delivery.slot0, delivery.rsp, delivery.slot1
    return vectors, None, None, None, None


class OpenHandlers:
    """Names each delivery and matches each IRET with the delivery whose frame it pops, per vCPU,
    keeping only the handlers still open (memory does not grow with the stream).

    QEMU (x86) reports an exception twice: when it is raised (an ``E`` record whose to-PC is
    still its from-PC, the start of the translated block rather than the instruction) and
    when it is delivered (an ``I`` record from the faulting instruction into the handler); an
    external interrupt only once. A delivery right after raises on the same vCPU is that
    exception's.

    Each vCPU keeps a stack of open handlers (at most ``MAX_OPEN``: deeper, the outermost is
    dropped as left without IRET). An IRET whose RSP is the frame of an open handler closes
    it and every handler above it (those left by another way than IRET); an IRET that pops
    no recorded frame (a kernel entering user mode with IRET, or Linux returning to user
    mode from a copy of the frame on its entry stack) is counted in ``unpaired_returns`` and
    closes nothing. An event from CPL 3 cannot be nested in a handler: it ends every handler
    still open on its vCPU (``abandoned``).

    :meth:`delivered` and :meth:`returned` are told of each delivery and each paired return.
    """

    MAX_OPEN = 64

    def __init__(self, handlers: Mapping[int, int]) -> None:
        self.by_handler = vectors_by_handler(handlers)
        self.count = 0
        self.unpaired_returns = 0
        self.abandoned = 0
        self._open: dict[int, list[Handled]] = {}
        self._raised: dict[int, int] = {}  # vCPU -> raises not yet delivered

    def feed(self, items: Iterable[Delivery | Return | BadLine]) -> None:
        for item in items:
            if isinstance(item, Delivery):
                if item.kind == EXCEPTION and item.from_pc == item.to_pc:
                    self._raised[item.cpu] = self._raised.get(item.cpu, 0) + 1
                else:
                    self._deliver(item)
            elif isinstance(item, Return):
                self._raised.pop(item.cpu, None)
                self._return(item)

    def delivered(self, handled: Handled) -> None:
        """A delivery, named."""

    def returned(self, handled: Handled) -> None:
        """A handler left by the IRET that popped its frame (``end_ns`` set)."""

    def _deliver(self, delivery: Delivery) -> None:
        raised = self._raised.pop(delivery.cpu, 0)
        exception = raised > 0 or delivery.kind == EXCEPTION
        vectors, error_code, saved_rip, frame, cs = classify(delivery, exception, self.by_handler)
        stack = self._open.setdefault(delivery.cpu, [])
        if cs is not None and cs & 3 == USER_CPL:
            self.abandoned += len(stack)
            stack.clear()
        handled = Handled(self.count, delivery, exception, raised if exception else 0, vectors, error_code,
                          saved_rip, frame, cs, len(stack), stack[-1].index if stack else None)
        self.count += 1
        self.delivered(handled)
        if frame is not None:
            if len(stack) == self.MAX_OPEN:
                del stack[0]
                self.abandoned += 1
            stack.append(handled)

    def _return(self, item: Return) -> None:
        stack = self._open.get(item.cpu, [])
        for position in range(len(stack) - 1, -1, -1):
            handled = stack[position]
            if item.rsp is not None and handled.frame == item.rsp:
                self.abandoned += len(stack) - position - 1
                del stack[position:]
                self.returned(replace(handled, end_ns=item.time_ns))
                return
        self.unpaired_returns += 1

    def still_open(self) -> list[Handled]:
        """Handlers entered and not yet left, per vCPU from the outermost."""
        return [handled for stack in self._open.values() for handled in stack]


class Pairing(OpenHandlers):
    """:class:`OpenHandlers` keeping every delivery in ``handled`` (a whole trace read offline),
    each with its return once seen; ``parent`` is an index into ``handled``."""

    def __init__(self, handlers: Mapping[int, int]) -> None:
        super().__init__(handlers)
        self.handled: list[Handled] = []

    def delivered(self, handled: Handled) -> None:
        self.handled.append(handled)

    def returned(self, handled: Handled) -> None:
        self.handled[handled.index] = handled
