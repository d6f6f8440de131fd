"""The mistakes OS developers make in their interrupt set-up, found in the
live (or saved) state. Each finding has a severity, what is wrong, why it
matters and how to fix it.

What a guest needs depends on whose IDT it is, which the tables tell
(``judge``): a ring-0 program (firmware, a loader, a memory tester) has no
DPL 3 segment or gate, no IST gate and TR null, and needs no TSS; a kernel
that switches stacks (a loaded TR, an IST gate) needs its TSS and stacks in
order; a kernel with user mode (any DPL 3 segment or gate) also needs DPL 3
on the gates user code reaches with INT n. ``int 0x80`` is a Unix system
call convention: it is judged only where the gate's handler symbol says a
system call (Linux's entry_INT80_32, entry_INT80_compat, int80_emulation).

Rules and their manual sections:
- exception gates missing: SDM Vol. 3A 6.3.1 (vectors 0-21 are architectural);
- #DF, NMI, #MC without a known-good stack: 6.14.5 (IST), 6.15 ("Interrupt 8");
- an IST index naming a zero TSS slot: 6.14.5, 8.7;
- stacks without a guard page (unmapped or read-only), unmapped, or overlapping: 6.14.4-6.14.5;
- a gate selector that is not a present code segment (64-bit in IA-32e mode): 6.12.1.1, 6.14.1;
- a handler that is not mapped or not executable: 4.6 (only a note for exceptions the
  processor cannot raise as configured: reserved, CR4.MCE/CET off, virtual-machine only);
- DPL 0 on gates user code reaches with INT n (int3, into, int 0x80): 6.12.1.1;
- with user mode, no TSS, or no stack in RSP0 / SS0:ESP0 for a privilege change: 6.12.1, 6.14.4;
- a TSS limit that cuts the I/O permission bit map: Vol. 1 19.5.2;
- TR's descriptor not reachable in the GDT (past the limit, not a TSS): 8.2.4;
- a spurious-interrupt vector without a handler: 11.9 (12.9 in newer SDMs); only a note while
  nothing can deliver a fixed interrupt to the APIC; a local APIC that cannot be read is a
  note that this rule went unchecked.
"""

from __future__ import annotations

from ..errors import IdtscopeError, TargetError
from ..model.descriptor import DescriptorKind, SegmentDescriptor, entry_for_selector
from ..model.exception_vectors import ExceptionVector
from ..model.gate import Gate, GateKind
from ..model.idt import CpuMode
from ..model.raised import not_raised
from ..model.record import as_dict, record
from ..model.selector import Selector, TableIndicator
from ..target.base import Target
from .controllers import read_lapic, read_pic
from .cpu import registers
from .frames import entry_point
from .memory import walk_for_cpu
from .severity import Severity
from .stacks import read_stacks
from .tables import read_gdt, read_idt, read_ldt
from .tss import read_tss

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: exceptions every kernel should handle (SDM Table 6-1); 9, 15 and 22-31 are reserved or optional
REQUIRED = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19)
SYSCALL_VECTOR = 0x80
CRITICAL_IST = {ExceptionVector.NMI: "NMI", ExceptionVector.DF: "#DF", ExceptionVector.MC: "#MC"}
USER_GATES = {ExceptionVector.BP: "int3 (#BP)", ExceptionVector.OF: "into (#OF)", SYSCALL_VECTOR: "int 0x80"}
#: INTO does not exist in 64-bit mode (it raises #UD), so #OF needs no DPL 3 there
LONG_MODE_USER_GATES = (ExceptionVector.BP, SYSCALL_VECTOR)
#: handler symbols (lower case) that make gate 0x80 a system call entry
SYSCALL_SYMBOL_PARTS = ("int80", "syscall")


@record
class Finding:
    id: str
    severity: Severity
    what: str
    why: str
    fix: str
    vectors: tuple[int, ...] = ()

    def as_data(self) -> dict[str, Any]:
        """The finding as its JSON document has it (plain values)."""
        return as_dict(self) | {"severity": self.severity.value, "vectors": list(self.vectors)}


@record
class GuestKind:
    """Whose IDT this is, as its tables show it.

    ``user_mode`` lists the evidence of ring 3 (DPL 3 segments or gates);
    ``stacks`` the evidence of stack switching (a loaded TR, IST gates).
    """

    user_mode: tuple[str, ...]
    stacks: tuple[str, ...]

    @property
    def name(self) -> str:
        """One of "user" (a kernel with user mode), "stacks" (a ring-0 kernel with a TSS), "ring0"."""
        if self.user_mode:
            return "user"
        return "stacks" if self.stacks else "ring0"


