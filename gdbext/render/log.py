"""Text for `log`: summary, per-vector table, timeline strips, triple faults, listed events."""

from __future__ import annotations

import textwrap

from .style import Style
from .table import hexval, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPARKS = "▁▂▃▄▅▆▇█"
_KIND_WORDS = {"irq": "hardware interrupt", "exception": "exception", "software": "software interrupt"}


def log(data: dict[str, Any], style: Style) -> str:
    sections = [_summary(data, style), _vector_table(data, style), timeline_text(data["timeline"], style)]
    sections += [_triple_fault(index, fault, data, style) for index, fault in enumerate(data["triple_faults"])]
    sections += [_problems(data, style), _events(data, style)]
    return "\n\n".join(section for section in sections if section)


def _summary(data: dict[str, Any], style: Style) -> str:
    seq = ""
    if data["first_seq"] is not None:
        seq = f" (seq {data['first_seq']}..{data['last_seq']})"
    head = f"{data['file']}: {data['total_events']} events in {data['bytes']:,} bytes{seq}"
    lines = [style.heading(head)]
    filters = _filter_words(data["filter"])
    if filters:
        lines.append(f"  filter   {filters}: {data['events']} of {data['total_events']} events match")
    kinds = ", ".join(_count(count, _KIND_WORDS[kind]) for kind, count in data["by_kind"].items() if count)
    if kinds:
        lines.append(f"  kinds    {kinds}")
    if data["by_cpl"]:
        lines.append("  CPL      " + ", ".join(f"{row['cpl']}: {row['count']}" for row in data["by_cpl"]))
    unlogged = data["unlogged"]
    missing = [_count(unlogged["irq"], "hardware interrupt"), _count(unlogged["exception"], "exception")]
    missing = [words for words in missing if words]
    if missing:
        lines.append(f"  no event line for {' and '.join(missing)} (real mode: QEMU details events only once "
                     "CR0.PE is set)")
    extras = [_count(data["resets"], "CPU reset"), _count(data["smm_entries"], "SMM entry", "SMM entries")]
    extras = [words for words in extras if words]
    if data["triple_fault_count"]:
        extras.append(style.bad(_count(data["triple_fault_count"], "triple fault")))
    if extras:
        lines.append("  also     " + ", ".join(extras))
    return "\n".join(lines)


def _count(number: int, singular: str, plural: str | None = None) -> str:
    if not number:
        return ""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _filter_words(spec: dict[str, Any]) -> str:
    words = []
    if spec["vectors"] is not None:
        words.append("vector " + ",".join(f"{v:#04x}" for v in spec["vectors"]))
    if spec["cpl"] is not None:
        words.append(f"CPL {spec['cpl']}")
    if spec["kind"] is not None:
        words.append(spec["kind"])
    if spec["rip"] is not None:
        words.append(f"RIP {spec['rip'][0]:#x}-{spec['rip'][1]:#x}")
    return ", ".join(words)


def _vector_table(data: dict[str, Any], style: Style) -> str:
    if not data["vectors"]:
        return "no event matches"
    rows = sorted(data["vectors"], key=lambda row: (-row["count"], row["vector"]))
    cells = [[f"{row['vector']:#04x}", row["mnemonic"] or "", str(row["count"]), f"{row['per_1000']:.1f}",
              _vector_name(row)] for row in rows]
    return table(["vector", "mnem", "count", "per 1000", "name"], cells, style)


def _vector_name(row: dict[str, Any]) -> str:
    if row.get("meaning"):
        meaning = row["name"] if row["mnemonic"] else row["meaning"]
        return meaning + (f" <{row['handler']}>" if row.get("handler") else "")
    irq = row["legacy_irq"]
    if irq is None:
        return row["name"]
    return f"IRQ{irq['irq']} {irq['device']} (if the 8259s are at 0x20/0x28)"


def timeline_text(timeline: dict[str, Any], style: Style) -> str:
    """A timeline document (commands/log.py timeline_data) as one sparkline per vector."""
    if not timeline["rows"]:
        return ""
    width = timeline["bucket_width"]
    per = "1 event" if width == 1 else f"{width} events"
    lines = [style.heading(f"timeline: one column = {per}, height relative to the row's busiest column")]
    for row in timeline["rows"]:
        label = f"{row['mnemonic'] or '':>5} {row['vector']:#04x}"
        lines.append(f"{label} |{sparkline(row['counts'])}| {row['count']}")
    end = timeline["total_events"]
    columns = timeline["buckets"]
    axis = "0".ljust(columns - len(str(end)) + 1) + str(end) if columns > len(str(end)) else str(end)
    lines.append(" " * 12 + axis)
    if timeline["other_vectors"]:
        lines.append(style.dim(f"  ({timeline['other_vectors']} quieter vectors not shown; --top N)"))
    return "\n".join(lines)


