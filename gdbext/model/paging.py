"""Page walks: translate a linear address and say which entry refused an access.

Covers the paging modes of Intel SDM Vol. 3A chapter 4 (AMD APM Vol. 2
chapter 5): 32-bit paging (4.3), PAE paging (4.4), 4-level and 5-level paging
(4.5), the access rights of 4.6 and the #PF error code of 4.7. The caller
passes the control registers and a reader of physical memory; nothing here
does I/O of its own.
"""

from __future__ import annotations

from enum import Enum, IntFlag
from typing import Protocol

from gdbext.errors import DecodeError, TargetError, UsageError
from gdbext.model.control import Cr0, Cr4, Efer
from gdbext.model.errcode import PageFaultError
from gdbext.model.exception_vectors import ExceptionVector
from gdbext.model.record import record, replace


class PagingMode(Enum):
    """The paging mode selected by CR0.PG, CR4.PAE, IA32_EFER.LME and CR4.LA57.

    SDM Vol. 3A 4.1.1, Table 4-1.
    """

    NONE = "none"
    BITS32 = "32-bit"
    PAE = "PAE"
    LEVEL4 = "4-level"
    LEVEL5 = "5-level"


class PagingLevel(Enum):
    """The paging-structure entry a walk step reads, by its SDM name (Vol. 3A 4.2, Table 4-1)."""

    PML5E = "PML5E"
    PML4E = "PML4E"
    PDPTE = "PDPTE"
    PDE = "PDE"
    PTE = "PTE"

    def __str__(self) -> str:
        return self.value


class EntryBit(IntFlag):
    """Paging-structure entry bits (SDM Vol. 3A 4.3 Tables 4-4..4-6, 4.4, 4.5).

    Bit 7 is PS in a directory entry and PAT in a PTE; PAT_LARGE is the PAT bit
    of an entry that maps a 4-MiB, 2-MiB or 1-GiB page. XD is bit 63 of the
    8-byte formats.
    """

    P = 1 << 0
    RW = 1 << 1
    US = 1 << 2
    PWT = 1 << 3
    PCD = 1 << 4
    A = 1 << 5
    D = 1 << 6
    PS = 1 << 7
    G = 1 << 8
    PAT_LARGE = 1 << 12
    XD = 1 << 63




_KIB = 1 << 10
_MIB = 1 << 20
_GIB = 1 << 30
#: the size of a 4-KByte page, the smallest a translation maps (SDM 3A 4.1)
PAGE_SIZE = 4 * _KIB


def _bits(high: int, low: int) -> int:
    """The mask of bits high..low (inclusive); 0 when high < low."""
    if high < low:
        return 0
    return ((1 << (high - low + 1)) - 1) << low


_ADDRESS_51_12 = _bits(51, 12)
_PAE_PDPTE_LOAD_RESERVED = _bits(2, 1) | _bits(8, 5)
_PAE_PDPTE_ACCESSED = 1 << 5
_PK_SHIFT = 59


def paging_mode(cr0: int, cr4: int, efer: int) -> PagingMode:
    """The paging mode in use, per SDM Vol. 3A 4.1.1 Table 4-1.

    Raises DecodeError for CR0.PG=1 with IA32_EFER.LME=1 and CR4.PAE=0, a
    state the CPU refuses to enter (setting CR0.PG then raises #GP).
    """
    for name, value in (("CR0", cr0), ("CR4", cr4), ("EFER", efer)):
        _check_register(name, value)
    if not cr0 & Cr0.PG:
        return PagingMode.NONE
    if not cr4 & Cr4.PAE:
        if efer & Efer.LME:
            raise DecodeError(
                "impossible paging state: CR0.PG=1 and EFER.LME=1 need CR4.PAE=1"
            )
        return PagingMode.BITS32
    if not efer & Efer.LME:
        return PagingMode.PAE
    if cr4 & Cr4.LA57:
        return PagingMode.LEVEL5
    return PagingMode.LEVEL4


