"""Text for `explain` and `vectors`."""

from __future__ import annotations

import textwrap

from .style import Style
from .table import table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ERROR_CODE_WORDS = {
    "none": "none",
    "zero": "yes, always 0",
    "selector": "yes, selector format (see `decode selector`)",
    "page-fault": "yes, page-fault format (see `decode pf`); CR2 holds the address",
    "control-protection": "yes, #CP format (see `decode cp`)",
    "exit-code": "yes, the #VC exit code (AMD SEV-ES)",
    "security": "yes, #SX format (AMD)",
}


def explain(row: dict[str, Any], style: Style) -> str:
    title = f"vector {row['vector']} ({row['vector']:#04x})"
    if row["mnemonic"]:
        title += f"  {row['mnemonic']}"
    lines = [style.heading(f"{title}  {row['name']}"), ""]
    wrap = max(40, min(style.width or 100, 100) - 16)

    def add(label: str, text: str | None) -> None:
        if not text:
            return
        body = textwrap.wrap(text, wrap) or [""]
        lines.append(f"{style.dim(label.rjust(14))}  {body[0]}")
        lines.extend(" " * 16 + more for more in body[1:])

    add("class", row["class"])
    add("error code", _ERROR_CODE_WORDS.get(row["error_code"], row["error_code"]))
    add("saved RIP", row["saved_ip"])
    add("origin", row["origin"])
    if row["double_fault_class"] not in (None, "none"):
        add("#DF class", row["double_fault_class"])
    add("raised by", row["source"])
    add("meaning", row["description"])
    add("Intel", row["intel"])
    add("AMD", row["amd"])
    irq = row["legacy_irq"]
    if irq:
        add("legacy IRQ", f"IRQ{irq['irq']} ({irq['chip']} 8259): {irq['device']} — under the common "
            f"remap to 0x20/0x28")
    linux = row["linux"]
    if linux:
        text = f"handler {linux['handler']}"
        if linux["signal"]:
            text += f"; a user process gets {linux['signal']}"
        if linux["note"]:
            text += f"; {linux['note']}"
        add("Linux (OS use)", text)
    return "\n".join(lines)


def vector_list(data: dict[str, Any], style: Style) -> str:
    rows = []
    for row in data["vectors"]:
        rows.append([
            f"{row['vector']:#04x}",
            str(row["vector"]),
            row["mnemonic"] or "",
            row["class"],
            "" if row["error_code"] == "none" else row["error_code"],
            row["name"],
        ])
    if not rows:
        return "no vector matches"
    return table(["hex", "dec", "mnem", "class", "error code", "name"], rows, style)