def judge(target: Target, cpu: int, gates: dict[int, Gate]) -> GuestKind:
    """Read the kind of guest from its GDT, LDT, IDT and TR (see the module docstring)."""
    regs = registers(target, cpu)
    tables = [read_gdt(target, cpu)]
    ldt = read_ldt(target, cpu)
    if ldt is not None:
        tables.append(ldt)
    user = []
    for view in tables:
        selectors = [entry.selector for entry in view.entries
                     if entry.descriptor is not None and entry.descriptor.present and entry.descriptor.dpl == 3]
        if selectors:
            user.append(f"DPL 3 descriptors in the {view.table.name}: {_hex_list(selectors, 6)}")
    user_gates = [v for v, gate in sorted(gates.items()) if gate.present and gate.dpl == 3]
    if user_gates:
        user.append(f"DPL 3 gates: {_hex_list(user_gates, 4)}")
    stacks = []
    if regs.tr.selector & ~3:
        stacks.append(f"TR {regs.tr.selector:#06x} is loaded")
    ist_gates = [v for v, gate in sorted(gates.items()) if gate.present and gate.ist]
    if ist_gates and regs.mode is CpuMode.LONG:
        stacks.append(f"gates with an IST: {_hex_list(ist_gates, 4)}")
    return GuestKind(tuple(user), tuple(stacks))


def _hex_list(values: list[int], width: int) -> str:
    shown = ", ".join(f"{v:#0{width}x}" for v in values[:8])
    return shown + (f" and {len(values) - 8} more" if len(values) > 8 else "")


def lint(target: Target, cpu: int) -> tuple[GuestKind | None, list[Finding]]:
    """The kind of guest (None in real mode, which has no gates to judge) and the findings."""
    regs = registers(target, cpu)
    idt = read_idt(target, cpu)
    findings: list[Finding] = []
    gates = {slot.vector: slot.entry for slot in idt.slots if isinstance(slot.entry, Gate)}
    if regs.mode is CpuMode.REAL:
        return None, findings
    kind = judge(target, cpu, gates)
    findings += _missing_exceptions(gates)
    if kind.user_mode:
        findings += _user_gates(target, gates, regs.mode)
    findings += _gate_selectors(target, cpu, gates, regs.mode)
    findings += _handlers_mapped(target, cpu, gates, regs.cr4)
    if regs.mode is CpuMode.LONG and kind.name != "ring0":
        findings += _critical_ist(gates, regs.cr4)
        findings += _tss_stacks(target, cpu, regs.cr4, kind)
    elif regs.mode is CpuMode.PROTECTED and kind.user_mode:
        findings += _tss32_missing(target, cpu, kind)
    if kind.user_mode:
        findings += _privilege_stack(target, cpu)
    findings += _spurious(target, cpu, gates, idt)
    return kind, findings


def _present(gates: dict[int, Gate], vector: int) -> bool:
    gate = gates.get(vector)
    return gate is not None and gate.present and gate.kind is not GateKind.INVALID


def _missing_exceptions(gates: dict[int, Gate]) -> list[Finding]:
    missing = tuple(v for v in REQUIRED if not _present(gates, v))
    if not missing:
        return []
    return [Finding("exception-gate-missing", Severity.ERROR,
                    f"exception gates not present: {', '.join(f'{v:#04x}' for v in missing)}",
                    "when the CPU raises one of these it finds no gate: that is a #GP with the IDT bit set, "
                    "then a #DF, and a triple fault resets the machine",
                    "install a handler for every architectural exception, even one that only logs and halts",
                    missing)]


def _user_gates(target: Target, gates: dict[int, Gate], mode: CpuMode) -> list[Finding]:
    found = []
    for vector, what in USER_GATES.items():
        if mode is CpuMode.LONG and vector not in LONG_MODE_USER_GATES:
            continue
        gate = gates.get(vector)
        if vector == SYSCALL_VECTOR and gate is not None and not _system_call_entry(target, gate):
            continue
        if gate is not None and gate.present and gate.dpl < 3:
            found.append(Finding("user-gate-dpl0", Severity.WARNING, f"{what} gate {vector:#04x} has DPL {gate.dpl}",
                                 f"user code executing {what.split()[0]} raises #GP with error code "
                                 f"{vector << 3 | 2:#x} instead of reaching the handler",
                                 f"give gate {vector:#04x} DPL 3", (int(vector),)))
    return found


def _system_call_entry(target: Target, gate: Gate) -> bool:
    """True when the gate's handler symbol names a system call entry (int 0x80 is the OS's)."""
    if gate.kind not in (GateKind.INTERRUPT, GateKind.TRAP):
        return False
    name = target.symbolize(gate.offset)
    return name is not None and any(part in name.lower() for part in SYSCALL_SYMBOL_PARTS)


