"""`log` on the trace plugin's stream (docs/trace.md): the JSON document of one trace file.

The stream is read in 1 MiB chunks through :class:`gdbext.model.trace.TraceReader` into a
:class:`gdbext.model.trace.Pairing` that names vectors from the guest's IDT (given as
``{vector: handler address}``; without it, events are grouped by handler address), then
summarised: counts and rates per vector, time inside handlers, nesting, per vCPU, and a
timeline of per-vector counts over the trace's time.
"""

from __future__ import annotations

from ..errors import ParseError, UsageError
from ..model.trace import MAGIC, BadLine, Pairing, TraceReader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ..model.trace import Handled

CHUNK_BYTES = 1 << 20
BAD_EXAMPLES = 5
TIMELINE_BUCKETS = 60
KINDS = ("irq", "exception")


def is_trace(path: Path) -> bool:
    """True when the file starts with the plugin's header line."""
    try:
        with path.open("rb") as file:
            return file.read(len(MAGIC) + 2) == b"# " + MAGIC.encode()
    except OSError as error:
        raise ParseError(f"cannot read {path}: {error.strerror or error}") from None


def read_trace(path: Path, handlers: dict[int, int]) -> tuple[TraceReader, Pairing, list[BadLine], int]:
    """The reader, the pairing and the bad lines (all counted, the first few kept) of a trace file."""
    reader, pairing = TraceReader(), Pairing(handlers)
    bad: list[BadLine] = []
    bad_count = 0

    def take(items: Any) -> None:
        nonlocal bad_count
        for item in items:
            if isinstance(item, BadLine):
                bad_count += 1
                if len(bad) < BAD_EXAMPLES:
                    bad.append(item)
            else:
                pairing.feed((item,))

    try:
        with path.open("rb") as file:
            chunk = file.read(CHUNK_BYTES)
            while chunk:
                take(reader.feed(chunk))
                chunk = file.read(CHUNK_BYTES)
    except OSError as error:
        raise ParseError(f"cannot read {path}: {error.strerror or error}") from None
    take(reader.close())
    return reader, pairing, bad, bad_count


def _kind(handled: Handled) -> str:
    return "exception" if handled.exception else "irq"


def select(pairing: Pairing, vectors: frozenset[int] | None, kind: str | None, cpl: int | None,
           rip: range | None) -> list[Handled]:
    """The deliveries that pass the filters (vector, irq/exception, CPL from the saved CS, from-PC range)."""
    return [handled for handled in pairing.handled
            if (vectors is None or handled.vector in vectors)
            and (kind is None or _kind(handled) == kind)
            and (cpl is None or handled.cpl == cpl)
            and (rip is None or handled.delivery.from_pc in rip)]


def trace_data(path: Path, handlers: dict[int, int] | None, names: dict[int, str | None] | None,
               vectors: frozenset[int] | None, kind: str | None, cpl: int | None, rip: range | None, limit: int,
               top: int, listing: bool) -> dict[str, Any]:
    """The JSON document of `log` on a trace: see docs/trace.md and docs/json.md."""
    reader, pairing, bad, bad_count = read_trace(path, handlers or {})
    if reader.header is None:
        raise ParseError(f"{path} has no '# {MAGIC}' header line")
    chosen = select(pairing, vectors, kind, cpl, rip)
    if not pairing.handled:
        raise ParseError(f"{path}: no interrupt or exception in {reader.lines} lines")
    start = min(h.delivery.time_ns for h in pairing.handled)
    end = max(max(h.delivery.time_ns for h in pairing.handled),
              max((h.end_ns for h in pairing.handled if h.end_ns is not None), default=0))
    span = max(end - start, 1)
    return {
        "file": str(path),
        "format": MAGIC,
        "header": reader.header.fields,
        "lines": reader.lines,
        "span_ns": span,
        "total_events": len(pairing.handled),
        "events": len(chosen),
        "filter": {"vectors": None if vectors is None else sorted(vectors), "kind": kind, "cpl": cpl,
                   "rip": None if rip is None else [rip.start, rip.stop - 1]},
        "by_kind": {name: sum(1 for h in chosen if _kind(h) == name) for name in KINDS},
        "vectors": _vectors(chosen, names, span),
        "unnamed_handlers": _unnamed(chosen),
        "cpus": _cpus(chosen),
        "returns": {"paired": sum(1 for h in pairing.handled if h.end_ns is not None),
                    "unpaired": pairing.unpaired_returns, "abandoned": pairing.abandoned,
                    "still_open": len(pairing.still_open())},
        "listed": [_event(h, start) for h in chosen[:limit]] if listing else [],
        "bad_lines": {"count": bad_count, "lines": [{"line": b.line, "text": b.text, "reason": b.reason}
                                                    for b in bad]},
        "timeline": _timeline(chosen, start, span, top),
    }


def _durations(group: list[Handled]) -> list[int]:
    return [h.duration_ns for h in group if h.duration_ns is not None]


