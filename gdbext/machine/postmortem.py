"""The post-mortem of a triple fault: the chain a ``-d int,cpu_reset`` log holds,
held against the tables the vCPU has now (live at the paused machine, or a snapshot).

For each exception of the chain the CPU could not deliver, the delivery is
replayed check by check (:mod:`gdbext.model.delivery`): IDT limit, gate, code
segment, the stack the frame goes on (walked through the vCPU's page tables,
SDM Vol. 3A 4.5) and the handler's first fetch. The first step gets its own
cause too: the gate an IDT-flagged error code names, or the page a #PF's CR2
and error code name.
"""

from __future__ import annotations

from ..errors import IdtscopeError
from ..model.delivery import (
    DeliveryProblem,
    code_segment_problem,
    frame_span,
    gate_address_problem,
    gate_problem,
    handler_problem,
    idt_vector,
    missing_stack_problem,
    overflow_problem,
    stack_problem,
)
from ..model.errcode import ErrorCodeTable, PageFaultCode, PageFaultError, SelectorErrorCode
from ..model.exception_vectors import SELECTOR_ERROR_VECTORS, ExceptionVector
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode
from ..model.paging import PAGE_SIZE
from ..model.record import as_dict
from ..model.selector import Selector
from ..model.triplefault import ChainStep, TripleFault, explain
from ..model.tss import Tss64
from ..target.base import Target
from .cpu import registers
from .explain import software_vector
from .frames import entry_point, pushes_error_code
from .lint import code_segment_problem as segment_why
from .lint import lint
from .memory import walk_for_cpu
from .tables import read_gdt, read_idt
from .tss import read_tss

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

INSTRUCTIONS = 3
USABLE = (GateKind.INTERRUPT, GateKind.TRAP, GateKind.TASK)
STACK_CHECKS = ("stack-not-mapped", "stack-overflow")
STACK_FINDINGS = ("stack-unusable", "critical-without-ist", "ist-zero-slot", "stack-without-guard", "stacks-overlap")


def faulting_cpu(target: Target, fault: TripleFault) -> int | None:
    """The vCPU that triple-faulted, when exactly one holds a RIP of the chain: QEMU's log does
    not name the vCPU, and a machine paused at the triple fault keeps that vCPU where it gave up."""
    rips = {step.rip for step in fault.chain if step.rip is not None}
    found = []
    for cpu in target.cpus():
        try:
            regs = registers(target, cpu)
        except IdtscopeError:
            continue
        if regs.rip in rips or regs.linear_pc in rips:
            found.append(cpu)
    return found[0] if len(found) == 1 else None


def post_mortem(target: Target, cpu: int, fault: TripleFault) -> dict[str, Any]:
    """JSON-ready: the chain, why each step failed, the faulting instruction, lint, the fixes."""
    from .disasm import disassemble

    regs = registers(target, cpu)
    chain = fault.chain
    steps = []
    if chain:
        origin = _origin(target, cpu, chain[0], fault.before)
        steps.append(_step_data(0, chain[0], "raised", origin))
        for index, step in enumerate(chain[:-1]):
            if step.logged:
                steps.append(_step_data(index, step, "delivery", _delivery(target, cpu, step, step.vector)))
    problems = [step["problem"] for step in steps if step["problem"] is not None]
    first = chain[0] if chain else None
    instruction = disassemble(target, cpu, regs.mode, first.rip, INSTRUCTIONS) \
        if first is not None and first.rip is not None else []
    for row in instruction:
        row["symbol"] = row["symbol"] or target.symbolize(row["address"])
    vectors = {step.vector for step in chain} | {problem["vector"] for problem in problems}
    lint_error: str | None = None
    try:
        kind, findings = lint(target, cpu)
    except IdtscopeError as error:
        kind, findings, lint_error = None, [], str(error)
    stacky = any(problem["check"] in STACK_CHECKS for problem in problems)
    bearing = [finding.as_data() for finding in findings
               if set(finding.vectors) & vectors or (stacky and finding.id in STACK_FINDINGS)]
    fixes: list[str] = []
    for problem in problems:
        if problem["fix"] not in fixes:
            fixes.append(problem["fix"])
    decisive = steps[-1]["problem"] if steps else None
    return {
        "cpu": cpu,
        "mode": regs.mode.value,
        "line": fault.line,
        "explanation": explain(fault, advice=False),
        "notes": _notes(target, cpu, chain),
        "chain": [_chain_data(step) for step in chain],
        "steps": steps,
        "cause": decisive,
        "origin": steps[0]["problem"] if steps else None,
        "instruction": instruction,
        "lint": bearing,
        "lint_error": lint_error,
        "guest": None if kind is None else kind.name,
        "fixes": fixes,
    }


