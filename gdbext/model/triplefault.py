"""Triple-fault forensics: the chain of exceptions that ended in a shutdown, in words.

While the processor delivers an exception, a second one can be raised (the gate
is bad, the stack is not mapped...). SDM Vol. 3A 6.15, "Interrupt 8—Double
Fault Exception (#DF)", Tables 6-4 and 6-5: a contributory exception during a
contributory one, or a contributory or page fault during a page fault, becomes
#DF; anything else is handled serially. A fault while delivering #DF is a
triple fault: the processor shuts down (a PC resets; QEMU resets the machine,
or exits with -no-reboot).

QEMU's ``check_exception`` lines tell which exception was being delivered
(``old``) when a new one was raised, and QEMU logs the event line of each
delivery it begins, so :mod:`gdbext.model.intlog` rebuilds the chain (events
nested in one delivery) and this module puts it in words. The exception QEMU
promoted to #DF and the one that ended it never get an event line; they
appear as steps with ``logged`` False and no error code.
"""

from __future__ import annotations

from .errcode import PageFaultCode, SelectorErrorCode
from .exception_vectors import SELECTOR_ERROR_VECTORS, EventKind, ExceptionVector
from .record import record
from .vectors import DoubleFaultClass, vector

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .intlog import IntEvent

MAX_CHAIN = 8
MAX_KEPT = 10
CONTEXT_EVENTS = 3
STACK_WINDOW = 0x1000  # a #PF this far below RSP is taken as a stack access

# What a fault raised while the processor delivers an event usually means (SDM 3A
# 6.12.1 "Exception- or Interrupt-Handler Procedures", 6.14 for 64-bit mode).
_DELIVERY_CAUSES: dict[int, str] = {
    ExceptionVector.TS: "the TSS it needs for a stack switch or an IST stack is invalid",
    ExceptionVector.NP: "the gate, or the code segment it names, is not present",
    ExceptionVector.SS: "the stack segment, or the stack pointer it loads, is invalid",
    ExceptionVector.GP: ("the gate is past the IDT limit, is not an interrupt/trap/task gate, "
                         "or names a bad code segment"),
    ExceptionVector.PF: "the stack it pushes the frame on, or the IDT, GDT or handler page, is not mapped",
}
_ADVICE: dict[int, str] = {
    ExceptionVector.NP: "make IDT vector 8 a present interrupt gate whose code segment is present",
    ExceptionVector.GP: "make IDT vector 8 a valid interrupt gate inside the IDT limit (SDM 3A 6.10)",
    ExceptionVector.PF: "give #DF its own IST stack (SDM 3A 6.14.5) so a bad stack cannot take it down",
}


@record
class ChainStep:
    """One exception or interrupt of a faulting delivery.

    ``logged`` False: QEMU only named its vector in a check_exception line
    (promoted to #DF, or the fault that ended it), so the error code, CR2 and
    position are unknown.
    """

    vector: int
    kind: EventKind
    error_code: int | None
    cs: int | None
    rip: int | None
    ss: int | None
    rsp: int | None
    cr2: int | None
    cpl: int | None
    seq: int | None
    line: int
    logged: bool

    @classmethod
    def from_event(cls, event: IntEvent) -> ChainStep:
        return cls(event.vector, event.kind, event.error_code if event.pushes_error_code else None,
                   event.cs, event.rip, event.ss, event.rsp, event.cr2, event.cpl, event.seq, event.line, True)

    @classmethod
    def unlogged(cls, vector_number: int, line: int) -> ChainStep:
        return cls(vector_number, EventKind.EXCEPTION, None, None, None, None, None, None, None, None, line, False)

    @property
    def mnemonic(self) -> str:
        row = vector(self.vector)
        return row.mnemonic or f"vector {self.vector:#04x}"

    @property
    def stack_fault(self) -> bool:
        """A logged #PF whose CR2 lies just below RSP: a push that ran off the stack."""
        return (self.vector == ExceptionVector.PF and self.cr2 is not None and self.rsp is not None
                and self.rsp - STACK_WINDOW <= self.cr2 < self.rsp)


