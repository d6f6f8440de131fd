"""QEMU's ``info registers`` text: x86_cpu_dump_state in target/i386/cpu-dump.c.

The monitor prints one block per CPU, each opened by a ``CPU#N`` line (every
CPU with ``info registers -a``). A block comes in one of two layouts:

- 64-bit (the CPU runs 64-bit code, CS.L = 1 with EFER.LMA = 1): ``RAX=`` ..
  ``R15=`` and ``RIP=``/``RFL=`` with 16 hex digits, segment bases with 16.
- 32-bit (everything else): ``EAX=`` .. ``EDI=``, ``EIP=``/``EFL=``, 8-digit
  segment bases. ``GDT=``/``IDT=`` bases and ``CR2``/``CR3`` still have 16
  digits whenever EFER.LMA is set (compatibility mode).

Layouts named here:
- General registers, RFLAGS: Intel SDM Vol. 3A, 2.3 "System Flags and Fields
  in the EFLAGS Register"; Vol. 1, 3.4.1 "General-Purpose Registers".
- Segment registers and their hidden part: SDM Vol. 3A, 3.4.3 "Segment
  Registers" (Figure 3-7); descriptor fields: 3.4.5 "Segment Descriptors"
  (Figure 3-8); LDTR, TR, GDTR, IDTR: 2.4 "Memory-Management Registers".
- CR0, CR2, CR3, CR4: SDM Vol. 3A, 2.5 "Control Registers"; IA32_EFER: 2.2.1.
- DR0-DR3, DR6, DR7: SDM Vol. 3B, 17.2 "Debug Registers" (18.2 in the
  newest editions).

FPU, SSE and AVX lines (``FCW=``, ``FPR0=``, ``XMM00=``, ``YMM00=``,
``ZMM00=``, ``Opmask00=``) are skipped; any other line the parser does not
know (``CCS=`` from ``-d cpu``, ``Code=``, APX ``R16=`` .. ``R31=``) is kept in
``extra_lines``.
"""

from __future__ import annotations

import re
from itertools import zip_longest

from ...errors import ParseError
from ...model.control import Efer, cpu_mode
from ...model.idt import CpuMode
from ...model.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WHAT = "info registers"

_HEX = "[0-9a-f]"
_CPU_HEADER = re.compile(r"CPU#([0-9]{1,6})")
_CPU_MISSING = re.compile(r"(CPU#[0-9]{1,6} not available|No CPU available)")
_IP_LINE = re.compile(
    rf"(RIP|EIP)=({_HEX}{{1,16}}) (RFL|EFL)=({_HEX}{{1,8}}) \[[-A-Z]{{7}}\] "
    r"CPL=([0-3]) II=([01]) A20=([01]) SMM=([01]) HLT=([01])"
)
_SEGMENT_LINE = re.compile(
    rf"(ES|CS|SS|DS|FS|GS|LDT|TR) ?=({_HEX}{{4}}) ({_HEX}{{8}}|{_HEX}{{16}}) "
    rf"({_HEX}{{8}}) ({_HEX}{{8}})(?: (.*))?"
)
_TABLE_LINE = re.compile(rf"(GDT|IDT)= +({_HEX}{{8}}|{_HEX}{{16}}) ({_HEX}{{8}})")
_VALUE_LINE = re.compile(rf"(?:[A-Z][A-Z0-9]{{1,4}} ?={_HEX}{{1,16}} *)+")
_VALUE = re.compile(rf"([A-Z][A-Z0-9]{{1,4}}) ?=({_HEX}{{1,16}})")
_VECTOR_UNIT_LINE = re.compile(r"(FCW|FPR[0-7]|XMM[0-9]{2}|YMM[0-9]{2}|ZMM[0-9]{2}|Opmask[0-9]{2})=")

_GPR64 = ("RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP",
          "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15")