def _check_register(name: str, value: int) -> None:
    if not 0 <= value < 1 << 64:
        raise UsageError(f"{name} value {value:#x} does not fit in 64 bits")


@record
class Access:
    """The kind of memory access being checked (SDM Vol. 3A 4.6).

    ``user`` is a user-mode access (CPL=3). ``implicit_supervisor`` is an
    access the CPU makes on its own to the GDT, LDT, IDT or TSS: a
    supervisor-mode access whatever the CPL, which CR4.SMAP keeps off user
    pages whatever EFLAGS.AC says (SDM 4.6.1; QEMU's TCG lets AC=1 at CPL<3
    through). ``rflags_ac`` is EFLAGS.AC, which lets explicit supervisor data
    accesses reach user pages under CR4.SMAP.
    """

    write: bool = False
    user: bool = False
    fetch: bool = False
    implicit_supervisor: bool = False
    rflags_ac: bool = False

    def __post_init__(self) -> None:
        if self.write and self.fetch:
            raise UsageError("an access cannot be both a write and an instruction fetch")
        if self.user and self.implicit_supervisor:
            raise UsageError("an access cannot be both user-mode and implicit supervisor-mode")

    @classmethod
    def from_error_code(cls, code: int) -> Access:
        """The access a #PF error code describes: W/R bit 1, U/S bit 2, I/D bit 4.

        SDM Vol. 3A 4.7, Figure 4-12. EFLAGS.AC and whether the access was
        implicit are not in the error code and come back False.
        """
        if not 0 <= code < 1 << 32:
            raise DecodeError(f"page-fault error code {code:#x} does not fit in 32 bits")
        if code & PageFaultError.WR and code & PageFaultError.ID:
            raise DecodeError(
                f"page-fault error code {code:#x} has both W/R and I/D set, which no CPU pushes"
            )
        return cls(
            write=bool(code & PageFaultError.WR),
            user=bool(code & PageFaultError.US),
            fetch=bool(code & PageFaultError.ID),
        )

    @property
    def kind(self) -> str:
        """One of "read", "write" or "instruction fetch"."""
        if self.fetch:
            return "instruction fetch"
        return "write" if self.write else "read"

    @property
    def privilege(self) -> str:
        """One of "user" or "supervisor"."""
        return "user" if self.user else "supervisor"


class PhysicalMemory(Protocol):
    """Reads guest physical memory; raises a TargetError when it cannot."""

    def read(self, address: int, size: int) -> bytes: ...


@record
class WalkStep:
    """One paging-structure entry the walk read (SDM Vol. 3A 4.3-4.5).

    ``level`` is the entry's PagingLevel: PML5E, PML4E, PDPTE, PDE or PTE
    (32-bit paging has only PDE and PTE; PAE paging starts with
    one of the four PDPTEs at CR3[31:5]). A flag that the entry's format does
    not have is None: PAE PDPTEs carry no R/W, U/S, A or XD; 32-bit entries
    carry no XD; only an entry that maps a page has D, G and PAT; the
    protection key exists only in such an entry under 4-level or 5-level
    paging with CR4.PKE or CR4.PKS set. ``nx`` is the XD bit as written (it
    is a reserved bit while IA32_EFER.NXE=0). ``page_size`` is True when the
    PS bit makes this entry map a page. ``reserved_bits_set`` is the mask of
    reserved bits that are 1 (only checked when P=1). ``frame`` is the
    physical address of the next table or of the page.

    When the table page could not be read, ``entry`` is None, ``unreadable``
    says why, and the decoded fields are False/None.
    """

    level: PagingLevel
    table_address: int
    index: int
    entry_address: int
    entry: int | None
    present: bool = False
    writable: bool | None = None
    user: bool | None = None
    nx: bool | None = None
    page_size: bool = False
    accessed: bool | None = None
    dirty: bool | None = None
    global_: bool | None = None
    pwt: bool | None = None
    pcd: bool | None = None
    pat: bool | None = None
    protection_key: int | None = None
    reserved_bits_set: int = 0
    frame: int | None = None
    leaf: bool = False
    unreadable: str | None = None


