"""The bundled interrupt model: what each of the 256 IDT vectors means.

Vectors 0-31 are the exceptions the architecture defines or reserves (Intel
SDM Vol. 3A, "Interrupt and Exception Handling", Table 6-1 "Protected-Mode
Exceptions and Interrupts"; AMD APM Vol. 2, chapter 8, Table 8-1). Vectors
32-255 are user defined: the operating system hands them to external
interrupts and ``INT n``. Each row also carries what Linux on x86_64 does with
the vector ("common OS use", from arch/x86/include/asm/irq_vectors.h and
idtentry.h).

Two facts a frame decoder must keep in mind (SDM 3A section 6.13 "Error
Code"): the error code in a row is pushed only when the processor itself
raises the exception in protected or long mode. External interrupts and
``INT n`` never push one, even through vectors 8-17, and real mode never
pushes one at all.

The facts themselves live in :mod:`gdbext.model.vectors_data`.
"""

from __future__ import annotations

import enum
import re
from functools import cache

from gdbext.errors import UsageError
from gdbext.model import vectors_data as _data
from gdbext.model.record import record

VECTOR_COUNT = 256
_LOOKUP_STRIP = str.maketrans("", "", " -_#")
_NUMBER = re.compile(r"(?:int\s*)?(0x[0-9a-f]+|[0-9][0-9a-f]*h|[0-9]+)")


class VectorClass(enum.Enum):
    """How the event relates to the instruction stream (SDM 3A 6.5 "Exception Classifications")."""

    FAULT = "fault"
    TRAP = "trap"
    ABORT = "abort"
    INTERRUPT = "interrupt"
    FAULT_OR_TRAP = "fault-or-trap"  # #DB: faults for some conditions, traps for others


class ErrorCodeFormat(enum.Enum):
    """What the processor pushes as error code (SDM 3A 6.13 "Error Code"; APM Vol. 2 8.4)."""

    NONE = "none"
    ZERO = "zero"  # always 0: #DF, #AC
    SELECTOR = "selector"  # #TS #NP #SS #GP: EXT, IDT, TI and the selector index
    PAGE_FAULT = "page-fault"  # #PF: P, W/R, U/S, RSVD, I/D, PK, SS, SGX bits
    CONTROL_PROTECTION = "control-protection"  # #CP: CPEC in bits 14:0, ENCL in bit 15
    EXIT_CODE = "exit-code"  # #VC (AMD SEV-ES): the SVM exit code
    SECURITY = "security"  # #SX (AMD): 1 = INIT redirected


class SavedIp(enum.Enum):
    """Where the saved CS:RIP points when the handler starts (SDM 3A 6.5)."""

    FAULTING = "faulting instruction"
    NEXT = "next instruction"
    UNDEFINED = "undefined"  # aborts: the program may not be restartable
    DEPENDS = "depends on the condition"  # #DB: fault or trap depending on what hit


class Origin(enum.Enum):
    """Who defines the vector (SDM 3A 6.2 "Exception and Interrupt Vectors")."""

    ARCHITECTURAL = "architectural"  # an exception defined by the ISA (Intel, AMD or both)
    RESERVED = "reserved"  # 0-31 but not (or no longer) raised by the processor
    USER_DEFINED = "user-defined"  # 32-255: external interrupts and INT n


class DoubleFaultClass(enum.Enum):
    """The class used by the double-fault rules (SDM 3A 6.15, Tables 6-4 and 6-5).

    A second exception while delivering the first becomes #DF when the pair is
    contributory+contributory, page fault+contributory or page fault+page
    fault; benign events never combine into #DF. ``NONE`` marks #DF itself (a
    fault while delivering it is a triple fault) and the reserved vectors the
    tables do not list. The SDM counts all ``INT n`` and external interrupts
    as benign, so the user-defined vectors are ``BENIGN``.
    """

    BENIGN = "benign"
    CONTRIBUTORY = "contributory"
    PAGE_FAULT = "page-fault"
    NONE = "none"


@record
class LinuxUse:
    """What Linux on x86_64 does with a vector: a common OS use, not an architectural fact.

    ``handler`` is the symbol the IDT gate points at (``asm_exc_page_fault``;
    the C body is the same name without ``asm_``); ``signal`` is what a user
    process receives when it raises the exception (``None`` for kernel-only
    vectors and interrupts).
    """

    handler: str
    signal: str | None
    note: str


