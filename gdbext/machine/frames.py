"""The frame the CPU pushed, read at a handler's first instruction.

At the first instruction of a handler the stack pointer points at the frame
(SDM Vol. 3A 6.12.1, 6.14.2): this module finds which vector the handler
serves, reads and decodes the frame, and checks which stack the CPU chose
against the TSS (IST n and RSPn for 64-bit; SDM 3A 6.14.4, 6.14.5).
"""

from __future__ import annotations

from ..errors import TargetError, UsageError
from ..model.exception_vectors import ExceptionVector
from ..model.frame import SLOT_SIZE, InterruptFrame, stack_used
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode, IvtEntry
from ..model.record import record
from ..model.vectors import ErrorCodeFormat
from ..model.vectors import vector as vector_row
from ..target.base import Target
from .cpu import registers
from .tables import read_idt, segment_base
from .tss import read_tss


@record
class StopFrame:
    cpu: int
    vector: int | None
    mode: CpuMode
    address: int
    frame: InterruptFrame
    to_cpl: int
    stack: str
    stack_check: str | None
    cr2: int | None
    gate: Gate | IvtEntry | None
    warnings: tuple[str, ...]


def entry_point(target: Target, cpu: int, entry: Gate | IvtEntry | None) -> tuple[int | None, str | None]:
    """Where delivery through ``entry`` starts executing, or why it cannot.

    An interrupt or trap gate enters its code segment at the gate's offset: in protected
    mode at that segment's base plus the offset (SDM 3A 6.12.1), in IA-32e mode at the
    offset (the base is ignored, 3.4.4). A task gate starts the task its TSS describes,
    at that TSS's EIP (SDM 3A 6.12.2).
    """
    if isinstance(entry, IvtEntry):
        return entry.linear, None
    if not isinstance(entry, Gate) or not entry.present:
        return None, "not present"
    if entry.kind in (GateKind.INTERRUPT, GateKind.TRAP):
        if entry.long_mode:
            return entry.offset, None
        return (segment_base(target, cpu, entry.selector) + entry.offset) & 0xFFFFFFFF, None
    if entry.kind is GateKind.TASK:
        view = read_tss(target, cpu, entry.selector)
        if view.tss32 is None:
            return None, f"its TSS {entry.selector:#06x} is unusable ({view.error or 'not a 32-bit TSS'})"
        return view.tss32.eip, None
    return None, f"a {entry.type_name} is not an interrupt, trap or task gate"


def vectors_at(target: Target, cpu: int, address: int) -> list[int]:
    """Vectors whose delivery starts executing at ``address``."""
    return [slot.vector for slot in read_idt(target, cpu).slots
            if entry_point(target, cpu, slot.entry)[0] == address]


def pushes_error_code(vector: int | None, mode: CpuMode) -> bool:
    """Whether the CPU pushes an error code when it raises this exception (never in real mode)."""
    if vector is None or mode is CpuMode.REAL or vector >= 32:
        return False
    return vector_row(vector).error_code is not ErrorCodeFormat.NONE


def read_stop_frame(target: Target, cpu: int | None = None, vector: int | None = None,
                    at: int | None = None) -> StopFrame:
    """Decode the frame at ``at`` (default: the vCPU's stack pointer, i.e. at a handler's entry)."""
    cpu = target.check_cpu(cpu)
    regs = registers(target, cpu)
    mode = regs.mode
    warnings: list[str] = []
    if vector is None:
        candidates = vectors_at(
            target, cpu, regs.rip if mode is not CpuMode.REAL else (regs.cs.selector << 4) + regs.rip
        )
        if not candidates:
            raise UsageError(f"RIP {regs.rip:#x} is not the entry of any gate's handler; give --vector N "
                             "(and --at ADDR if the frame is not at the stack pointer)")
        vector = candidates[0]
        if len(candidates) > 1:
            warnings.append("this handler serves vectors " + ", ".join(f"{v:#04x}" for v in candidates)
                            + f"; decoded as {vector:#04x} (give --vector to choose)")
    if not 0 <= vector <= 255:
        raise UsageError(f"vector {vector} is out of range 0-255")
    address = at if at is not None else (regs.ss.base + regs.rsp if mode is CpuMode.REAL else regs.rsp)
    has_error = pushes_error_code(vector, mode)
    slots = read_idt(target, cpu).slots
    gate = slots[vector].entry if vector < len(slots) else None
    if isinstance(gate, Gate) and gate.kind is GateKind.TASK:
        return _task_frame(target, cpu, vector, gate, address, has_error, regs.cpl)
    data = _read_frame(target, cpu, address, mode)
    to_cpl = regs.cpl
    frame = InterruptFrame.from_bytes(data, mode, has_error, to_cpl)
    if frame.problems and mode is not CpuMode.REAL:
        other = InterruptFrame.from_bytes(data, mode, not has_error, to_cpl)
        if not other.problems:
            warnings.append(f"the frame reads as {'having' if not has_error else 'lacking'} an error code: "
                            f"vector {vector:#04x} was raised by INT n or an external event, not by the CPU"
                            if has_error else "the frame has an error code this vector does not push")
            frame = other
        else:
            warnings.extend(frame.problems)
    ist = gate.ist if isinstance(gate, Gate) else 0
    stack = stack_used(mode, ist, frame.from_cpl, to_cpl)
    check = _check_stack(target, cpu, mode, stack, address, frame)
    cr2 = regs.cr2 if vector == ExceptionVector.PF else None
    return StopFrame(cpu, vector, mode, address, frame, to_cpl, stack, check, cr2, gate, tuple(warnings))


