"""Text for `why`: the triple-fault chain, the check each step failed, the faulting
instruction, the lint findings that bear on it, and the fixes."""

from __future__ import annotations

from .style import Style

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ROLES = {"raised": "why it was raised", "delivery": "why it could not be delivered"}


def why(data: dict[str, Any], style: Style) -> str:
    lines = [style.bad(f"triple fault on CPU {data['cpu']} ({data['mode']} mode), log line {data['line']}")
             + (style.dim(f"  (the last of {data['triple_fault_count']})") if data["triple_fault_count"] > 1 else "")]
    lines.append(f"chain: {data['explanation']}")
    lines.extend(style.dim(f"note: {note}") for note in data["notes"])
    if data["steps"]:
        lines.append("")
        lines.append("step by step, against the tables now:")
    for step in data["steps"]:
        problem = step["problem"]
        head = f"  {step['mnemonic']} (step {step['index'] + 1}), {ROLES[step['role']]}: "
        if problem is None:
            text = "the tables now show nothing wrong here" if step["role"] == "delivery" \
                else "its cause is in the code that ran, not in the tables"
            lines.append(head + style.dim(text))
        else:
            lines.append(head + problem["summary"] + style.dim(f"  [{problem['check']}]"))
    if data["cause"] is not None:
        lines.append("")
        lines.append(style.bad("cause: ") + data["cause"]["summary"])
    if data["instruction"]:
        lines.append("")
        origin = data["origin"]
        fetch = origin is not None and origin["check"] == "handler-not-executable"
        lines.append("where it faulted: the handler's first fetch (these bytes never ran):" if fetch
                     else "faulting instruction:")
        for row in data["instruction"]:
            symbol = f" <{row['symbol']}>" if row.get("symbol") else ""
            lines.append(f"  {row['address']:#x}{symbol}: {row['text']}")
    if data["lint"]:
        lines.append("")
        lines.append("lint findings that bear on it:")
        for finding in data["lint"]:
            lines.append(f"  {finding['severity']}: {finding['what']}  [{finding['id']}]")
    if data["lint_error"]:
        lines.append(style.dim(f"(lint could not run: {data['lint_error']})"))
    if data["fixes"]:
        lines.append("")
        lines.append(style.good("fix:"))
        lines.extend(f"  - {fix}" for fix in data["fixes"])
    return "\n".join(lines)


def backtrace(data: dict[str, Any], style: Style) -> str:
    """gdb's `bt` layout: frame #0 the handler, #1 the code the CPU interrupted."""
    width = {"long": 16, "protected": 8, "real": 4}[data["mode"]]
    handler, interrupted = data["frames"]
    lines = []
    for row in (handler, interrupted):
        where = f" in {row['symbol']}" if row.get("symbol") else ""
        lines.append(f"#{row['level']}  {row['pc']:#0{width + 2}x}{where}")
    vector = handler["vector"]
    error = "" if handler["error_code"] is None else f", error code {handler['error_code']:#x}"
    lines[0] += style.dim(f"  (entry of vector {vector:#04x}{error})")
    ss = "" if interrupted["ss"] is None else f" SS {interrupted['ss']:#06x}"
    lines[1] += style.dim(f"  (interrupted at CPL {interrupted['from_cpl']}: CS {interrupted['cs']:#06x} "
                          f"RFLAGS {interrupted['rflags']:#x} SP {interrupted['sp']:#x}{ss}; "
                          f"stack {interrupted['stack']})")
    lines.extend(style.warn(f"note: {warning}") for warning in data["warnings"])
    return "\n".join(lines)