_GPR32 = ("EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP")
_SYSTEM = ("CR0", "CR2", "CR3", "CR4")
_OPTIONAL = ("DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "EFER")
_KNOWN = frozenset(_GPR64 + _GPR32 + _SYSTEM + _OPTIONAL)
_SEGMENTS = ("ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR")


@record
class SegmentCache:
    """A segment register with the descriptor fields the CPU cached on load.

    ``flags`` is QEMU's ``flags & 0x00ffff00``: bits 8-23 of the descriptor's
    high doubleword (type, S, DPL, P, AVL, L, D/B, G) in place (SDM Vol. 3A,
    Figure 3-8). ``description_text`` is what QEMU prints after them, such as
    ``"DPL=0 CS64 [-R-]"`` or ``"DPL=0 TSS64-busy"``; it is empty in real mode
    and for a segment that is not present.
    """

    selector: int
    base: int
    limit: int
    flags: int
    description_text: str

    @property
    def present(self) -> bool:
        """The P flag, descriptor bit 47 (bit 15 of ``flags``)."""
        return bool(self.flags & (1 << 15))

    @property
    def dpl(self) -> int:
        """The descriptor privilege level, bits 45-46 (13-14 of ``flags``)."""
        return (self.flags >> 13) & 3


@record
class TableRegister:
    """GDTR or IDTR: a linear base and a limit (SDM Vol. 3A, 2.4.1 and 2.4.3)."""

    base: int
    limit: int


@record
class CpuRegisters:
    """One CPU block of ``info registers``.

    ``cpu`` is the CPU index from the ``CPU#N`` line (None for a block without
    one, such as a ``-d cpu`` log entry). ``format64`` tells which layout QEMU
    used (see the module docstring); in the 32-bit layout ``r8`` .. ``r15``
    are None and ``rax`` .. ``rflags`` hold the 32-bit values QEMU printed;
    segment bases are cut to their low 32 bits there too, so in compatibility
    mode the TR, FS and GS bases of a 64-bit kernel are incomplete.
    ``mode`` comes from CR0.PE and EFER.LMA; when the EFER line is missing,
    LMA is read off the width of the ``GDT=`` base (16 digits only with LMA).
    Debug registers and EFER are None when the text stops before them.
    """

    cpu: int | None
    format64: bool
    mode: CpuMode
    rax: int
    rbx: int
    rcx: int
    rdx: int
    rsi: int
    rdi: int
    rbp: int
    rsp: int
    r8: int | None
    r9: int | None
    r10: int | None
    r11: int | None
    r12: int | None
    r13: int | None
    r14: int | None
    r15: int | None
    rip: int
    rflags: int
    cpl: int
    interrupt_shadow: bool
    a20: bool
    smm: bool
    halted: bool
    es: SegmentCache
    cs: SegmentCache
    ss: SegmentCache
    ds: SegmentCache
    fs: SegmentCache
    gs: SegmentCache
    ldt: SegmentCache
    tr: SegmentCache
    gdt: TableRegister
    idt: TableRegister
    cr0: int
    cr2: int
    cr3: int
    cr4: int
    dr0: int | None
    dr1: int | None
    dr2: int | None
    dr3: int | None
    dr6: int | None
    dr7: int | None
    efer: int | None
    extra_lines: tuple[str, ...]

    @property
    def long_mode(self) -> bool:
        """True in IA-32e mode (64-bit or compatibility sub-mode)."""
        return self.mode is CpuMode.LONG

    @property
    def linear_pc(self) -> int:
        """The linear address of the next instruction: CS.base + RIP (SDM 3A 3.4.2; the base
        is 0 in 64-bit mode, and the paragraph of CS in real mode)."""
        return self.cs.base + self.rip


def parse_info_registers(text: str) -> tuple[CpuRegisters, ...]:
    """Parse the text of ``info registers`` (one CPU) or ``info registers -a``.

    Accepts ``\\r\\n`` or ``\\n`` line ends and leading blank lines, as the
    monitor returns them through gdb's ``monitor`` command. Raises ParseError
    naming the first required line that is missing.
    """
    blocks = _split_blocks(text)
    return tuple(_parse_block(cpu, lines) for cpu, lines in blocks)


def _split_blocks(text: str) -> list[tuple[int | None, list[str]]]:
    lines = [line.rstrip() for line in text.splitlines()]
    if not any(lines):
        raise ParseError(f"{_WHAT}: the text is empty")
    blocks: list[tuple[int | None, list[str]]] = [(None, [])]
    for line in lines:
        missing = _CPU_MISSING.fullmatch(line)
        if missing:
            raise ParseError(f"{_WHAT}: QEMU says {missing.group(1)!r}")
        header = _CPU_HEADER.fullmatch(line)
        if header:
            blocks.append((int(header.group(1)), []))
        else:
            blocks[-1][1].append(line)
    if len(blocks) > 1:
        preamble = blocks.pop(0)[1]
        blocks[0][1][:0] = preamble
    return blocks


class _Block:
    """The fields of one CPU block as they are found, line by line."""

    def __init__(self, cpu: int | None) -> None:
        self.cpu = cpu
        self.values: dict[str, int] = {}
        self.segments: dict[str, SegmentCache] = {}
        self.tables: dict[str, tuple[TableRegister, bool]] = {}
        self.ip: re.Match[str] | None = None
        self.extra: list[str] = []

    def where(self) -> str:
        return "" if self.cpu is None else f" for CPU#{self.cpu}"

    def twice(self, name: str) -> ParseError:
        return ParseError(f"{_WHAT}: {name}= appears twice{self.where()}")

    def take(self, line: str) -> None:
        if not line or _VECTOR_UNIT_LINE.match(line):
            return
        if match := _IP_LINE.fullmatch(line):
            if self.ip is not None:
                raise self.twice(match.group(1))
            self.ip = match
        elif match := _SEGMENT_LINE.fullmatch(line):
            self._take_segment(match)
        elif match := _TABLE_LINE.fullmatch(line):
            name, base, limit = match.groups()
            if name in self.tables:
                raise self.twice(name)
            self.tables[name] = (TableRegister(int(base, 16), int(limit, 16)), len(base) == 16)
        elif _VALUE_LINE.fullmatch(line) and self._take_values(line):
            return
        else:
            self.extra.append(line)

    def _take_segment(self, match: re.Match[str]) -> None:
        name, selector, base, limit, flags, words = match.groups()
        if name in self.segments:
            raise self.twice(name)
        self.segments[name] = SegmentCache(
            int(selector, 16), int(base, 16), int(limit, 16), int(flags, 16), words or "")

    def _take_values(self, line: str) -> bool:
        pairs = [(m.group(1), int(m.group(2), 16)) for m in _VALUE.finditer(line)]
        if not all(name in _KNOWN for name, _ in pairs):
            return False
        for name, value in pairs:
            if name in self.values:
                raise self.twice(name)
            self.values[name] = value
        return True

    def require(self, name: str) -> int:
        if name not in self.values:
            raise ParseError(f"{_WHAT}: no {name}= value{self.where()}")
        return self.values[name]


def _parse_block(cpu: int | None, lines: list[str]) -> CpuRegisters:
    block = _Block(cpu)
    for line in lines:
        block.take(line)
    if block.ip is None:
        raise ParseError(f"{_WHAT}: no RIP=/EIP= line{block.where()}")
    ip_name, ip, _, flags, cpl, shadow, a20, smm, halted = block.ip.groups()
    format64 = ip_name == "RIP"
    wanted, other = (_GPR64, _GPR32) if format64 else (_GPR32, _GPR64)
    stray = [name for name in other if name in block.values]
    if stray:
        raise ParseError(f"{_WHAT}: {stray[0]}= does not belong with {ip_name}={block.where()}")
    gprs: dict[str, Any] = {name.lower(): value
            for name, value in zip_longest(_GPR64, [block.require(name) for name in wanted])}
    for name in _SEGMENTS:
        if name not in block.segments:
            raise ParseError(f"{_WHAT}: no {name}= line{block.where()}")
    for name in ("GDT", "IDT"):
        if name not in block.tables:
            raise ParseError(f"{_WHAT}: no {name}= line{block.where()}")
    system: dict[str, Any] = {name.lower(): block.require(name) for name in _SYSTEM}
    optional: dict[str, Any] = {name.lower(): block.values.get(name) for name in _OPTIONAL}
    gdt, gdt_wide = block.tables["GDT"]
    efer = optional["efer"]
    lma = bool(efer & Efer.LMA) if efer is not None else gdt_wide
    segments: dict[str, Any] = {name.lower(): block.segments[name] for name in _SEGMENTS}
    return CpuRegisters(
        cpu=cpu, format64=format64, mode=cpu_mode(system["cr0"], Efer.LMA if lma else 0),
        **gprs,
        rip=int(ip, 16), rflags=int(flags, 16), cpl=int(cpl), interrupt_shadow=shadow == "1",
        a20=a20 == "1", smm=smm == "1", halted=halted == "1",
        **segments,
        gdt=gdt, idt=block.tables["IDT"][0],
        **system, **optional,
        extra_lines=tuple(block.extra),
    )