def _task_frame(target: Target, cpu: int, vector: int, gate: Gate, address: int, has_error: bool,
                to_cpl: int) -> StopFrame:
    """A stop at the first instruction of a task entered through a task gate.

    A task switch pushes no frame: the interrupted state was saved in the
    previous task's TSS, which the new TSS's link field names; only the error
    code, if any, is pushed on the new task's stack (SDM 3A 8.3, 6.12.2).
    """
    current = read_tss(target, cpu)
    if current.tss32 is None:
        raise TargetError(f"stopped in the task of gate {vector:#04x}, but its TSS is unreadable: {current.error}")
    link = current.tss32.link
    previous = read_tss(target, cpu, link)
    if previous.tss32 is None:
        raise TargetError(f"the previous task's TSS {link:#06x} is unreadable: {previous.error}")
    old = previous.tss32
    error_code = None
    if has_error:
        error_code = int.from_bytes(target.read_memory(address, 4, cpu), "little")
    frame = InterruptFrame(CpuMode.PROTECTED, error_code, old.eip, old.cs, old.eflags, old.esp, old.ss)
    check = (f"task switch from TSS {link:#06x} to TSS {current.selector:#06x} "
             f"(link field {link:#06x}); the interrupted state is the old TSS's")
    return StopFrame(cpu, vector, CpuMode.PROTECTED, address, frame, to_cpl, "task", check, None, gate, ())


def _read_frame(target: Target, cpu: int, address: int, mode: CpuMode) -> bytes:
    """The largest frame this mode can have that is readable at ``address``.

    A frame sits at the top of its stack, so reading past it may touch an
    unmapped page: try the longest layout first, then shorter ones.
    """
    slot = SLOT_SIZE[mode]
    counts = {CpuMode.LONG: (6, 5), CpuMode.PROTECTED: (10, 6, 5, 4, 3), CpuMode.REAL: (3,)}[mode]
    error: TargetError | None = None
    for count in counts:
        try:
            return target.read_memory(address, count * slot, cpu)
        except TargetError as failure:
            error = failure
    raise TargetError(f"the frame at {address:#x} is unreadable: {error}")


def _check_stack(target: Target, cpu: int, mode: CpuMode, stack: str, address: int,
                 frame: InterruptFrame) -> str | None:
    """Compare where the frame sits with the stack top the TSS names.

    IA-32e mode aligns the new RSP down to 16 bytes first (SDM 3A 6.14.2);
    protected mode pushes from TSS.ESPn as it is (6.12.1).
    """
    if mode is CpuMode.REAL or stack == "same":
        return None
    width = 64 if mode is CpuMode.LONG else 32
    view = read_tss(target, cpu)
    if view.tss is None or view.width != width:
        return f"cannot check: {view.error or f'no {width}-bit TSS'}"
    if view.tss64 is None:
        top = getattr(view.tss, stack)
    else:
        top = view.tss64.ist[int(stack[3:]) - 1] if stack.startswith("ist") else view.tss64.rsp[int(stack[3:])]
    name = stack.upper()
    if not top:
        return f"TSS.{name} is 0: the CPU would have faulted switching to it"
    expected = (top & ~0xF if width == 64 else top) - frame.size
    if address == expected:
        return f"matches TSS.{name} = {top:#x}"
    if address < expected and top - 0x10000 < address:
        return f"{expected - address:#x} bytes below TSS.{name} = {top:#x}: a nested event on the same stack?"
    return f"not on TSS.{name} = {top:#x}: the frame at {address:#x} is elsewhere"