@record
class TripleFault:
    """A shutdown and the deliveries that led to it.

    ``line`` is the check_exception (or "Triple fault") line; ``before`` holds
    the last events ahead of the chain; ``logged`` says a "Triple fault" line
    (-d cpu_reset) confirmed it, ``reset`` that a CPU reset followed.
    """

    line: int
    chain: tuple[ChainStep, ...]
    before: tuple[ChainStep, ...]
    logged: bool
    reset: bool

    @property
    def seq(self) -> int | None:
        """Sequence number of the last event QEMU logged for it."""
        seqs = [step.seq for step in self.chain if step.seq is not None]
        return seqs[-1] if seqs else None

    @property
    def explanation(self) -> str:
        return explain(self)


def explain(fault: TripleFault, advice: bool = True) -> str:
    """The chain in words, e.g. "#PF at RIP .. -> #DF (...) -> triple fault: ...".

    ``advice`` False leaves out the fix guessed from the log alone (for a caller
    that checks the tables and knows better).
    """
    chain = fault.chain
    if not chain:
        return ("triple fault with no -d int event before it (log with -d int,cpu_reset under TCG to see "
                "the chain)")
    last = chain[-1]
    delivering_df = len(chain) >= 2 and chain[-2].vector == ExceptionVector.DF and not last.logged
    body = chain[:-1] if delivering_df else chain
    parts = [_first(body[0])]
    explained: set[int] = set()
    for index in range(1, len(body)):
        step, previous = body[index], body[index - 1]
        if step.vector == ExceptionVector.DF and index >= 2:
            parts.append(_double_fault(body[index - 2], previous))
        else:
            parts.append(_nested_step(step, previous, explained))
    if delivering_df:
        cause = _DELIVERY_CAUSES.get(last.vector, "its gate, IST stack or handler faulted")
        parts.append(f"{last.mnemonic} while delivering #DF")
        parts.append(f"triple fault: the CPU could not deliver #DF ({cause})")
    else:
        parts.append("triple fault")
    parts.append("reset" if fault.reset else "shutdown")
    text = " -> ".join(parts)
    if not advice:
        return text
    fix = _ADVICE.get(last.vector) if delivering_df else None
    if fix is None and any(step.stack_fault for step in chain):
        fix = _ADVICE[ExceptionVector.PF]
    return f"{text}. Fix: {fix}." if fix else text


def _first(step: ChainStep) -> str:
    where = _where(step)
    if step.kind is EventKind.SOFTWARE:
        return f"INT {step.vector:#04x} ({step.mnemonic}) at {where}"
    if step.kind is EventKind.IRQ:
        return f"external interrupt {step.vector:#04x} at {where}"
    return f"{step.mnemonic} at {where}{_details(step)}"


def _nested_step(step: ChainStep, previous: ChainStep, explained: set[int]) -> str:
    text = f"{step.mnemonic}{_details(step)} while delivering it"
    if previous.stack_fault and step.vector == ExceptionVector.PF:
        return text + " (its frame goes on the same unmapped stack)"
    cause = _DELIVERY_CAUSES.get(step.vector)
    if cause and step.vector not in explained and not step.stack_fault:
        explained.add(step.vector)
        text += f" ({cause})"
    return text


def _double_fault(delivered: ChainStep, raised: ChainStep) -> str:
    first, second = _df_class(delivered.vector), _df_class(raised.vector)
    return f"#DF ({first} then {second}: SDM 3A Table 6-5)"


def _df_class(number: int) -> str:
    klass = vector(number).double_fault_class
    return "page fault" if klass is DoubleFaultClass.PAGE_FAULT else klass.value


def _where(step: ChainStep) -> str:
    if step.rip is None:
        return "an unknown place"
    return f"RIP {step.rip:#x} (CPL {step.cpl})"


def _details(step: ChainStep) -> str:
    if not step.logged:
        return ""
    code = step.error_code
    if step.vector == ExceptionVector.PF and code is not None:
        text = f" (error {code:#x}: {PageFaultCode(code & 0xFFFFFFFF).summary})"
        if step.cr2 is not None:
            text = f", CR2 {step.cr2:#x}{text}"
        if step.stack_fault:
            text += f", just below RSP {step.rsp:#x}: the stack ran into an unmapped page"
        return text
    if step.vector in SELECTOR_ERROR_VECTORS and code is not None:
        return f" (error {code:#x}: {SelectorErrorCode.from_int(code & 0xFFFFFFFF).summary})"
    if code:
        return f" (error {code:#x})"
    return ""
