"""Why the fault happened, from the state at the handler's entry.

- #PF: walk CR2 through the vCPU's paging structures with the access the
  error code describes (SDM Vol. 3A 4.7) and name the level and bit that
  refused it; compare the error code that walk implies with the one pushed.
- #TS/#NP/#SS/#GP with a selector error code (SDM 3A 6.13): fetch the
  descriptor or gate the code names and say what is wrong with it.
- #DF: what can be known of the first exception (SDM 3A 6.15 "Interrupt 8").
"""

from __future__ import annotations

from ..errors import DecodeError
from ..model.descriptor import DescriptorKind, SegmentDescriptor, descriptor_kind, entry_for_selector
from ..model.errcode import ErrorCodeTable, PageFaultCode, SelectorErrorCode
from ..model.exception_vectors import SELECTOR_ERROR_VECTORS, ExceptionVector
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode
from ..model.paging import Access, Walk
from ..target.base import Target
from .frames import StopFrame
from .memory import walk_for_cpu
from .tables import read_gdt, read_idt, read_ldt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ERROR_BITS = 0x3F


def walk_data(result: Walk) -> dict[str, Any]:
    steps = []
    for step in result.steps:
        steps.append({
            "level": step.level.value, "table": step.table_address, "index": step.index,
            "entry_address": step.entry_address, "entry": step.entry, "present": step.present,
            "writable": step.writable, "user": step.user, "nx": step.nx, "page_size": step.page_size,
            "reserved_bits": step.reserved_bits_set, "frame": step.frame, "unreadable": step.unreadable,
        })
    fault = result.fault
    return {
        "mode": result.mode.value,
        "linear": result.linear,
        "access": f"{result.access.privilege} {result.access.kind}",
        "steps": steps,
        "physical": result.physical,
        "page_size": result.page_size,
        "allowed": result.allowed,
        "refused_by": None if fault is None else {"level": None if fault.level is None else fault.level.value,
                                                  "bit": fault.bit, "reason": fault.reason,
                                                  "vector": fault.vector, "error_code": fault.error_code},
        "notes": list(result.notes),
        "unreadable": result.unreadable,
    }


def explain_stop(target: Target, stop: StopFrame) -> dict[str, Any] | None:
    code = stop.frame.error_code
    if stop.vector == ExceptionVector.PF and code is not None and stop.cr2 is not None:
        return _page_fault(target, stop, code & 0xFFFFFFFF, stop.cr2)
    if stop.vector in SELECTOR_ERROR_VECTORS and code is not None:
        return _selector_fault(target, stop, code & 0xFFFFFFFF, ExceptionVector(stop.vector))
    if stop.vector == ExceptionVector.DF:
        return _double_fault(stop)
    return None


def _page_fault(target: Target, stop: StopFrame, code: int, cr2: int) -> dict[str, Any]:
    try:
        access = Access.from_error_code(code)
    except DecodeError as error:
        return {"kind": "page-fault", "summary": f"the error code {code:#x} is not a valid #PF code: {error}"}
    result = walk_for_cpu(target, stop.cpu, cr2, write=access.write, user=access.user, fetch=access.fetch)
    data = {"kind": "page-fault", "cr2": cr2, "error_code": code, "walk": walk_data(result)}
    pushed = PageFaultCode(code)
    if result.unreadable:
        data["agrees"] = None
        data["summary"] = f"cannot walk CR2 {stop.cr2:#x}: {result.unreadable}"
        return data
    if result.fault is None:
        data["agrees"] = False
        data["summary"] = (f"the paging structures now allow a {access.privilege} {access.kind} at {stop.cr2:#x}: "
                           "they changed after the fault, or a stale TLB entry refused it")
        return data
    expected = result.fault.error_code
    agrees = expected is not None and (expected & ERROR_BITS) == (code & ERROR_BITS)
    data["agrees"] = agrees
    data["expected_error_code"] = expected
    where = f"{result.fault.level}: {result.fault.reason}" if result.fault.level else result.fault.reason
    summary = f"{pushed.summary} at {stop.cr2:#x}; refused by {where}"
    if not agrees and expected is not None:
        summary += f" (that would push error code {expected:#x}, the CPU pushed {code:#x})"
    data["summary"] = summary
    return data


def _selector_fault(target: Target, stop: StopFrame, error_code: int, vector: ExceptionVector) -> dict[str, Any]:
    code = SelectorErrorCode.from_int(error_code)
    mnemonic = f"#{vector.name}"
    data: dict[str, Any] = {"kind": "selector", "error_code": code.to_int(), "table": code.table.value,
                            "index": code.index, "external": code.external}
    if code.null:
        data["summary"] = (f"{mnemonic}(0): not tied to a selector. Usual causes: a non-canonical address, "
                           "a privileged instruction at CPL > 0, a reserved bit written to a control register or "
                           "MSR, a null selector used for a memory access, or a misaligned SSE operand")
        return data
    if code.table is ErrorCodeTable.IDT:
        data |= _idt_reason(target, stop, code.index)
    else:
        data |= _descriptor_reason(target, stop, code, mnemonic)
    if code.external:
        data["summary"] += " (EXT=1: raised while delivering an external event or an earlier exception)"
    return data


