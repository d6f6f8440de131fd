"""Decode a value or pasted bytes offline: error codes, registers, gates,
descriptors, TSSs and interrupt frames.

Values are numbers (0x.., decimal). Bytes are hex as printed by gdb `x`,
xxd, `hexdump -C`, plain hex, or @FILE (text, or raw binary).
Examples:
  decode pf 0x6                      page-fault error code
  decode selector 0x1a               #GP/#TS/#NP/#SS error code
  decode cp 3                        #CP error code
  decode rflags 0x246                (also cr0, cr4, efer)
  decode gate 0x00008e0000081000 0 --mode 64
  decode desc 00af9a000000ffff       a GDT/LDT descriptor
  decode tss @tss.bin --mode 64
  decode frame @frame.txt --mode 64 --vector 14
"""

# Each kind imports its decoder when used: `decode pf` should not pay for the
# vector table or the descriptor classes.

from __future__ import annotations

import argparse

from ..model.numbers import parse_int
from . import shapes
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True

MODES = ("64", "32", "16")
_VALUE_KINDS = {
    "pf": "page-fault error code",
    "selector": "selector error code (#TS #NP #SS #GP)",
    "cp": "control-protection error code (#CP)",
    "rflags": "RFLAGS",
    "cr0": "CR0",
    "cr4": "CR4",
    "efer": "IA32_EFER",
}
_BYTE_KINDS = {
    "gate": "IDT gate(s); --mode 16 decodes real-mode IVT entries",
    "desc": "GDT/LDT descriptor(s)",
    "tss": "task-state segment",
    "frame": "interrupt frame at the handler's stack pointer",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_arguments_for(parser, [])


def add_arguments_for(parser: argparse.ArgumentParser, words: list[str]) -> None:
    """The parser with only the sub-command ``words`` names, when it names a known one."""
    wanted = words[0] if words and words[0] in (*_VALUE_KINDS, *_BYTE_KINDS) and "-h" not in words \
        and "--help" not in words else None
    subparsers = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    for kind, summary in _VALUE_KINDS.items():
        if wanted not in (None, kind):
            continue
        sub = subparsers.add_parser(kind, help=summary, description=f"Decode a {summary}.")
        sub.add_argument("value", help="the value (0x.. or decimal)")
        _json_flag(sub)
    for kind, summary in _BYTE_KINDS.items():
        if wanted not in (None, kind):
            continue
        sub = subparsers.add_parser(kind, help=summary, description=f"Decode a {summary} from bytes.")
        sub.add_argument("hex", nargs="+", metavar="HEX", help="hex bytes/words, or @FILE")
        sub.add_argument("--mode", choices=MODES, default="64", help="CPU mode: 64 (IA-32e), 32, 16 (real)")
        sub.add_argument("--word-size", type=int, choices=(1, 2, 4, 8),
                         help="bytes per 0x-prefixed word (default: 8 for gates and descriptors as "
                              "`x/gx` prints them, else the slot size of --mode)")
        if kind == "gate":
            sub.add_argument("--first", default="0", help="vector number of the first gate (default 0)")
        if kind == "tss":
            sub.add_argument("--limit", help="the TSS descriptor's limit (to judge the I/O bitmap)")
            sub.add_argument("--port", help="say whether this I/O port is allowed by the bitmap")
        if kind == "frame":
            sub.add_argument("--vector", help="the vector taken (decides the error code)")
            group = sub.add_mutually_exclusive_group()
            group.add_argument("--error-code", dest="has_error_code", action="store_true", default=None,
                               help="the frame starts with an error code")
            group.add_argument("--no-error-code", dest="has_error_code", action="store_false",
                               help="the frame has no error code")
            sub.add_argument(
                "--cpl", default="0", help="the handler's CPL (32-bit: decides whether SS:ESP were pushed)"
            )
        _json_flag(sub)


def _json_flag(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")


def run(context: Context, args: argparse.Namespace) -> Result:
    if args.what in _VALUE_KINDS:
        value = parse_int(args.value, _VALUE_KINDS[args.what])
        return Result(_VALUE_RENDERERS.get(args.what, "errors.register_flags"), _decode_value(args.what, value))
    from .decode_bytes import decode_bytes

    return decode_bytes(args)


#: the renderer of each value kind; the rest are register flags
_VALUE_RENDERERS = {"pf": "errors.page_fault", "selector": "errors.selector", "cp": "errors.control_protection"}


def _decode_value(kind: str, value: int) -> dict[str, Any]:
    if kind == "pf":
        return shapes.page_fault(value)
    if kind == "selector":
        return shapes.selector_error(value)
    if kind == "cp":
        return shapes.control_protection(value)
    return shapes.register_flags(kind, value)