def _vectors(chosen: list[Handled], names: dict[int, str | None] | None, span: int) -> list[dict[str, Any]]:
    from ..model.vectors import vector

    groups: dict[int, list[Handled]] = {}
    for handled in chosen:
        if handled.vector is not None:
            groups.setdefault(handled.vector, []).append(handled)
    rows = []
    for number in sorted(groups):
        group, row = groups[number], vector(number)
        durations = _durations(group)
        rows.append({
            "vector": number, "mnemonic": row.mnemonic, "name": row.name,
            "handler": group[0].delivery.to_pc, "symbol": None if names is None else names.get(number),
            "count": len(group), "per_second": round(len(group) * 1e9 / span, 3),
            "exceptions": sum(1 for h in group if h.exception), "returned": len(durations),
            "in_handler_ns": sum(durations) if durations else None,
            "mean_ns": sum(durations) // len(durations) if durations else None,
            "max_ns": max(durations, default=None), "nested": sum(1 for h in group if h.depth),
            "error_codes": sorted({h.error_code for h in group if h.error_code is not None})[:16],
        })
    return rows


def _unnamed(chosen: list[Handled]) -> list[dict[str, Any]]:
    counts: dict[int, int] = {}
    for handled in chosen:
        if handled.vector is None:
            counts[handled.delivery.to_pc] = counts.get(handled.delivery.to_pc, 0) + 1
    return [{"handler": address, "count": count, "vectors": list(_shared(chosen, address))}
            for address, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _shared(chosen: list[Handled], address: int) -> tuple[int, ...]:
    return next((h.vectors for h in chosen if h.delivery.to_pc == address), ())


def _cpus(chosen: list[Handled]) -> list[dict[str, Any]]:
    cpus: dict[int, list[Handled]] = {}
    for handled in chosen:
        cpus.setdefault(handled.delivery.cpu, []).append(handled)
    return [{"cpu": cpu, "events": len(group), "in_handlers_ns": sum(h.duration_ns for h in group
                                                                      if h.duration_ns is not None and not h.depth),
             "max_depth": max(h.depth for h in group), "nested": sum(1 for h in group if h.depth)}
            for cpu, group in sorted(cpus.items())]


def _event(handled: Handled, start: int) -> dict[str, Any]:
    from ..model.vectors import vector

    delivery = handled.delivery
    return {
        "index": handled.index, "line": delivery.line, "cpu": delivery.cpu, "time_ns": delivery.time_ns - start,
        "icount": delivery.icount, "kind": _kind(handled), "vector": handled.vector,
        "mnemonic": None if handled.vector is None else vector(handled.vector).mnemonic,
        "error_code": handled.error_code, "cpl": handled.cpl, "from_pc": delivery.from_pc,
        "saved_rip": handled.saved_rip,
        "handler": delivery.to_pc, "raised": handled.raised, "depth": handled.depth, "parent": handled.parent,
        "duration_ns": handled.duration_ns,
    }


def _timeline(chosen: list[Handled], start: int, span: int, top: int) -> dict[str, Any]:
    from ..model.vectors import vector

    width = -(-span // TIMELINE_BUCKETS)
    rows: dict[int, list[int]] = {}
    for handled in chosen:
        if handled.vector is not None:
            counts = rows.setdefault(handled.vector, [0] * TIMELINE_BUCKETS)
            counts[min((handled.delivery.time_ns - start) // width, TIMELINE_BUCKETS - 1)] += 1
    ranked = sorted(rows, key=lambda number: (-sum(rows[number]), number))[:top]
    return {"buckets": TIMELINE_BUCKETS, "bucket_ns": width,
            "rows": [{"vector": number, "mnemonic": vector(number).mnemonic, "count": sum(rows[number]),
                      "counts": rows[number]} for number in ranked],
            "other_vectors": max(0, len(rows) - top)}


def handler_addresses(snapshot: str | None, symbols: str | None) -> tuple[dict[int, int] | None,
                                                                         dict[int, str | None] | None]:
    """vector -> the address its gate enters and vector -> that handler's name, as far as known.

    From a snapshot: its saved IDT (of the selected vCPU) and names. From a Linux symbol table:
    the entry points Linux installs (model.vectors, LinuxUse.handler) that the table holds.
    """
    if snapshot is not None:
        from ..machine.tables import read_idt
        from ..target.snapshot import SnapshotTarget

        target = SnapshotTarget.open(snapshot)
        points = entry_points(target, read_idt(target, target.selected_cpu()))
        names = target.symbolize_many(list(points.values()))
        return points, {vector: names.get(address) for vector, address in points.items()}
    if symbols is not None:
        from ..model.vectors import VECTORS
        from ..symbols import SymbolTable

        table = SymbolTable.load(symbols)
        entries: dict[int, int] = {}
        labels: dict[int, str | None] = {}
        for row in VECTORS:
            address = None if row.linux is None else table.address_of(row.linux.handler)
            if row.linux is not None and address is not None:
                entries[row.number], labels[row.number] = address, row.linux.handler
        if not entries:
            raise UsageError(f"{symbols} holds none of Linux's interrupt entry points")
        return entries, labels
    return None, None



def entry_points(target: Any, view: Any) -> dict[int, int]:
    """vector -> the address delivery through its gate enters, for the gates of an IDT view
    (machine.tables.read_idt) that enter one."""
    from ..machine.frames import entry_point

    points: dict[int, int] = {}
    for slot in view.slots:
        address = entry_point(target, view.cpu, slot.entry)[0]
        if address is not None:
            points[slot.vector] = address
    return points