@record
class Fault:
    """Why the access is refused.

    ``bit`` names what refused it: "P", "R/W", "U/S", "XD", "RSVD", "PK",
    "SMEP", "SMAP", or "canonical" for a non-canonical linear address. The
    last is no page fault at all: ``vector`` is then 13 (#GP(0); #SS(0) if the
    access went through SS) and ``error_code`` None. Otherwise ``vector`` is
    14 and ``error_code`` is the #PF error code this fault pushes (SDM Vol. 3A
    4.7). ``level`` is the SDM name of the entry that refused the access, None
    for a non-canonical address.
    """

    level: PagingLevel | None
    reason: str
    bit: str
    vector: int
    error_code: int | None


@record
class Walk:
    """The result of walking the paging structures for one linear address.

    ``physical`` is the translation when the walk reached a page (even if the
    access rights then refuse the access), None otherwise. ``page_size`` is the
    size of that page. ``writable``, ``user`` and ``executable`` are the rights
    combined over every level (SDM Vol. 3A 4.6): R/W=1 everywhere, U/S=1
    everywhere, and no XD=1 anywhere with IA32_EFER.NXE=1; they are None when
    no page was reached and all True without paging. ``fault`` is None when
    the access is allowed. ``notes`` hold what the walk could not decide
    (PKRU unknown, for instance).
    """

    mode: PagingMode
    linear: int
    access: Access
    steps: tuple[WalkStep, ...]
    physical: int | None
    page_size: int | None
    writable: bool | None
    user: bool | None
    executable: bool | None
    fault: Fault | None
    notes: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """True when the address translates and the access is permitted."""
        return self.fault is None and self.physical is not None

    @property
    def unreadable(self) -> str | None:
        """Why the walk stopped on a table it could not read, else None."""
        if self.steps and self.steps[-1].unreadable is not None:
            return self.steps[-1].unreadable
        return None


@record
class _Level:
    """One level of a paging mode: its entry name and linear-address slice."""

    name: PagingLevel
    shift: int
    index_bits: int
    entry_size: int
    large_page: int | None = None
    ps_reserved: bool = False


_PTE32 = _Level(PagingLevel.PTE, 12, 10, 4)
_PTE64 = _Level(PagingLevel.PTE, 12, 9, 8)
_PDE64 = _Level(PagingLevel.PDE, 21, 9, 8, 2 * _MIB)
_LEVELS: dict[PagingMode, tuple[_Level, ...]] = {
    PagingMode.BITS32: (_Level(PagingLevel.PDE, 22, 10, 4, 4 * _MIB), _PTE32),
    PagingMode.PAE: (_Level(PagingLevel.PDPTE, 30, 2, 8), _PDE64, _PTE64),
    PagingMode.LEVEL4: (
        _Level(PagingLevel.PML4E, 39, 9, 8, ps_reserved=True),
        _Level(PagingLevel.PDPTE, 30, 9, 8, _GIB),
        _PDE64,
        _PTE64,
    ),
    PagingMode.LEVEL5: (
        _Level(PagingLevel.PML5E, 48, 9, 8, ps_reserved=True),
        _Level(PagingLevel.PML4E, 39, 9, 8, ps_reserved=True),
        _Level(PagingLevel.PDPTE, 30, 9, 8, _GIB),
        _PDE64,
        _PTE64,
    ),
}


@record
class _Context:
    """The register state a walk depends on."""

    mode: PagingMode
    cr0: int
    cr4: int
    efer: int
    maxphyaddr: int

    @property
    def nxe(self) -> bool:
        """XD is honoured: IA32_EFER.NXE=1 in a mode with 8-byte entries (4.1.3)."""
        return self.mode not in (PagingMode.NONE, PagingMode.BITS32) and bool(
            self.efer & Efer.NXE
        )

    @property
    def long_mode(self) -> bool:
        return self.mode in (PagingMode.LEVEL4, PagingMode.LEVEL5)


