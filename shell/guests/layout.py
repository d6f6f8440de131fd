"""Load a test guest's ``layout.json``: the one description of its tables.

Each guest directory holds a ``layout.json`` that both sides read: ``build.py``
turns it into ``%define`` lines the assembler includes, and the tests compare
what the debugger sees with it. The file is written for people, so
``load_layout`` normalises it:

* a string ``"0x..."`` is a number (JSON has no hex literals);
* a variant (``load_layout("long64", "broken")``) applies its own ``set``
  entries, then those of its ``mistakes`` (``"a.b.0.c": value`` paths);
* the compact IDT (``default`` + ``absent`` + ``vectors`` overrides) is
  expanded into ``idt["gates"]``, one row per vector;
* values the tests want and the file states another way are derived:
  guard pages, TSS fields, decoded local APIC registers, IVT linear addresses,
  and for a guest without an ELF (``labels``) the address of each role in
  ``symbols`` as ``symbols_linear``.

Gate types are the SDM's (Vol. 3A §6.11 "IDT Descriptors", §6.14.1 "64-Bit
Mode IDT"; system descriptor types in §3.5 Table 3-2).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

GUESTS_DIR = Path(__file__).resolve().parent
#: where guest directories are looked up, in order: the package's own (long64, the demo
#: guest, ships in the wheel), then the ones the test suite adds (tests/guests/__init__.py)
SOURCE_DIRS = [GUESTS_DIR]
GUEST_NAMES = ("long64", "prot32", "real16")

PAGE_SIZE = 0x1000

# layout name -> (type field, gate size in bits or None for a task gate)
_GATE_KINDS = {
    "task": (0x5, None),
    "interrupt16": (0x6, 16),
    "trap16": (0x7, 16),
    "interrupt": (0xE, None),
    "trap": (0xF, None),
}

_HEX = re.compile(r"0x[0-9a-fA-F]+")

# LVT timer mode field, bits 18:17 (SDM Vol. 3A §11.5.1, Figure 11-8)
_TIMER_MODES = ("one-shot", "periodic", "tsc-deadline", "reserved")


def load_layout(name: str, variant: str | None = None) -> dict:
    """The layout of guest ``name`` (optionally with ``variant`` applied), normalised."""
    path = guest_dir(name) / "layout.json"
    if not path.is_file():
        raise ValueError(f"no guest named {name!r}: {path} does not exist")
    data = _numbers(json.loads(path.read_text()))
    data["variant"] = variant
    data["mistakes"] = _apply_variant(data, variant)
    if "idt" in data:
        data["idt"]["gates"] = expand_gates(data["idt"], data["mode"])
    if "labels" in data:
        data["symbols_linear"] = {role: data["labels"][label] for role, label in data["symbols"].items()}
    if "ivt" in data:
        for entry in data["ivt"]["installed"]:
            entry["linear"] = (entry["segment"] << 4) + entry["offset"]
    for cpu in data.get("cpus", []):
        _derive_cpu(cpu, data)
    if "lapic" in data:
        data["lapic"].update(decode_lapic(data["lapic"]["registers"]))
    if "scenarios" in data:
        data["scenarios"] = {int(key): value for key, value in data["scenarios"].items()}
    _validate(data)
    return data


def guest_dir(name: str) -> Path:
    """The source directory of guest ``name``: the first of ``SOURCE_DIRS`` that has it."""
    for root in SOURCE_DIRS:
        if (root / name / "layout.json").is_file():
            return root / name
    return GUESTS_DIR / name


def expand_gates(idt: dict, mode: str) -> list[dict]:
    """One row per IDT vector from the compact form (``default``, ``absent``, ``vectors``)."""
    count = (idt["limit"] + 1) // idt["entry_size"]
    absent = _vector_set(idt.get("absent", []))
    overrides = {int(key, 0): spec for key, spec in idt.get("vectors", {}).items()}
    rows = []
    for vector in range(count):
        spec = dict(idt["default"], present=vector not in absent)
        spec.update(overrides.get(vector, {}))
        rows.append(_gate_row(vector, spec, mode))
    return rows


def decode_lapic(registers: dict) -> dict:
    """Readable fields of the local APIC register values a guest writes (SDM Vol. 3A §11.5, §11.9)."""
    svr = registers["svr"]
    lvt = registers["lvt_timer"]
    dcr = registers["timer_dcr"]
    code = ((dcr >> 1) & 0b100) | (dcr & 0b11)
    return {
        "enabled": bool(svr & 0x100),
        "spurious_vector": svr & 0xFF,
        "timer": {
            "vector": lvt & 0xFF,
            "mode": _TIMER_MODES[(lvt >> 17) & 0b11],
            "masked": bool(lvt & (1 << 16)),
            "divide": 1 if code == 0b111 else 2 << code,
            "initial_count": registers["timer_initial_count"],
        },
    }


def gdt_entry(layout: dict, selector: int) -> dict:
    """The GDT entry that ``selector`` (RPL and TI ignored) designates."""
    for entry in layout["gdt"]["entries"]:
        if entry["selector"] == selector & ~0b111:
            return entry
    raise KeyError(f"{layout['name']}: no GDT entry for selector {selector:#x}")


def _numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, str) and _HEX.fullmatch(value):
        return int(value, 16)
    return value


def _apply_variant(data: dict, variant: str | None) -> list[dict]:
    if variant is None:
        return []
    variants = data.get("variants", {})
    if variant not in variants:
        known = ", ".join(sorted(variants)) or "none"
        raise ValueError(f"{data['name']} has no variant {variant!r} (known: {known})")
    for path, value in copy.deepcopy(variants[variant].get("set", {})).items():
        _set_path(data, path, value)
    mistakes = copy.deepcopy(variants[variant].get("mistakes", []))
    for mistake in mistakes:
        for path, value in mistake["set"].items():
            _set_path(data, path, value)
    return mistakes


def _set_path(data: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _vector_set(items: list) -> set[int]:
    vectors: set[int] = set()
    for item in items:
        if isinstance(item, int):
            vectors.add(item)
        else:
            first, last = (int(part, 0) for part in item.split("-"))
            vectors.update(range(first, last + 1))
    return vectors


def _gate_row(vector: int, spec: dict, mode: str) -> dict:
    if not spec["present"]:
        return {"vector": vector, "present": False, "type": None, "type_code": 0, "size": None,
                "dpl": 0, "ist": 0, "selector": 0, "handler": None, "generic": False}
    kind = spec["type"]
    type_code, size = _GATE_KINDS[kind]
    if size is None and kind != "task":
        size = 64 if mode == "long" else 32
    handler = spec.get("handler")
    generic = handler is None and kind != "task"
    if generic:
        handler = f"isr_vec_{vector:#04x}"
    return {
        "vector": vector,
        "present": True,
        "type": kind.removesuffix("16"),
        "type_code": type_code,
        "size": size,
        "dpl": spec["dpl"],
        "ist": spec.get("ist", 0),
        "selector": spec["selector"],
        "handler": handler,
        "generic": generic,
    }


def _derive_cpu(cpu: dict, data: dict) -> None:
    for stack in cpu["stacks"].values():
        stack["guard_page"] = stack["bottom"] - PAGE_SIZE if stack.get("guard") else None
    if data["mode"] == "long":
        stacks = cpu["stacks"]
        cpu["tss_fields"] = {
            "rsp": [stacks["rsp0"]["top"], 0, 0],
            "ist": [stacks[f"ist{n}"]["top"] if f"ist{n}" in stacks else 0 for n in range(1, 8)],
            "iopb": data["tss"]["iopb_offset"],
        }


def _validate(data: dict) -> None:
    name = data["name"]
    if "gdt" in data:
        entries = data["gdt"]["entries"]
        offset = 0
        for entry in entries:
            if entry["selector"] != offset:
                raise ValueError(f"{name}: GDT entry {entry['name']} has selector "
                                 f"{entry['selector']:#x} but sits at offset {offset:#x}")
            offset += entry["size"]
        if data["gdt"]["limit"] != offset - 1:
            raise ValueError(f"{name}: GDT limit {data['gdt']['limit']:#x} != {offset - 1:#x}")
    for label, tss in data.get("tss", {}).items():
        if isinstance(tss, dict) and gdt_entry(data, tss["selector"])["base"] != tss["base"]:
            raise ValueError(f"{name}: TSS {label}: selector {tss['selector']:#x} does not describe it")
    for cpu in data.get("cpus", []):
        if gdt_entry(data, cpu["tr"])["base"] != cpu["tss"]:
            raise ValueError(f"{name}: cpu {cpu['index']} TR {cpu['tr']:#x} does not describe its TSS")
        for label, stack in cpu["stacks"].items():
            if stack["top"] % 16 or stack["bottom"] % PAGE_SIZE:
                raise ValueError(f"{name}: cpu {cpu['index']} {label} stack is misaligned")
    if "idt" in data:
        idt = data["idt"]
        if (idt["limit"] + 1) % idt["entry_size"]:
            raise ValueError(f"{name}: IDT limit {idt['limit']:#x} is not a whole number of gates")
        for row in idt["gates"]:
            if row["ist"] and data["mode"] != "long":
                raise ValueError(f"{name}: vector {row['vector']:#x} has an IST outside long mode")
            if data["mode"] == "long" and row["present"] and row["type"] not in ("interrupt", "trap"):
                raise ValueError(f"{name}: vector {row['vector']:#x}: long mode has no {row['type']} gates")
    for entry in data.get("ivt", {}).get("installed", []):
        if data["labels"][entry["handler"]] != entry["linear"]:
            raise ValueError(f"{name}: IVT vector {entry['vector']:#x} does not point at {entry['handler']}")
