"""The byte kinds of `decode` (gate, desc, tss, frame): bytes in, model values out.

Kept apart from decode.py so that `decode pf` and friends never load the
table, descriptor and frame decoders.
"""

from __future__ import annotations

import argparse

from ..errors import DecodeError, ParseError
from ..model.idt import CpuMode
from ..model.numbers import parse_int
from . import shapes
from .base import Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MODES = {"64": CpuMode.LONG, "32": CpuMode.PROTECTED, "16": CpuMode.REAL}


def decode_bytes(args: argparse.Namespace) -> Result:
    mode = MODES[args.mode]
    word_size = args.word_size or _default_word_size(args.what, mode)
    data = read_bytes(args.hex, word_size)
    if args.what == "gate":
        return Result("tables.gates", _gates(data, mode, parse_int(args.first, "first vector")))
    if args.what == "desc":
        return Result("tables.descriptors", _descriptors(data, mode))
    if args.what == "tss":
        return Result("tables.tss", _tss(data, mode, args))
    return Result("frame.frame", _frame(data, mode, args))


def read_bytes(tokens: list[str], word_size: int) -> bytes:
    """Bytes from hex tokens or from ``@FILE`` (hex text, or raw binary)."""
    from ..model.hexinput import parse_hex

    if len(tokens) == 1 and tokens[0].startswith("@"):
        path = tokens[0][1:]
        try:
            with open(path, "rb") as stream:
                raw = stream.read()
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


def _default_word_size(kind: str, mode: CpuMode) -> int:
    if kind in ("gate", "desc"):
        return 4 if mode is CpuMode.REAL else 8
    from ..model.frame import SLOT_SIZE

    return SLOT_SIZE[mode]


def _gates(data: bytes, mode: CpuMode, first: int) -> dict[str, Any]:
    from ..model.idt import IvtEntry, decode_table

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
        if isinstance(entry, IvtEntry):
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
