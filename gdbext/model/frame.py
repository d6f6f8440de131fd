"""The frame the CPU pushes when it delivers an interrupt or exception.

- 64-bit mode: Intel SDM Vol. 3A, 6.14.2 "64-Bit Mode Stack Frame", Figure 6-9.
  SS:RSP are always pushed (8-byte slots, stack aligned to 16 first); the error
  code, when there is one, is at the lowest address.
- Protected mode: SDM Vol. 3A, 6.12.1 "Exception- or Interrupt-Handler
  Procedures", Figure 6-4. SS:ESP are pushed only when the privilege level
  changes; from virtual-8086 mode ES, DS, FS, GS follow (SDM 20.3.1.1).
- Real-address mode: SDM Vol. 3A, 20.1.4: FLAGS, CS, IP (2-byte slots), no error code.

Values are kept as the whole slot the CPU wrote (a pushed selector may carry
upper bits), so decoding and encoding give back the same bytes.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError
from .idt import CpuMode
from .record import record
from .rflags import RFLAGS_FIXED_ONE, Rflags

#: the bytes of one stack slot of a frame, by the mode of the handler
SLOT_SIZE = {CpuMode.LONG: 8, CpuMode.PROTECTED: 4, CpuMode.REAL: 2}
_PACK = {8: "Q", 4: "I", 2: "H"}


@record
class InterruptFrame:
    """A decoded frame. ``sp``/``ss`` are None when the CPU did not push them."""

    mode: CpuMode
    error_code: int | None
    ip: int
    cs: int
    flags: int
    sp: int | None = None
    ss: int | None = None
    v86_segments: tuple[int, int, int, int] | None = None

    @property
    def slot_size(self) -> int:
        return SLOT_SIZE[self.mode]

    @property
    def slots(self) -> tuple[int, ...]:
        values = [] if self.error_code is None else [self.error_code]
        if self.mode is CpuMode.REAL:
            return (self.ip, self.cs, self.flags)
        values += [self.ip, self.cs, self.flags]
        if self.sp is not None:
            values += [self.sp, self.ss if self.ss is not None else 0]
        if self.v86_segments is not None:
            values += list(self.v86_segments)
        return tuple(values)

    @property
    def size(self) -> int:
        return len(self.slots) * self.slot_size

    @property
    def cs_selector(self) -> int:
        return self.cs & 0xFFFF

    @property
    def ss_selector(self) -> int | None:
        return None if self.ss is None else self.ss & 0xFFFF

    @property
    def from_cpl(self) -> int:
        """The privilege level of the interrupted code (the pushed CS's RPL; 3 in virtual-8086)."""
        if self.mode is CpuMode.REAL:
            return 0
        if self.flags & Rflags.VM:
            return 3
        return self.cs & 3

    @property
    def problems(self) -> tuple[str, ...]:
        """Signs that these bytes are not really a frame of this shape."""
        found = []
        width = 8 * self.slot_size
        if self.mode is not CpuMode.REAL:
            if not self.flags & RFLAGS_FIXED_ONE:
                found.append("RFLAGS bit 1 is clear (it always reads as 1)")
            if self.flags >> 22:
                found.append(f"RFLAGS has reserved bits set ({self.flags >> 22 << 22:#x})")
            if self.cs >> 16:
                found.append(f"the CS slot has upper bits set ({self.cs:#x})")
            if self.cs_selector < 4 and not self.flags & Rflags.VM:
                found.append("CS is a null selector")
            if self.ss is not None and self.ss >> 16:
                found.append(f"the SS slot has upper bits set ({self.ss:#x})")
            if self.error_code is not None and self.error_code >> 32 and width == 64:
                found.append(f"the error code has bits above 31 set ({self.error_code:#x})")
        return tuple(found)

    @classmethod
    def from_bytes(cls, data: bytes, mode: CpuMode, has_error_code: bool,
                   handler_cpl: int = 0) -> InterruptFrame:
        """Decode a frame from the bytes at the handler's stack pointer.

        ``has_error_code`` says whether this vector pushed one (never in real
        mode); ``handler_cpl`` (the DPL of the handler's code segment) decides,
        in protected mode, whether SS:ESP were pushed.
        """
        slot = SLOT_SIZE[mode]
        if mode is CpuMode.REAL:
            if has_error_code:
                raise DecodeError("real-address mode pushes no error code")
            ip, cs, flags = _unpack(data, 3, slot, "a real-mode frame")
            return cls(mode, None, ip, cs, flags)
        count = 5 if mode is CpuMode.LONG else 3
        count += int(has_error_code)
        values = list(_unpack(data, count, slot, _frame_name(mode, has_error_code)))
        error_code = values.pop(0) if has_error_code else None
        ip, cs, flags = values[:3]
        if mode is CpuMode.LONG:
            return cls(mode, error_code, ip, cs, flags, values[3], values[4])
        head = count * slot
        if flags & Rflags.VM:
            sp, ss, es, ds, fs, gs = _unpack(data[head:], 6, slot, "the virtual-8086 part of a frame")
            return cls(mode, error_code, ip, cs, flags, sp, ss, (es, ds, fs, gs))
        if (cs & 3) > handler_cpl:
            sp, ss = _unpack(data[head:], 2, slot, "the SS:ESP part of a frame from a lower privilege")
            return cls(mode, error_code, ip, cs, flags, sp, ss)
        return cls(mode, error_code, ip, cs, flags)

    def to_bytes(self) -> bytes:
        slot = self.slot_size
        return struct.pack("<" + _PACK[slot] * len(self.slots), *self.slots)


def _frame_name(mode: CpuMode, has_error_code: bool) -> str:
    bits = "64-bit" if mode is CpuMode.LONG else "32-bit"
    return f"a {bits} frame {'with' if has_error_code else 'without'} an error code"


def _unpack(data: bytes, count: int, slot: int, what: str) -> tuple[int, ...]:
    need = count * slot
    if len(data) < need:
        raise DecodeError(f"{what} is {need} bytes, got {len(data)}")
    return struct.unpack("<" + _PACK[slot] * count, data[:need])


def guess_error_code(data: bytes, mode: CpuMode, handler_cpl: int = 0) -> bool:
    """Whether the bytes read better as a frame with an error code than without.

    Used when the vector is not known. Raises DecodeError when both or
    neither reading looks like a frame.
    """
    if mode is CpuMode.REAL:
        return False
    plausible = []
    for has_error_code in (False, True):
        try:
            frame = InterruptFrame.from_bytes(data, mode, has_error_code, handler_cpl)
        except DecodeError:
            continue
        if not frame.problems:
            plausible.append(has_error_code)
    if len(plausible) == 1:
        return plausible[0]
    if not plausible:
        raise DecodeError("these bytes do not look like an interrupt frame with or without an error code")
    raise DecodeError("ambiguous frame: it reads well with and without an error code; give --vector or --error-code")


def stack_used(mode: CpuMode, gate_ist: int, from_cpl: int, to_cpl: int) -> str:
    """Which stack the CPU switched to: ``istN``, ``rspN``/``espN`` or ``same``.

    SDM 3A 6.14.5: a non-zero IST in a 64-bit gate always switches to ISTn;
    otherwise a privilege change loads the stack for the new CPL from the TSS
    (6.12.1), else the stack stays.
    """
    if mode is CpuMode.LONG and gate_ist:
        return f"ist{gate_ist}"
    if mode is not CpuMode.REAL and from_cpl > to_cpl:
        return f"{'rsp' if mode is CpuMode.LONG else 'esp'}{to_cpl}"
    return "same"
