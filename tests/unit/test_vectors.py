"""Tests for the bundled interrupt model (gdbext.model.vectors)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdbext.errors import UsageError
from gdbext.model.record import FrozenRecordError
from gdbext.model.vectors import (
    LEGACY_IRQS,
    VECTORS,
    DoubleFaultClass,
    ErrorCodeFormat,
    Origin,
    SavedIp,
    VectorClass,
    legacy_irq_for_vector,
    lookup,
    names_for_completion,
    vector,
)

ARCHITECTURAL = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 28, 29, 30}
RESERVED = {9, 15, 22, 23, 24, 25, 26, 27, 31}


def test_table_has_256_rows_numbered_by_index():
    assert len(VECTORS) == 256
    assert [row.number for row in VECTORS] == list(range(256))


def test_origins_split_the_table():
    assert {row.number for row in VECTORS if row.origin is Origin.ARCHITECTURAL} == ARCHITECTURAL
    assert {row.number for row in VECTORS if row.origin is Origin.RESERVED} == RESERVED
    assert {row.number for row in VECTORS if row.origin is Origin.USER_DEFINED} == set(range(32, 256))


def test_every_architectural_exception_has_a_mnemonic():
    for number in ARCHITECTURAL:
        assert vector(number).mnemonic, number


def test_user_defined_and_reserved_rows_have_no_mnemonic():
    for row in VECTORS:
        if row.origin is not Origin.ARCHITECTURAL:
            assert row.mnemonic is None, row.number


def test_mnemonics_are_unique():
    mnemonics = [row.mnemonic for row in VECTORS if row.mnemonic]
    assert len(mnemonics) == len(set(mnemonics)) == len(ARCHITECTURAL)


def test_every_row_has_text():
    for row in VECTORS:
        assert row.name.strip(), row.number
        assert row.description.strip(), row.number
        assert row.source.strip(), row.number


def test_error_code_vectors():
    assert {row.number for row in VECTORS if row.pushes_error_code} == {8, 10, 11, 12, 13, 14, 17, 21, 29, 30}


@pytest.mark.parametrize(
    ("number", "error_code"),
    [
        (8, ErrorCodeFormat.ZERO),
        (10, ErrorCodeFormat.SELECTOR),
        (11, ErrorCodeFormat.SELECTOR),
        (12, ErrorCodeFormat.SELECTOR),
        (13, ErrorCodeFormat.SELECTOR),
        (14, ErrorCodeFormat.PAGE_FAULT),
        (17, ErrorCodeFormat.ZERO),
        (21, ErrorCodeFormat.CONTROL_PROTECTION),
        (29, ErrorCodeFormat.EXIT_CODE),
        (30, ErrorCodeFormat.SECURITY),
        (0, ErrorCodeFormat.NONE),
        (2, ErrorCodeFormat.NONE),
        (18, ErrorCodeFormat.NONE),
        (20, ErrorCodeFormat.NONE),
        (28, ErrorCodeFormat.NONE),
    ],
)
def test_error_code_formats(number, error_code):
    assert vector(number).error_code is error_code


@pytest.mark.parametrize(
    ("number", "mnemonic", "vector_class", "saved_ip"),
    [
        (0, "#DE", VectorClass.FAULT, SavedIp.FAULTING),
        (1, "#DB", VectorClass.FAULT_OR_TRAP, SavedIp.DEPENDS),
        (2, "NMI", VectorClass.INTERRUPT, SavedIp.NEXT),
        (3, "#BP", VectorClass.TRAP, SavedIp.NEXT),
        (4, "#OF", VectorClass.TRAP, SavedIp.NEXT),
        (5, "#BR", VectorClass.FAULT, SavedIp.FAULTING),
        (6, "#UD", VectorClass.FAULT, SavedIp.FAULTING),
        (7, "#NM", VectorClass.FAULT, SavedIp.FAULTING),
        (8, "#DF", VectorClass.ABORT, SavedIp.UNDEFINED),
        (10, "#TS", VectorClass.FAULT, SavedIp.FAULTING),
        (11, "#NP", VectorClass.FAULT, SavedIp.FAULTING),
        (12, "#SS", VectorClass.FAULT, SavedIp.FAULTING),
        (13, "#GP", VectorClass.FAULT, SavedIp.FAULTING),
        (14, "#PF", VectorClass.FAULT, SavedIp.FAULTING),
        (16, "#MF", VectorClass.FAULT, SavedIp.FAULTING),
        (17, "#AC", VectorClass.FAULT, SavedIp.FAULTING),
        (18, "#MC", VectorClass.ABORT, SavedIp.UNDEFINED),
        (19, "#XM", VectorClass.FAULT, SavedIp.FAULTING),
        (20, "#VE", VectorClass.FAULT, SavedIp.FAULTING),
        (21, "#CP", VectorClass.FAULT, SavedIp.FAULTING),
        (29, "#VC", VectorClass.FAULT, SavedIp.FAULTING),
    ],
)
def test_sdm_table_6_1_classes(number, mnemonic, vector_class, saved_ip):
    row = vector(number)
    assert (row.mnemonic, row.vector_class, row.saved_ip) == (mnemonic, vector_class, saved_ip)


def test_names_follow_the_sdm():
    assert vector(14).name == "Page Fault"
    assert vector(13).name == "General Protection"
    assert vector(9).name == "Coprocessor Segment Overrun"
    assert vector(15).name == "Reserved"


def test_double_fault_classes():
    def numbers(kind):
        return {row.number for row in VECTORS[:32] if row.double_fault_class is kind}

    assert numbers(DoubleFaultClass.CONTRIBUTORY) == {0, 10, 11, 12, 13, 21, 29, 30}
    assert numbers(DoubleFaultClass.PAGE_FAULT) == {14, 20}
    assert numbers(DoubleFaultClass.NONE) == {8, 15, 22, 23, 24, 25, 26, 27, 31}
    assert numbers(DoubleFaultClass.BENIGN) == {1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19, 28}


def test_user_defined_rows_are_plain_interrupts():
    for row in VECTORS[32:]:
        assert row.vector_class is VectorClass.INTERRUPT
        assert row.error_code is ErrorCodeFormat.NONE
        assert row.saved_ip is SavedIp.NEXT
        assert row.double_fault_class is DoubleFaultClass.BENIGN


def test_vendor_notes():
    assert "Reserved" in vector(20).amd
    assert "#XF" in vector(19).amd
    for number in (28, 29, 30):
        assert "Reserved" in vector(number).intel
        assert vector(number).amd
    assert vector(0).intel is None


def test_rows_are_frozen():
    with pytest.raises(FrozenRecordError):
        vector(14).name = "Oops"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("14", 14),
        ("0x0e", 14),
        ("0xe", 14),
        ("0XE", 14),
        ("0eh", 14),
        (" 14 ", 14),
        ("#PF", 14),
        ("pf", 14),
        ("PF", 14),
        ("page fault", 14),
        ("Page-Fault", 14),
        ("PAGE_FAULT", 14),
        ("NMI", 2),
        ("nmi", 2),
        ("int3", 3),
        ("int 3", 3),
        ("bp", 3),
        ("breakpoint", 3),
        ("#BP", 3),
        ("#XF", 19),
        ("xm", 19),
        ("gpf", 13),
        ("general protection fault", 13),
        ("double fault", 8),
        ("cso", 9),
        ("coprocessor segment overrun", 9),
        ("int 0x80", 0x80),
        ("0x80", 0x80),
        ("255", 255),
        ("LOCAL_TIMER_VECTOR", 0xEC),
        ("spurious_apic_vector", 0xFF),
        ("exc_page_fault", 14),
        ("asm_exc_page_fault", 14),
        ("asm_sysvec_reschedule_ipi", 0xFD),
    ],
)
def test_lookup_spellings(text, number):
    assert lookup(text).number == number


@given(st.integers(min_value=0, max_value=255))
def test_lookup_number_formats_round_trip(number):
    for text in (str(number), hex(number), f"{number:#04X}", f"0{number:x}h", f"int {number:#x}"):
        assert lookup(text) is vector(number), text


@st.composite
def respelled_labels(draw):
    row = draw(st.sampled_from([row for row in VECTORS if row.mnemonic]))
    label = draw(st.sampled_from([row.mnemonic, row.name]))
    cased = "".join(draw(st.sampled_from([ch.lower(), ch.upper()])) for ch in label)
    separator = draw(st.sampled_from([" ", "-", "_", "  "]))
    return row.number, cased.replace(" ", separator)


@given(respelled_labels())
def test_lookup_ignores_case_and_separators(case):
    number, text = case
    assert lookup(text).number == number


def test_every_completion_name_looks_up_to_its_row():
    names = names_for_completion()
    assert len(names) == len(set(names))
    assert "#PF" in names and "Page Fault" in names and "NMI" in names
    assert "Reserved" not in names and "User-Defined Interrupt" not in names
    for row in VECTORS:
        for label in (row.mnemonic, row.name):
            if label in names:
                assert lookup(label) is row


@pytest.mark.parametrize("text", ["256", "-1", "0x100", "300", "int 256"])
def test_lookup_out_of_range(text):
    with pytest.raises(UsageError, match="out of range 0-255"):
        lookup(text)


def test_vector_out_of_range_message():
    with pytest.raises(UsageError) as excinfo:
        vector(300)
    assert str(excinfo.value) == "vector 300 is out of range 0-255"
    with pytest.raises(UsageError, match="vector -1 is out of range"):
        vector(-1)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UsageError) as excinfo:
        lookup("#XX")
    message = str(excinfo.value)
    assert "'#XX'" in message
    assert "did you mean" in message
    assert "#XM (19)" in message


def test_misspelled_name_suggests_the_right_row():
    with pytest.raises(UsageError, match=r"#PF \(14\)"):
        lookup("pagefalt")


@pytest.mark.parametrize("text", ["", "   ", "zzzzqqq"])
def test_lookup_rejects_garbage(text):
    with pytest.raises(UsageError):
        lookup(text)


def test_legacy_irq_table():
    assert len(LEGACY_IRQS) == 16
    assert [irq.irq for irq in LEGACY_IRQS] == list(range(16))
    assert {irq.chip for irq in LEGACY_IRQS[:8]} == {"master"}
    assert {irq.chip for irq in LEGACY_IRQS[8:]} == {"slave"}
    assert LEGACY_IRQS[2].device == "cascade from slave 8259"


def test_legacy_irq_with_common_remap():
    keyboard = legacy_irq_for_vector(0x21, master_base=0x20)
    assert (keyboard.irq, keyboard.device, keyboard.chip) == (1, "PS/2 keyboard", "master")
    ata = legacy_irq_for_vector(0x2E, slave_base=0x28)
    assert (ata.irq, ata.device, ata.chip) == (14, "primary ATA", "slave")
    assert legacy_irq_for_vector(0x20).device == "PIT timer (8254)"
    assert legacy_irq_for_vector(0x1F) is None
    assert legacy_irq_for_vector(0x30) is None


def test_legacy_irq_with_other_bases():
    assert legacy_irq_for_vector(0x30, 0x30, 0x38).irq == 0
    assert legacy_irq_for_vector(0x3F, 0x30, 0x38).irq == 15
    assert legacy_irq_for_vector(0x08, 0x08, 0x70).device == "PIT timer (8254)"
    assert legacy_irq_for_vector(0x76, 0x08, 0x70).irq == 14
    assert legacy_irq_for_vector(0x21, 0x30, 0x38) is None


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        ((0x21, 0x21, 0x28), "master PIC base 0x21"),
        ((0x21, 0x20, 0x100), "slave PIC base 0x100"),
        ((0x21, 0x20, 0x20), "both 0x20"),
        ((256, 0x20, 0x28), "out of range"),
    ],
)
def test_legacy_irq_rejects_bad_input(args, pattern):
    with pytest.raises(UsageError, match=pattern):
        legacy_irq_for_vector(*args)


def test_common_remap_is_described_on_0x20_to_0x2f():
    for number in range(0x20, 0x30):
        irq = LEGACY_IRQS[number - 0x20]
        row = vector(number)
        assert f"IRQ{irq.irq}:" in row.description
        assert irq.device in row.description
        assert f"IRQ{irq.irq} ({irq.device})" in row.source
    assert "IRQ" not in vector(0x30).description


@pytest.mark.parametrize(
    ("number", "signal"),
    [
        (0, "SIGFPE"),
        (1, "SIGTRAP"),
        (3, "SIGTRAP"),
        (4, "SIGSEGV"),
        (5, "SIGSEGV"),
        (6, "SIGILL"),
        (9, "SIGFPE"),
        (10, "SIGSEGV"),
        (11, "SIGBUS"),
        (12, "SIGBUS"),
        (13, "SIGSEGV"),
        (14, "SIGSEGV"),
        (16, "SIGFPE"),
        (17, "SIGBUS"),
        (19, "SIGFPE"),
        (21, "SIGSEGV"),
        (2, None),
        (8, None),
    ],
)
def test_linux_signals(number, signal):
    assert vector(number).linux.signal == signal


def test_linux_exception_handlers_are_idtentry_symbols():
    assert vector(14).linux.handler == "asm_exc_page_fault"
    assert vector(3).linux.handler == "asm_exc_int3"
    for row in VECTORS[:32]:
        if row.linux:
            assert row.linux.handler.startswith("asm_exc_"), row.number
            assert row.linux.note.strip(), row.number
    assert vector(28).linux is None and vector(30).linux is None


@pytest.mark.parametrize(
    ("number", "handler", "constant"),
    [
        (0x80, "asm_int80_emulation", "IA32_SYSCALL_VECTOR"),
        (0xEC, "asm_sysvec_apic_timer_interrupt", "LOCAL_TIMER_VECTOR"),
        (0xF6, "asm_sysvec_irq_work", "IRQ_WORK_VECTOR"),
        (0xF7, "asm_sysvec_x86_platform_ipi", "X86_PLATFORM_IPI_VECTOR"),
        (0xF8, "asm_sysvec_reboot", "REBOOT_VECTOR"),
        (0xF9, "asm_sysvec_threshold", "THRESHOLD_APIC_VECTOR"),
        (0xFA, "asm_sysvec_thermal", "THERMAL_APIC_VECTOR"),
        (0xFB, "asm_sysvec_call_function_single", "CALL_FUNCTION_SINGLE_VECTOR"),
        (0xFC, "asm_sysvec_call_function", "CALL_FUNCTION_VECTOR"),
        (0xFD, "asm_sysvec_reschedule_ipi", "RESCHEDULE_VECTOR"),
        (0xFE, "asm_sysvec_error_interrupt", "ERROR_APIC_VECTOR"),
        (0xFF, "asm_sysvec_spurious_apic_interrupt", "SPURIOUS_APIC_VECTOR"),
    ],
)
def test_linux_system_vectors(number, handler, constant):
    use = vector(number).linux
    assert use.handler == handler
    assert use.note.startswith(constant + ":")
    assert use.signal is None
    assert lookup(constant).number == number


def test_linux_device_and_isa_vectors():
    assert vector(0x41).linux.handler == "irq_entries_start"
    assert vector(0x20).linux.handler == "irq_entries_start"
    for irq in range(16):
        note = vector(0x30 + irq).linux.note
        assert f"ISA_IRQ_VECTOR({irq})" in note and LEGACY_IRQS[irq].device in note
    assert vector(0xF5).linux.handler == "spurious_entries_start"


def test_every_user_defined_row_has_a_linux_use():
    for row in VECTORS[32:]:
        assert row.linux is not None and row.linux.handler, row.number