def walk(
    mem: PhysicalMemory,
    linear: int,
    cr3: int,
    cr0: int,
    cr4: int,
    efer: int,
    access: Access = Access(),
    pkru: int | None = None,
    maxphyaddr: int = 52,
) -> Walk:
    """Walk the paging structures for ``linear`` and check ``access`` against them.

    The walk stops at the first entry that cannot be read, is not present
    (P=0) or has a reserved bit set (with a note that QEMU pushes that #PF
    without the P bit); otherwise the combined rights at the page
    are checked per SDM Vol. 3A 4.6 (CR0.WP, CR4.SMEP, CR4.SMAP with EFLAGS.AC,
    CR4.PKE with PKRU, IA32_EFER.NXE). ``pkru`` None means PKRU is unknown:
    the walk then names the protection key in a note instead of guessing.
    ``maxphyaddr`` is CPUID.80000008H:EAX[7:0]. PAE paging reads the four
    PDPTEs from memory at CR3[31:5]; the CPU loaded them when CR3 was written
    (SDM 4.4.1), so they differ if memory changed since. A PDPTE's reserved
    bits 2:1 and 8:5 are checked only by that load (#GP(0) on MOV CR3), never
    by a walk, and QEMU does not check them at all (it even sets bit 5, as an
    accessed bit, in each PDPTE it walks): they give notes, not a fault. Bits
    63:MAXPHYADDR refuse the walk, as QEMU refuses it (target/i386
    excp_helper.c, mmu_translate).
    """
    _check_register("CR3", cr3)
    if not 32 <= maxphyaddr <= 52:
        raise UsageError(f"MAXPHYADDR {maxphyaddr} is outside 32..52")
    if pkru is not None and not 0 <= pkru < 1 << 32:
        raise UsageError(f"PKRU value {pkru:#x} does not fit in 32 bits")
    ctx = _Context(paging_mode(cr0, cr4, efer), cr0, cr4, efer, maxphyaddr)
    width = 64 if ctx.long_mode else 32
    if not 0 <= linear < 1 << width:
        raise UsageError(
            f"linear address {linear:#x} does not fit in {width} bits under {ctx.mode.value} paging"
        )
    if ctx.mode is PagingMode.NONE:
        return Walk(ctx.mode, linear, access, (), linear, None, True, True, True, None,
                    ("paging is off (CR0.PG=0): the linear address is the physical address",))
    if ctx.long_mode:
        fault = _canonical_fault(linear, 56 if ctx.mode is PagingMode.LEVEL5 else 47)
        if fault is not None:
            return Walk(ctx.mode, linear, access, (), None, None, None, None, None, fault)

    steps: list[WalkStep] = []
    table = _root_table(ctx, cr3)
    for level in _LEVELS[ctx.mode]:
        index = (linear >> level.shift) & ((1 << level.index_bits) - 1)
        entry_address = table + index * level.entry_size
        step = _read_step(mem, ctx, level, table, index, entry_address)
        steps.append(step)
        stop = _stop_fault(ctx, step, access)
        if step.unreadable is not None or stop is not None:
            notes = _pdpte_notes(ctx, steps, stop) + _rsvd_note(stop)
            return Walk(ctx.mode, linear, access, tuple(steps), None, None, None, None, None,
                        stop, notes)
        if step.leaf:
            break
        assert step.frame is not None
        table = step.frame
    result = _check_rights(ctx, linear, access, tuple(steps), pkru)
    notes = _pdpte_notes(ctx, steps, None)
    return replace(result, notes=notes + result.notes) if notes else result


def translate(
    mem: PhysicalMemory,
    linear: int,
    cr3: int,
    cr0: int,
    cr4: int,
    efer: int,
    maxphyaddr: int = 52,
) -> int | None:
    """The physical address ``linear`` maps to, or None when it has no translation."""
    return walk(mem, linear, cr3, cr0, cr4, efer, maxphyaddr=maxphyaddr).physical