def _idt_reason(target: Target, stop: StopFrame, index: int) -> dict[str, Any]:
    """What is wrong with the gate the code names.

    QEMU before 8.0 writes 2 * vector into the index of an IDT error code in
    long mode (16-byte gates counted in 8-byte slots; QEMU issue 1382): when
    the literal gate looks fine and the halved one explains the fault, the
    halved one is taken and the note says so.
    """
    found = _gate_reason(target, stop, index)
    if stop.mode is CpuMode.LONG and index % 2 == 0 and index // 2 != index:
        software = software_vector(target, stop.cpu, stop.mode, stop.frame.ip)
        if software == index // 2 or (software is None and found.get("fine")):
            halved = _gate_reason(target, stop, index // 2)
            if software is not None or not halved.get("fine"):
                halved["summary"] += (f" (the error code names IDT index {index:#x}: QEMU before 8.0 writes twice "
                                      f"the vector in long mode, so this is vector {index // 2:#04x})")
                found = halved
    found.pop("fine", None)
    return found


def software_vector(target: Target, cpu: int, mode: CpuMode, address: int) -> int | None:
    """The vector of the INT3 / INT n / INTO / INT1 at ``address`` (a frame's RIP), if it is one."""
    from .disasm import disassemble

    rows = disassemble(target, cpu, mode, address, 1)
    if not rows:
        return None
    mnemonic, _, operand = rows[0]["text"].partition(" ")
    fixed = {"int3": ExceptionVector.BP, "into": ExceptionVector.OF, "int1": ExceptionVector.DB}
    if mnemonic in fixed:
        return int(fixed[mnemonic])
    if mnemonic == "int":
        try:
            return int(operand, 0)
        except ValueError:
            return None
    return None


def _gate_reason(target: Target, stop: StopFrame, vector: int) -> dict[str, Any]:
    slots = read_idt(target, stop.cpu).slots
    if vector >= len(slots):
        return {"summary": f"vector {vector:#04x} lies beyond the IDT limit ({len(slots)} vectors covered)"}
    gate = slots[vector].entry
    if not isinstance(gate, Gate):
        return {"summary": f"IDT entry {vector:#04x} is unreadable: {slots[vector].error}"}
    info = {"gate": {"vector": vector, "present": gate.present, "type": gate.kind.value, "dpl": gate.dpl}}
    if not gate.present:
        return info | {"summary": f"the gate for vector {vector:#04x} is not present"}
    if gate.kind is GateKind.INVALID:
        return info | {"summary": f"IDT entry {vector:#04x} is not a valid gate ({gate.type_name})"}
    if stop.frame.from_cpl > gate.dpl:
        return info | {"summary": f"INT {vector:#04x} from CPL {stop.frame.from_cpl} through a gate with DPL "
                                  f"{gate.dpl}: software interrupts need CPL <= DPL (set DPL 3 on gates user code may "
                                  "use, such as int3 and int 0x80)"}
    return info | {"fine": True,
                   "summary": f"the gate for vector {vector:#04x} ({gate.type_name}, DPL {gate.dpl}) refused delivery; "
                              "check its code-segment selector"}


def _descriptor_reason(target: Target, stop: StopFrame, code: SelectorErrorCode, mnemonic: str) -> dict[str, Any]:
    view = read_ldt(target, stop.cpu) if code.table is ErrorCodeTable.LDT else read_gdt(target, stop.cpu)
    name = code.table.value
    if view is None:
        return {"summary": f"selector {code.selector:#06x} points into the LDT, but LDTR is null"}
    if code.index * 8 + 7 > view.limit:
        return {
            "summary": f"selector {code.selector:#06x}: index {code.index} lies beyond the {name} limit {view.limit:#x}"
        }
    entry = entry_for_selector(view.entries, code.index)
    if entry is None or entry.descriptor is None:
        why = entry.error if entry is not None else "the middle of a 16-byte system descriptor"
        return {"summary": f"{name}[{code.index}] is not a descriptor of its own ({why})"}
    descriptor = entry.descriptor
    kind = descriptor_kind(descriptor)
    info = {"descriptor": {"index": code.index, "kind": kind.value, "present": descriptor.present,
                           "dpl": descriptor.dpl}}
    label = f"{name}[{code.index}] (selector {code.selector:#06x}, {kind.value}, DPL {descriptor.dpl})"
    if not descriptor.present:
        return info | {"summary": f"{label} is not present"}
    if code.index == 0 and code.table is ErrorCodeTable.GDT:
        return info | {"summary": f"{label}: the null descriptor cannot be used"}
    if isinstance(descriptor, SegmentDescriptor) and kind is DescriptorKind.CODE and not descriptor.readable:
        return info | {"summary": f"{label} is an execute-only code segment: it cannot be loaded into DS, ES, FS, "
                                  "GS or SS, nor read through"}
    if kind in (DescriptorKind.TSS_AVAILABLE, DescriptorKind.TSS_BUSY, DescriptorKind.LDT):
        return info | {"summary": f"{label} is a system descriptor: it cannot be loaded into a segment register"}
    if stop.frame.from_cpl > descriptor.dpl:
        return info | {"summary": f"{label} has DPL {descriptor.dpl} but the code ran at CPL {stop.frame.from_cpl}"}
    return info | {"summary": f"{mnemonic} names {label}: check its type against how it was used "
                              "(segment load, far call/jump, task switch)"}


def _double_fault(stop: StopFrame) -> dict[str, Any]:
    text = ("a second exception arrived while the CPU was delivering a first one (two contributory faults, or a "
            "page fault followed by a contributory fault or a page fault, SDM 3A Table 6-5). The saved RIP is "
            "undefined by the SDM; QEMU saves the instruction that raised the first exception")
    data: dict[str, Any] = {"kind": "double-fault", "summary": text}
    if stop.stack.startswith("ist"):
        data["summary"] += f"; the handler runs on {stop.stack.upper()}, so a broken stack did not stop it"
    return data
