"""Error codes, flag registers, TSSs, frames and pasted hex: known values and round-trips."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdbext.errors import DecodeError, ParseError
from gdbext.model.bits import flag_names
from gdbext.model.control import Cr0, Cr4, Efer, cpu_mode
from gdbext.model.errcode import ControlProtectionCode, ErrorCodeTable, PageFaultCode, PageFaultError, SelectorErrorCode
from gdbext.model.frame import InterruptFrame, guess_error_code, stack_used
from gdbext.model.hexinput import parse_hex
from gdbext.model.idt import CpuMode
from gdbext.model.numbers import parse_int
from gdbext.model.rflags import rflags_names, rflags_reserved
from gdbext.model.tss import Tss32, Tss64, allowed_ports, io_port_allowed


@pytest.mark.parametrize("code, summary", [
    (0x0, "supervisor-mode read from a not-present page"),
    (0x2, "supervisor-mode write to a not-present page"),
    (0x3, "supervisor-mode write to a present page (protection violation)"),
    (0x6, "user-mode write to a not-present page"),
    (0x7, "user-mode write to a present page (protection violation)"),
    (0x11, "supervisor-mode instruction fetch from a present page (protection violation)"),
    (0x15, "user-mode instruction fetch from a present page (protection violation)"),
    (0x9, "supervisor-mode read from a paging entry with a reserved bit set"),
    (0x25, "user-mode read from a page whose protection key forbids it"),
])
def test_page_fault_codes(code, summary):
    assert PageFaultCode(code).summary == summary


def test_page_fault_bits_follow_sdm_figure_4_12():
    code = PageFaultCode(0x8000 | 0x80 | 0x40 | 0x20)
    assert code.has(PageFaultError.SGX) and code.has(PageFaultError.HLAT)
    assert code.has(PageFaultError.SS) and code.has(PageFaultError.PK)
    assert PageFaultCode(0x100).reserved_bits == 0x100


def test_selector_error_0x1a_is_idt_vector_3():
    code = SelectorErrorCode.from_int(0x1A)
    assert code.table is ErrorCodeTable.IDT and code.index == 3 and not code.external
    assert code.selector is None


def test_selector_error_for_gdt_and_ldt():
    gdt = SelectorErrorCode.from_int(0x28)
    assert gdt.table is ErrorCodeTable.GDT and gdt.index == 5 and gdt.selector == 0x28
    ldt = SelectorErrorCode.from_int(0x0D)
    assert ldt.table is ErrorCodeTable.LDT and ldt.index == 1 and ldt.external
    assert SelectorErrorCode.from_int(0).null


@given(st.integers(0, 0xFFFFFFFF))
def test_selector_error_round_trip(value):
    assert SelectorErrorCode.from_int(value).to_int() == value


def test_selector_error_out_of_range():
    with pytest.raises(DecodeError, match="32 bits"):
        SelectorErrorCode.from_int(1 << 32)


def test_control_protection_codes():
    assert ControlProtectionCode(3).cause_name == "ENDBRANCH"
    code = ControlProtectionCode(0x8001)
    assert code.enclave and code.cause_name == "NEAR_RET" and "enclave" in code.summary
    assert ControlProtectionCode(9).cause_name is None


def test_rflags_names():
    assert rflags_names(0x246) == ("PF", "ZF", "IF")
    assert rflags_names(0x3202) == ("IF", "IOPL=3")
    assert rflags_reserved(0x246) == 0
    assert rflags_reserved(0x200) == 0x2


def test_control_register_names_and_mode():
    assert flag_names(0x80050033, Cr0) == ("PE", "MP", "ET", "NE", "WP", "AM", "PG")
    assert "PAE" in flag_names(0x3506F0, Cr4) and "SMEP" in flag_names(0x3506F0, Cr4)
    assert flag_names(0xD01, Efer) == ("SCE", "LME", "LMA", "NXE")
    assert cpu_mode(0x10, 0) is CpuMode.REAL
    assert cpu_mode(0x11, 0) is CpuMode.PROTECTED
    assert cpu_mode(0x80000011, 0x500) is CpuMode.LONG


def test_tss64_fields():
    raw = struct.pack("<I3QQ7QQHH", 0, 0x1000, 0x2000, 0x3000, 0, 0xA000, 0xB000, 0, 0, 0, 0, 0, 0, 0, 104)
    tss = Tss64.from_bytes(raw)
    assert tss.rsp == (0x1000, 0x2000, 0x3000) and tss.ist_slot(1) == 0xA000 and tss.ist_slot(2) == 0xB000
    assert tss.iopb == 104 and tss.to_bytes() == raw
    with pytest.raises(DecodeError):
        tss.ist_slot(0)


@given(st.binary(min_size=104, max_size=104))
def test_tss64_round_trip(raw):
    assert Tss64.from_bytes(raw).to_bytes() == raw


@given(st.binary(min_size=104, max_size=104))
def test_tss32_round_trip(raw):
    assert Tss32.from_bytes(raw).to_bytes() == raw


def test_tss32_offsets_follow_figure_8_2():
    raw = bytearray(104)
    struct.pack_into("<I", raw, 4, 0x9FFF0)      # ESP0
    struct.pack_into("<H", raw, 8, 0x10)         # SS0
    struct.pack_into("<I", raw, 28, 0x5000)      # CR3
    struct.pack_into("<I", raw, 32, 0x101234)    # EIP
    struct.pack_into("<H", raw, 76, 0x08)        # CS
    struct.pack_into("<H", raw, 96, 0x30)        # LDT
    raw[100] = 1                                 # T
    struct.pack_into("<H", raw, 102, 0x68)       # I/O map base
    tss = Tss32.from_bytes(bytes(raw))
    assert (tss.esp0, tss.ss0, tss.cr3, tss.eip, tss.cs, tss.ldt, tss.t, tss.iopb) == (
        0x9FFF0, 0x10, 0x5000, 0x101234, 0x08, 0x30, True, 0x68)


def test_io_permission_bitmap():
    tss = bytearray(104) + bytearray(b"\xff" * 8192) + b"\xff"
    iopb = 104
    tss[iopb + 0x3F8 // 8] = 0x00         # ports 0x3f8-0x3ff allowed
    limit = len(tss) - 1
    assert io_port_allowed(bytes(tss), limit, iopb, 0x3F8)
    assert io_port_allowed(bytes(tss), limit, iopb, 0x3FC, width=4)
    assert not io_port_allowed(bytes(tss), limit, iopb, 0x3F7)
    assert not io_port_allowed(bytes(tss), limit, iopb, 0x3FE, width=4)
    assert allowed_ports(bytes(tss), limit, iopb) == (range(0x3F8, 0x400),)
    assert not io_port_allowed(bytes(tss), 0x67, 104, 0x3F8)


def _frame64(*slots):
    return struct.pack(f"<{len(slots)}Q", *slots)


def test_64bit_page_fault_frame_from_user():
    raw = _frame64(0x6, 0x401000, 0x2B, 0x246, 0x7FFFF000, 0x23)
    frame = InterruptFrame.from_bytes(raw, CpuMode.LONG, has_error_code=True)
    assert frame.error_code == 6 and frame.ip == 0x401000 and frame.from_cpl == 3
    assert frame.sp == 0x7FFFF000 and frame.ss_selector == 0x23 and frame.size == 48
    assert frame.problems == () and frame.to_bytes() == raw


def test_32bit_frame_same_privilege_has_no_ss_esp():
    raw = struct.pack("<3I", 0x101000, 0x08, 0x202)
    frame = InterruptFrame.from_bytes(raw + bytes(8), CpuMode.PROTECTED, has_error_code=False)
    assert frame.sp is None and frame.size == 12 and frame.from_cpl == 0


def test_32bit_frame_from_ring3_has_ss_esp():
    raw = struct.pack("<6I", 0x0D, 0x8048000, 0x1B, 0x202, 0xBFFFF000, 0x23)
    frame = InterruptFrame.from_bytes(raw, CpuMode.PROTECTED, has_error_code=True)
    assert frame.sp == 0xBFFFF000 and frame.ss == 0x23 and frame.from_cpl == 3 and frame.to_bytes() == raw


def test_virtual_8086_frame():
    raw = struct.pack("<9I", 0x100, 0x2000, 0x20202, 0xFFFE, 0x3000, 0x1, 0x2, 0x3, 0x4)
    frame = InterruptFrame.from_bytes(raw, CpuMode.PROTECTED, has_error_code=False)
    assert frame.v86_segments == (1, 2, 3, 4) and frame.from_cpl == 3 and frame.to_bytes() == raw


def test_real_mode_frame():
    frame = InterruptFrame.from_bytes(struct.pack("<3H", 0x7C10, 0x0000, 0x0202), CpuMode.REAL, False)
    assert (frame.ip, frame.cs, frame.flags) == (0x7C10, 0, 0x202)
    with pytest.raises(DecodeError):
        InterruptFrame.from_bytes(bytes(6), CpuMode.REAL, True)


def test_short_frame_names_the_size():
    with pytest.raises(DecodeError, match="a 64-bit frame with an error code is 48 bytes, got 40"):
        InterruptFrame.from_bytes(bytes(40), CpuMode.LONG, True)


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1),
       st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.booleans())
def test_64bit_frame_round_trip(a, b, c, d, e, f, has_error):
    raw = _frame64(a, b, c, d, e, f)[: 48 if has_error else 40]
    assert InterruptFrame.from_bytes(raw, CpuMode.LONG, has_error).to_bytes() == raw


def test_guess_error_code():
    assert guess_error_code(_frame64(0x6, 0x401000, 0x2B, 0x246, 0x7FFFF000, 0x23), CpuMode.LONG)
    assert not guess_error_code(_frame64(0x401000, 0x2B, 0x246, 0x7FFFF000, 0x23, 0xFFFF), CpuMode.LONG)


def test_stack_used():
    assert stack_used(CpuMode.LONG, 1, 0, 0) == "ist1"
    assert stack_used(CpuMode.LONG, 0, 3, 0) == "rsp0"
    assert stack_used(CpuMode.LONG, 0, 0, 0) == "same"
    assert stack_used(CpuMode.PROTECTED, 0, 3, 0) == "esp0"


def test_parse_hex_formats():
    expected = bytes.fromhex("0600000000000000" "0010400000000000")
    assert parse_hex("0xffffc90000003f58 <stack+8>:\t0x0000000000000006\t0x0000000000401000") == expected
    assert parse_hex("00000000: 0600 0000 0000 0000 0010 4000 0000 0000  ..........@.....") == expected
    assert parse_hex("00000000  06 00 00 00 00 00 00 00  00 10 40 00 00 00 00 00  |..........@.....|") == expected
    assert parse_hex("0x6 0x401000") == expected
    assert parse_hex("06 00 00 00 00 00 00 00\n0010400000000000") == expected
    assert parse_hex("0x6 0x401000", word_size=4) == bytes.fromhex("06000000" "00104000")


@pytest.mark.parametrize("text, message", [
    ("zz", "is not hex"), ("abc", "odd number"), ("", "no hex bytes"), ("0x1ffffffff", "does not fit"),
    ("0x1000:\t0x123", "digits"),
])
def test_parse_hex_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_hex(text, word_size=4)


def test_parse_int():
    assert parse_int("0x1a") == 26 and parse_int("26") == 26 and parse_int("0b110") == 6
    with pytest.raises(ParseError):
        parse_int("1a")
    with pytest.raises(ParseError):
        parse_int("-1")


@given(st.text())
def test_parse_hex_only_raises_parse_error(text):
    try:
        parse_hex(text)
    except ParseError:
        pass


@given(st.binary(min_size=1, max_size=300), st.integers(0, 400), st.integers(0, 400))
def test_allowed_ports_agrees_with_io_port_allowed(bitmap, limit, iopb):
    tss = bytes(104) + bitmap
    allowed = {port for r in allowed_ports(tss, limit, iopb) for port in r}
    for port in range(0, min(0x10000, len(tss) * 8)):
        first = iopb + port // 8
        if first + 1 > limit or first + 2 > len(tss):
            assert port not in allowed
        else:
            assert (port in allowed) == io_port_allowed(tss, limit, iopb, port)
