"""Gates, descriptors, selectors and the IVT against known values and round-trips."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdbext.errors import DecodeError
from gdbext.model.descriptor import (
    DescriptorKind,
    SegmentDescriptor,
    TableIndicator,
    decode_descriptor,
    decode_descriptor_table,
    descriptor_kind,
)
from gdbext.model.gate import Gate, GateKind
from gdbext.model.idt import CpuMode, IvtEntry, decode_table, vectors_covered
from gdbext.model.selector import Selector


def test_linux_style_64bit_interrupt_gate():
    # handler 0xffffffff81a00b10, selector 0x10, interrupt gate, DPL 0, present, IST 0
    raw = struct.pack("<QQ", 0x81A08E0000100B10, 0xFFFFFFFF)
    gate = Gate.from_bytes(raw, long_mode=True)
    assert gate.offset == 0xFFFFFFFF81A00B10
    assert gate.selector == 0x10 and gate.target_selector.index == 2
    assert gate.kind is GateKind.INTERRUPT and gate.operand_size == 64
    assert gate.present and gate.dpl == 0 and gate.ist == 0
    assert gate.problems == ()


def test_64bit_gate_with_ist_and_dpl3_trap():
    raw = struct.pack("<QQ", 0x0040EF0300081000, 0)
    gate = Gate.from_bytes(raw, long_mode=True)
    assert gate.kind is GateKind.TRAP and gate.dpl == 3 and gate.ist == 3
    assert gate.offset == 0x401000


def test_64bit_gate_reserved_bits_reported():
    raw = struct.pack("<QQ", 0x00008E0000081000 | (1 << 36), 1 << 40)
    gate = Gate.from_bytes(raw, long_mode=True)
    assert "reserved bits of byte 4 are not zero" in gate.problems
    assert "reserved bits 127:96 are not zero" in gate.problems
    assert gate.to_bytes() == raw


def test_32bit_task_gate():
    # task gate (type 5) to TSS selector 0x28, present, DPL 0
    raw = struct.pack("<Q", 0x0000850000280000)
    gate = Gate.from_bytes(raw, long_mode=False)
    assert gate.kind is GateKind.TASK and gate.selector == 0x28 and gate.present


def test_32bit_and_16bit_gate_types():
    for type_, kind, size in ((0xE, GateKind.INTERRUPT, 32), (0xF, GateKind.TRAP, 32),
                              (0x6, GateKind.INTERRUPT, 16), (0x7, GateKind.TRAP, 16), (0xC, GateKind.CALL, 32)):
        gate = Gate(False, type_, 0x08, 0x00101234, 0, True)
        back = Gate.from_bytes(gate.to_bytes(), long_mode=False)
        assert back.kind is kind and back.operand_size == size and back.offset == 0x00101234


def test_type_not_a_gate_in_long_mode():
    gate = Gate(True, 0x6, 0x08, 0x1000, 0, True)
    assert gate.kind is GateKind.INVALID and gate.problems


def test_wrong_gate_length_names_the_problem():
    with pytest.raises(DecodeError, match="a long-mode gate is 16 bytes, got 12"):
        Gate.from_bytes(bytes(12), long_mode=True)


@given(st.binary(min_size=16, max_size=16))
def test_long_gate_round_trip(raw):
    assert Gate.from_bytes(raw, long_mode=True).to_bytes() == raw


@given(st.binary(min_size=8, max_size=8))
def test_protected_gate_round_trip(raw):
    assert Gate.from_bytes(raw, long_mode=False).to_bytes() == raw


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_ivt_round_trip(segment, offset):
    entry = IvtEntry(segment, offset)
    assert IvtEntry.from_bytes(entry.to_bytes()) == entry
    assert entry.linear == segment * 16 + offset


def test_ivt_bios_style_entry():
    entry = IvtEntry.from_bytes(bytes.fromhex("53ff00f0"))
    assert (entry.segment, entry.offset, entry.linear) == (0xF000, 0xFF53, 0xFFF53)


def test_idt_limit_covers_at_most_256():
    assert vectors_covered(0xFFFF, CpuMode.LONG) == 256
    assert vectors_covered(0xFFF, CpuMode.LONG) == 256
    assert vectors_covered(0x7FF, CpuMode.PROTECTED) == 256
    assert vectors_covered(0x3FF, CpuMode.REAL) == 256
    assert vectors_covered(0, CpuMode.LONG) == 0
    assert vectors_covered(0x1F, CpuMode.LONG) == 2
    assert vectors_covered(0x1E, CpuMode.LONG) == 1


def test_decode_table_drops_partial_entry():
    assert len(decode_table(bytes(40), CpuMode.LONG)) == 2


@given(st.integers(0, 0xFFFF))
def test_selector_round_trip(value):
    assert Selector.from_int(value).to_int() == value


def test_selector_fields():
    sel = Selector.from_int(0x2B)
    assert (sel.index, sel.ti, sel.rpl) == (5, TableIndicator.GDT, 3)
    assert Selector.from_int(0x0F).ti is TableIndicator.LDT


@pytest.mark.parametrize("raw, kind, long_, db, g, dpl, limit", [
    (0x00AF9B000000FFFF, DescriptorKind.CODE, True, False, True, 0, 0xFFFFFFFF),
    (0x00CF93000000FFFF, DescriptorKind.DATA, False, True, True, 0, 0xFFFFFFFF),
    (0x00CF9A000000FFFF, DescriptorKind.CODE, False, True, True, 0, 0xFFFFFFFF),
    (0x00AFFB000000FFFF, DescriptorKind.CODE, True, False, True, 3, 0xFFFFFFFF),
    (0x000093000000FFFF, DescriptorKind.DATA, False, False, False, 0, 0xFFFF),
])
def test_known_segment_descriptors(raw, kind, long_, db, g, dpl, limit):
    desc = decode_descriptor(struct.pack("<Q", raw), long_mode=True)
    assert desc.kind is kind and desc.l is long_ and desc.db is db and desc.g is g
    assert desc.dpl == dpl and desc.limit == limit and desc.base == 0 and desc.present


def test_code_and_data_flags():
    code = SegmentDescriptor.from_bytes(struct.pack("<Q", 0x00AF9B000000FFFF), long_mode=True)
    assert code.readable and code.accessed and not code.writable and not code.conforming
    assert code.flags_text == "code 64-bit R A"
    data = SegmentDescriptor.from_bytes(struct.pack("<Q", 0x00CF93000000FFFF))
    assert data.writable and data.readable and not data.expand_down


def test_long_mode_tss_descriptor_is_16_bytes():
    base = 0xFFFFFE0000003000
    desc = SegmentDescriptor(base=base, limit_raw=0x67, type=0x9, s=False, dpl=0, present=True, long_mode=True)
    raw = desc.to_bytes()
    assert len(raw) == 16
    back = decode_descriptor(raw, long_mode=True)
    assert back.base == base and back.kind is DescriptorKind.TSS_AVAILABLE and back.tss_width == 64


def test_gdt_with_tss_descriptor_takes_two_slots():
    tss = SegmentDescriptor(base=0x12345678, limit_raw=0x67, type=0xB, s=False, dpl=0, present=True, long_mode=True)
    data = struct.pack("<QQQ", 0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF) + tss.to_bytes()
    entries = decode_descriptor_table(data, long_mode=True)
    assert [e.index for e in entries] == [0, 1, 2, 3]
    assert descriptor_kind(entries[3].descriptor) is DescriptorKind.TSS_BUSY
    assert entries[3].selector == 0x18


def test_same_bytes_in_protected_mode_are_two_descriptors():
    tss = SegmentDescriptor(base=0x1000, limit_raw=0x67, type=0x9, s=False, dpl=0, present=True)
    entries = decode_descriptor_table(tss.to_bytes() + bytes(8), long_mode=False)
    assert len(entries) == 2 and entries[0].descriptor.tss_width == 32


def test_cut_16_byte_descriptor_is_an_error_row():
    tss = SegmentDescriptor(base=0x1000, limit_raw=0x67, type=0x9, s=False, dpl=0, present=True, long_mode=True)
    entries = decode_descriptor_table(tss.to_bytes()[:12], long_mode=True)
    assert entries[0].descriptor is None and "cut" in entries[0].error


def test_call_gate_in_gdt():
    gate = Gate(True, 0xC, 0x08, 0xFFFF800000001000, 3, True)
    desc = decode_descriptor(gate.to_bytes(), long_mode=True)
    assert isinstance(desc, Gate) and descriptor_kind(desc) is DescriptorKind.CALL_GATE


def test_16bit_tss_type_is_invalid_in_long_mode():
    desc = SegmentDescriptor.from_bytes(struct.pack("<Q", 0x0000810000000067), long_mode=True)
    assert desc.kind is DescriptorKind.INVALID
    assert SegmentDescriptor.from_bytes(struct.pack("<Q", 0x0000810000000067)).kind is DescriptorKind.TSS_AVAILABLE


@given(st.binary(min_size=8, max_size=8), st.booleans())
def test_descriptor_round_trip_8(raw, long_mode):
    from gdbext.model.descriptor import descriptor_size

    if descriptor_size(raw, long_mode) == 8:
        assert decode_descriptor(raw, long_mode).to_bytes() == raw


@given(st.binary(min_size=16, max_size=16))
def test_descriptor_round_trip_16(raw):
    from gdbext.model.descriptor import descriptor_size

    size = descriptor_size(raw[:8], True)
    assert decode_descriptor(raw[:size], True).to_bytes() == raw[:size]


@pytest.mark.parametrize("raw, text", [
    (0x00AF9B000000FFFF, "code 16-bit R A L=1 (ignored outside IA-32e)"),
    (0x00EF9B000000FFFF, "code 32-bit R A L=1 (ignored outside IA-32e)"),
    (0x00CF9B000000FFFF, "code 32-bit R A"),
])
def test_l_bit_outside_ia32e_mode_claims_no_64_bit_code(raw, text):
    """Outside IA-32e mode bit 21 is reserved and D gives the width (SDM 3A 3.4.5)."""
    code = SegmentDescriptor.from_bytes(struct.pack("<Q", raw), long_mode=False)
    assert code.flags_text == text


def test_l_and_d_both_set_is_reserved_in_ia32e_mode():
    code = SegmentDescriptor.from_bytes(struct.pack("<Q", 0x00EF9B000000FFFF), long_mode=True)
    assert code.flags_text == "code L=1 D=1 (reserved: #GP in CS) R A"


@pytest.mark.parametrize("size", [1, 2, 7])
def test_a_limit_below_7_is_an_empty_table_not_an_unreadable_row(size):
    assert decode_descriptor_table(bytes(size), long_mode=False) == ()


def test_bytes_after_the_last_whole_descriptor_are_not_a_row():
    code = SegmentDescriptor.from_bytes(struct.pack("<Q", 0x00CF9B000000FFFF))
    entries = decode_descriptor_table(bytes(8) + code.to_bytes() + bytes(5), long_mode=False)
    assert [(e.index, e.error) for e in entries] == [(0, None), (1, None)]
