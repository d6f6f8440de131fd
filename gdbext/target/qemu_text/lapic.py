"""QEMU's ``info lapic`` text: x86_cpu_dump_local_apic_state and its helpers
(dump_apic_lvt, dump_apic_icr, dump_apic_interrupt) in target/i386/cpu-dump.c.

Every register keeps its raw value, so the model can decode it again, next to
the words QEMU printed for it. Registers, from Intel SDM Vol. 3A, chapter 10
"Advanced Programmable Interrupt Controller (APIC)" (chapter 11, with the
figures renumbered alike, in the newest editions):

- LVT entries: 10.5.1 "Local Vector Table" (Figure 10-8).
- Error status register (ESR): 10.5.3 "Error Handling".
- Timer: 10.5.4 "APIC Timer" (divide configuration, Figure 10-10).
- Interrupt command register (ICR): 10.6.1 (Figure 10-12).
- Destination format (DFR) and logical destination (LDR): 10.6.2.2.
- APR, TPR, PPR: 10.8.3.1 "Task and Processor Priorities".
- IRR, ISR, TMR: 10.8.4 "Interrupt Acceptance for Fixed Interrupts".
- Spurious-interrupt vector register (SPIV): 10.9 (Figure 10-23).

A text cut short leaves the registers it no longer reaches as None.
"""

from __future__ import annotations

import re

from ...errors import ParseError
from ...model.record import fields, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WHAT = "info lapic"

_HEX = "[0-9a-f]"
_NUM = "[0-9]{1,10}"
_HEADER = re.compile(rf"dumping local APIC state for CPU ({_NUM})")
_UNAVAILABLE = "local apic state not available"
_LVT_LINE = re.compile(rf"(LVT0|LVT1|LVTPC|LVTERR|LVTTHMR|LVTT)\t 0x({_HEX}{{8}}) (.*)")
_LVT_WORDS = re.compile(
    r"(active-hi|active-lo) +(edge|level) +(masked +)?(pending +)?"
    r"(one-shot +|periodic +|tsc-deadline +)?(Fixed|SMI|NMI|INIT|ExtINT|\.\.\.)"
    rf"(?: +\(vec ({_NUM})\))?"
)
_TIMER_LINE = re.compile(
    rf"Timer\t DCR=0x({_HEX}{{1,8}}) \(divide by ({_NUM})\) "
    rf"initial_count = ({_NUM}) current_count = ({_NUM})"
)
_SPIV_LINE = re.compile(
    rf"SPIV\t 0x({_HEX}{{8}}) APIC (enabled|disabled), focus=(on|off), spurious vec ({_NUM})"
)
_ICR_LINE = re.compile(
    rf"ICR\t 0x({_HEX}{{8}}) (physical|logical) (edge|level) (assert|de-assert) "
    r"(no-shorthand|self|all-self|all)"
)
_ICR2_LINE = re.compile(rf"ICR2\t 0x({_HEX}{{8}})(?: (.*?))?(?:(ESR\t .*))?")
_ESR_LINE = re.compile(rf"ESR\t 0x({_HEX}{{8}})")
_VECTORS_LINE = re.compile(r"(ISR|IRR)\t (.*)")
_VECTOR = re.compile(rf"({_NUM})(\(level\))?")
_PRIORITY_LINE = re.compile(
    rf"APR 0x({_HEX}{{2,8}}) TPR 0x({_HEX}{{2,8}}) DFR 0x({_HEX}{{2,8}}) LDR 0x({_HEX}{{2,8}})"
    rf"(?:\(cluster {_NUM}: id {_NUM}\))? PPR 0x({_HEX}{{2,8}})"
)

_LVT_FIELDS = {"LVT0": "lvt_lint0", "LVT1": "lvt_lint1", "LVTPC": "lvt_perfmon",
               "LVTERR": "lvt_error", "LVTTHMR": "lvt_thermal", "LVTT": "lvt_timer"}