@record
class Vector:
    """One IDT vector, as SDM 3A Table 6-1 and APM Vol. 2 Table 8-1 describe it."""

    number: int
    mnemonic: str | None
    name: str
    vector_class: VectorClass
    error_code: ErrorCodeFormat
    saved_ip: SavedIp
    origin: Origin
    source: str
    description: str
    intel: str | None
    amd: str | None
    double_fault_class: DoubleFaultClass
    linux: LinuxUse | None

    @property
    def pushes_error_code(self) -> bool:
        """True when the processor pushes an error code raising this exception itself."""
        return self.error_code is not ErrorCodeFormat.NONE


@record
class LegacyIrq:
    """One input of the cascaded 8259A PICs on a PC/AT (8259A datasheet, ICW2).

    IRQ0-7 go to the master and IRQ8-15 to the slave, whose output feeds the
    master's IR2. Each chip maps its eight inputs to base..base+7; the BIOS
    leaves the master at 0x08 (on top of the CPU exceptions), so protected-mode
    kernels remap it, commonly to 0x20/0x28 (Linux uses 0x30/0x38).
    """

    irq: int
    device: str
    chip: str  # "master" or "slave"


def _exception_row(row: dict) -> Vector:
    linux = row["linux"]
    return Vector(
        number=row["number"],
        mnemonic=row["mnemonic"],
        name=row["name"],
        vector_class=VectorClass(row["vector_class"]),
        error_code=ErrorCodeFormat(row["error_code"]),
        saved_ip=SavedIp(row["saved_ip"]),
        origin=Origin(row["origin"]),
        source=row["source"],
        description=row["description"],
        intel=row["intel"],
        amd=row["amd"],
        double_fault_class=DoubleFaultClass(row["double_fault_class"]),
        linux=LinuxUse(*linux) if linux else None,
    )


def _reserved_row(number: int) -> Vector:
    return Vector(
        number=number,
        mnemonic=None,
        name="Reserved",
        vector_class=VectorClass.INTERRUPT,
        error_code=ErrorCodeFormat.NONE,
        saved_ip=SavedIp.NEXT,
        origin=Origin.RESERVED,
        source=_data.RESERVED_SOURCE,
        description=_data.RESERVED_DESCRIPTION,
        intel=_data.RESERVED_INTEL,
        amd=_data.RESERVED_AMD,
        double_fault_class=DoubleFaultClass.NONE,
        linux=None,
    )


def _common_remap_irq(number: int) -> LegacyIrq | None:
    return _legacy_irq(number, _data.COMMON_REMAP_MASTER, _data.COMMON_REMAP_SLAVE)


def _linux_use(number: int) -> LinuxUse:
    if number in _data.LINUX_SYSTEM_VECTORS:
        constant, handler, what = _data.LINUX_SYSTEM_VECTORS[number]
        return LinuxUse(handler, None, f"{constant}: {what}")
    isa_irq = number - _data.LINUX_ISA_IRQ_BASE
    if 0 <= isa_irq < len(LEGACY_IRQS):
        note = _data.LINUX_ISA_NOTE.format(irq=isa_irq, device=LEGACY_IRQS[isa_irq].device)
        return LinuxUse(_data.LINUX_DEVICE_HANDLER, None, note)
    if _data.LINUX_FIRST_EXTERNAL_VECTOR <= number < _data.LINUX_FIRST_SYSTEM_VECTOR:
        return LinuxUse(_data.LINUX_DEVICE_HANDLER, None, _data.LINUX_DEVICE_NOTE)
    return LinuxUse(_data.LINUX_SPURIOUS_HANDLER, None, _data.LINUX_SPURIOUS_NOTE)


