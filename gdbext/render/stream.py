"""Text for the interrupt stream: `events`, `stats`, `catch` and what a catchpoint saw."""

from __future__ import annotations

from .log import timeline_text
from .style import Style
from .table import hexval, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: unnamed handlers `stats` lists in text
UNNAMED_SHOWN = 4


def events(data: dict[str, Any], style: Style) -> str:
    listed = data["events"]
    head = style.heading(f"{len(listed)} events shown, {data['total']} in the stream ({data['source']}; "
                         f"the last {data['kept']} are kept)")
    if not listed:
        return head + "\nno event matches"
    timed = any(event["time_ns"] is not None for event in listed)
    cells = [[str(event["index"]), "?" if event["cpu"] is None else str(event["cpu"]), f"{event['vector']:#04x}",
              event["mnemonic"] or "", event["kind"], hexval(event["error_code"]),
              "?" if event["cpl"] is None else str(event["cpl"]), _where(event),
              "" if event["cr2"] is None else f"CR2={event['cr2']:#x}"]
             + ([_seconds(event["time_ns"]), "" if event["depth"] is None else str(event["depth"])] if timed else [])
             for event in listed]
    return head + "\n" + table(["#", "cpu", "vector", "mnem", "kind", "error", "CPL", "CS:RIP", ""]
                                + (["time s", "depth"] if timed else []), cells, style)


def _file(event: dict[str, Any]) -> str:
    return "trace" if event["source"] == "plugin" else "log"


def _seconds(time_ns: int | None) -> str:
    return "" if time_ns is None else f"{time_ns / 1e9:.6f}"


def _where(event: dict[str, Any]) -> str:
    if event["rip"] is None:
        return "?"
    return f"{event['rip']:#x}" if event["cs"] is None else f"{event['cs']:04x}:{event['rip']:x}"


def stats(data: dict[str, Any], style: Style) -> str:
    kinds = ", ".join(f"{count} {kind}" for kind, count in data["by_kind"].items())
    lines = [style.heading(f"{data['total']} events ({kinds}) in {data['source']}")]
    notes = [f"{data['triple_faults']} triple faults" if data["triple_faults"] else "",
             f"{data['resets']} CPU resets" if data["resets"] else "",
             f"{data['malformed']} malformed lines" if data["malformed"] else ""]
    if any(notes):
        lines.append(", ".join(note for note in notes if note))
    if data["vectors"]:
        rows = sorted(data["vectors"], key=lambda row: (-row["count"], row["vector"]))
        lines.append(table(["vector", "mnem", "count", "name"],
                           [[f"{row['vector']:#04x}", row["mnemonic"] or "", str(row["count"]), row["name"]]
                            for row in rows], style))
    per_cpu = ", ".join(f"{'vCPU ?' if row['cpu'] is None else 'vCPU ' + str(row['cpu'])}: {row['count']}"
                        for row in data["by_cpu"])
    if per_cpu:
        lines.append(per_cpu + (" (the -d int log does not name the vCPU of an event)"
                                if any(row["cpu"] is None for row in data["by_cpu"]) else ""))
    if data["plugin"] is None:
        timeline = timeline_text(data["timeline"], style)
        if timeline:
            lines.append(timeline)
    else:
        lines.append(plugin(data["plugin"], style))
    return "\n".join(lines)


