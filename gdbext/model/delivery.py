"""How the processor delivers one event through the IDT, as checks in the order it makes them.

SDM Vol. 3A 6.10 (IDTR limit), 6.11 (gate types), 6.12.1.1-6.12.1.2 (privilege
and stack switch), 6.14.2-6.14.5 (64-bit frames, alignment and the IST): the
gate must lie inside the IDT limit, be an interrupt, trap or task gate, allow
CPL for a software interrupt (CPL <= DPL), be present, and name a present code
segment; then the frame goes on the IST stack, RSP0 (a CPL change) or the
current stack, and the handler's first instruction is fetched. A failing check
raises #GP, #NP, #SS/#TS or #PF during the delivery.

QEMU before 8.0 writes vector * 16 + 2 (not vector * 8 + 2) as the error code of
an IDT fault in IA-32e mode (QEMU issue 1382): ``idt_vector`` undoes that.
"""

from __future__ import annotations

from .exception_vectors import ExceptionVector
from .record import record

LONG_FRAME_SLOTS = 5  # SS, RSP, RFLAGS, CS, RIP (SDM 3A Figure 6-9)
PROTECTED_SAME_SLOTS = 3  # EFLAGS, CS, EIP (SDM 3A Figure 6-4)
PROTECTED_SWITCH_SLOTS = 5  # SS, ESP, EFLAGS, CS, EIP
OVERFLOW_FIX = ("find what ran the stack down (unbounded recursion, a large local array) or give the stack more "
                "pages")


@record
class DeliveryProblem:
    """What stopped a delivery: ``check`` names it, ``summary`` and ``fix`` say it in words."""

    vector: int
    check: str
    summary: str
    fix: str


def gate_address_problem(vector: int, gate_size: int, limit: int) -> DeliveryProblem | None:
    """The gate lies past the IDT limit (SDM 3A 6.10: the whole gate must lie inside it)."""
    offset = vector * gate_size
    if offset + gate_size - 1 <= limit:
        return None
    needed = 256 * gate_size - 1
    return DeliveryProblem(vector, "idt-limit",
                           f"vector {vector:#04x}'s gate would be at IDTR.base + {offset:#x}, past the IDT limit "
                           f"{limit:#x}",
                           f"load IDTR with limit {needed:#x} ({gate_size}-byte gates for all 256 vectors) over a "
                           "table that holds them (SDM 3A 6.10)")


def gate_problem(vector: int, label: str, usable_type: bool, type_name: str, present: bool, dpl: int,
                 software_from_cpl: int | None) -> DeliveryProblem | None:
    """The gate itself: its type, DPL (for INT n) and P bit, checked in that order."""
    if not usable_type:
        return DeliveryProblem(vector, "gate-type", f"{label} is not an interrupt, trap or task gate ({type_name})",
                               f"write an interrupt gate for vector {vector:#04x} (SDM 3A 6.11)")
    if software_from_cpl is not None and software_from_cpl > dpl:
        return DeliveryProblem(vector, "gate-dpl",
                               f"INT {vector:#04x} ran at CPL {software_from_cpl} but {label} has DPL {dpl}",
                               f"set DPL 3 on gate {vector:#04x} if user code may raise it (SDM 3A 6.12.1.1)")
    if not present:
        return DeliveryProblem(vector, "gate-not-present", f"{label} is not present (P=0)",
                               f"set the P bit of gate {vector:#04x}, an interrupt gate to a handler")
    return None


def code_segment_problem(vector: int, label: str, selector: int, why: str | None) -> DeliveryProblem | None:
    if why is None:
        return None
    return DeliveryProblem(vector, "code-segment", f"{label} names selector {selector:#06x}: {why}",
                           f"point gate {vector:#04x} at the kernel's present code segment (64-bit, L=1, in IA-32e "
                           "mode)")


def frame_span(long_mode: bool, stack_top: int, switched: bool, error_code: bool) -> tuple[int, int]:
    """[low, high) of the bytes the frame takes below ``stack_top``.

    IA-32e mode aligns the new RSP down to 16 bytes first (SDM 3A 6.14.2);
    protected mode pushes SS and ESP only on a stack switch.
    """
    if long_mode:
        high = stack_top & ~0xF
        return high - 8 * (LONG_FRAME_SLOTS + error_code), high
    slots = (PROTECTED_SWITCH_SLOTS if switched else PROTECTED_SAME_SLOTS) + error_code
    return stack_top - 4 * slots, stack_top


