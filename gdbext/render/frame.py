"""Text for an interrupt frame, a stop at a handler, a page walk, breakpoints."""

from __future__ import annotations

from .errors import control_protection, page_fault, selector
from .style import Style
from .table import block, hexval, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def frame(data: dict[str, Any], style: Style) -> str:
    width = {"long": 16, "protected": 8, "real": 4}[data["mode"]]
    prefix = {"long": "R", "protected": "E", "real": ""}[data["mode"]]
    title = "interrupt frame"
    if data["vector"] is not None:
        title += f" for vector {data['vector']} ({data['vector']:#04x})"
        if data.get("name"):
            title += f" {data['name']}"
    if data.get("cpu") is not None:
        title += f" on CPU {data['cpu']}"
    pairs: list[tuple[str, str]] = []
    if data["error_code"] is not None:
        pairs.append(("error code", hexval(data["error_code"])))
    rip = hexval(data["rip"], width) + (f" <{data['rip_symbol']}>" if data.get("rip_symbol") else "")
    if data.get("saved_ip"):
        rip += style.dim(f"  ({data['saved_ip']})")
    pairs.append((f"{prefix}IP", rip))
    pairs.append(("CS", f"{hexval(data['cs'], 4)} (RPL {data['cs'] & 3})"))
    flags = " ".join(data["rflags_flags"])
    pairs.append((f"{prefix}FLAGS", f"{hexval(data['rflags'])} {flags}".rstrip()))
    if data["rsp"] is not None:
        pairs.append((f"{prefix}SP", hexval(data["rsp"], width)))
        pairs.append(("SS", hexval(data["ss"], 4)))
    if data.get("cr2") is not None:
        pairs.append(("CR2", hexval(data["cr2"], width)))
    cpl = str(data["from_cpl"])
    if data.get("to_cpl") is not None:
        cpl += f" (handler runs at CPL {data['to_cpl']})"
    pairs.append(("from CPL", cpl))
    if data.get("stack"):
        stack = data["stack"] + (f"  ({data['stack_check']})" if data.get("stack_check") else "")
        pairs.append(("stack", stack))
    if data.get("frame_address") is not None:
        pairs.append(("frame at", hexval(data["frame_address"])))
    instruction = data.get("instruction")
    if instruction:
        pairs.append(("instruction", f"{hexval(instruction['address'])}: {instruction['text']}"))
    text = style.heading(title) + "\n" + block(pairs, style)
    for warning in data.get("warnings", []) + data.get("problems", []):
        text += "\n" + style.warn(f"warning: {warning}")
    decoded = data.get("error_code_decoded")
    explanation = data.get("explanation")
    if decoded is not None and not explanation:
        if "present" in decoded:
            text += "\n\n" + page_fault(decoded, style)
        elif "table" in decoded:
            text += "\n\n" + selector(decoded, style)
        else:
            text += "\n\n" + control_protection(decoded, style)
    if explanation:
        text += "\n\n" + style.heading("why: ") + explanation["summary"]
        if explanation.get("walk"):
            text += "\n" + walk(explanation["walk"], style)
    return text


def stop(data: dict[str, Any], style: Style) -> str:
    bp = data["breakpoint"]
    head = f"breakpoint {bp['number']}, vector {bp['vector']:#04x}: hit {bp['hits']}, matched {bp['matched']}"
    if bp.get("filters"):
        head += f" ({bp['filters']})"
    return style.heading(head) + "\n" + frame(data, style)