def _canonical_fault(linear: int, top: int) -> Fault | None:
    """#GP(0) for a linear address whose bits 63:top are not all equal (SDM 3A 4.5)."""
    upper = linear >> top
    if upper in (0, (1 << (64 - top)) - 1):
        return None
    return Fault(
        level=None,
        reason=(
            f"linear address {linear:#x} is not canonical (bits 63:{top} must all equal "
            f"bit {top}): #GP(0), not #PF"
        ),
        bit="canonical",
        vector=int(ExceptionVector.GP),
        error_code=None,
    )


def _root_table(ctx: _Context, cr3: int) -> int:
    """The first table's physical address from CR3 (SDM 3A 4.3 Table 4-3, 4.4.1, 4.5.2)."""
    if ctx.mode is PagingMode.BITS32:
        return cr3 & 0xFFFF_F000
    if ctx.mode is PagingMode.PAE:
        return cr3 & 0xFFFF_FFE0
    return cr3 & _bits(ctx.maxphyaddr - 1, 12)


def _read_step(
    mem: PhysicalMemory, ctx: _Context, level: _Level, table: int, index: int, entry_address: int
) -> WalkStep:
    try:
        data = mem.read(entry_address, level.entry_size)
    except TargetError as exc:
        problem = str(exc)
    else:
        if len(data) == level.entry_size:
            return _decode(ctx, level, table, index, entry_address, int.from_bytes(data, "little"))
        problem = f"got {len(data)} bytes instead of {level.entry_size}"
    return WalkStep(
        level=level.name,
        table_address=table,
        index=index,
        entry_address=entry_address,
        entry=None,
        unreadable=(
            f"page-table page at {table:#x} unreadable "
            f"({level.name} at {entry_address:#x}: {problem})"
        ),
    )


def _decode(
    ctx: _Context, level: _Level, table: int, index: int, entry_address: int, raw: int
) -> WalkStep:
    """Decode one entry in the format its mode and level give it (SDM 3A 4.3-4.5)."""
    if level.entry_size == 4:
        return _decode_32bit(ctx, level, table, index, entry_address, raw)
    if ctx.mode is PagingMode.PAE and level.name is PagingLevel.PDPTE:
        return _decode_pae_pdpte(ctx, table, index, entry_address, raw)
    return _decode_8byte(ctx, level, table, index, entry_address, raw)


def _decode_32bit(
    ctx: _Context, level: _Level, table: int, index: int, entry_address: int, raw: int
) -> WalkStep:
    """32-bit paging PDE/PTE (SDM 3A 4.3, Tables 4-4..4-6), with PSE-36 4-MiB pages."""
    present = bool(raw & EntryBit.P)
    large = level.large_page is not None and bool(ctx.cr4 & Cr4.PSE) and bool(raw & EntryBit.PS)
    leaf = large or level.name is PagingLevel.PTE
    if large:
        m = min(ctx.maxphyaddr, 40)
        reserved = raw & _bits(21, m - 19) if present else 0
        frame = (raw & 0xFFC0_0000) | (((raw >> 13) & 0xFF) << 32)
        pat: bool | None = bool(raw & EntryBit.PAT_LARGE)
    else:
        reserved = 0
        frame = raw & 0xFFFF_F000
        pat = bool(raw & EntryBit.PS) if leaf else None
    return _common_step(level.name, table, index, entry_address, raw, leaf, large, reserved,
                        frame, pat, nx=None, protection_key=None)


def _decode_pae_pdpte(
    ctx: _Context, table: int, index: int, entry_address: int, raw: int
) -> WalkStep:
    """PAE paging PDPTE (SDM 3A 4.4.1, Table 4-8): P, PWT, PCD and an address only.

    ``reserved_bits_set`` holds only the bits a walk refuses (63:MAXPHYADDR);
    the low reserved bits, checked at CR3 load, are left to the walk's notes.
    """
    present = bool(raw & EntryBit.P)
    reserved = raw & _bits(63, ctx.maxphyaddr) if present else 0
    return WalkStep(
        level=PagingLevel.PDPTE,
        table_address=table,
        index=index,
        entry_address=entry_address,
        entry=raw,
        present=present,
        pwt=bool(raw & EntryBit.PWT),
        pcd=bool(raw & EntryBit.PCD),
        reserved_bits_set=reserved,
        frame=raw & _ADDRESS_51_12,
    )


