"""Read a QEMU `-d int` log or the idtscope trace plugin's stream: events, counts per vector,
a timeline, triple-fault forensics; from the plugin also time in handlers, nesting, IRETs.

QEMU writes the log only under TCG, and details an event only once CR0.PE is set:
  qemu-system-x86_64 -accel tcg -no-reboot -d int,cpu_reset -D qemu.log ...
The file is streamed: any size works, memory stays flat.
Examples:
  log qemu.log                            summary, timeline and any triple fault explained
  log qemu.log --events --limit 20        the first 20 events
  log qemu.log --vector '#PF' --events    page faults only (repeat --vector for more)
  log qemu.log --kind irq --cpl 3         hardware interrupts that arrived in user mode
  log qemu.log --rip 0x100000-0x1fffff    events whose RIP lies in a range
  log qemu.log --plot timeline.svg        also draw the timeline (.svg, or .html)
  log qemu.log --json                     {"events", "vectors", "triple_faults", ...}
  log qemu.log --snapshot guest.snap      each vector named by the guest's own IDT handler
  log qemu.log --symbols System.map       each vector named by the handler Linux installs there
  log trace.txt --snapshot guest.snap     a trace plugin stream (docs/trace.md): vectors matched
                                          against the snapshot's IDT, durations, nesting per vCPU
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import ParseError, UsageError
from ..model.exception_vectors import SELECTOR_ERROR_VECTORS, ExceptionVector
from ..model.intlog import (
    EventFilter,
    EventKind,
    IntEvent,
    LogAnalysis,
    LogReport,
    Malformed,
    Timeline,
    require_events,
)
from ..model.numbers import parse_int
from ..model.triplefault import ChainStep, TripleFault
from . import shapes
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

#: changes what the guest or session does (a one-shot run goes through gdb)
READ_ONLY = False

CHUNK_BYTES = 1 << 20
PROGRESS_MIN_BYTES = 16 << 20
PROGRESS_INTERVAL = 0.2
TIMELINE_BUCKETS = 60
KINDS = tuple(kind.value for kind in EventKind)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="the log QEMU wrote with -d int (-D FILE), or the trace plugin's out=FILE")
    parser.add_argument("--vector", action="append", metavar="V",
                        help="only this vector: number, mnemonic or name (repeatable)")
    parser.add_argument("--cpl", choices=("0", "1", "2", "3"), help="only events taken at this CPL")
    parser.add_argument("--kind", choices=KINDS, help="only hardware interrupts, exceptions or INT n")
    parser.add_argument("--rip", metavar="LO-HI", help="only events whose RIP is in LO..HI (inclusive)")
    parser.add_argument("--events", action="store_true", help="list the events, not only the summary")
    parser.add_argument("--limit", default="50", metavar="N", help="events that --events lists (default 50)")
    parser.add_argument("--top", default="12", metavar="N", help="vectors in the timeline (default 12)")
    parser.add_argument("--plot", metavar="FILE", help="write the timeline as SVG (.svg) or HTML (.html)")
    names = parser.add_mutually_exclusive_group()
    names.add_argument("--snapshot", metavar="FILE",
                       help="name each vector by the handler the snapshot's IDT (of its selected vCPU) enters")
    names.add_argument("--symbols", metavar="FILE",
                       help="name each vector by the handler Linux installs there, from this Linux symbol table")


def run(context: Context, args: argparse.Namespace) -> Result:
    from . import trace_stream

    if trace_stream.is_trace(Path(args.file)):
        return run_trace(args)
    event_filter = build_filter(args.vector, args.cpl, args.kind, args.rip)
    limit = _count(args.limit, "--limit")
    top = _count(args.top, "--top")
    plot = _plot_path(args.plot) if args.plot else None
    path = Path(args.file)
    # a regular file can be read again for line numbers; a pipe cannot (lines counted as read)
    analysis = LogAnalysis(event_filter, keep=limit if args.events else 0, buckets=TIMELINE_BUCKETS,
                           lines_before=LineCounter(path) if path.is_file() else None)
    handlers, bases = guest_handlers(args.snapshot, args.symbols)
    read_log(path, analysis, sys.stderr)
    report = analysis.report()
    require_events(report, str(path))
    data = log_data(report, str(path), event_filter, top, handlers, bases)
    if plot is not None:
        from ..render.plot import write_plot

        write_plot(plot, data)
        data["plot"] = str(plot)
    return Result("log.log", data)


def run_trace(args: argparse.Namespace) -> Result:
    """`log` on the trace plugin's stream: vectors from the snapshot's IDT or Linux's symbols."""
    from . import trace_stream

    if args.plot:
        raise UsageError("--plot draws -d int logs; a trace's timeline is in its text and --json")
    if args.kind == "software":
        raise UsageError("--kind software: the trace plugin's stream tells exceptions (INT n among them) "
                         "from hardware interrupts only")
    if args.vector and not (args.snapshot or args.symbols):
        raise UsageError("--vector on a trace needs the guest's IDT: give --snapshot (or --symbols for Linux)")
    vectors = frozenset(_vector_numbers(args.vector)) if args.vector else None
    rip = parse_address_range(args.rip) if args.rip else None
    handlers, names = trace_stream.handler_addresses(args.snapshot, args.symbols)
    cpl = None if args.cpl is None else int(args.cpl)
    data = trace_stream.trace_data(Path(args.file), handlers, names, vectors, args.kind, cpl, rip,
                                   _count(args.limit, "--limit"), _count(args.top, "--top"), args.events)
    return Result("trace.trace_log", data)