def _chain_data(step: ChainStep) -> dict[str, Any]:
    return {"vector": step.vector, "mnemonic": step.mnemonic, "kind": step.kind.value, "error_code": step.error_code,
            "rip": step.rip, "rsp": step.rsp, "cr2": step.cr2, "cpl": step.cpl, "logged": step.logged,
            "line": step.line}


def _step_data(index: int, step: ChainStep, role: str, problem: DeliveryProblem | None) -> dict[str, Any]:
    return {"index": index, "vector": step.vector, "mnemonic": step.mnemonic, "role": role,
            "problem": None if problem is None else as_dict(problem)}


def _idt_gate_named(target: Target, cpu: int, step: ChainStep) -> tuple[int, int, int | None, bool] | None:
    """For an error code with the IDT flag: (the index it holds, the vector it means, the INT n at
    the faulting RIP if one is there, IA-32e mode or not); None for any other error code."""
    code = step.error_code
    if step.vector not in SELECTOR_ERROR_VECTORS or code is None:
        return None
    selector_code = SelectorErrorCode.from_int(code & 0xFFFFFFFF)
    if selector_code.table is not ErrorCodeTable.IDT:
        return None
    view = read_idt(target, cpu)
    long_mode = view.mode is CpuMode.LONG
    software = software_vector(target, cpu, view.mode, step.rip) if step.rip is not None else None
    return selector_code.index, idt_vector(selector_code.index, long_mode, software, len(view.slots)), software, \
        long_mode


def _notes(target: Target, cpu: int, chain: tuple[ChainStep, ...]) -> list[str]:
    """What the log says wrongly that the reading above corrected."""
    named = _idt_gate_named(target, cpu, chain[0]) if chain else None
    if named is None or named[0] == named[1]:
        return []
    return [f"the error code {chain[0].error_code:#x} holds IDT index {named[0]:#x}: QEMU before 8.0 pushes "
            f"the vector doubled in IA-32e mode (QEMU issue 1382), so it means vector {named[1]:#04x}"]


def _origin(target: Target, cpu: int, step: ChainStep, before: tuple[ChainStep, ...]) -> DeliveryProblem | None:
    """Why the first exception of the chain was raised, where the tables can tell."""
    code = step.error_code
    named = _idt_gate_named(target, cpu, step)
    if named is not None:
        index, vector, software, long_mode = named
        problem = _delivery(target, cpu, step, vector, software=software is not None)
        halved = index // 2
        if problem is None and software is None and long_mode and vector == index and vector % 2 == 0 \
                and halved != vector:
            problem = _delivery(target, cpu, step, halved)
        return problem
    if step.vector == ExceptionVector.PF and code is not None and step.cr2 is not None:
        return _page_fault_origin(target, cpu, step, code, before)
    return None


def _page_fault_origin(target: Target, cpu: int, step: ChainStep, code: int,
                       before: tuple[ChainStep, ...]) -> DeliveryProblem | None:
    pushed = PageFaultCode(code & 0xFFFFFFFF)
    view = read_idt(target, cpu)
    for slot in view.slots:
        gate = slot.entry
        if isinstance(gate, Gate) and gate.present and gate.kind in (GateKind.INTERRUPT, GateKind.TRAP) \
                and gate.offset == step.cr2 and pushed.has(PageFaultError.ID):
            result = walk_for_cpu(target, cpu, step.cr2, fetch=True)
            reason = result.fault.reason if result.fault is not None else pushed.summary
            problem = handler_problem(slot.vector, step.cr2, target.symbolize(step.cr2), reason)
            again = sum(1 for earlier in before if earlier.vector == ExceptionVector.PF and earlier.cr2 == step.cr2)
            if again:
                problem = DeliveryProblem(problem.vector, problem.check,
                                          f"{problem.summary}; the same fault comes {again} times in the events "
                                          "just before it, each pushing another frame", problem.fix)
            return problem
    if step.stack_fault and step.cr2 is not None:
        result = walk_for_cpu(target, cpu, step.cr2, write=True)
        reason = result.fault.reason if result.fault is not None else pushed.summary
        return overflow_problem(step.rip, target.symbolize(step.rip) if step.rip is not None else None,
                                step.rsp, step.cr2, reason)
    return None


