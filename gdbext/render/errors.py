"""Text for decoded error codes and flag registers."""

from __future__ import annotations

from .style import Style
from .table import block, hexval

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _bit(style: Style, name: str, on: bool, meaning_on: str, meaning_off: str) -> tuple[str, str]:
    mark = style.good("1") if on else style.dim("0")
    return name, f"{mark}  {meaning_on if on else meaning_off}"


def page_fault(data: dict[str, Any], style: Style) -> str:
    pairs = [
        _bit(style, "P", data["present"], "protection violation on a present page", "page not present"),
        _bit(style, "W/R", data["write"], "write", "read" if not data["instruction_fetch"] else "not a write"),
        _bit(style, "U/S", data["user"], "user mode (CPL 3)", "supervisor mode"),
        _bit(style, "RSVD", data["reserved_bit"], "a reserved bit is set in a paging entry", "no reserved bit"),
        _bit(style, "I/D", data["instruction_fetch"], "instruction fetch", "data access"),
        _bit(style, "PK", data["protection_key"], "protection-key violation", "no protection key"),
        _bit(style, "SS", data["shadow_stack"], "shadow-stack access", "not a shadow-stack access"),
        _bit(style, "HLAT", data["hlat"], "during HLAT paging", "ordinary paging"),
        _bit(style, "SGX", data["sgx"], "SGX access-control violation", "not SGX"),
    ]
    head = style.heading(f"#PF error code {hexval(data['error_code'])}: {data['summary']}")
    return head + "\n" + block(pairs, style)


def selector(data: dict[str, Any], style: Style) -> str:
    head = style.heading(f"selector error code {hexval(data['error_code'])}: {data['summary']}")
    pairs = [
        (
            "EXT",
            f"{int(data['external'])}  "
            + ("external event (interrupt/earlier exception)" if data["external"] else "the program"),
        ),
        ("IDT/TI", data["table"]),
        ("index", f"{data['index']} ({data['index']:#x})"),
    ]
    if data["selector"] is not None:
        pairs.append(("selector", hexval(data["selector"], 4)))
    return head + "\n" + block(pairs, style)


def control_protection(data: dict[str, Any], style: Style) -> str:
    head = style.heading(f"#CP error code {hexval(data['error_code'])}: {data['summary']}")
    pairs = [("cause", f"{data['cause']} {data['cause_name'] or '(reserved)'}"), ("ENCL", str(int(data["enclave"])))]
    return head + "\n" + block(pairs, style)


def register_flags(data: dict[str, Any], style: Style) -> str:
    flags = " ".join(data["flags"]) or "(none)"
    text = f"{data['register'].upper()} {hexval(data['value'])}: {flags}"
    if data["reserved_bits"]:
        text += "\n" + style.warn(f"reserved or unknown bits: {hexval(data['reserved_bits'])}")
    return text
