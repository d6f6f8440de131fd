"""Model values as JSON-ready dicts: the documented scripting interface.

Every command's ``--json`` output is built here (numbers stay integers,
absent values are None), and the text renderers read the same dicts. Model
modules are imported inside the functions that use them, so that a command
loads only the decoders it needs (start-up time of one-shot commands).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..model.descriptor import TableEntry
    from ..model.frame import InterruptFrame
    from ..model.gate import Gate
    from ..model.idt import IvtEntry
    from ..model.tss import Tss32, Tss64



def page_fault(value: int) -> dict[str, Any]:
    from ..model.errcode import PageFaultCode, PageFaultError
    from ..model.exception_vectors import ExceptionVector

    code = PageFaultCode(value)
    return {
        "vector": int(ExceptionVector.PF),
        "error_code": value,
        "present": code.has(PageFaultError.P),
        "write": code.has(PageFaultError.WR),
        "user": code.has(PageFaultError.US),
        "reserved_bit": code.has(PageFaultError.RSVD),
        "instruction_fetch": code.has(PageFaultError.ID),
        "protection_key": code.has(PageFaultError.PK),
        "shadow_stack": code.has(PageFaultError.SS),
        "hlat": code.has(PageFaultError.HLAT),
        "sgx": code.has(PageFaultError.SGX),
        "undefined_bits": code.reserved_bits,
        "access": code.access,
        "summary": code.summary,
    }


def selector_error(value: int) -> dict[str, Any]:
    from ..model.errcode import SelectorErrorCode

    code = SelectorErrorCode.from_int(value)
    return {
        "error_code": value,
        "external": code.external,
        "table": code.table.value,
        "index": code.index,
        "selector": code.selector,
        "null": code.null,
        "summary": code.summary,
    }


def control_protection(value: int) -> dict[str, Any]:
    from ..model.errcode import ControlProtectionCode
    from ..model.exception_vectors import ExceptionVector

    code = ControlProtectionCode(value)
    return {
        "vector": int(ExceptionVector.CP),
        "error_code": value,
        "cause": code.cause,
        "cause_name": code.cause_name,
        "enclave": code.enclave,
        "summary": code.summary,
    }


def register_flags(register: str, value: int) -> dict[str, Any]:
    from ..model.bits import flag_names, unknown_bits
    from ..model.control import Cr0, Cr4, Efer
    from ..model.rflags import rflags_names, rflags_reserved

    if register == "rflags":
        return {"register": "rflags", "value": value, "flags": list(rflags_names(value)),
                "iopl": (value >> 12) & 3, "reserved_bits": rflags_reserved(value)}
    flags = {"cr0": Cr0, "cr4": Cr4, "efer": Efer}[register]
    return {"register": register, "value": value, "flags": list(flag_names(value, flags)),
            "reserved_bits": unknown_bits(value, flags)}


def gate(vector: int, entry: Gate, symbol: str | None = None) -> dict[str, Any]:
    return {
        "vector": vector,
        "present": entry.present,
        "type": entry.kind.value,
        "type_value": entry.type,
        "type_name": entry.type_name,
        "size": entry.operand_size,
        "dpl": entry.dpl,
        "ist": entry.ist if entry.long_mode else None,
        "selector": entry.selector,
        "handler": None if entry.kind.value in ("task", "invalid") else entry.offset,
        "symbol": symbol,
        "problems": list(entry.problems),
    }


def ivt_entry(vector: int, entry: IvtEntry, symbol: str | None = None) -> dict[str, Any]:
    return {
        "vector": vector,
        "present": True,
        "type": "real",
        "segment": entry.segment,
        "offset": entry.offset,
        "handler": entry.linear,
        "symbol": symbol,
    }


def descriptor_entry(entry: TableEntry) -> dict[str, Any]:
    """One GDT/LDT slot with the keys of ``gdt --json``."""
    from ..model.descriptor import DescriptorKind, SegmentDescriptor, descriptor_kind
    from ..model.gate import Gate

    base: dict[str, Any] = {"index": entry.index, "selector": entry.selector, "error": entry.error}
    descriptor = entry.descriptor
    if descriptor is None:
        return base | {"present": False, "kind": "unreadable"}
    kind = descriptor_kind(descriptor)
    if isinstance(descriptor, SegmentDescriptor) and descriptor.to_bytes() == bytes(8):
        kind = DescriptorKind.NULL if entry.is_null else DescriptorKind.EMPTY
    base |= {"present": descriptor.present, "kind": kind.value, "dpl": descriptor.dpl,
             "type": descriptor.type, "size": descriptor.size}
    if isinstance(descriptor, Gate):
        return base | {"base": None, "limit": None, "long": None, "default_big": None, "granularity": None,
                       "target_selector": descriptor.selector, "offset": descriptor.offset,
                       "param_count": descriptor.param_count, "flags": descriptor.type_name}
    return base | {
        "base": descriptor.base,
        "limit": descriptor.limit,
        "limit_raw": descriptor.limit_raw,
        "long": descriptor.l,
        "default_big": descriptor.db,
        "granularity": descriptor.g,
        "avl": descriptor.avl,
        "accessed": descriptor.accessed,
        "flags": descriptor.flags_text,
    }


def tss64(entry: Tss64) -> dict[str, Any]:
    return {"width": 64, "rsp": list(entry.rsp), "ist": list(entry.ist), "iopb": entry.iopb}


def tss32(entry: Tss32) -> dict[str, Any]:
    names = ("link", "esp0", "ss0", "esp1", "ss1", "esp2", "ss2", "cr3", "eip", "eflags", "eax", "ecx",
             "edx", "ebx", "esp", "ebp", "esi", "edi", "es", "cs", "ss", "ds", "fs", "gs", "ldt", "t", "iopb")
    return {"width": 32} | {name: getattr(entry, name) for name in names}


def frame(entry: InterruptFrame, vector: int | None, error_format: str | None) -> dict[str, Any]:
    """The keys of ``frame --json``; ``error_format`` is the model's error-code format of the vector."""
    from ..model.idt import CpuMode
    from ..model.rflags import rflags_names

    decoded: dict[str, Any] | None = None
    if entry.error_code is not None and entry.error_code < 1 << 32:
        if error_format == "page-fault":
            decoded = page_fault(entry.error_code)
        elif error_format == "selector":
            decoded = selector_error(entry.error_code)
        elif error_format == "control-protection":
            decoded = control_protection(entry.error_code)
    return {
        "vector": vector,
        "mode": entry.mode.value,
        "error_code": entry.error_code,
        "error_code_decoded": decoded,
        "rip": entry.ip,
        "cs": entry.cs_selector,
        "rflags": entry.flags,
        "rflags_flags": list(rflags_names(entry.flags)) if entry.mode is not CpuMode.REAL else [],
        "rsp": entry.sp,
        "ss": entry.ss_selector,
        "cr2": None,
        "from_cpl": entry.from_cpl,
        "stack": None,
        "size": entry.size,
        "problems": list(entry.problems),
    }