def _user_defined_row(number: int) -> Vector:
    source = _data.USER_DEFINED_SOURCE
    description = _data.SPECIAL_DESCRIPTIONS.get(number, _data.USER_DEFINED_DESCRIPTION)
    irq = _common_remap_irq(number)
    if irq is not None:
        base = _data.COMMON_REMAP_MASTER if irq.chip == "master" else _data.COMMON_REMAP_SLAVE
        remap = f"IRQ{irq.irq} ({irq.device}) with the 8259 PICs remapped to 0x20/0x28"
        source = f"{source}; {remap}"
        description = (
            f"Under the common 8259 remap ({irq.chip} base {base:#04x}) this is IRQ{irq.irq}: "
            f"{irq.device}. {description}"
        )
    return Vector(
        number=number,
        mnemonic=None,
        name=_data.USER_DEFINED_NAME,
        vector_class=VectorClass.INTERRUPT,
        error_code=ErrorCodeFormat.NONE,
        saved_ip=SavedIp.NEXT,
        origin=Origin.USER_DEFINED,
        source=source,
        description=description,
        intel=None,
        amd=None,
        double_fault_class=DoubleFaultClass.BENIGN,
        linux=_linux_use(number),
    )


def _build_vectors() -> tuple[Vector, ...]:
    rows: dict[int, Vector] = {_exception_row(row).number: _exception_row(row) for row in _data.EXCEPTIONS}
    rows.update({number: _reserved_row(number) for number in _data.RESERVED_NUMBERS})
    rows.update({number: _user_defined_row(number) for number in range(32, VECTOR_COUNT)})
    return tuple(rows[number] for number in range(VECTOR_COUNT))


def _check_vector_range(number: int) -> None:
    if not 0 <= number < VECTOR_COUNT:
        raise UsageError(f"vector {number} is out of range 0-{VECTOR_COUNT - 1}")


def _check_pic_base(which: str, base: int) -> None:
    if not 0 <= base < VECTOR_COUNT or base % 8:
        raise UsageError(f"{which} PIC base {base:#x} must be a multiple of 8 in 0x00-0xf8")


def _legacy_irq(number: int, master_base: int, slave_base: int) -> LegacyIrq | None:
    if master_base <= number < master_base + 8:
        return LEGACY_IRQS[number - master_base]
    if slave_base <= number < slave_base + 8:
        return LEGACY_IRQS[8 + number - slave_base]
    return None


LEGACY_IRQS: tuple[LegacyIrq, ...] = tuple(LegacyIrq(*row) for row in _data.LEGACY_IRQS)
VECTORS: tuple[Vector, ...] = _build_vectors()


def vector(n: int) -> Vector:
    """The row for vector ``n``; UsageError when ``n`` is not 0-255."""
    _check_vector_range(n)
    return VECTORS[n]



def legacy_irq_for_vector(
    vector: int, master_base: int = 0x20, slave_base: int = 0x28
) -> LegacyIrq | None:
    """The 8259 input that arrives on ``vector`` with the PICs at these bases, or None.

    Bases are what ICW2 was programmed with (``info pic`` shows them as
    ``irq_base``); each must be a multiple of 8 and the two ranges must not
    overlap.
    """
    _check_vector_range(vector)
    _check_pic_base("master", master_base)
    _check_pic_base("slave", slave_base)
    if master_base == slave_base:
        raise UsageError(f"master and slave PIC bases are both {master_base:#x}")
    return _legacy_irq(vector, master_base, slave_base)


def linux_meaning(symbol: str | None) -> str | None:
    """What Linux does with a vector whose gate enters at ``symbol`` (``name`` or
    ``name+offset``, as the IDT's handler is named), or None for another entry point."""
    if not symbol:
        return None
    return _data.LINUX_ENTRY_MEANINGS.get(symbol.split("+", 1)[0])


def gate_meaning(number: int, symbol: str | None, pic_bases: tuple[int, int] | None) -> str:
    """One line for what vector ``number`` is: the exception's mnemonic and name; else
    Linux's use of it by the entry point ``symbol`` its gate enters; else the 8259A
    input it is under the PICs' programmed bases; else the model's name."""
    row = vector(number)
    if row.origin is not Origin.USER_DEFINED:
        return f"{row.mnemonic} {row.name}" if row.mnemonic else row.name
    linux = linux_meaning(symbol)
    if linux is not None:
        return linux
    if pic_bases is not None:
        try:
            irq = legacy_irq_for_vector(number, *pic_bases)
        except UsageError:
            irq = None
        if irq is not None:
            return f"IRQ{irq.irq} {irq.device}"
    return row.name


def _normalize(text: str) -> str:
    return text.strip().lower().translate(_LOOKUP_STRIP)


