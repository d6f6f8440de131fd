"""Text renderings of command results. Colour lives here and nowhere else."""

from __future__ import annotations

import importlib

from ..commands.base import Result
from .style import Style

_RENDERERS = {
    "explain": ("vectors", "explain"),
    "vectors": ("vectors", "vector_list"),
    "decode-pf": ("errors", "page_fault"),
    "decode-selector": ("errors", "selector"),
    "decode-cp": ("errors", "control_protection"),
    "decode-flags": ("errors", "register_flags"),
    "decode-gate": ("tables", "gates"),
    "decode-desc": ("tables", "descriptors"),
    "decode-tss": ("tables", "tss"),
    "frame": ("frame", "frame"),
    "stop": ("frame", "stop"),
    "walk": ("frame", "walk"),
    "breakpoints": ("frame", "breakpoints"),
    "message": ("frame", "message"),
    "lint": ("frame", "lint"),
    "log": ("log", "log"),
    "idt": ("live", "idt"),
    "gdt": ("live", "gdt"),
    "regs": ("live", "regs"),
    "cpu": ("live", "cpu"),
    "ist": ("live", "ist"),
    "lapic": ("controllers", "lapic"),
    "ioapic": ("controllers", "ioapic"),
    "pic": ("controllers", "pic"),
    "symbols": ("symbols", "symbols"),
    "why": ("postmortem", "why"),
    "bt": ("postmortem", "backtrace"),
}


def render(result: Result, color: bool = False, width: int = 100) -> str:
    module_name, function = _RENDERERS[result.kind]
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, function)(result.data, Style(color, width))