def walk(data: dict[str, Any], style: Style) -> str:
    head = f"{data['mode']} walk of {hexval(data['linear'])} for a {data['access']}"
    if data.get("cr3") is not None:
        head += f" from CR3 {hexval(data['cr3'])}"
    rows = []
    for step in data["steps"]:
        if step["unreadable"]:
            rows.append([step["level"], hexval(step["entry_address"]), style.bad("unreadable"), "", "", "", "", ""])
            continue
        if not step["present"]:
            rows.append([step["level"], hexval(step["entry_address"]), hexval(step["entry"], 16),
                         style.bad("not present"), "", "", "", ""])
            continue
        bit = lambda value, on, off: "-" if value is None else (on if value else off)  # noqa: E731
        rows.append([step["level"], hexval(step["entry_address"]), hexval(step["entry"], 16),
                     style.good("P") if step["present"] else style.bad("not present"),
                     bit(step["writable"], "RW", "RO"), bit(step["user"], "U", "S"), bit(step["nx"], "NX", "X"),
                     (f"-> {hexval(step['frame'])}" if step["frame"] is not None else "")
                     + (" (page)" if step["page_size"] else "")
                     + (style.bad(f" reserved {hexval(step['reserved_bits'])}") if step["reserved_bits"] else "")])
    lines = [style.dim(head), table(["level", "entry at", "entry", "P", "R/W", "U/S", "XD", "next"], rows, style)]
    if data.get("refused_by"):
        refused = data["refused_by"]
        lines.append(style.bad(f"refused: {refused['reason']}") + f"  (bit {refused['bit']})")
    elif data.get("physical") is not None:
        lines.append(style.good(f"allowed: {hexval(data['linear'])} -> physical {hexval(data['physical'])}"))
    if data.get("unreadable"):
        lines.append(style.bad(data["unreadable"]))
    for note in data.get("notes", []):
        lines.append(style.dim(f"note: {note}"))
    return "\n".join(lines)


def breakpoints(data: dict[str, Any], style: Style) -> str:
    lines = list(data.get("changes", []))
    rows = []
    for bp in data["breakpoints"]:
        where = hexval(bp["address"]) + (f" <{bp['symbol']}>" if bp["symbol"] else "")
        state = style.bad(f"stale: {bp['stale']}") if bp["stale"] else (bp["note"] or "")
        rows.append([str(bp["number"]), f"{bp['vector']:#04x}", where, "hw" if bp["hardware"] else "sw",
                     bp["filters"] or "", f"{bp['matched']}/{bp['hits']}", state])
    if data.get("skipped"):
        lines.append(style.dim("no handler for: " + " ".join(f"{v:#04x}" for v in data["skipped"])))
    if rows:
        lines.append(table(["num", "vec", "handler", "kind", "filters", "matched/hits", "state"], rows, style))
    elif not lines:
        lines.append("no vector breakpoints")
    return "\n".join(lines)


def message(data: dict[str, Any], style: Style) -> str:
    return data["text"]


GUEST_KINDS = {"ring0": "a ring-0 program (no DPL 3 segment or gate, no IST gate, TR null)",
               "stacks": "a ring-0 kernel that switches stacks", "user": "a kernel with user mode"}


def lint(data: dict[str, Any], style: Style) -> str:
    guest = data.get("guest")
    judged = []
    if guest is None:
        judged.append(style.dim("real-address mode: no gates, TSS or privilege levels to judge"))
    else:
        evidence = "; ".join(guest["user_mode"] + guest["stacks"])
        judged.append(style.dim(f"judged as {GUEST_KINDS[guest['kind']]}" + (f": {evidence}" if evidence else "")))
    if not data["findings"]:
        return "\n".join(judged + [style.good(f"CPU {data['cpu']}: no findings")])
    lines = judged
    paint = {"error": style.bad, "warning": style.warn, "info": style.dim}
    for finding in data["findings"]:
        lines.append(paint[finding["severity"]](f"{finding['severity']}: {finding['what']}") + f"  [{finding['id']}]")
        lines.append(f"  why: {finding['why']}")
        lines.append(f"  fix: {finding['fix']}")
    counts = data["counts"]
    lines.append(f"CPU {data['cpu']}: {counts['error']} errors, {counts['warning']} warnings"
                 + (f", {counts['info']} notes" if counts["info"] else ""))
    return "\n".join(lines)