def _unique_names() -> set[str]:
    seen: dict[str, int] = {}
    for row in VECTORS:
        seen[row.name] = seen.get(row.name, 0) + 1
    return {name for name, count in seen.items() if count == 1}


def _primary_spellings() -> list[tuple[str, str, int]]:
    """(spelling, label to suggest, vector) for mnemonics, unique names and aliases."""
    unique_names = _unique_names()
    spellings: list[tuple[str, str, int]] = []
    for row in VECTORS:
        label = row.mnemonic or row.name
        if row.mnemonic:
            spellings.append((row.mnemonic, label, row.number))
        if row.name in unique_names:
            spellings.append((row.name, label, row.number))
    for number, aliases in _data.ALIASES.items():
        label = VECTORS[number].mnemonic or VECTORS[number].name
        spellings.extend((alias, label, number) for alias in aliases)
    return spellings


def _linux_spellings() -> list[tuple[str, str, int]]:
    """(spelling, label to suggest, vector) for Linux constants and handler symbols."""
    spellings = [
        (constant, constant, number)
        for number, (constant, _, _) in _data.LINUX_SYSTEM_VECTORS.items()
    ]
    for row in VECTORS:
        if row.linux:
            handler = row.linux.handler
            spellings.append((handler, handler, row.number))
            spellings.append((handler.removeprefix("asm_"), handler, row.number))
    return spellings


def _index(spellings: list[tuple[str, str, int]]) -> dict[str, tuple[str, int]]:
    """Normalized spelling -> (label, vector), dropping spellings that name two vectors."""
    index: dict[str, tuple[str, int]] = {}
    clashing: set[str] = set()
    for spelling, label, number in spellings:
        key = _normalize(spelling)
        if key in index and index[key][1] != number:
            clashing.add(key)
        index.setdefault(key, (label, number))
    return {key: value for key, value in index.items() if key not in clashing}


@cache
def _lookup_index() -> dict[str, tuple[str, int]]:
    """Built on first use, so that commands which never look a name up start faster."""
    primary = _index(_primary_spellings())
    secondary = _index(_linux_spellings())
    return {**{k: v for k, v in secondary.items() if k not in primary}, **primary}


def _suggestions(key: str) -> list[str]:
    import difflib

    index = _lookup_index()
    picked: list[str] = []
    numbers: set[int] = set()
    for match in difflib.get_close_matches(key, index, n=8, cutoff=0.5):
        label, number = index[match]
        if number not in numbers:
            numbers.add(number)
            picked.append(f"{label} ({number})")
    return picked[:3]


def lookup(text: str) -> Vector:
    """The vector a user means by ``text``.

    Accepts numbers ("14", "0x0e", "0eh", "int 0x80"), mnemonics ("#PF",
    "pf"), names ("page fault", "Page-Fault"), a few aliases ("bp", "gpf",
    "#XF") and Linux names ("LOCAL_TIMER_VECTOR", "exc_page_fault");
    case, spaces, dashes, underscores and '#' do not matter. Raises
    UsageError, with close matches when there are any.
    """
    raw = text.strip().lower()
    if not raw:
        raise UsageError("empty vector: give 0-255, a mnemonic like #PF or a name like 'page fault'")
    number = _NUMBER.fullmatch(raw)
    if number:
        digits = number.group(1)
        if digits.startswith("0x"):
            return vector(int(digits, 16))
        if digits.endswith("h"):
            return vector(int(digits[:-1], 16))
        return vector(int(digits))
    if raw.startswith("-") and raw[1:].isdigit():
        return vector(int(raw))
    key = _normalize(raw)
    index = _lookup_index()
    if key in index:
        return VECTORS[index[key][1]]
    hints = _suggestions(key)
    if hints:
        raise UsageError(f"unknown vector {text.strip()!r}; did you mean {', '.join(hints)}?")
    raise UsageError(
        f"unknown vector {text.strip()!r}: give 0-255, a mnemonic like #PF or a name like 'page fault'"
    )


def names_for_completion() -> tuple[str, ...]:
    """Mnemonics and names that name exactly one vector, for shell completion."""
    unique_names = _unique_names()
    names: list[str] = []
    for row in VECTORS:
        if row.mnemonic:
            names.append(row.mnemonic)
        if row.name in unique_names:
            names.append(row.name)
    return tuple(names)
