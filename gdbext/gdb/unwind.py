"""`bt` through an interrupt frame: a gdb frame unwinder (gdb's Python unwinder API).

At a stop on the first instruction of a gate's handler, the stack pointer points
at the frame the CPU pushed (SDM Vol. 3A 6.12.1, 6.14.2). gdb's own unwinders
take it for a call frame and read the error code, or RFLAGS, as a return
address. This unwinder claims frame #0 there: the caller's RIP, CS, RFLAGS,
RSP and SS come from the hardware frame, as machine/frames.py decodes it (error
code skipped; 16-, 32- and 64-bit frames; a stack switch or not), and gdb
unwinds on from the interrupted code with its usual unwinders.

Only frame #0 is claimed, and only at a handler's entry: past the first push
the frame's place depends on the handler's code.
"""

from __future__ import annotations

import gdb
from gdb.unwinder import Unwinder, register_unwinder

from ..errors import IdtscopeError
from ..model.idt import CpuMode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..commands.base import Context

NAME = "idtscope-interrupt-frame"


class _FrameId:
    """What create_unwind_info needs (gdb 13 has no gdb.unwinder.FrameId)."""

    def __init__(self, sp: gdb.Value, pc: gdb.Value) -> None:
        self.sp = sp
        self.pc = pc


class InterruptFrameUnwinder(Unwinder):
    def __init__(self, context: Context) -> None:
        super().__init__(NAME)
        self.context = context
        self.busy = False

    def __call__(self, pending_frame: gdb.PendingFrame) -> object | None:
        if pending_frame.level() != 0 or self.busy:
            return None
        target = self.context.target
        self.busy = True
        target.judging_hit = True  # gdb unwinds only a stopped thread, whatever state it reports now
        try:
            return self._unwind(pending_frame)
        except IdtscopeError:
            return None
        finally:
            target.judging_hit = False
            self.busy = False

    def _unwind(self, pending_frame: gdb.PendingFrame) -> object | None:
        from ..machine.cpu import registers
        from ..machine.frames import read_stop_frame, vectors_at

        target = self.context.target
        cpu = target.selected_cpu()
        regs = registers(target, cpu)
        entry = regs.linear_pc if regs.mode is CpuMode.REAL else regs.rip
        if not vectors_at(target, cpu, entry):
            return None
        stop = read_stop_frame(target, cpu)
        frame = stop.frame
        pc = pending_frame.read_register("rip")
        sp = pending_frame.read_register("rsp")
        caller_sp = frame.sp if frame.sp is not None else regs.rsp + frame.size
        info = pending_frame.create_unwind_info(_FrameId(_value(regs.rsp + frame.size, sp.type), pc))
        saved = {"rip": frame.ip, "rsp": caller_sp, "cs": frame.cs, "eflags": frame.flags}
        if frame.ss is not None:
            saved["ss"] = frame.ss
        for name, value in saved.items():
            info.add_saved_register(name, _value(value, pending_frame.read_register(name).type))
        return info


def _value(number: int, kind: gdb.Type) -> gdb.Value:
    """``number`` as a gdb value of a register's own type and size."""
    size = kind.sizeof
    return gdb.Value((number & ((1 << (8 * size)) - 1)).to_bytes(size, "little"), kind)


def install(context: Context) -> None:
    """Register the unwinder for every inferior (replacing one a reload left behind)."""
    register_unwinder(None, InterruptFrameUnwinder(context), replace=True)