def _decode_8byte(
    ctx: _Context, level: _Level, table: int, index: int, entry_address: int, raw: int
) -> WalkStep:
    """PAE PDE/PTE (SDM 3A 4.4.2) and 4/5-level entries (4.5.4, Tables 4-14..4-20)."""
    present = bool(raw & EntryBit.P)
    large = level.large_page is not None and bool(raw & EntryBit.PS)
    leaf = large or level.name is PagingLevel.PTE
    size = level.large_page if large and level.large_page else PAGE_SIZE
    reserved = 0
    if present:
        top = 51 if ctx.long_mode else 62
        reserved = raw & _bits(top, ctx.maxphyaddr)
        if not ctx.nxe:
            reserved |= raw & EntryBit.XD
        if level.ps_reserved:
            reserved |= raw & EntryBit.PS
        if large:
            reserved |= raw & _bits(size.bit_length() - 2, 13)
    if large:
        pat: bool | None = bool(raw & EntryBit.PAT_LARGE)
    else:
        pat = bool(raw & EntryBit.PS) if leaf else None
    protection_key = None
    if leaf and ctx.long_mode and ctx.cr4 & (Cr4.PKE | Cr4.PKS):
        protection_key = (raw >> _PK_SHIFT) & 0xF
    frame = raw & _ADDRESS_51_12 & ~(size - 1)
    return _common_step(level.name, table, index, entry_address, raw, leaf, large, reserved,
                        frame, pat, nx=bool(raw & EntryBit.XD), protection_key=protection_key)


def _common_step(
    name: PagingLevel,
    table: int,
    index: int,
    entry_address: int,
    raw: int,
    leaf: bool,
    large: bool,
    reserved: int,
    frame: int,
    pat: bool | None,
    nx: bool | None,
    protection_key: int | None,
) -> WalkStep:
    """The fields that 32-bit and 8-byte PDEs/PTEs share."""
    return WalkStep(
        level=name,
        table_address=table,
        index=index,
        entry_address=entry_address,
        entry=raw,
        present=bool(raw & EntryBit.P),
        writable=bool(raw & EntryBit.RW),
        user=bool(raw & EntryBit.US),
        nx=nx,
        page_size=large,
        accessed=bool(raw & EntryBit.A),
        dirty=bool(raw & EntryBit.D) if leaf else None,
        global_=bool(raw & EntryBit.G) if leaf else None,
        pwt=bool(raw & EntryBit.PWT),
        pcd=bool(raw & EntryBit.PCD),
        pat=pat,
        protection_key=protection_key,
        reserved_bits_set=reserved,
        frame=frame,
        leaf=leaf,
    )


def _stop_fault(ctx: _Context, step: WalkStep, access: Access) -> Fault | None:
    """The fault of an entry that ends the walk: P=0 or a reserved bit (SDM 3A 4.7)."""
    if step.unreadable is not None:
        return None
    if not step.present:
        return _page_fault(ctx, step.level, f"{step.level} not present (P=0)", "P", access, 0)
    if step.reserved_bits_set:
        return _page_fault(ctx, step.level, _reserved_reason(ctx, step), "RSVD", access,
                           PageFaultError.P | PageFaultError.RSVD)
    return None


def _reserved_reason(ctx: _Context, step: WalkStep) -> str:
    positions = [bit for bit in range(64) if step.reserved_bits_set >> bit & 1]
    plural = "s" if len(positions) > 1 else ""
    reason = f"reserved bit{plural} {', '.join(map(str, positions))} set in {step.level}"
    hints = []
    if 63 in positions and not ctx.nxe and step.nx is not None:
        hints.append("bit 63 is XD, reserved while EFER.NXE=0")
    if 7 in positions and step.level in (PagingLevel.PML4E, PagingLevel.PML5E):
        hints.append(f"PS must be 0 in a {step.level}")
    if hints:
        reason += f" ({'; '.join(hints)})"
    return reason