@record
class LvtEntry:
    """One local vector table register (SDM Vol. 3A, Figure 10-8).

    ``name`` is QEMU's label (LVT0, LVT1, LVTPC, LVTERR, LVTTHMR, LVTT). The
    other fields are QEMU's words: ``polarity`` "active-hi"/"active-lo",
    ``trigger`` "edge"/"level", ``pending`` the delivery status bit,
    ``timer_mode`` ("one-shot", "periodic", "tsc-deadline") for LVTT only,
    ``delivery_mode`` one of "Fixed", "SMI", "NMI", "INIT", "ExtINT" or "..."
    (QEMU's word for lowest priority and the reserved encodings), and
    ``vector`` None where QEMU prints none (NMI delivery).
    """

    name: str
    raw: int
    polarity: str
    trigger: str
    masked: bool
    pending: bool
    timer_mode: str | None
    delivery_mode: str
    vector: int | None

    @property
    def remote_irr(self) -> bool:
        """Bit 14, which QEMU does not print (meaningful for LINT0/LINT1)."""
        return bool(self.raw & (1 << 14))


@record
class ApicTimer:
    """The ``Timer`` line: divide configuration (DCR bits 0, 1 and 3) and counts."""

    divide_configuration: int
    divide_by: int
    initial_count: int
    current_count: int


@record
class SpuriousVector:
    """The spurious-interrupt vector register (SDM Vol. 3A, Figure 10-23).

    ``focus`` is QEMU's word for bit 9: "on" when the bit is set, which the
    SDM defines as focus processor checking *disabled*.
    """

    raw: int
    enabled: bool
    focus: str
    vector: int


@record
class InterruptCommand:
    """The interrupt command register (SDM Vol. 3A, Figure 10-12).

    ``low`` and ``high`` are QEMU's ``ICR`` and ``ICR2`` values (bits 0-31 and
    32-63). The words are QEMU's: ``destination_mode`` "physical"/"logical",
    ``trigger`` "edge"/"level", ``level`` "assert"/"de-assert", ``shorthand``
    "no-shorthand"/"self"/"all-self"/"all", and ``destination`` what follows
    the ICR2 value ("cpu 0 (APIC ID)", "mask 00000011 (APIC ID)",
    "cluster 1 mask 0011 (APIC ID)"), empty with a shorthand.
    """

    low: int
    high: int
    destination_mode: str
    trigger: str
    level: str
    shorthand: str
    destination: str


@record
class LapicState:
    """One ``info lapic`` dump.

    ``cpu`` is the CPU index QEMU prints in its header (``info lapic`` takes
    an APIC ID, but the text names the CPU index). ``isr`` and ``irr`` list
    vectors in ascending order; ``tmr`` lists the vectors QEMU marked
    "(level)" in either list: the TMR bits of vectors in ISR or IRR, the only
    ones it shows. ``dfr`` is QEMU's 4-bit model value (0xf flat, 0x0
    cluster), ``ldr`` the 8-bit logical APIC ID (LDR bits 24-31).
    ``x2apic`` is True when QEMU labels the ICR destination "(X2APIC ID)" (it
    does when the vCPU's CPUID advertises x2APIC), False for "(APIC ID)", and
    None when the text does not say.
    """

    cpu: int
    lvt_lint0: LvtEntry | None
    lvt_lint1: LvtEntry | None
    lvt_perfmon: LvtEntry | None
    lvt_error: LvtEntry | None
    lvt_thermal: LvtEntry | None
    lvt_timer: LvtEntry | None
    timer: ApicTimer | None
    spiv: SpuriousVector | None
    icr: InterruptCommand | None
    esr: int | None
    isr: tuple[int, ...] | None
    irr: tuple[int, ...] | None
    tmr: tuple[int, ...] | None
    apr: int | None
    tpr: int | None
    dfr: int | None
    ldr: int | None
    ppr: int | None
    x2apic: bool | None
    extra_lines: tuple[str, ...]


def parse_info_lapic(text: str) -> LapicState:
    """Parse the text of ``info lapic [APIC-ID]`` (one CPU).

    Raises ParseError when the text has no ``dumping local APIC state`` header
    (QEMU's "local apic state not available" included) or a line twice.
    """
    dump = _Dump()
    for line in text.splitlines():
        dump.take(line.rstrip())
    return dump.result()