def stack_problem(vector: int, stack: str, top: int, low: int, refused: int, reason: str, *,
                  overflow: bool) -> DeliveryProblem:
    """The frame's pages refuse a supervisor write.

    ``stack`` is "ist1".."ist7", "rsp0" or "same"; ``overflow`` says the
    current stack ran into an unmapped page right below a mapped one.
    """
    where = f"the frame goes at {low:#x}..{top - 1:#x}, and {refused:#x} is not writable ({reason})"
    if stack.startswith("ist"):
        return DeliveryProblem(vector, "stack-not-mapped", f"{stack.upper()}'s top {top:#x} is not mapped: {where}",
                               f"point TSS.{stack.upper()} at the top of a mapped, writable stack (SDM 3A 6.14.5)")
    if stack == "rsp0":
        return DeliveryProblem(vector, "stack-not-mapped", f"RSP0's top {top:#x} is not mapped: {where}",
                               "point TSS.RSP0 at the top of a mapped, writable kernel stack (SDM 3A 6.12.1.2)")
    check = "stack-overflow" if overflow else "stack-not-mapped"
    text = (f"the stack ran into its guard page: RSP {top:#x}, {where}" if overflow
            else f"the current stack at RSP {top:#x} is not mapped: {where}")
    if vector == ExceptionVector.DF:
        return DeliveryProblem(vector, check, f"the #DF gate has no IST, so its frame goes on the same stack; {text}",
                               "give #DF its own IST stack (SDM 3A 6.14.5)")
    return DeliveryProblem(vector, check, text, OVERFLOW_FIX)


def overflow_problem(rip: int | None, symbol: str | None, rsp: int | None, address: int, reason: str) \
        -> DeliveryProblem:
    """A push (a call, an interrupt frame) ran the current stack into the unmapped page below it."""
    at = "" if rip is None else f" at {rip:#x}" + (f" <{symbol}>" if symbol else "")
    below = "" if rsp is None else f" just below RSP {rsp:#x}"
    return DeliveryProblem(int(ExceptionVector.PF), "stack-overflow",
                           f"the kernel stack overflowed: a push{at} wrote {address:#x}{below}, in the guard page "
                           f"({reason})", OVERFLOW_FIX)


def missing_stack_problem(vector: int, stack: str, why: str) -> DeliveryProblem:
    """The stack the frame needs has no top: an IST or RSP0 slot of 0, or no TSS to hold it."""
    return DeliveryProblem(vector, "stack-not-mapped", f"the frame goes on {stack.upper()}, but {why}",
                           f"load TR with a TSS whose {stack.upper()} holds the top of a mapped, writable stack "
                           "(SDM 3A 7.7, 6.14.5)")


def handler_problem(vector: int, handler: int, symbol: str | None, reason: str) -> DeliveryProblem:
    name = f" <{symbol}>" if symbol else ""
    mnemonic_label = "the #PF handler's" if vector == ExceptionVector.PF else f"the handler of vector {vector:#04x}:"
    return DeliveryProblem(vector, "handler-not-executable",
                           f"{mnemonic_label} page is not executable: fetching {handler:#x}{name} faults ({reason})",
                           f"map the page of {handler:#x} present and executable for the supervisor (XD=0 at every "
                           "level), or point the gate at the handler")


def idt_vector(index: int, long_mode: bool, software_vector: int | None, limit_covers: int) -> int:
    """The vector an IDT-flagged error code names.

    In IA-32e mode QEMU before 8.0 doubles the index (QEMU issue 1382): the
    INT n at the faulting RIP settles it; otherwise an index past the vectors
    the IDT covers, or past 255, is taken as doubled.
    """
    if not long_mode or index % 2:
        return index
    if software_vector is not None and software_vector in (index, index // 2):
        return software_vector
    return index // 2 if index > 0xFF or index >= limit_covers else index