def _critical_ist(gates: dict[int, Gate], cr4: int) -> list[Finding]:
    found = []
    for vector, name in CRITICAL_IST.items():
        gate = gates.get(vector)
        if gate is not None and gate.present and gate.ist == 0 and not_raised(vector, cr4) is None:
            found.append(Finding("critical-without-ist", Severity.WARNING,
                                 f"{name} gate {vector:#04x} uses no IST stack",
                                 f"{name} can arrive when the current stack is unusable (a kernel stack overflow "
                                 "into its guard page); without an IST switch the push faults again and the "
                                 "machine triple-faults",
                                 f"point gate {vector:#04x} at an IST slot holding a dedicated stack", (int(vector),)))
    return found


def _gate_selectors(target: Target, cpu: int, gates: dict[int, Gate], mode: CpuMode) -> list[Finding]:
    gdt = read_gdt(target, cpu)
    bad: dict[int, list[int]] = {}
    reasons: dict[int, str] = {}
    for vector, gate in gates.items():
        if not gate.present or gate.kind not in (GateKind.INTERRUPT, GateKind.TRAP):
            continue
        selector = Selector.from_int(gate.selector)
        why = code_segment_problem(gdt, selector, mode)
        if why:
            bad.setdefault(gate.selector, []).append(vector)
            reasons[gate.selector] = why
    return [Finding("gate-selector", Severity.ERROR, f"gates {', '.join(f'{v:#04x}' for v in vectors[:8])}"
                    f"{' ...' if len(vectors) > 8 else ''} use selector {selector:#06x}: {reasons[selector]}",
                    "delivery through these gates loads CS from that selector and faults (#GP or #NP)",
                    "point the gates at the kernel's present, 64-bit (L=1) code segment" if mode is CpuMode.LONG
                    else "point the gates at the kernel's present code segment", tuple(vectors))
            for selector, vectors in bad.items()]


def code_segment_problem(gdt, selector: Selector, mode: CpuMode) -> str | None:
    if selector.ti is TableIndicator.LDT:
        return None
    if selector.is_null:
        return "the null selector"
    entry = entry_for_selector(gdt.entries, selector.index)
    if entry is None or entry.descriptor is None:
        return "no descriptor there (past the GDT limit or unreadable)"
    descriptor = entry.descriptor
    if not isinstance(descriptor, SegmentDescriptor) or descriptor.kind is not DescriptorKind.CODE:
        return "not a code segment"
    if not descriptor.present:
        return "the code segment is not present"
    if mode is CpuMode.LONG and not descriptor.l:
        return "not a 64-bit code segment (L=0)"
    return None


def _handlers_mapped(target: Target, cpu: int, gates: dict[int, Gate], cr4: int) -> list[Finding]:
    live: list[tuple[int, int, str]] = []
    dormant: list[tuple[int, int, str]] = []
    for vector, gate in sorted(gates.items()):
        if not gate.present or gate.kind not in (GateKind.INTERRUPT, GateKind.TRAP):
            continue
        try:
            handler = entry_point(target, cpu, gate)[0]
            result = walk_for_cpu(target, cpu, handler, fetch=True) if handler is not None else None
        except IdtscopeError:
            continue
        if handler is None or result is None or result.unreadable or result.fault is None:
            continue
        (live if vector >= 32 or not_raised(vector, cr4) is None else dormant).append(
            (vector, handler, result.fault.reason))
    found = []
    if live:
        found.append(Finding("handler-not-executable", Severity.ERROR,
                             f"handlers not mapped or not executable: {_listed(live)}",
                             "the first instruction fetch of the handler faults: #PF during delivery becomes a #DF",
                             "map handler code present and executable (XD=0 at every level) for the supervisor",
                             tuple(v for v, _, _ in live)))
    if dormant:
        reasons = "; ".join(f"{v:#04x}: {not_raised(v, cr4)}" for v, _, _ in dormant)
        found.append(Finding("dormant-handler-not-executable", Severity.INFO,
                             f"gates the processor cannot raise now point at unmapped or non-executable code: "
                             f"{_listed(dormant)}",
                             f"harmless until something reaches them ({reasons}); then, or on INT n from ring 0, "
                             "the fetch faults and becomes a #DF",
                             "point them at a handler, or clear their present bit", tuple(v for v, _, _ in dormant)))
    return found


def _listed(found: list[tuple[int, int, str]]) -> str:
    return "; ".join(f"{v:#04x} -> {a:#x}: {r}" for v, a, r in found[:4]) + (" ..." if len(found) > 4 else "")


