"""Text for the interrupt controller views: lapic, ioapic, pic."""

from __future__ import annotations

from .style import Style
from .table import block, hexval, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SEVERITY = {"error": "bad", "warning": "warn", "note": "dim"}


def _handler(row: dict[str, Any], style: Style) -> str:
    if row.get("present") is None:
        return "-"
    if not row["present"]:
        return style.bad(row.get("problem") or "no gate")
    if row.get("handler") is None:
        return "task gate"
    text = style.addr(hexval(row["handler"]))
    return f"{text} <{style.name(row['symbol'])}>" if row.get("symbol") else text


def _vec(value: int | None) -> str:
    return "-" if value is None else f"{value:#04x}"


def _diagnoses(rows: list[dict[str, Any]], style: Style) -> list[str]:
    return [style.paint(_SEVERITY[d["severity"]], f"{d['severity']}: {d['message']}") for d in rows]


def _trailer(data: dict[str, Any], style: Style) -> list[str]:
    lines = _diagnoses(data["diagnoses"], style)
    if data.get("missing"):
        lines.append(style.warn("not in the monitor text (cut short or worded differently): "
                                + ", ".join(data["missing"])))
    if data.get("unparsed"):
        lines.append(style.dim("lines not understood: " + " | ".join(data["unparsed"])))
    return lines


def _vector_list(vectors: list[int] | None, info: dict[int, dict[str, Any]], style: Style) -> str:
    if vectors is None:
        return style.warn("unknown")
    if not vectors:
        return "none"
    return ", ".join(f"{v:#04x} -> {_handler(info[v], style)}" if v in info else f"{v:#04x}" for v in vectors)


def _lapic_one(data: dict[str, Any], style: Style) -> str:
    info = {row["vector"]: row for row in data["vectors"]}
    mode = ", x2APIC in CPUID" if data["x2apic"] else ""
    state = {True: style.good("enabled"), False: style.bad("software-disabled")}.get(data["enabled"], "SVR unknown")
    where = hexval(data["rip"]) + (f" <{data['rip_symbol']}>" if data["rip_symbol"] else "")
    lines = [style.heading(f"local APIC of CPU {data['cpu']} (APIC ID {data['apic_id']}{mode}): {state}; "
                           f"CPU at {where}" + (", halted" if data["halted"] else ""))]
    pairs = []
    if data["spurious_vector"] is not None:
        svr = data["svr"]
        pairs.append(("SVR", f"{hexval(svr['raw'])}: spurious vector {_vec(data['spurious_vector'])} -> "
                             f"{_handler(info[data['spurious_vector']], style)}, focus checking "
                             f"{'on' if svr['focus_checking'] else 'off'}"))
    if data["ppr"] is not None:
        held = f"vectors up to {data['ppr'] | 0xF:#04x} held back" if data["ppr_class"] else "no vector held back"
        pairs.append(("priority", f"TPR {hexval(data['tpr'])}  APR {hexval(data['apr'])}  PPR {hexval(data['ppr'])} "
                                  f"(class {data['ppr_class']}: {held})"))
    timer = data["timer"]
    if timer is not None:
        pairs.append(("timer", f"{timer['mode'] or '?'}, divide by {timer['divide']}, initial count "
                               f"{timer['initial_count']}, current count {timer['current_count']}"))
    icr = data["icr"]
    if icr is not None:
        dest = icr["shorthand"] if icr["shorthand"] != "no-shorthand" else (
            f"{icr['destination_mode']} {icr['destination_text'] or hexval(icr['destination'])}")
        pairs.append(("ICR", f"{hexval(icr['raw'])}: {icr['delivery_mode']} vector {_vec(icr['vector'])} to {dest}, "
                             f"{icr['trigger']} {icr['level']}, {icr['delivery_status']}"))
    if data["esr"] is not None:
        named = f" ({', '.join(data['esr_errors'])})" if data["esr_errors"] else ""
        pairs.append(("ESR", hexval(data["esr"]) + named))
    for name in ("isr", "irr", "tmr"):
        pairs.append((name.upper(), _vector_list(data[name], info, style)))
    lines.append(block(pairs, style))
    rows = []
    for kind, entry in data["lvt"].items():
        if entry is None:
            rows.append([kind, style.warn("missing"), "", "", "", "", "", ""])
            continue
        vector = entry["vector"]
        rows.append([kind, hexval(entry["raw"], 8), _vec(vector), entry["delivery_mode"], entry["trigger"],
                     entry["polarity"] or "-", style.dim("masked") if entry["masked"] else style.good("open"),
                     " ".join(part for part in (
                         _handler(info[vector], style) if vector in info else "",
                         "pending" if entry["delivery_status"] == "pending" else "",
                         style.warn("; ".join(entry["problems"]))) if part)])
    lines.append(table(["LVT", "raw", "vector", "delivery", "trigger", "polarity", "mask", "handler"], rows, style))
    return "\n".join(lines + _trailer(data, style))