class _Dump:
    """The registers of one dump as they are found, line by line."""

    def __init__(self) -> None:
        self.cpu: int | None = None
        self.fields: dict[str, object] = {}
        self.seen: set[str] = set()
        self.icr: re.Match[str] | None = None
        self.tmr: set[int] = set()
        self.extra: list[str] = []

    def once(self, label: str) -> None:
        if label in self.seen:
            raise ParseError(f"{_WHAT}: the {label} line appears twice")
        self.seen.add(label)

    def take(self, line: str) -> None:
        if line == _UNAVAILABLE:
            raise ParseError(f"{_WHAT}: QEMU says {_UNAVAILABLE!r}")
        if header := _HEADER.fullmatch(line):
            self.once("'dumping local APIC state'")
            self.cpu = int(header.group(1))
        elif match := _ICR_LINE.fullmatch(line):
            self.once("ICR")
            self.icr = match
        elif match := _ICR2_LINE.fullmatch(line):
            self.once("ICR2")
            self._take_icr2(match)
        elif line:
            self._take_register(line)

    def _take_register(self, line: str) -> None:
        if (match := _LVT_LINE.fullmatch(line)) and (entry := _lvt_entry(*match.groups())):
            self.once(entry.name)
            self.fields[_LVT_FIELDS[entry.name]] = entry
        elif match := _TIMER_LINE.fullmatch(line):
            self.once("Timer")
            dcr, divide_by, initial, current = match.groups()
            self.fields["timer"] = ApicTimer(int(dcr, 16), int(divide_by), int(initial), int(current))
        elif match := _SPIV_LINE.fullmatch(line):
            self.once("SPIV")
            raw, enabled, focus, vector = match.groups()
            self.fields["spiv"] = SpuriousVector(int(raw, 16), enabled == "enabled", focus, int(vector))
        elif match := _ESR_LINE.fullmatch(line):
            self.once("ESR")
            self.fields["esr"] = int(match.group(1), 16)
        elif (match := _VECTORS_LINE.fullmatch(line)) and (found := _vectors(match.group(2))) is not None:
            self.once(match.group(1))
            self.fields[match.group(1).lower()] = tuple(vector for vector, _ in found)
            self.tmr.update(vector for vector, level in found if level)
        elif match := _PRIORITY_LINE.fullmatch(line):
            self.once("APR")
            self.fields.update(zip(("apr", "tpr", "dfr", "ldr", "ppr"),
                                   (int(value, 16) for value in match.groups())))
        else:
            self.extra.append(line)

    def _take_icr2(self, icr2: re.Match[str]) -> None:
        raw, destination, glued_esr = icr2.groups()
        destination = (destination or "").strip()
        if destination.endswith("(X2APIC ID)"):
            self.fields["x2apic"] = True
        elif destination.endswith("(APIC ID)"):
            self.fields["x2apic"] = False
        if self.icr is not None:
            low, mode, trigger, level, shorthand = self.icr.groups()
            self.fields["icr"] = InterruptCommand(
                int(low, 16), int(raw, 16), mode, trigger, level, shorthand, destination)
        if glued_esr:
            self._take_register(glued_esr.rstrip())

    def result(self) -> LapicState:
        if self.cpu is None:
            raise ParseError(f"{_WHAT}: no 'dumping local APIC state for CPU' header")
        has_lists = "isr" in self.fields or "irr" in self.fields
        values: dict[str, Any] = dict.fromkeys(fields(LapicState))
        values.update(self.fields, cpu=self.cpu, extra_lines=tuple(self.extra),
                      tmr=tuple(sorted(self.tmr)) if has_lists else None)
        return LapicState(**values)


def _lvt_entry(name: str, raw: str, words: str) -> LvtEntry | None:
    match = _LVT_WORDS.fullmatch(words)
    if match is None:
        return None
    polarity, trigger, masked, pending, timer_mode, mode, vector = match.groups()
    return LvtEntry(
        name, int(raw, 16), polarity, trigger, masked is not None, pending is not None,
        timer_mode.rstrip() if timer_mode else None, mode,
        None if vector is None else int(vector),
    )


def _vectors(words: str) -> list[tuple[int, bool]] | None:
    """``(none)`` or ``N N(level) ...`` as (vector, level-triggered) pairs."""
    if words.strip() == "(none)":
        return []
    matches = [_VECTOR.fullmatch(word) for word in words.split()]
    if not matches or not all(matches):
        return None
    return [(int(m.group(1)), m.group(2) is not None) for m in matches if m]
