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
from pathlib import Path
from typing import Any

from ..errors import DecodeError, ParseError
from ..model.hexinput import parse_hex, parse_int
from ..model.idt import CpuMode
from . import shapes
from .base import Context, Result

_MODES = {"64": CpuMode.LONG, "32": CpuMode.PROTECTED, "16": CpuMode.REAL}
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
    subparsers = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    for kind, summary in _VALUE_KINDS.items():
        sub = subparsers.add_parser(kind, help=summary, description=f"Decode a {summary}.")
        sub.add_argument("value", help="the value (0x.. or decimal)")
        _json_flag(sub)
    for kind, summary in _BYTE_KINDS.items():
        sub = subparsers.add_parser(kind, help=summary, description=f"Decode a {summary} from bytes.")
        sub.add_argument("hex", nargs="+", metavar="HEX", help="hex bytes/words, or @FILE")
        sub.add_argument("--mode", choices=tuple(_MODES), default="64", help="CPU mode: 64 (IA-32e), 32, 16 (real)")
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
            sub.add_argument("--cpl", default="0", help="the handler's CPL (32-bit: decides whether SS:ESP were pushed)")
        _json_flag(sub)


def _json_flag(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")


def read_bytes(tokens: list[str], word_size: int) -> bytes:
    """Bytes from hex tokens or from ``@FILE`` (hex text, or raw binary)."""
    if len(tokens) == 1 and tokens[0].startswith("@"):
        path = Path(tokens[0][1:])
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise ParseError(f"cannot read {path}: {error.strerror}") from None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return raw
        if "\0" in text:
            return raw
        return parse_hex(text, word_size)
    return parse_hex(" ".join(tokens), word_size)


def run(context: Context, args: argparse.Namespace) -> Result:
    if args.what in _VALUE_KINDS:
        value = parse_int(args.value, _VALUE_KINDS[args.what])
        return Result(f"decode-{_value_renderer(args.what)}", _decode_value(args.what, value))
    mode = _MODES[args.mode]
    word_size = args.word_size or _default_word_size(args.what, mode)
    data = read_bytes(args.hex, word_size)
    if args.what == "gate":
        return Result("decode-gate", _gates(data, mode, parse_int(args.first, "first vector")))
    if args.what == "desc":
        return Result("decode-desc", _descriptors(data, mode))
    if args.what == "tss":
        return Result("decode-tss", _tss(data, mode, args))
    return Result("frame", _frame(data, mode, args))


def _default_word_size(kind: str, mode: CpuMode) -> int:
    if kind in ("gate", "desc"):
        return 4 if mode is CpuMode.REAL else 8
    return {CpuMode.LONG: 8, CpuMode.PROTECTED: 4, CpuMode.REAL: 2}[mode]


def _value_renderer(kind: str) -> str:
    return kind if kind in ("pf", "selector", "cp") else "flags"


def _decode_value(kind: str, value: int) -> dict[str, Any]:
    if kind == "pf":
        return shapes.page_fault(value)
    if kind == "selector":
        return shapes.selector_error(value)
    if kind == "cp":
        return shapes.control_protection(value)
    return shapes.register_flags(kind, value)


def _gates(data: bytes, mode: CpuMode, first: int) -> dict[str, Any]:
    from ..model.idt import decode_table

    size = mode.gate_size
    if len(data) % size:
        what = {CpuMode.LONG: "a long-mode gate", CpuMode.PROTECTED: "a protected-mode gate",
                CpuMode.REAL: "a real-mode IVT entry"}[mode]
        raise DecodeError(f"{what} is {size} bytes, got {len(data)}")
    entries = decode_table(data, mode)
    if first + len(entries) > 256:
        raise DecodeError(f"{len(entries)} gates from vector {first} run past vector 255")
    rows = []
    for offset, entry in enumerate(entries):
        vector = first + offset
        if mode is CpuMode.REAL:
            rows.append(shapes.ivt_entry(vector, entry))
        else:
            rows.append(shapes.gate(vector, entry))
    return {"mode": mode.value, "gates": rows}


def _descriptors(data: bytes, mode: CpuMode) -> dict[str, Any]:
    from ..model.descriptor import TableIndicator, decode_descriptor_table

    if mode is CpuMode.REAL:
        raise DecodeError("real-address mode has no descriptors; use --mode 32 or 64")
    if len(data) % 8:
        raise DecodeError(f"descriptors are 8 or 16 bytes, got {len(data)} bytes")
    entries = decode_descriptor_table(data, mode is CpuMode.LONG, TableIndicator.GDT)
    for entry in entries:
        if entry.error:
            raise DecodeError(f"descriptor {entry.index}: {entry.error}")
    return {"mode": mode.value, "entries": [shapes.descriptor_entry(entry) for entry in entries]}


def _tss(data: bytes, mode: CpuMode, args: argparse.Namespace) -> dict[str, Any]:
    from ..model.tss import TSS32_SIZE, TSS64_SIZE, Tss32, Tss64, allowed_ports, io_port_allowed

    if mode is CpuMode.REAL:
        raise DecodeError("real-address mode has no TSS; use --mode 32 or 64")
    size = TSS64_SIZE if mode is CpuMode.LONG else TSS32_SIZE
    if len(data) < size:
        raise DecodeError(f"a {'64' if mode is CpuMode.LONG else '32'}-bit TSS is {size} bytes, got {len(data)}")
    decoded = Tss64.from_bytes(data) if mode is CpuMode.LONG else Tss32.from_bytes(data)
    body = shapes.tss64(decoded) if isinstance(decoded, Tss64) else shapes.tss32(decoded)
    limit = parse_int(args.limit, "TSS limit") if args.limit else len(data) - 1
    body |= {"selector": None, "base": None, "limit": limit}
    body["allowed_ports"] = [[r.start, r.stop - 1] for r in allowed_ports(data, limit, decoded.iopb)]
    if args.port is not None:
        port = parse_int(args.port, "I/O port")
        body["port"] = {"port": port, "allowed": io_port_allowed(data, limit, decoded.iopb, port)}
    return body


def _frame(data: bytes, mode: CpuMode, args: argparse.Namespace) -> dict[str, Any]:
    from ..model import vectors as model_vectors
    from ..model.frame import InterruptFrame, guess_error_code

    vector = None
    error_format = None
    cpl = parse_int(args.cpl, "CPL")
    if cpl > 3:
        raise DecodeError(f"a CPL is 0-3, got {cpl}")
    has_error_code = args.has_error_code
    if args.vector is not None:
        row = model_vectors.lookup(args.vector)
        vector = row.number
        error_format = row.error_code.value
        if has_error_code is None:
            has_error_code = mode is not CpuMode.REAL and row.error_code is not model_vectors.ErrorCodeFormat.NONE
    if has_error_code is None:
        has_error_code = guess_error_code(data, mode, cpl)
    decoded = InterruptFrame.from_bytes(data, mode, has_error_code, cpl)
    return shapes.frame(decoded, vector, error_format)
