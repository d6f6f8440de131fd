"""Text for `log` on a trace plugin stream: summary, per-vector time in handlers, vCPUs, timeline, events."""

from __future__ import annotations

from .log import sparkline
from .style import Style
from .table import hexval, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def trace_log(data: dict[str, Any], style: Style) -> str:
    sections = [_summary(data, style), _vectors(data, style), _unnamed(data), _cpus(data, style),
                _timeline(data, style), _problems(data, style), _events(data, style)]
    return "\n\n".join(section for section in sections if section)


def duration(ns: int | None) -> str:
    """``812 ns``, ``35.2 us``, ``4.10 ms``, ``2.31 s``; ``-`` for none."""
    if ns is None:
        return "-"
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns >= scale:
            value = ns / scale
            return f"{value:.2f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{ns} ns"


def _summary(data: dict[str, Any], style: Style) -> str:
    header = data["header"]
    head = (f"{data['file']}: {data['total_events']} interrupts and exceptions over {duration(data['span_ns'])}"
            f" (QEMU plugin API {header.get('api', '?')}, {header.get('vcpus', '?')} vCPUs,"
            f" icount {header.get('icount', '?')})")
    lines = [style.heading(head)]
    if data["events"] != data["total_events"]:
        lines.append(f"  filter   {data['events']} of {data['total_events']} events match")
    kinds = data["by_kind"]
    lines.append(f"  kinds    {kinds['irq']} hardware interrupts, {kinds['exception']} exceptions")
    returns = data["returns"]
    lines.append(f"  returns  {returns['paired']} handlers paired with their IRET; {returns['unpaired']} IRETs popped "
                 f"no recorded frame; {returns['abandoned']} handlers left without IRET; "
                 f"{returns['still_open']} still open at the end")
    return "\n".join(lines)


def _vectors(data: dict[str, Any], style: Style) -> str:
    rows = sorted(data["vectors"], key=lambda row: (-row["count"], row["vector"]))
    if not rows:
        return "no event with a known vector (give --snapshot or --symbols to name handlers)"
    cells = [[f"{row['vector']:#04x}", row["mnemonic"] or "", str(row["count"]), f"{row['per_second']:.1f}",
              duration(row["in_handler_ns"]), duration(row["mean_ns"]), duration(row["max_ns"]), str(row["nested"]),
              row["name"] + (f" <{row['symbol']}>" if row["symbol"] else "")] for row in rows]
    return table(["vector", "mnem", "count", "per s", "in handler", "mean", "max", "nested", "name"], cells, style)


def _unnamed(data: dict[str, Any]) -> str:
    rows = data["unnamed_handlers"]
    if not rows:
        return ""
    lines = [f"{sum(row['count'] for row in rows)} events entered handlers the IDT given does not name one vector of:"]
    for row in rows[:8]:
        shared = f" (vectors {', '.join(f'{v:#04x}' for v in row['vectors'])})" if row["vectors"] else ""
        lines.append(f"  {row['handler']:#x}: {row['count']}{shared}")
    return "\n".join(lines)


def _cpus(data: dict[str, Any], style: Style) -> str:
    cells = [[str(row["cpu"]), str(row["events"]), duration(row["in_handlers_ns"]), str(row["max_depth"]),
              str(row["nested"])] for row in data["cpus"]]
    return table(["vCPU", "events", "in handlers", "max depth", "nested"], cells, style)


def _timeline(data: dict[str, Any], style: Style) -> str:
    timeline = data["timeline"]
    if not timeline["rows"]:
        return ""
    lines = [style.heading(f"timeline: one column = {duration(timeline['bucket_ns'])}, height relative to the "
                           "row's busiest column")]
    for row in timeline["rows"]:
        lines.append(f"{row['mnemonic'] or '':>5} {row['vector']:#04x} |{sparkline(row['counts'])}| {row['count']}")
    if timeline["other_vectors"]:
        lines.append(style.dim(f"  ({timeline['other_vectors']} quieter vectors not shown; --top N)"))
    return "\n".join(lines)


def _problems(data: dict[str, Any], style: Style) -> str:
    bad = data["bad_lines"]
    if not bad["count"]:
        return ""
    lines = [style.warn(f"{bad['count']} lines that are not trace records")]
    lines += [f"  line {item['line']}: {item['reason']}: {item['text']!r}" for item in bad["lines"]]
    return "\n".join(lines)


def _events(data: dict[str, Any], style: Style) -> str:
    listed = data["listed"]
    if not listed:
        return ""
    cells = [[str(event["line"]), str(event["cpu"]), duration(event["time_ns"]),
              "-" if event["vector"] is None else f"{event['vector']:#04x}", event["mnemonic"] or "", event["kind"],
              hexval(event["error_code"]), "-" if event["cpl"] is None else str(event["cpl"]),
              hexval(event["from_pc"]), hexval(event["handler"]),
              "  " * event["depth"] + str(event["depth"]), duration(event["duration_ns"])] for event in listed]
    title = f"events ({len(listed)} of {data['events']})"
    return style.heading(title) + "\n" + table(
        ["line", "vCPU", "at", "vector", "mnem", "kind", "error", "CPL", "from", "handler", "depth", "took"], cells,
        style)
