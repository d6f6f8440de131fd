"""Text for the live views: idt, gdt/ldt, regs, cpu."""

from __future__ import annotations

from .style import Style
from .table import block, hexval, table
from .tables import descriptors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _handler(row: dict[str, Any], style: Style) -> str:
    if row.get("handler") is None:
        return "-"
    text = style.addr(hexval(row["handler"]))
    return f"{text} <{style.name(row['symbol'])}>" if row.get("symbol") else text


def idt(data: dict[str, Any], style: Style) -> str:
    idtr = data["idtr"]
    present = sum(1 for g in data["gates"] if g["present"])
    unreadable = sum(1 for g in data["gates"] if g["type"] == "unreadable")
    head = style.heading(f"IDT of CPU {data['cpu']} ({data['mode']} mode): base {hexval(idtr['base'])} "
                         f"limit {hexval(idtr['limit'])}, {data['covered']} vectors covered")
    lines = [head]
    if data.get("note"):
        lines.append(style.dim(data["note"]))
    if data.get("absent"):
        lines.append(data["absent"])
        return "\n".join(lines)
    shown = [g for g in data["gates"] if g["present"] or data["show_all"] or g["type"] == "unreadable"]
    if data["mode"] == "real":
        rows = [[f"{g['vector']:#04x}", f"{g['segment']:04x}:{g['offset']:04x}", _handler(g, style)]
                if g["type"] != "unreadable" else [f"{g['vector']:#04x}", style.bad("unreadable"), g["error"]]
                for g in shown]
        lines.append(table(["vec", "seg:off", "handler"], rows, style))
    else:
        rows = []
        for g in shown:
            if g["type"] == "unreadable":
                rows.append([f"{g['vector']:#04x}", g.get("meaning", ""), style.bad("?"), style.bad("unreadable"),
                             "", "", "", g["error"], ""])
                continue
            notes = list(g.get("problems", []))
            task = g.get("task")
            if task:
                where = f"task: TSS {hexval(task['tss_selector'], 4)}"
                if task.get("eip") is not None:
                    where += (f" at {hexval(task['base'])}: EIP {hexval(task['eip'])} ESP {hexval(task['esp'])} "
                              f"CR3 {hexval(task['cr3'])}")
                notes.insert(0, where + (f" ({task['error']})" if task.get("error") else ""))
            rows.append([
                f"{g['vector']:#04x}", g.get("meaning", ""), style.good("P") if g["present"] else style.dim("-"),
                g["type_name"], str(g["dpl"]), "-" if not g["ist"] else str(g["ist"]), hexval(g["selector"], 4),
                _handler(g, style), style.warn("; ".join(notes)) if g.get("problems") else "; ".join(notes),
            ])
        lines.append(table(["vec", "meaning", "P", "type", "DPL", "IST", "sel", "handler", "notes"], rows, style))
        if unreadable:
            first = next(g for g in data["gates"] if g["type"] == "unreadable")
            lines.append(style.bad(f"{unreadable} gates unreadable: {first['error']}"))
        if not data["show_all"]:
            missing = len(data["gates"]) - present - unreadable
            if missing:
                lines.append(style.dim(f"{present} present, {missing} not present (idt --all lists them)"))
    for g in shown:
        for ins in g.get("disasm", []):
            where = f" <{ins['symbol']}>" if ins.get("symbol") else ""
            lines.append(f"  {g['vector']:#04x}  {hexval(ins['address'])}{where}:  {ins['text']}")
    return "\n".join(lines)


def gdt(data: dict[str, Any], style: Style) -> str:
    key = "gdtr" if "gdtr" in data else "ldtr"
    reg = data.get(key)
    if reg is None:
        return f"CPU {data['cpu']}: {data['absent']}"
    head = style.heading(
        f"{key[:3].upper()} of CPU {data['cpu']}: base {hexval(reg['base'])} limit {hexval(reg['limit'])}"
    )
    if data.get("absent"):
        return f"{head}\n{data['absent']}"
    lines = [head, descriptors({"entries": data["entries"]}, style)]
    if data.get("tail"):
        lines.append(style.dim(data["tail"]))
    loaded = [
        f"{', '.join(e['loaded_as'])} = {hexval(e['selector'], 4)}" for e in data["entries"] if e.get("loaded_as")
    ]
    if loaded:
        lines.append(style.dim("loaded: " + "; ".join(loaded)))
    if data.get("error"):
        lines.append(style.bad(f"part of the table is unreadable: {data['error']}"))
    return "\n".join(lines)