def _tss_stacks(target: Target, cpu: int, cr4: int, kind: GuestKind) -> list[Finding]:
    view = read_tss(target, cpu)
    if view.tss is None or view.width != 64:
        why = view.absent or view.error or f"TR names a {view.width}-bit TSS"
        needs = "; ".join(kind.user_mode + kind.stacks)
        return [Finding("tss-missing", Severity.ERROR, f"no usable 64-bit TSS: {why}",
                        f"this guest switches stacks or privilege ({needs}): interrupts from user mode "
                        "need RSP0 and every IST gate needs its slot, all read from the TSS",
                        "load TR with a 64-bit TSS descriptor (ltr)")]
    found = []
    if view.descriptor_error:
        found.append(Finding("tr-descriptor", Severity.ERROR, f"TR {view.selector:#06x}: {view.descriptor_error}",
                             "the CPU runs on TR's cached base and limit, but the next LTR, task switch or "
                             "IRET with NT=1 reads the descriptor and faults",
                             "keep the TSS descriptor inside the GDT limit (lgdt with the full limit)"))
    for stack in read_stacks(target, cpu, view):
        if stack.top == 0 and stack.used_by:
            found.append(Finding("ist-zero-slot", Severity.ERROR, f"{stack.name.upper()} is 0 but gates "
                                 f"{', '.join(f'{v:#04x}' for v in stack.used_by)} switch to it",
                                 "the CPU loads RSP = 0 and pushes the frame below it: a #PF on delivery, then #DF",
                                 f"store a stack top in TSS.{stack.name.upper()} or use another IST index",
                                 stack.used_by))
            continue
        top_problem = next((p for p in stack.problems if p.startswith("the top page")), None)
        if top_problem:
            found.append(_unusable_stack(stack, top_problem, cr4))
        elif stack.guard is False or (stack.guard is None and stack.top):
            below = next((p for p in stack.problems if p.startswith("the page below")), "")
            found.append(Finding("stack-without-guard", Severity.WARNING,
                                 f"{stack.name.upper()} at {stack.top:#x} has no guard page below it"
                                 + (f" ({below})" if below else ""),
                                 "an overflow runs silently into whatever lies below instead of faulting",
                                 "leave the page below each stack unmapped (or mapped read-only)", stack.used_by))
        for problem in stack.problems:
            if problem.startswith("overlaps"):
                found.append(Finding("stacks-overlap", Severity.ERROR, f"{stack.name.upper()} {problem}",
                                     "two stacks in the same memory corrupt each other's frames",
                                     "give every RSP0/IST slot its own stack", stack.used_by))
    found += _iopb(view)
    return found


def _tss32_missing(target: Target, cpu: int, kind: GuestKind) -> list[Finding]:
    view = read_tss(target, cpu)
    if view.tss is not None and view.width == 32:
        return []
    why = view.absent or view.error or f"TR names a {view.width}-bit TSS"
    return [Finding("tss-missing", Severity.ERROR, f"no usable 32-bit TSS: {why}",
                    f"this guest has user mode ({'; '.join(kind.user_mode)}): an interrupt from ring 3 "
                    "switches to SS0:ESP0, which the CPU reads from the TSS",
                    "load TR with a 32-bit TSS descriptor (ltr)")]


def _privilege_stack(target: Target, cpu: int) -> list[Finding]:
    """The stack an interrupt from ring 3 switches to: RSP0, or SS0:ESP0 (SDM 3A 6.12.1, 6.14.4)."""
    view = read_tss(target, cpu)
    if view.tss is None:
        return []
    if view.tss64 is not None:
        if view.tss64.rsp[0]:
            return []
        where, field = "RSP0 is 0", "TSS.RSP0"
    elif view.tss32 is not None:
        if view.tss32.esp0 and view.tss32.ss0 & ~3:
            return []
        where, field = f"SS0:ESP0 is {view.tss32.ss0:#06x}:{view.tss32.esp0:#x}", "TSS.SS0:ESP0"
    return [Finding("ring0-stack-missing", Severity.ERROR, f"TSS {view.selector:#06x}: {where}",
                    "an interrupt or exception from user mode switches to this stack before it pushes its "
                    "frame: a null SS0 raises #TS, a zero stack pointer pushes below address 0 (#PF or #SS), "
                    "and the CPU cannot deliver either: #DF",
                    f"store the running task's kernel stack top in {field} before entering user mode")]