def _vector_numbers(texts: list[str]) -> list[int]:
    from ..model.vectors import lookup

    return [lookup(text).number for text in texts]


def guest_handlers(snapshot: str | None, symbols: str | None) -> tuple[dict[int, str | None] | None,
                                                                     tuple[int, int] | None]:
    """vector -> the handler symbol its gate enters, and the 8259A bases, as far as known.

    From a snapshot: its saved IDT and names. From a symbol table: the entry point Linux
    installs on each vector (model.vectors, LinuxUse.handler) when the table holds it;
    UsageError for a table with none of Linux's exception entry points.
    """
    if snapshot is not None:
        from ..machine.frames import entry_point
        from ..machine.tables import read_idt
        from ..target.snapshot import SnapshotTarget
        from .idt import pic_bases

        target = SnapshotTarget.open(snapshot)
        view = read_idt(target, target.selected_cpu())
        points = {slot.vector: entry_point(target, view.cpu, slot.entry)[0] for slot in view.slots}
        names = target.symbolize_many([address for address in points.values() if address is not None])
        return ({vector: None if address is None else names.get(address) for vector, address in points.items()},
                pic_bases(target))
    if symbols is not None:
        from ..model.vectors import VECTORS
        from ..symbols import SymbolTable
        from ..symbols.fit import linux_entry_points

        table = SymbolTable.load(symbols)
        if not any(table.address_of(name) is not None for name in linux_entry_points().values()):
            raise UsageError(f"{symbols} holds none of Linux's exception entry points: --symbols names vectors"
                             " by Linux's handlers (for another guest, save a snapshot and give --snapshot)")
        return {row.number: row.linux.handler for row in VECTORS
                if row.linux is not None and table.address_of(row.linux.handler) is not None}, None
    return None, None


def build_filter(vectors: list[str] | None, cpl: str | None, kind: str | None, rip: str | None) -> EventFilter:
    """The event filter the options ask for; UsageError for a vector or range that makes no sense."""
    from ..model.vectors import lookup

    return EventFilter(
        vectors=frozenset(lookup(text).number for text in vectors) if vectors else None,
        cpl=None if cpl is None else int(cpl),
        kind=None if kind is None else EventKind(kind),
        rip=None if rip is None else parse_address_range(rip),
    )


def parse_address_range(text: str) -> range:
    """``LO-HI`` (or one address) as an inclusive range of addresses."""
    low_text, _, high_text = text.partition("-")
    try:
        low = parse_int(low_text, "RIP range start")
        high = parse_int(high_text, "RIP range end") if high_text else low
    except ParseError as error:
        raise UsageError(str(error)) from None
    if low > high or high >= 1 << 64:
        raise UsageError(f"RIP range {text!r} must be LO-HI with LO <= HI < 2**64")
    return range(low, high + 1)


