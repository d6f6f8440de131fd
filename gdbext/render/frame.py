"""Text for an interrupt frame."""

from __future__ import annotations

from typing import Any

from .errors import control_protection, page_fault, selector
from .style import Style
from .table import block, hexval


def frame(data: dict[str, Any], style: Style) -> str:
    width = {"long": 16, "protected": 8, "real": 4}[data["mode"]]
    prefix = {"long": "R", "protected": "E", "real": ""}[data["mode"]]
    title = "interrupt frame"
    if data["vector"] is not None:
        title += f" for vector {data['vector']} ({data['vector']:#04x})"
    pairs: list[tuple[str, str]] = []
    if data["error_code"] is not None:
        pairs.append(("error code", hexval(data["error_code"])))
    pairs.append((f"{prefix}IP", hexval(data["rip"], width)))
    pairs.append(("CS", f"{hexval(data['cs'], 4)} (RPL {data['cs'] & 3})"))
    flags = " ".join(data["rflags_flags"])
    pairs.append((f"{prefix}FLAGS", f"{hexval(data['rflags'])} {flags}".rstrip()))
    if data["rsp"] is not None:
        pairs.append((f"{prefix}SP", hexval(data["rsp"], width)))
        pairs.append(("SS", hexval(data["ss"], 4)))
    if data.get("cr2") is not None:
        pairs.append(("CR2", hexval(data["cr2"], width)))
    pairs.append(("from CPL", str(data["from_cpl"])))
    if data.get("stack"):
        pairs.append(("stack", data["stack"]))
    text = style.heading(title) + "\n" + block(pairs, style)
    for problem in data.get("problems", []):
        text += "\n" + style.warn(f"warning: {problem}")
    decoded = data.get("error_code_decoded")
    if decoded is not None:
        if "present" in decoded:
            text += "\n\n" + page_fault(decoded, style)
        elif "table" in decoded:
            text += "\n\n" + selector(decoded, style)
        else:
            text += "\n\n" + control_protection(decoded, style)
    return text