def lapic(data: dict[str, Any], style: Style) -> str:
    if "cpus" in data:
        return "\n\n".join(_lapic_one(one, style) for one in data["cpus"])
    return _lapic_one(data, style)


def ioapic(data: dict[str, Any], style: Style) -> str:
    if not data["ioapics"]:
        return "\n".join(["QEMU shows no I/O APIC in this machine"] + _trailer(data, style))
    lines = []
    for chip in data["ioapics"]:
        lines.append(style.heading(f"I/O APIC {chip['index']}: ID {hexval(chip['id'])} version "
                                   f"{hexval(chip['version'])}, {chip['pins']} pins; "
                                   f"handlers from CPU {data['cpu']}'s IDT"))
        rows = []
        for pin in (p for p in data["pins"] if p["ioapic"] == chip["index"]):
            shown = pin["vector"] is not None and (not pin["masked"] or pin["vector"])
            rows.append([str(pin["pin"]), "-" if pin["isa_irq"] is None else f"IRQ{pin['isa_irq']}",
                         _vec(pin["vector"]), pin["delivery_mode"],
                         f"{pin['dest_mode'][:4]} {hexval(pin['dest'])}", pin["trigger"], pin["polarity"],
                         style.dim("masked") if pin["masked"] else style.good("open"),
                         "yes" if pin["remote_irr"] else "", _handler(pin, style) if shown else ""])
        lines.append(table(["pin", "ISA", "vector", "delivery", "dest", "trigger", "polarity", "mask", "rIRR",
                            "handler"], rows, style))
    return "\n".join(lines + _trailer(data, style))


def pic(data: dict[str, Any], style: Style) -> str:
    if data["master"] is None:
        return "\n".join([data.get("note", "no 8259A")] + _trailer(data, style))
    lines = []
    for name in ("master", "slave"):
        chip = data[name]
        if chip is None:
            continue
        lines.append(style.heading(f"{name} 8259A: base {_vec(chip['base'])}  IRR {chip['irr']:02x}  "
                                   f"IMR {chip['imr']:02x}  ISR {chip['isr']:02x}  ELCR {chip['elcr']:02x}"))
        rows = []
        for line in chip["lines"]:
            state = " ".join(word for word, on in (("requested", line["requested"]), ("in-service", line["in_service"]))
                             if on)
            rows.append([f"IRQ{line['irq']}", line["device"], _vec(line["vector"]),
                         style.dim("masked") if line["masked"] else style.good("open"), line["trigger"], state,
                         "cascade from the slave" if line["cascade"] else _handler(line, style)])
        lines.append(table(["IRQ", "device", "vector", "mask", "trigger", "state", "handler"], rows, style))
    lines.append(style.dim(f"handlers from CPU {data['cpu']}'s IDT"))
    return "\n".join(lines + _trailer(data, style))