def sparkline(counts: list[int]) -> str:
    """One character per count: blank for 0, else ▁..█ in eighths of the largest (rounded up)."""
    peak = max(counts, default=0)
    levels = len(SPARKS)
    return "".join(SPARKS[-(-count * levels // peak) - 1] if count else " " for count in counts)


def _triple_fault(index: int, fault: dict[str, Any], data: dict[str, Any], style: Style) -> str:
    where = f"line {fault['line']}"
    if fault["seq"] is not None:
        where += f", after event {fault['seq']}"
    notes = []
    if fault["logged"]:
        notes.append('QEMU logged "Triple fault"')
    if fault["reset"]:
        notes.append("the CPU was reset")
    title = f"triple fault {index + 1} of {data['triple_fault_count']} ({where})"
    if notes:
        title += ": " + ", ".join(notes)
    lines = [style.bad(style.heading(title))]
    lines += textwrap.wrap(fault["explanation"], max(40, (style.width or 100) - 2), initial_indent="  ",
                           subsequent_indent="  ")
    if fault["before"]:
        earlier = ", ".join(f"{step['mnemonic']} (seq {step['seq']}, CPL {step['cpl']}) at RIP {step['rip']:#x}"
                            for step in fault["before"])
        lines += textwrap.wrap(f"events just before: {earlier}", max(40, (style.width or 100) - 2), initial_indent="  ",
                               subsequent_indent="    ")
    cells = []
    for step in fault["chain"]:
        cells.append([
            "-" if step["seq"] is None else str(step["seq"]),
            str(step["line"]),
            f"{step['vector']:#04x} {step['mnemonic']}",
            step["kind"] if step["logged"] else "(not logged)",
            hexval(step["error_code"]),
            hexval(step["rip"]),
            hexval(step["rsp"]),
            hexval(step["cr2"]),
            "-" if step["cpl"] is None else str(step["cpl"]),
        ])
    chain = table(["seq", "line", "vector", "kind", "error", "RIP", "RSP", "CR2", "CPL"], cells, style)
    lines += ["", textwrap.indent(chain, "  ")]
    return "\n".join(lines)


def _problems(data: dict[str, Any], style: Style) -> str:
    lines = []
    malformed = data["malformed"]
    if malformed["count"]:
        shown = len(malformed["lines"])
        lines.append(style.warn(f"{malformed['count']} malformed lines" +
                                (f" (first {shown})" if shown < malformed["count"] else "")))
        for item in malformed["lines"]:
            lines.append(f"  line {item['line']}: {item['reason']}: {item['text']!r}")
    truncated = data["truncated"]
    if truncated is not None:
        lines.append(style.warn(f"truncated at line {truncated['line']}: {truncated['reason']}: "
                                f"{truncated['text']!r}"))
    return "\n".join(lines)


def _events(data: dict[str, Any], style: Style) -> str:
    listed = data["listed"]
    if not listed:
        return ""
    cells = []
    for event in listed:
        notes = []
        if event["cr2"] is not None:
            notes.append(f"CR2={event['cr2']:#x}")
        if event["promoted_from"] is not None:
            notes.append(f"#DF from {event['promoted_from']:#04x}")
        if event["error_summary"]:
            notes.append(event["error_summary"])
        extra = " ".join(notes)
        cells.append([
            str(event["seq"]), str(event["line"]), f"{event['vector']:#04x}", event["mnemonic"] or "",
            event["kind"], hexval(event["error_code"]), str(event["cpl"]),
            f"{event['cs']:04x}:{event['rip']:x}", f"{event['ss']:04x}:{event['rsp']:x}", extra,
        ])
    more = data["events"] - len(listed)
    title = f"events ({len(listed)} of {data['events']}" + ("; --limit N for more)" if more else ")")
    return style.heading(title) + "\n" + table(
        ["seq", "line", "vector", "mnem", "kind", "error", "CPL", "CS:RIP", "SS:RSP", ""], cells, style)