def _unusable_stack(stack, problem: str, cr4: int) -> Finding:
    """A set slot whose top page cannot take a push: fatal for whatever switches to it."""
    dormant = [v for v in stack.used_by if v < 32 and not_raised(v, cr4) is not None]
    users = ", ".join(f"{v:#04x}" for v in stack.used_by)
    if stack.name != "rsp0" and len(dormant) == len(stack.used_by):
        reasons = "; ".join(f"{v:#04x}: {not_raised(v, cr4)}" for v in dormant)
        return Finding("stack-unusable", Severity.INFO, f"{stack.name.upper()} at {stack.top:#x}: {problem}",
                       f"no gate the processor can raise now switches to it ({reasons or 'no gate uses it'}); "
                       "a gate that did would fault on its first push and cause a #DF",
                       f"map the stack before anything uses TSS.{stack.name.upper()}", stack.used_by)
    what = "interrupts from user mode" if stack.name == "rsp0" else f"gates {users}"
    return Finding("stack-unusable", Severity.ERROR, f"{stack.name.upper()} at {stack.top:#x}: {problem}",
                   f"{what} push their frame there: a #PF during delivery, then a #DF",
                   f"map TSS.{stack.name.upper()}'s stack writable for the supervisor", stack.used_by)


def _iopb(view) -> list[Finding]:
    iopb, limit = view.tss.iopb, view.limit
    if iopb > limit:
        return []
    if iopb < 104:
        return [Finding("iopb-overlaps-tss", Severity.WARNING, f"the I/O map base {iopb:#x} lies inside the TSS fields",
                        "the bit map then overlaps RSP/IST values and grants or denies ports by accident",
                        "set the I/O map base to 104 or more (or past the limit for no bit map)")]
    end = len(view.data) - 1
    if end >= limit and view.data[limit] != 0xFF:
        return [Finding("iopb-terminator", Severity.WARNING, f"the byte at the TSS limit ({limit:#x}) is "
                        f"{view.data[limit]:#04x}, not the 0xff that must end the I/O bit map",
                        "the CPU reads two bytes for each check; without a trailing 0xff the highest ports "
                        "covered are checked against a byte past the map",
                        "end the bit map with one 0xff byte and set the limit to include it")]
    return []


def _spurious(target: Target, cpu: int, gates: dict[int, Gate], idt) -> list[Finding]:
    try:
        state = read_lapic(target, cpu).state
    except TargetError as error:
        return [Finding("lapic-unreadable", Severity.INFO, f"the local APIC could not be read: {error}",
                        "so whether its spurious-interrupt vector has a gate went unchecked",
                        "check SVR bits 7:0 (the spurious vector) against the IDT by hand, or lint again "
                        "when QEMU's monitor answers `info lapic`")]
    if state.spiv is None or not state.spiv.enabled:
        return []
    vector = state.spiv.vector
    if _present(gates, vector) or vector >= len(idt.slots):
        return []
    sources = _fixed_sources(target, state)
    what = f"the APIC's spurious-interrupt vector {vector:#04x} has no present gate"
    fix = f"install a handler for vector {vector:#04x} that returns without EOI"
    if not sources:
        return [Finding("spurious-without-handler", Severity.INFO, what,
                        "the APIC is software-enabled (firmware leaves it so) but nothing reaches the CPU "
                        "through its priority logic now: every LVT entry is masked or ExtINT/NMI, no I/O APIC "
                        "pin is unmasked and no other vCPU can send an IPI; a spurious interrupt needs one",
                        f"{fix}, before unmasking any APIC interrupt", (vector,))]
    return [Finding("spurious-without-handler", Severity.ERROR, what,
                    f"a spurious interrupt is delivered like any other; with no gate it becomes a #GP, then #DF "
                    f"(fixed interrupts arrive from {'; '.join(sources)})", fix, (vector,))]


def _fixed_sources(target: Target, state) -> list[str]:
    """What can deliver a fixed or lowest-priority interrupt to this local APIC (SDM 3A 11.9)."""
    sources = []
    lvts = (state.lvt_timer, state.lvt_lint0, state.lvt_lint1, state.lvt_error, state.lvt_perfmon,
            state.lvt_thermal)
    sources += [f"LVT {lvt.name}" for lvt in lvts
                if lvt is not None and not lvt.masked and lvt.delivery_mode not in ("NMI", "ExtINT", "SMI", "INIT")]
    if len(target.cpus()) > 1:
        sources.append("IPIs of the other vCPUs")
    try:
        ioapics = read_pic(target).ioapics
    except TargetError as error:
        return sources + [f"perhaps the I/O APIC, which could not be read ({error})"]
    sources += [f"I/O APIC pin {pin.pin}" for ioapic in ioapics for pin in ioapic.pins if not pin.masked]
    return sources
