"""Text for gates, descriptors and TSSs."""

from __future__ import annotations

from .style import Style
from .table import block, hexval, table, yes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _handler(row: dict[str, Any]) -> str:
    text = hexval(row["handler"]) if row["handler"] is not None else "-"
    return f"{text} <{row['symbol']}>" if row.get("symbol") else text


def gates(data: dict[str, Any], style: Style) -> str:
    if data["mode"] == "real":
        rows = [[f"{r['vector']:#04x}", f"{r['segment']:04x}:{r['offset']:04x}", _handler(r)] for r in data["gates"]]
        return table(["vec", "seg:off", "handler"], rows, style)
    rows = []
    for r in data["gates"]:
        present = style.good("P") if r["present"] else style.dim("-")
        notes = "; ".join(r.get("problems", []))
        rows.append([
            f"{r['vector']:#04x}", present, r["type_name"], str(r["dpl"]),
            "-" if not r["ist"] else str(r["ist"]), hexval(r["selector"], 4), _handler(r),
            style.warn(notes) if notes else "",
        ])
    return table(["vec", "P", "type", "DPL", "IST", "sel", "handler", "notes"], rows, style)


def descriptors(data: dict[str, Any], style: Style) -> str:
    rows = []
    for r in data["entries"]:
        if r["kind"] == "unreadable":
            rows.append([str(r["index"]), hexval(r["selector"], 4), style.bad(r["error"] or "unreadable"),
                         "", "", "", ""])
            continue
        present = style.good("P") if r["present"] else style.dim("-")
        base = (
            hexval(r["base"])
            if r["base"] is not None
            else f"-> {hexval(r['target_selector'], 4)}:{hexval(r['offset'])}"
        )
        limit = hexval(r["limit"]) if r["limit"] is not None else "-"
        rows.append([str(r["index"]), hexval(r["selector"], 4), r["kind"], present, str(r["dpl"]), base,
                     limit, r["flags"] if r["kind"] not in ("null", "empty") else ""])
    return table(["idx", "sel", "kind", "P", "DPL", "base", "limit", "flags"], rows, style)


def tss(data: dict[str, Any], style: Style) -> str:
    if data.get("absent"):
        return f"CPU {data['cpu']}: {data['absent']}"
    if data.get("width") is not None and "iopb" not in data:
        return style.bad(f"TSS {hexval(data.get('selector'), 4)}: {data.get('error') or 'not readable'}")
    pairs: list[tuple[str, str]] = []
    if data.get("selector") is not None:
        pairs.append(("selector", hexval(data["selector"], 4)))
    if data.get("base") is not None:
        pairs.append(("base", hexval(data["base"])))
    if data.get("limit") is not None:
        pairs.append(("limit", hexval(data["limit"])))
    if data["width"] == 64:
        pairs += [(f"RSP{i}", hexval(v)) for i, v in enumerate(data["rsp"])]
        pairs += [(f"IST{i + 1}", hexval(v) if v else style.dim("0 (unused)")) for i, v in enumerate(data["ist"])]
    else:
        for name in ("link", "esp0", "ss0", "esp1", "ss1", "esp2", "ss2", "cr3", "eip", "eflags", "eax", "ecx",
                     "edx", "ebx", "esp", "ebp", "esi", "edi", "es", "cs", "ss", "ds", "fs", "gs", "ldt"):
            pairs.append((name.upper(), hexval(data[name])))
        pairs.append(("T", yes(data["t"])))
    pairs.append(("I/O map base", hexval(data["iopb"])))
    ports = data.get("allowed_ports")
    if ports is not None:
        text = (
            ", ".join(f"{lo:#x}" if lo == hi else f"{lo:#x}-{hi:#x}" for lo, hi in ports)
            or "none (all ports need IOPL)"
        )
        pairs.append(("ports allowed", text))
    if data.get("port"):
        port = data["port"]
        pairs.append((f"port {port['port']:#x}", style.good("allowed") if port["allowed"] else style.bad("denied")))
    title = style.heading(
        f"{data['width']}-bit TSS" + (f" of CPU {data['cpu']}" if data.get("cpu") is not None else "")
    )
    text = title + "\n" + block(pairs, style)
    if data.get("error"):
        text += "\n" + style.bad(data["error"])
    if data.get("descriptor_error"):
        text += "\n" + style.warn(f"TR's descriptor: {data['descriptor_error']} (the CPU still uses TR's cached "
                                   "base and limit; the next LTR, task switch or IRET with NT=1 would fault)")
    return text