def _count(text: str, option: str) -> int:
    try:
        value = parse_int(text, option)
    except ParseError as error:
        raise UsageError(str(error)) from None
    if value == 0:
        raise UsageError(f"{option} must be at least 1")
    return value


def _plot_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in (".svg", ".html", ".htm"):
        raise UsageError(f"--plot {text!r}: give a .svg or .html file name")
    return path


def read_log(path: Path, analysis: LogAnalysis, progress_stream: TextIO) -> None:
    """Stream ``path`` into ``analysis`` in 1 MiB chunks, with a progress bar on a terminal."""
    try:
        size = path.stat().st_size
        with path.open("rb") as raw:
            chunk = raw.read(CHUNK_BYTES)
            nul = chunk.find(b"\0")
            if nul >= 0:
                raise ParseError(f"{path} is binary (a NUL byte at offset {nul}), not a QEMU -d int log")
            progress = Progress(size, progress_stream) if size >= PROGRESS_MIN_BYTES and _is_tty(progress_stream) \
                else None
            while chunk:
                analysis.feed(chunk)
                if progress is not None:
                    progress.update(raw.tell())
                chunk = raw.read(CHUNK_BYTES)
            if progress is not None:
                progress.close()
    except OSError as error:
        raise ParseError(f"cannot read {path}: {error.strerror or error}") from None