def plugin(data: dict[str, Any], style: Style) -> str:
    """The trace plugin's part of `stats`: per vector and vCPU, per vCPU, returns, a timeline of rates."""
    from .log import sparkline
    from .trace import duration

    lines = [style.heading(f"from the trace plugin: {data['deliveries']} deliveries over {duration(data['span_ns'])}")]
    cells = []
    for row in sorted(data["vectors"], key=lambda row: (-row["count"], row["vector"])):
        several = len(row["cpus"]) > 1
        parts = [(row, "all" if several else str(row["cpus"][0]["cpu"]))]
        parts += [(part, str(part["cpu"])) for part in row["cpus"]] if several else []
        for part, cpu in parts:
            latency = part["latency_ns"]
            first = part is row
            cells.append([f"{row['vector']:#04x}" if first else "", (row["mnemonic"] or "") if first else "", cpu,
                          str(part["count"]), "-" if part["per_second"] is None else f"{part['per_second']:.1f}",
                          duration(part["in_handler_ns"]), duration(latency["min"]), duration(latency["median"]),
                          duration(latency["max"]), str(part["nested"]), str(part["max_depth"])])
    if cells:
        lines.append(table(["vector", "mnem", "vCPU", "count", "per s", "in handler", "min", "median", "max",
                            "nested", "depth"], cells, style))
    unnamed = sorted(data["unnamed_handlers"], key=lambda row: -row["count"])
    if unnamed:
        lines.append(f"{sum(row['count'] for row in unnamed)} deliveries entered handlers no IDT read so far "
                     "names one vector of (before the guest set its IDT up, or shared):")
    for row in unnamed[:UNNAMED_SHOWN]:
        where = "other handlers" if row["handler"] is None else f"{row['handler']:#x}"
        shared = f" (vectors {', '.join(f'{v:#04x}' for v in row['vectors'])})" if row["vectors"] else ""
        lines.append(f"  {where}{shared}: {row['count']}")
    if len(unnamed) > UNNAMED_SHOWN:
        lines.append(style.dim(f"  ({len(unnamed) - UNNAMED_SHOWN} more handlers: --json lists them)"))
    if data["cpus"]:
        lines.append(", ".join(f"vCPU {row['cpu']}: {row['events']} events, {duration(row['in_handlers_ns'])} in "
                               f"handlers, depth {row['max_depth']}" for row in data["cpus"]))
    returns = data["returns"]
    lines.append(f"{returns['paired']} handlers left by their IRET, {returns['unpaired']} IRETs popped no recorded "
                 f"frame, {returns['abandoned']} handlers left without IRET, {returns['open']} open now")
    timeline = data["timeline"]
    if timeline["rows"]:
        lines.append(style.heading(f"timeline: one column = {duration(timeline['bucket_ns'])}; the peak rate per row"))
        for row in timeline["rows"]:
            label = (f"{row['mnemonic'] or '':>5} {row['vector']:#04x}" if row["vector"] is not None
                     else f"{row['handler'] or 0:#x}"[:11].rjust(11))
            lines.append(f"{label} |{sparkline(row['counts'])}| {max(row['per_second']):.0f}/s")
    return "\n".join(lines)


def catches(data: dict[str, Any], style: Style) -> str:
    lines = []
    if data["added"] is not None:
        lines.append(f"catchpoint {data['added']['number']}: {catch_words(data['added'])}")
    if not data["added"]:
        lines += [f"{row['number']:>3}  {catch_words(row)}" for row in data["catches"]] or ["no catchpoints"]
    if data["catches"] and data["watching"] is None:
        lines.append(style.warn("no interrupt stream is followed yet: catchpoints act under `idtscope run` "
                                "or after `attach HOST:PORT --log FILE`"))
    return "\n".join(lines)


def catch_words(row: dict[str, Any]) -> str:
    if row["kind"] == "triple-fault":
        return "triple fault"
    from ..model.vectors import vector

    entry = vector(row["vector"])
    where = "" if row["from"] is None else f" from {row['from']} mode"
    return f"exception {row['vector']} ({entry.mnemonic or entry.name}){where}"


def caught(data: dict[str, Any], style: Style) -> str:
    """What a catchpoint saw, then where the guest stopped."""
    event = data["event"]
    if event is None:
        text = f"caught a triple fault (log line {data['where']})"
    else:
        from ..model.vectors import vector

        entry = vector(event["vector"])
        parts = [f"caught {entry.mnemonic or hex(event['vector'])} ({entry.name})",
                 f"error code {hexval(event['error_code'])}" if event["error_code"] is not None else "",
                 f"at {_where(event)}" + (f" <{data['symbol']}>" if data["symbol"] else ""),
                 f"CPL {event['cpl']}", f"CR2={event['cr2']:#x}" if event["cr2"] is not None else "",
                 f"(event #{event['index']}, {_file(event)} line {event['where']})"]
        text = " ".join(part for part in parts if part)
    return style.bad(text) + f"\n  catchpoint {data['catch']['number']}: {catch_words(data['catch'])}"