def _pdpte_notes(ctx: _Context, steps: list[WalkStep], stop: Fault | None) -> tuple[str, ...]:
    """What a PAE PDPTE holds that hardware checks only at CR3 load (SDM 3A 4.4.1)."""
    step = steps[0]
    if ctx.mode is not PagingMode.PAE or step.entry is None or not step.present:
        return ()
    notes = []
    if stop is not None and stop.level is PagingLevel.PDPTE:
        notes.append("a CPU checks PDPTE reserved bits when CR3 is loaded and raises #GP(0) there "
                     "(SDM 3A 4.4.1); QEMU checks bits 63:MAXPHYADDR at each walk and raises this #PF")
    if step.entry & _PAE_PDPTE_ACCESSED:
        notes.append("PDPTE bit 5: QEMU sets it when it walks a PAE PDPTE; hardware never does, and checks "
                     "it (reserved) only when CR3 is loaded")
    others = step.entry & _PAE_PDPTE_LOAD_RESERVED & ~_PAE_PDPTE_ACCESSED
    if others:
        positions = ", ".join(str(bit) for bit in range(9) if others >> bit & 1)
        notes.append(f"reserved bit{'s' if others & (others - 1) else ''} {positions} set in PDPTE: a CPU "
                     "refuses this PDPTE when CR3 is loaded (#GP(0), SDM 3A 4.4.1), not during a walk; "
                     "QEMU ignores them")
    return tuple(notes)


def _rsvd_note(stop: Fault | None) -> tuple[str, ...]:
    """QEMU's TCG pushes a reserved-bit #PF without the P bit (target/i386 excp_helper.c)."""
    if stop is None or stop.bit != "RSVD" or stop.error_code is None:
        return ()
    return (
        f"QEMU (TCG) pushes error code {stop.error_code & ~int(PageFaultError.P):#x} for this fault: it leaves P clear "
        "on reserved-bit faults, where a CPU sets it (SDM 3A 4.7)",
    )


def _page_fault(
    ctx: _Context, level: PagingLevel, reason: str, bit: str, access: Access, code: int
) -> Fault:
    """A #PF with the W, U/S and I/D bits the access adds to ``code`` (SDM 3A 4.7)."""
    if access.write:
        code |= PageFaultError.WR
    if access.user:
        code |= PageFaultError.US
    if access.fetch and (ctx.cr4 & Cr4.SMEP or ctx.nxe):
        code |= PageFaultError.ID
    return Fault(level=level, reason=reason, bit=bit, vector=int(ExceptionVector.PF), error_code=int(code))


def _first(steps: tuple[WalkStep, ...], attribute: str, value: bool) -> WalkStep | None:
    """The first step whose ``attribute`` equals ``value`` (None-valued fields never match)."""
    return next((step for step in steps if getattr(step, attribute) is value), None)


@record
class _Rights:
    """Rights combined over every level that controls the translation (SDM 3A 4.6)."""

    read_only_at: WalkStep | None
    supervisor_at: WalkStep | None
    xd_at: WalkStep | None
    leaf: WalkStep

    @property
    def user_page(self) -> bool:
        return self.supervisor_at is None


def _check_rights(
    ctx: _Context, linear: int, access: Access, steps: tuple[WalkStep, ...], pkru: int | None
) -> Walk:
    leaf = steps[-1]
    assert leaf.frame is not None
    size = _page_size(ctx, leaf)
    rights = _Rights(
        read_only_at=_first(steps, "writable", False),
        supervisor_at=_first(steps, "user", False),
        xd_at=_first(steps, "nx", True) if ctx.nxe else None,
        leaf=leaf,
    )
    pk_denies, notes = _protection_key_denies(ctx, access, rights, pkru)
    fault = _rights_fault(ctx, access, rights, pk_denies)
    return Walk(
        mode=ctx.mode,
        linear=linear,
        access=access,
        steps=steps,
        physical=leaf.frame | (linear & (size - 1)),
        page_size=size,
        writable=rights.read_only_at is None,
        user=rights.user_page,
        executable=rights.xd_at is None,
        fault=fault,
        notes=notes,
    )