def _delivery(target: Target, cpu: int, step: ChainStep, vector: int, software: bool = False) \
        -> DeliveryProblem | None:
    """The first check the delivery of ``vector`` fails, from where ``step`` left the vCPU."""
    view = read_idt(target, cpu)
    mode = view.mode
    if mode is CpuMode.REAL:
        return None
    problem = gate_address_problem(vector, mode.gate_size, view.limit)
    if problem is not None:
        return problem
    slot = view.slots[vector]
    gate = slot.entry
    if not isinstance(gate, Gate):
        return DeliveryProblem(vector, "gate-unreadable", f"gate {vector:#04x} cannot be read: {slot.error}",
                               "map the IDT's pages")
    label = _label(vector)
    cpl = step.cpl if step.cpl is not None else 0
    problem = gate_problem(vector, label, gate.kind in USABLE, gate.type_name, gate.present, gate.dpl,
                           cpl if software else None)
    if problem is not None or gate.kind is GateKind.TASK:
        return problem
    gdt = read_gdt(target, cpu)
    problem = code_segment_problem(vector, label, gate.selector,
                                   segment_why(gdt, Selector.from_int(gate.selector), mode))
    if problem is not None:
        return problem
    problem = _stack(target, cpu, step, vector, gate, mode, cpl)
    if problem is not None:
        return problem
    handler = entry_point(target, cpu, gate)[0]
    if handler is None:
        return None
    result = walk_for_cpu(target, cpu, handler, fetch=True)
    if result.fault is not None:
        return handler_problem(vector, handler, target.symbolize(handler), result.fault.reason)
    return None


def _label(vector: int) -> str:
    from ..model.vectors import vector as vector_row

    mnemonic = vector_row(vector).mnemonic
    return f"the {mnemonic} gate (vector {vector:#04x})" if mnemonic else f"the gate of vector {vector:#04x}"


def _stack(target: Target, cpu: int, step: ChainStep, vector: int, gate: Gate, mode: CpuMode,
           cpl: int) -> DeliveryProblem | None:
    long_mode = mode is CpuMode.LONG
    top: int | None
    if (long_mode and gate.ist) or cpl > 0:
        stack = f"ist{gate.ist}" if long_mode and gate.ist else "rsp0"
        view = read_tss(target, cpu)
        tss = view.tss
        if tss is None:
            return missing_stack_problem(vector, stack, f"no TSS can be read ({view.absent or view.error})")
        if long_mode != isinstance(tss, Tss64):
            return missing_stack_problem(vector, stack, f"TR holds a {view.width}-bit TSS in {mode.value} mode")
        if isinstance(tss, Tss64):
            top = tss.ist_slot(gate.ist) if stack != "rsp0" else tss.rsp[0]
        else:
            top = tss.esp0
        if top == 0:
            return missing_stack_problem(vector, stack, f"TSS.{stack.upper()} is 0")
    else:
        stack, top = "same", step.rsp
    if top is None:
        return None
    low, high = frame_span(long_mode, top, stack != "same", pushes_error_code(vector, mode))
    for address in (high - 1, low):
        try:
            result = walk_for_cpu(target, cpu, address, write=True)
        except IdtscopeError:
            return None
        if result.fault is not None:
            overflow = stack == "same" and _mapped(target, cpu, address + PAGE_SIZE)
            return stack_problem(vector, stack, top, low, address, result.fault.reason, overflow=overflow)
    return None


def _mapped(target: Target, cpu: int, address: int) -> bool:
    try:
        return walk_for_cpu(target, cpu, address, write=True).fault is None
    except IdtscopeError:
        return False

