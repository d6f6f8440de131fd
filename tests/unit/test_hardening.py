"""Bad input to every offline decoder and parser, as a user gives it: one
clear line on stderr, exit status 2, no traceback, no hang over 5 s.

The case list (README, "Tests") is CASES below; the live cases (running guest,
QEMU killed, gdb missing, unmapped tables...) are in tests/live/test_live_failures.py
and tests/live/test_hardening_live.py.
"""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdbext.errors import IdtscopeError
from gdbext.model import vectors
from gdbext.model.descriptor import decode_descriptor_table
from gdbext.model.errcode import ControlProtectionCode, PageFaultCode, SelectorErrorCode
from gdbext.model.frame import InterruptFrame, guess_error_code
from gdbext.model.gate import Gate
from gdbext.model.hexinput import parse_hex
from gdbext.model.idt import CpuMode, decode_table
from gdbext.model.numbers import parse_int
from gdbext.model.tss import Tss32, Tss64
from gdbext.symbols import SymbolTable
from gdbext.target.qemu_text import parse_info_lapic, parse_info_pic, parse_info_registers
from shell.session import Session

HUGE = "0x" + "f" * 5000

CASES = [
    # (what it shows, command, text the one line must contain)
    ("vector out of range", "explain 300", "out of range 0-255"),
    ("negative vector", "explain -1", "out of range"),
    ("unknown mnemonic", "explain #XX", "unknown vector"),
    ("absurd range", "vectors --range 0-999", "LO <= HI <= 255"),
    ("reversed range", "vectors --range 0x30-0x20", "LO <= HI"),
    ("odd hex digits", "decode frame abc --mode 64", "odd number of hex digits"),
    ("not hex", "decode gate zz --mode 64", "is not hex"),
    ("wrong gate length", "decode gate 00 00 00 --mode 64", "a long-mode gate is 16 bytes, got 3"),
    ("short frame", "decode frame 0x1 0x2 --mode 64 --vector 14", "48 bytes, got 16"),
    ("ambiguous frame", "decode frame 0x0 0x0 0x0 0x0 0x0 0x0 --mode 64", "frame"),
    ("short TSS", "decode tss 00 --mode 64", "104 bytes, got 1"),
    ("TSS in real mode", "decode tss 00 --mode 16", "no TSS"),
    ("descriptor not 8-aligned", "decode desc 00 00 00 --mode 64", "8 or 16 bytes"),
    ("huge number", f"decode pf {HUGE}", "must fit in 32 bits"),
    ("negative number", "decode pf -5", "is negative"),
    ("value past 32 bits", "decode selector 0x100000000", "32 bits"),
    ("word too wide", "decode frame 0x1ffffffffffffffff --mode 64", "does not fit"),
    ("missing file", "decode frame @/nonexistent --mode 64", "cannot read /nonexistent"),
    ("bad CPL", "decode frame 0x1 0x8 0x202 --mode 32 --cpl 7", "CPL is 0-3"),
    ("unknown command", "frobnicate", "unknown command"),
    ("unknown option", "idt --frob", "unrecognized arguments"),
    ("live command offline", "idt", "needs a guest"),
    ("unterminated quote", "explain 'page", "cannot split"),
    ("bad --cpu", "idt --cpu -3", "vCPU index is 0 or more"),
    ("bad --cpu text", "regs --cpu x", "not a vCPU index"),
    ("snapshot of garbage", "snapshot save /tmp/x.json", "needs a guest"),
]


@pytest.mark.parametrize("what, command, message", CASES, ids=[c[0] for c in CASES])
def test_offline_bad_input(what, command, message):
    run = subprocess.run([sys.executable, "-m", "shell", "-c", command], capture_output=True, text=True, timeout=5)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(lines) == 1 and message in lines[0], lines


def test_session_survives_a_burst_of_errors():
    session = Session()
    for _, command, _ in CASES:
        with pytest.raises(IdtscopeError):
            session.run(command)
    assert "Page Fault" in session.run("explain 14")


def test_binary_and_huge_files(tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    huge = tmp_path / "huge.txt"
    huge.write_text("00 " * 2_000_000)
    for command, message in ((f"decode frame @{binary} --mode 64 --vector 14", "interrupt frame"),
                             (f"decode gate @{huge} --mode 64", "at most 256 entries")):
        run = subprocess.run([sys.executable, "-m", "shell", "-c", command], capture_output=True, text=True, timeout=5)
        assert "Traceback" not in run.stderr
        assert message in run.stdout + run.stderr


def test_symbol_files_that_are_not(tmp_path):
    text = tmp_path / "map.txt"
    text.write_text("this is not a System.map\n")
    elf = tmp_path / "bad.elf"
    elf.write_bytes(b"\x7fELF" + bytes(60))
    for path in (text, elf, tmp_path / "missing"):
        with pytest.raises(IdtscopeError):
            SymbolTable.load(path)


DECODERS = [
    lambda b: Gate.from_bytes(b, long_mode=True),
    lambda b: Gate.from_bytes(b, long_mode=False),
    lambda b: decode_table(b, CpuMode.LONG),
    lambda b: decode_table(b, CpuMode.REAL),
    lambda b: decode_descriptor_table(b, True),
    lambda b: decode_descriptor_table(b, False),
    lambda b: Tss64.from_bytes(b),
    lambda b: Tss32.from_bytes(b),
    lambda b: InterruptFrame.from_bytes(b, CpuMode.LONG, True),
    lambda b: InterruptFrame.from_bytes(b, CpuMode.PROTECTED, False, 0),
    lambda b: InterruptFrame.from_bytes(b, CpuMode.REAL, False),
    lambda b: guess_error_code(b, CpuMode.LONG),
    lambda b: PageFaultCode(int.from_bytes(b[:5] or b"\0", "little")).summary,
    lambda b: SelectorErrorCode.from_int(int.from_bytes(b[:5] or b"\0", "little")).summary,
    lambda b: ControlProtectionCode(int.from_bytes(b[:5] or b"\0", "little")).summary,
]

PARSERS = [parse_hex, parse_int, vectors.lookup, parse_info_registers, parse_info_lapic, parse_info_pic]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(range(len(DECODERS))), st.binary(max_size=200))
def test_decoders_raise_only_our_errors(index, data):
    try:
        DECODERS[index](data)
    except IdtscopeError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(range(len(PARSERS))), st.text(max_size=300))
def test_parsers_raise_only_our_errors(index, text):
    try:
        PARSERS[index](text)
    except IdtscopeError:
        pass