def _page_size(ctx: _Context, leaf: WalkStep) -> int:
    if not leaf.page_size:
        return PAGE_SIZE
    size = next(level.large_page for level in _LEVELS[ctx.mode] if level.name == leaf.level)
    assert size is not None
    return size


def _protection_key_denies(
    ctx: _Context, access: Access, rights: _Rights, pkru: int | None
) -> tuple[str | None, tuple[str, ...]]:
    """Which PKRU bit denies this data access to a user page, if any (SDM 3A 4.6.2).

    Also returns notes on what cannot be decided (PKRU or IA32_PKRS unknown).
    """
    key = rights.leaf.protection_key
    if key is None or access.fetch:
        return None, ()
    if not rights.user_page:
        if ctx.cr4 & Cr4.PKS:
            return None, (
                f"CR4.PKS=1: protection key {key} of this supervisor page is checked "
                "against IA32_PKRS, which is not known here",
            )
        return None, ()
    if not ctx.cr4 & Cr4.PKE:
        return None, ()
    if pkru is None:
        return None, (
            f"protection key {key} applies to this user page; PKRU is unknown, so its "
            "rights (and the PK bit of the error code) were not checked",
        )
    if pkru >> (2 * key) & 1:
        return f"AD{key}=1", ()
    write_disabled = pkru >> (2 * key + 1) & 1
    if write_disabled and access.write and (access.user or ctx.cr0 & Cr0.WP):
        return f"WD{key}=1", ()
    return None, ()


def _rights_fault(
    ctx: _Context, access: Access, rights: _Rights, pk_denies: str | None
) -> Fault | None:
    """The first access-rights rule of SDM 3A 4.6.1 the access breaks, as a #PF."""
    leaf_name = rights.leaf.level
    refusal: tuple[PagingLevel, str, str] | None = None
    if access.user and rights.supervisor_at is not None:
        name = rights.supervisor_at.level
        refusal = (name, f"{name} has U/S=0: user access to a supervisor page", "U/S")
    elif access.fetch:
        if rights.xd_at is not None:
            name = rights.xd_at.level
            refusal = (name, f"NX: {name} has XD=1 and EFER.NXE=1 for an instruction fetch", "XD")
        elif not access.user and ctx.cr4 & Cr4.SMEP and rights.user_page:
            refusal = (leaf_name, "SMEP: supervisor instruction fetch from a user page", "SMEP")
    else:
        refusal = _data_refusal(ctx, access, rights, pk_denies)
    if refusal is None:
        return None
    level, reason, bit = refusal
    code = PageFaultError.P | (PageFaultError.PK if pk_denies is not None else 0)
    return _page_fault(ctx, level, reason, bit, access, code)


def _data_refusal(
    ctx: _Context, access: Access, rights: _Rights, pk_denies: str | None
) -> tuple[PagingLevel, str, str] | None:
    leaf_name = rights.leaf.level
    smap_applies = access.implicit_supervisor or not access.rflags_ac
    if not access.user and ctx.cr4 & Cr4.SMAP and rights.user_page and smap_applies:
        if access.implicit_supervisor:
            why = f"implicit supervisor {access.kind} of a user page (EFLAGS.AC does not apply)"
        else:
            why = f"supervisor {access.kind} of a user page with EFLAGS.AC=0"
        return (leaf_name, f"SMAP: {why}", "SMAP")
    if access.write and rights.read_only_at is not None:
        name = rights.read_only_at.level
        if access.user:
            return (name, f"{name} is read-only (R/W=0): user write", "R/W")
        if ctx.cr0 & Cr0.WP:
            return (name, f"{name} is read-only (R/W=0) and CR0.WP=1 for a supervisor write",
                    "R/W")
    if pk_denies is not None:
        key = rights.leaf.protection_key
        return (leaf_name, f"protection key {key} denies {access.kind} (PKRU {pk_denies})", "PK")
    return None