def _flags(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "-"
    return f"{hexval(entry['value'])} {' '.join(entry['flags'])}".rstrip()


def _seg(entry: dict[str, Any]) -> str:
    return (f"{hexval(entry['selector'], 4)} base {hexval(entry['base'])} limit {hexval(entry['limit'])} "
            f"{entry['description']}").rstrip()


def regs(data: dict[str, Any], style: Style) -> str:
    pairs = [
        ("mode", f"{data['mode']}  CPL {data['cpl']}" + ("  (halted)" if data["halted"] else "")),
        ("RIP", hexval(data["rip"])),
        ("RSP", hexval(data["rsp"])),
        ("RFLAGS", _flags(data["rflags"])),
        ("CS", _seg(data["cs"])),
        ("SS", _seg(data["ss"])),
        ("GDTR", f"base {hexval(data['gdtr']['base'])} limit {hexval(data['gdtr']['limit'])}"),
        ("IDTR", f"base {hexval(data['idtr']['base'])} limit {hexval(data['idtr']['limit'])}"),
        ("LDTR", _seg(data["ldtr"])),
        ("TR", _seg(data["tr"])),
        ("CR0", _flags(data["cr0"])),
        ("CR2", hexval(data["cr2"])),
        ("CR3", hexval(data["cr3"])),
        ("CR4", _flags(data["cr4"])),
        ("EFER", _flags(data["efer"])),
    ]
    return style.heading(f"CPU {data['cpu']}") + "\n" + block(pairs, style)


def cpu(data: dict[str, Any], style: Style) -> str:
    rows = []
    for row in data["cpus"]:
        where = hexval(row["rip"]) + (f" <{row['symbol']}>" if row["symbol"] else "")
        rows.append(["*" if row["selected"] else "", str(row["cpu"]), row["mode"], str(row["cpl"]), where,
                     "halted" if row["halted"] else ""])
    return table(["", "cpu", "mode", "CPL", "RIP", "state"], rows, style)


def ist(data: dict[str, Any], style: Style) -> str:
    if data.get("absent"):
        return f"CPU {data['cpu']}: {data['absent']}"
    head = style.heading(
        f"stacks of CPU {data['cpu']}'s TSS {hexval(data['tss']['selector'], 4)} at {hexval(data['tss']['base'])}"
    )
    rows = []
    for stack in data["stacks"]:
        used = " ".join(f"{v:#04x}" for v in stack["used_by"]) or (
            "privilege change" if stack["name"] == "rsp0" else "-"
        )
        span = (
            "-"
            if stack["bottom"] is None
            else f"{hexval(stack['bottom'])}-{hexval(stack['top'])} ({stack['size'] // 1024} KiB)"
        )
        if stack["guard"]:
            kind = "read-only" if stack["guard_reason"] == "read-only" else "unmapped"
            guard = style.good(f"{hexval(stack['guard_page'])} {kind}")
        elif stack["guard"] is False:
            guard = style.bad("none")
        else:
            guard = "?"
        rows.append([stack["name"].upper(), hexval(stack["top"]), used, span, guard,
                     style.warn("; ".join(stack["problems"]))])
    lines = [head, table(["stack", "top", "used by", "extent", "guard page", "problems"], rows, style)]
    for stack in data["stacks"]:
        frame = stack["last_frame"]
        if frame:
            lines.append(
                style.dim(
                    f"last frame on {stack['name'].upper()}: RIP {hexval(frame['rip'])} CS {hexval(frame['cs'], 4)} "
                    f"RFLAGS {hexval(frame['rflags'])} RSP {hexval(frame['rsp'])} SS {hexval(frame['ss'], 4)}"
                    + (f" error {hexval(frame['error_code'])}" if frame["error_code"] is not None else "")
                )
            )
    return "\n".join(lines)
