"""Counts of the interrupt stream: per vector, per kind and per vCPU, and a timeline.

Live under `idtscope run` (or `attach HOST:PORT --log FILE`), or offline on a log:
  stats
  stats --log qemu.log --top 5
From the trace plugin (`idtscope run` loads it when QEMU can), also per vector and
vCPU: rates over time, time inside handlers, nesting, and the latency from each
delivery to the IRET that leaves its handler (min, median, max). Handlers are named
from the IDT idtscope reads at each stop.
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..model.exception_vectors import EventKind
from ..model.numbers import parse_int
from ..model.tracestream import TraceSource
from .base import Context, Result
from .events import stream_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads (the stream, not the guest)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", default="12", metavar="N", help="vectors in the timeline (default 12)")
    parser.add_argument("--log", metavar="FILE",
                        help="read this -d int log (or trace plugin stream) instead of the live stream")


def run(context: Context, args: argparse.Namespace) -> Result:
    from ..model.vectors import vector
    from .log import timeline_data

    top = parse_int(args.top, "--top")
    if top < 1:
        raise UsageError(f"--top takes 1 or more, got {top}")
    follower = stream_of(context, args.log)
    stream = follower.stream
    return Result("stream.stats", {
        "source": str(follower.file),
        "read_bytes": follower.offset,
        "total": stream.total,
        "vectors": [{"vector": number, "mnemonic": vector(number).mnemonic, "name": vector(number).name,
                     "count": stream.by_vector[number]} for number in sorted(stream.by_vector)],
        "by_kind": {kind.value: stream.by_kind.get(kind, 0) for kind in EventKind},
        "by_cpu": [{"cpu": cpu, "count": count}
                   for cpu, count in sorted(stream.by_cpu.items(), key=lambda item: (item[0] is None, item[0] or 0))],
        "triple_faults": stream.triple_faults,
        "resets": stream.resets,
        "malformed": stream.malformed,
        "timeline": timeline_data(stream.timeline, stream.by_vector, stream.total, top),
        "plugin": plugin_data(follower.source, top) if isinstance(follower.source, TraceSource) else None,
    })


def plugin_data(source: TraceSource, top: int) -> dict[str, Any]:
    """What the trace plugin's stream adds: per vector and vCPU, per vCPU, returns, a timeline in time."""
    from ..model.vectors import vector

    stats = source.stats
    span = stats.span_ns
    named: dict[int, dict[int, list[Any]]] = {}
    unnamed: dict[int | None, dict[int, list[Any]]] = {}
    for (handler, cpu), cell in stats.cells.items():
        vectors = () if handler is None else source.vectors_of(handler)
        group = named.setdefault(vectors[0], {}) if len(vectors) == 1 else unnamed.setdefault(handler, {})
        group.setdefault(cpu, []).append(cell)
    handlers: dict[int, set[int]] = {}
    for handler in stats.handlers:
        vectors = source.vectors_of(handler)
        if len(vectors) == 1:
            handlers.setdefault(vectors[0], set()).add(handler)
    rows = []
    for number in sorted(named):
        entry = vector(number)
        rows.append({"vector": number, "mnemonic": entry.mnemonic, "name": entry.name,
                     "handlers": sorted(handlers.get(number, ())), **_cells(named[number], span)})
    return {
        "span_ns": span,
        "deliveries": stats.deliveries,
        "vectors": rows,
        "unnamed_handlers": [{"handler": handler,
                              "vectors": [] if handler is None else list(source.vectors_of(handler)),
                              **_cells(unnamed[handler], span)}
                             for handler in sorted(unnamed, key=lambda h: (h is None, h or 0))],
        "cpus": [{"cpu": cpu, "events": totals.events, "nested": totals.nested, "max_depth": totals.max_depth,
                  "in_handlers_ns": totals.in_handlers_ns} for cpu, totals in sorted(stats.cpus.items())],
        "returns": {"paired": stats.paired, "unpaired": source.pairing.unpaired_returns,
                    "abandoned": source.pairing.abandoned, "open": len(source.pairing.still_open())},
        "timeline": _timeline(source, top),
    }


def _cells(by_cpu: dict[int, list[Any]], span: int) -> dict[str, Any]:
    """The counts of one vector (or handler) over all vCPUs, then per vCPU."""
    per_cpu = [{"cpu": cpu, **_counts(cells, span)} for cpu, cells in sorted(by_cpu.items())]
    return {**_counts([cell for cells in by_cpu.values() for cell in cells], span), "cpus": per_cpu}


def _counts(cells: list[Any], span: int) -> dict[str, Any]:
    from ..model.tracestream import Durations

    durations = Durations()
    for cell in cells:
        durations.merge(cell.durations)
    count = sum(cell.count for cell in cells)
    return {"count": count, "per_second": round(count * 1e9 / span, 3) if span else None,
            "exceptions": sum(cell.exceptions for cell in cells), "nested": sum(cell.nested for cell in cells),
            "max_depth": max(cell.max_depth for cell in cells), "returned": durations.count,
            "in_handler_ns": durations.total,
            "latency_ns": {"min": durations.least, "median": durations.median(), "max": durations.most},
            "error_codes": sorted({code for cell in cells for code in cell.error_codes})[:16]}


def _timeline(source: TraceSource, top: int) -> dict[str, Any]:
    """Deliveries per vector (or unnamed handler) in columns of ``bucket_ns``, and the rate in each."""
    from ..model.vectors import vector

    timeline = source.stats.timeline
    rows: dict[tuple[int | None, int | None], list[int]] = {}
    for handler, counts in timeline.rows.items():
        vectors = () if handler is None else source.vectors_of(handler)
        key = (vectors[0], None) if len(vectors) == 1 else (None, handler)
        row = rows.setdefault(key, [0] * timeline.buckets)
        for column, count in enumerate(counts):
            row[column] += count
    ranked = sorted(rows, key=lambda key: (-sum(rows[key]), key[0] is None, key[0] or 0, key[1] or 0))[:top]
    width = timeline.width_ns
    return {"buckets": timeline.buckets, "bucket_ns": width,
            "rows": [{"vector": number, "handler": handler,
                      "mnemonic": None if number is None else vector(number).mnemonic,
                      "count": sum(rows[(number, handler)]), "counts": rows[(number, handler)],
                      "per_second": [round(count * 1e9 / width, 1) for count in rows[(number, handler)]]}
                     for number, handler in ranked],
            "other_rows": max(0, len(rows) - top)}