class LineCounter:
    """The newlines in the first N bytes of a file, for LogAnalysis ``lines_before``: read
    only when a record needs its line number, going on from the last count."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._count = 0

    def __call__(self, offset: int) -> int:
        if offset < self._offset:
            self._offset = self._count = 0
        try:
            with self.path.open("rb") as raw:
                raw.seek(self._offset)
                while self._offset < offset:
                    block = raw.read(min(CHUNK_BYTES, offset - self._offset))
                    if not block:
                        raise ParseError(f"{self.path} became shorter while it was read")
                    self._count += block.count(b"\n")
                    self._offset += len(block)
        except OSError as error:
            raise ParseError(f"cannot read {self.path}: {error.strerror or error}") from None
        return self._count


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """``log: [#####.....]  48%  310/640 MB`` on one terminal line, redrawn at most 5 times a second."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self._next = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + PROGRESS_INTERVAL
        fraction = min(done / self.total, 1.0)
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\rlog: [{bar}] {fraction:4.0%}  {done >> 20}/{self.total >> 20} MB")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


def log_data(report: LogReport, name: str, event_filter: EventFilter, top: int,
             handlers: dict[int, str | None] | None = None, bases: tuple[int, int] | None = None) -> dict[str, Any]:
    """The JSON document of ``log``; with ``handlers`` (guest_handlers) each vector also
    gets the guest's ``handler`` and what it means there (model.vectors.gate_meaning)."""
    from ..model.vectors import gate_meaning, legacy_irq_for_vector, vector

    total = report.total_events
    vectors = []
    for number in sorted(report.by_vector):
        row = vector(number)
        count = report.by_vector[number]
        irq = legacy_irq_for_vector(number)
        vectors.append({"vector": number, "mnemonic": row.mnemonic, "name": row.name, "count": count,
                        "per_1000": round(count * 1000 / total, 3),
                        "legacy_irq": None if irq is None else {"irq": irq.irq, "device": irq.device},
                        "handler": None if handlers is None else handlers.get(number),
                        "meaning": None if handlers is None else gate_meaning(number, handlers.get(number), bases)})
    return {
        "file": name,
        "bytes": report.size,
        "total_events": total,
        "events": report.events,
        "filter": _filter_data(event_filter),
        "first_seq": report.first_seq,
        "last_seq": report.last_seq,
        "vectors": vectors,
        "by_kind": {kind.value: report.by_kind.get(kind, 0) for kind in EventKind},
        "by_cpl": [{"cpl": cpl, "count": report.by_cpl[cpl]} for cpl in sorted(report.by_cpl)],
        "listed": [event_data(event) for event in report.listed],
        "malformed": {"count": report.malformed,
                      "lines": [_malformed_data(item) for item in report.malformed_examples]},
        "truncated": None if report.truncated is None else _malformed_data(report.truncated),
        "unlogged": {"irq": report.unlogged_irqs, "exception": report.unlogged_exceptions},
        "resets": report.resets,
        "smm_entries": report.smm_entries,
        "triple_fault_count": report.triple_fault_count,
        "triple_faults": [triple_fault_data(fault) for fault in report.triple_faults],
        "timeline": _timeline_data(report, top),
        "plot": None,
    }


def _filter_data(event_filter: EventFilter) -> dict[str, Any]:
    rip = event_filter.rip
    return {
        "vectors": None if event_filter.vectors is None else sorted(event_filter.vectors),
        "cpl": event_filter.cpl,
        "kind": None if event_filter.kind is None else event_filter.kind.value,
        "rip": None if rip is None else [rip.start, rip.stop - 1],
    }


def event_data(event: IntEvent) -> dict[str, Any]:
    from ..model.vectors import vector

    return {
        "seq": event.seq,
        "line": event.line,
        "vector": event.vector,
        "mnemonic": vector(event.vector).mnemonic,
        "kind": event.kind.value,
        "error_code": event.error_code if event.pushes_error_code else None,
        "cpl": event.cpl,
        "cs": event.cs,
        "rip": event.rip,
        "pc": event.pc,
        "ss": event.ss,
        "rsp": event.rsp,
        "cr2": event.cr2,
        "rax": event.rax,
        "promoted_from": event.promoted_from,
        "error_summary": _error_summary(event),
    }


def _error_summary(event: IntEvent) -> str | None:
    """The error code in words, for #PF and the selector-format exceptions."""
    if not event.pushes_error_code:
        return None
    if event.vector == ExceptionVector.PF:
        return shapes.page_fault(event.error_code)["summary"]
    if event.vector in SELECTOR_ERROR_VECTORS:
        return shapes.selector_error(event.error_code)["summary"]
    return None


def _step_data(step: ChainStep) -> dict[str, Any]:
    return {
        "vector": step.vector,
        "mnemonic": step.mnemonic,
        "kind": step.kind.value,
        "error_code": step.error_code,
        "cs": step.cs,
        "rip": step.rip,
        "ss": step.ss,
        "rsp": step.rsp,
        "cr2": step.cr2,
        "cpl": step.cpl,
        "seq": step.seq,
        "line": step.line,
        "logged": step.logged,
    }


def triple_fault_data(fault: TripleFault) -> dict[str, Any]:
    return {
        "line": fault.line,
        "seq": fault.seq,
        "logged": fault.logged,
        "reset": fault.reset,
        "chain": [_step_data(step) for step in fault.chain],
        "before": [_step_data(step) for step in fault.before],
        "explanation": fault.explanation,
    }


def _malformed_data(item: Malformed) -> dict[str, Any]:
    return {"line": item.line, "text": item.text, "reason": item.reason}


def _timeline_data(report: LogReport, top: int) -> dict[str, Any]:
    return timeline_data(report.timeline, report.by_vector, report.total_events, top)


def timeline_data(timeline: Timeline, by_vector: dict[int, int], total: int, top: int) -> dict[str, Any]:
    """The timeline's JSON: the ``top`` busiest vectors' rows over the buckets ``total`` events fill."""
    from ..model.vectors import vector

    used = timeline.used(total)
    ranked = sorted(timeline.rows, key=lambda number: (-by_vector.get(number, 0), number))[:top]
    return {
        "buckets": used,
        "bucket_width": timeline.width,
        "total_events": total,
        "rows": [{"vector": number, "mnemonic": vector(number).mnemonic, "count": by_vector[number],
                  "counts": timeline.rows[number][:used]} for number in ranked],
        "other_vectors": max(0, len(timeline.rows) - top),
    }
