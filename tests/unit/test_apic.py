"""The local APIC and 8259A decoders (known values, QEMU's own words, round trips),
the controller diagnoses, and the lapic/ioapic/pic documents and texts built
from QEMU monitor fixtures, whole, cut short and with lines QEMU never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdbext.commands.base import Result
from gdbext.commands.ioapic import ioapic_document
from gdbext.commands.lapic import lapic_document
from gdbext.commands.pic import pic_document
from gdbext.errors import DecodeError, IdtscopeError
from gdbext.machine.controllers import LapicView
from gdbext.machine.diagnose import (
    ApicRegisters,
    CpuPlace,
    in_service_diagnoses,
    ioapic_diagnoses,
    landings,
    lapic_diagnoses,
    pic_diagnoses,
)
from gdbext.machine.tables import IdtSlot, IdtView
from gdbext.model.apic import (
    DeliveryMode,
    DestinationShorthand,
    EsrFlag,
    Icr,
    LvtKind,
    LvtRegister,
    Svr,
    TimerMode,
    dcr_for,
    divide_by,
    held_back,
    priority_class,
    processor_priority,
)
from gdbext.model.bits import flag_names
from gdbext.model.gate import Gate
from gdbext.model.idt import CpuMode
from gdbext.model.ioapic import isa_irq_for_ioapic_pin
from gdbext.model.pic8259 import chip_lines, line_vector, pic_priority
from gdbext.render import render
from gdbext.target.qemu_text import parse_info_lapic, parse_info_pic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qemu"
LAPIC_FIXTURES = sorted(FIXTURES.glob("info_lapic_*.txt"))
PIC_FIXTURES = sorted(FIXTURES.glob("info_pic_*.txt"))
QEMU_LVT_NAMES = {LvtKind.LINT0: "lvt_lint0", LvtKind.LINT1: "lvt_lint1", LvtKind.PERFMON: "lvt_perfmon",
                  LvtKind.ERROR: "lvt_error", LvtKind.THERMAL: "lvt_thermal", LvtKind.TIMER: "lvt_timer"}
HANDLER_BASE = 0x100000


def text(path: Path) -> str:
    return path.read_bytes().decode()


def handler(vector: int) -> int:
    return HANDLER_BASE + vector * 0x40


def idt(present: set[int], limit: int = 0xFFF) -> IdtView:
    """A 64-bit IDT whose present gates are interrupt gates to ``handler(vector)``."""
    slots = tuple(IdtSlot(v, Gate(True, 0xE, 0x08, handler(v), 0, v in present)) for v in range((limit + 1) // 16))
    return IdtView(0, CpuMode.LONG, 0x201000, limit, slots)


def names(addresses: list[int]) -> dict[int, str | None]:
    """Symbols as a symbol table would give them: one per handler."""
    return {a: f"isr_{(a - HANDLER_BASE) // 0x40:02x}" if a >= HANDLER_BASE else None for a in addresses}


def no_names(addresses: list[int]) -> dict[int, str | None]:
    return dict.fromkeys(addresses)


# --- LVT entries --------------------------------------------------------------------------------


def test_lvt_timer_of_the_test_guest():
    entry = LvtRegister.from_int(LvtKind.TIMER, 0x20040)
    assert (entry.vector, entry.timer_mode, entry.masked, entry.delivery_mode) == (
        0x40, TimerMode.PERIODIC, False, DeliveryMode.FIXED)
    assert entry.polarity_low is None and entry.level_triggered is None and entry.trigger == "edge"
    assert entry.problems == () and entry.to_int() == 0x20040


def test_lint_entries_trigger_and_polarity():
    lint0 = LvtRegister.from_int(LvtKind.LINT0, 0x10700)
    assert lint0.masked and lint0.delivery_mode is DeliveryMode.EXTINT and lint0.trigger == "level"
    assert not lint0.carries_vector
    lint1 = LvtRegister.from_int(LvtKind.LINT1, 0x400)
    assert lint1.delivery_mode is DeliveryMode.NMI and lint1.trigger == "edge" and not lint1.masked
    level = LvtRegister.from_int(LvtKind.LINT1, 0xA031)
    assert level.polarity_low and level.level_triggered and level.trigger == "level" and level.vector == 0x31


def test_lvt_problems_are_named():
    assert LvtRegister.from_int(LvtKind.TIMER, 0x40 | 1 << 13).problems == ("reserved bits 0x2000 are set",)
    assert "reserved in an LVT entry" in LvtRegister.from_int(LvtKind.LINT0, 0x131).problems[0]
    assert "timer mode 11b is reserved" in LvtRegister.from_int(LvtKind.TIMER, 0x60040).problems
    assert "illegal" in LvtRegister.from_int(LvtKind.ERROR, 0x0E).problems[0]
    assert LvtRegister.from_int(LvtKind.ERROR, 0x1000E).problems == (), "a masked illegal vector is harmless"


def test_lvt_fields_a_register_lacks_are_refused():
    with pytest.raises(DecodeError, match="LINT0/LINT1"):
        LvtRegister(LvtKind.TIMER, 0x40, DeliveryMode.FIXED, False, False, polarity_low=True,
                    timer_mode=TimerMode.ONE_SHOT)
    with pytest.raises(DecodeError, match="no delivery mode"):
        LvtRegister(LvtKind.ERROR, 0xFE, DeliveryMode.NMI, False, False)
    with pytest.raises(DecodeError, match="only the LVT timer"):
        LvtRegister(LvtKind.ERROR, 0xFE, DeliveryMode.FIXED, False, False, timer_mode=TimerMode.PERIODIC)
    with pytest.raises(DecodeError, match="overlap"):
        LvtRegister(LvtKind.ERROR, 0xFE, DeliveryMode.FIXED, False, False, reserved=1 << 16)
    with pytest.raises(DecodeError):
        LvtRegister.from_int(LvtKind.TIMER, 1 << 32)


@pytest.mark.parametrize("path", LAPIC_FIXTURES, ids=lambda p: p.stem)
def test_lvt_decode_agrees_with_qemus_words(path):
    state = parse_info_lapic(text(path))
    for kind, source in QEMU_LVT_NAMES.items():
        words = getattr(state, source)
        entry = LvtRegister.from_int(kind, words.raw)
        assert entry.masked == words.masked and entry.delivery_pending == words.pending
        if kind is LvtKind.TIMER:
            assert entry.timer_mode.label == words.timer_mode
        if kind in (LvtKind.LINT0, LvtKind.LINT1):
            assert entry.polarity_low == (words.polarity == "active-lo")
            assert entry.level_triggered == (words.trigger == "level")
            assert entry.remote_irr == words.remote_irr
        if words.vector is not None and kind not in (LvtKind.TIMER, LvtKind.ERROR):
            assert entry.vector == words.vector


@given(st.sampled_from(list(LvtKind)), st.integers(0, 0xFFFFFFFF))
def test_lvt_round_trip_from_any_value(kind, value):
    assert LvtRegister.from_int(kind, value).to_int() == value


@given(st.integers(0, 0xFF), st.sampled_from(list(DeliveryMode)), st.booleans(), st.booleans(), st.booleans(),
       st.booleans(), st.booleans())
def test_lint_entry_round_trip_from_fields(vector, mode, pending, masked, low, remote, level):
    entry = LvtRegister(LvtKind.LINT0, vector, mode, pending, masked, low, remote, level)
    assert LvtRegister.from_int(LvtKind.LINT0, entry.to_int()) == entry


# --- ICR, ESR, SVR, DCR, priorities ---------------------------------------------------------------


def test_icr_of_the_captured_self_ipi():
    icr = Icr.from_int(0x44050)
    assert (icr.vector, icr.delivery_mode, icr.shorthand, icr.assert_level) == (
        0x50, DeliveryMode.FIXED, DestinationShorthand.SELF, True)
    assert not icr.logical and not icr.level_triggered and icr.problems == ()


def test_icr_startup_ipi_and_destinations():
    sipi = Icr.from_int(0xC4608)
    assert sipi.delivery_mode is DeliveryMode.START_UP and sipi.vector == 0x08
    assert sipi.shorthand is DestinationShorthand.ALL_EXCLUDING_SELF
    assert Icr.from_int(0x03000000_00004031).destination == 3
    wide = Icr.from_int(0x00010004_000008FD, x2apic=True)
    assert wide.logical and wide.destination == 0x10004 and wide.x2apic
    assert "reserved in the ICR" in Icr.from_int(0x731).problems[0]
    assert Icr.from_int(1 << 40).problems == ("reserved bits 0x10000000000 are set",)
    with pytest.raises(DecodeError, match="delivery status"):
        Icr(0x31, DeliveryMode.FIXED, False, True, True, False, DestinationShorthand.SELF, 0, x2apic=True)


@pytest.mark.parametrize("path", LAPIC_FIXTURES, ids=lambda p: p.stem)
def test_icr_decode_agrees_with_qemus_words(path):
    state = parse_info_lapic(text(path))
    words = state.icr
    icr = Icr.from_int(words.high << 32 | words.low, bool(state.x2apic))
    assert ("logical" if icr.logical else "physical") == words.destination_mode
    assert ("level" if icr.level_triggered else "edge") == words.trigger
    assert ("assert" if icr.assert_level else "de-assert") == words.level
    assert {"no-shorthand": DestinationShorthand.NO_SHORTHAND, "self": DestinationShorthand.SELF,
            "all-self": DestinationShorthand.ALL_INCLUDING_SELF,
            "all": DestinationShorthand.ALL_EXCLUDING_SELF}[words.shorthand] is icr.shorthand


@given(st.integers(0, (1 << 64) - 1), st.booleans())
def test_icr_round_trip(value, x2apic):
    assert Icr.from_int(value, x2apic).to_int() == value


def test_esr_bits_by_name():
    assert flag_names(0x40, EsrFlag) == ("RECEIVED_ILLEGAL_VECTOR",)
    assert flag_names(0xA4, EsrFlag) == ("SEND_ACCEPT", "SEND_ILLEGAL_VECTOR", "ILLEGAL_REGISTER_ADDRESS")


def test_svr_known_values():
    assert Svr.from_int(0x1FF) == Svr(0xFF, True, True, False)
    assert not Svr.from_int(0xFF).software_enabled
    assert not Svr.from_int(0x3FF).focus_checking and Svr.from_int(0x11FF).eoi_broadcast_suppression
    assert Svr.from_int(0x8000_01FF).reserved == 0x8000_0000


@given(st.integers(0, 0xFFFFFFFF))
def test_svr_round_trip(value):
    assert Svr.from_int(value).to_int() == value


def test_divide_configuration_table():
    assert [divide_by(dcr) for dcr in (0, 1, 2, 3, 8, 9, 0xA, 0xB)] == [2, 4, 8, 16, 32, 64, 128, 1]
    assert dcr_for(16) == 3 and dcr_for(1) == 0xB
    with pytest.raises(DecodeError, match="not 3"):
        dcr_for(3)


@given(st.integers(0, 0xFFFFFFFF))
def test_divide_configuration_round_trip(dcr):
    assert dcr_for(divide_by(dcr)) == dcr & 0b1011


@pytest.mark.parametrize("path", LAPIC_FIXTURES, ids=lambda p: p.stem)
def test_priorities_agree_with_qemus_ppr(path):
    state = parse_info_lapic(text(path))
    isrv = max(state.isr, default=0)
    assert processor_priority(state.tpr, isrv) == state.ppr
    assert divide_by(state.timer.divide_configuration) == state.timer.divide_by


def test_priority_classes_hold_back():
    assert priority_class(0x31) == 3 and processor_priority(0x20, 0x31) == 0x30
    assert processor_priority(0x45, 0x31) == 0x45
    assert held_back(0x3F, 0x30) and not held_back(0x40, 0x30)


# --- 8259A and I/O APIC wiring ------------------------------------------------------------------


def test_pic_lines_of_the_captured_long_mode_guest():
    pic = parse_info_pic(text(FIXTURES / "info_pic_long.txt"))
    master = chip_lines("master", pic.master.irr, pic.master.imr, pic.master.isr, pic.master.irq_base,
                        pic.master.elcr)
    slave = chip_lines("slave", pic.slave.irr, pic.slave.imr, pic.slave.isr, pic.slave.irq_base, pic.slave.elcr)
    assert [line.vector for line in master + slave] == list(range(0x20, 0x30))
    assert master[0].requested and master[0].masked and not master[2].masked and master[2].cascade
    assert [line.irq for line in slave if line.level_triggered] == [10, 11]
    assert not slave[0].masked and all(line.masked for line in slave[1:])


def test_line_vector_and_isa_pins():
    assert line_vector(0x20, 0) == 0x20 and line_vector(0x2F, 7) == 0x2F and line_vector(0x70, 3) == 0x73
    assert [isa_irq_for_ioapic_pin(p) for p in (0, 1, 2, 3, 15, 16, 23)] == [None, 1, 0, 3, 15, None, None]
    with pytest.raises(DecodeError):
        line_vector(0x20, 8)


# --- diagnoses ---------------------------------------------------------------------------------


def test_missing_eoi_when_rip_is_outside_the_handler():
    lands = landings(idt({0x31, 0x40}))
    place = CpuPlace(0, 0x300010, "idle_loop+3", True)
    found = in_service_diagnoses(place, [0x31], lands, names([handler(0x31), place.rip]))
    assert [(d.code, d.severity.value, d.vector) for d in found] == [("missing-eoi", "error", 0x31)]
    assert "isr_31" in found[0].message and "idle_loop+3" in found[0].message and "0x3f" in found[0].message


def test_no_diagnosis_while_the_handler_runs():
    lands = landings(idt({0x31}))
    inside = CpuPlace(0, handler(0x31) + 4, "isr_31+4", False)
    assert in_service_diagnoses(inside, [0x31], lands, names([handler(0x31)])) == []


def test_nested_and_returned_handlers():
    lands = landings(idt({0x31, 0x40}))
    symbols = names([handler(0x31), handler(0x40)])
    in_timer = CpuPlace(0, handler(0x40) + 8, "isr_40+8", False)
    found = in_service_diagnoses(in_timer, [0x31, 0x40], lands, symbols)
    assert [(d.code, d.vector) for d in found] == [("in-service-below-running", 0x31)]
    in_low = CpuPlace(0, handler(0x31) + 8, "isr_31+8", False)
    found = in_service_diagnoses(in_low, [0x31, 0x40], lands, symbols)
    assert [(d.code, d.vector) for d in found] == [("missing-eoi", 0x40)]
    assert "inside the handler of vector 0x31" in found[0].message


def test_without_symbols_the_next_gate_entry_bounds_a_handler():
    lands = landings(idt({0x31, 0x32}))
    assert in_service_diagnoses(CpuPlace(0, handler(0x31) + 0x3F, None, False), [0x31], lands, {}) == []
    beyond = in_service_diagnoses(CpuPlace(0, handler(0x32) + 1, None, False), [0x31], lands, {})
    assert [d.code for d in beyond] == ["missing-eoi"]
    lone = landings(idt({0x31}))
    far = in_service_diagnoses(CpuPlace(0, handler(0x31) + 0x1000, None, False), [0x31], lone, {})
    assert [d.code for d in far] == ["missing-eoi"]


def _lvt(state) -> dict[LvtKind, LvtRegister]:
    return {kind: LvtRegister.from_int(kind, getattr(state, source).raw) for kind, source in QEMU_LVT_NAMES.items()}


def test_lapic_configuration_findings():
    state = parse_info_lapic(text(FIXTURES / "info_lapic_0_reset.txt"))
    regs = ApicRegisters(Svr.from_int(state.spiv.raw), _lvt(state), 0, 0, 0, (), ())
    assert [d.code for d in lapic_diagnoses(0, regs, landings(idt(set())))] == ["apic-disabled", "spurious-no-gate"]
    timer = LvtRegister.from_int(LvtKind.TIMER, 0x30040)
    regs = ApicRegisters(Svr.from_int(0x1FF), {LvtKind.TIMER: timer}, 1234, 0x44, 0x50, (), (0x40, 0x61))
    found = lapic_diagnoses(0, regs, landings(idt({0xFF, 0x40})))
    assert [d.code for d in found] == ["timer-masked-running", "esr", "held-back"]
    assert "1234 left" in found[0].message and "send accept" in found[1].message and found[2].vector == 0x40
    assert "the TPR 0x50" in found[2].message
    open_timer = {LvtKind.TIMER: LvtRegister.from_int(LvtKind.TIMER, 0x20040)}
    found = lapic_diagnoses(1, ApicRegisters(Svr.from_int(0x1FF), open_timer, 5, None, None, None, None),
                            landings(idt({0xFF})))
    assert [(d.code, d.vector) for d in found] == [("unmasked-no-gate", 0x40)]
    assert "gate not present" in found[0].message


def test_held_back_names_the_in_service_vector():
    regs = ApicRegisters(None, {}, None, None, 0x10, (0x50,), (0x40, 0x45, 0x61))
    found = lapic_diagnoses(0, regs, landings(idt(set())))
    assert [d.vector for d in found] == [0x40, 0x45]
    assert "the in-service vector 0x50 sets the processor priority to 0x50" in found[0].message


def test_ioapic_and_pic_findings():
    long_pic = parse_info_pic(text(FIXTURES / "info_pic_long.txt"))
    lands = landings(idt({0x34}))
    found = ioapic_diagnoses(long_pic.ioapic.pins, lands)
    assert [(d.code, d.vector) for d in found] == [("unmasked-no-gate", 0x31)], "pin 4 lands, 9 masked, 11 NMI"
    microvm = parse_info_pic(text(FIXTURES / "info_pic_microvm_from_source.txt"))
    found = ioapic_diagnoses(microvm.ioapics[0].pins, landings(idt(set(range(256)))))
    assert [(d.code, d.vector) for d in found] == [("remote-irr", 37)]
    master = chip_lines("master", 0, 0xFB, 0x01, 0x20, 0)
    slave = chip_lines("slave", 0, 0xFE, 0, 0x28, 0)
    found = pic_diagnoses(master + slave, landings(idt(set())), cascaded=True)
    assert [(d.code, d.vector) for d in found] == [("unmasked-no-gate", 0x28), ("pic-in-service", 0x20)]
    masked_cascade = chip_lines("master", 0, 0xFF, 0, 0x20, 0)
    found = pic_diagnoses(masked_cascade + slave, landings(idt(set(range(256)))), cascaded=True)
    assert [d.code for d in found] == ["cascade-masked"] and "IRQ8" in found[0].message


def pic_in_service(isr_master: int, isr_slave: int = 0, rotation: tuple[int, int] = (0, 0), **place) -> list:
    """Diagnoses of 8259As at 0x20/0x28 (all open) with these ISRs, seen from ``place``."""
    lines = chip_lines("master", 0, 0, isr_master, 0x20, 0) + chip_lines("slave", 0, 0, isr_slave, 0x28, 0)
    lands = landings(idt(set(range(0x20, 0x30))))
    where = CpuPlace(0, place["rip"], place.get("symbol"), place.get("halted", False))
    symbols = names([handler(v) for v in range(0x20, 0x30)] + [where.rip])
    return [(d.code, d.vector) for d in pic_diagnoses(lines, lands, True, where, symbols, rotation)]


def test_pic_priority_puts_the_slave_in_place_of_irq2_and_follows_rotation():
    lines = chip_lines("master", 0, 0, 0, 0x20, 0) + chip_lines("slave", 0, 0, 0, 0x28, 0)
    order = [line.irq for line in sorted(lines, key=pic_priority) if line.irq != 2]
    assert order == [0, 1, 8, 9, 10, 11, 12, 13, 14, 15, 3, 4, 5, 6, 7]
    rotated = [line.irq for line in sorted(lines, key=lambda line: pic_priority(line, 4, 0)) if line.chip == "master"]
    assert rotated == [4, 5, 6, 7, 0, 1, 2, 3]


def test_pic_line_in_service_with_its_handler_gone_is_a_missing_eoi():
    assert pic_in_service(0x01, rip=0x300010, symbol="idle_loop+3", halted=True) == [("pic-missing-eoi", 0x20)]
    assert pic_in_service(0x01, rip=handler(0x20) + 4) == []
    assert pic_in_service(0x04, 0x02, rip=0x300010) == [("pic-missing-eoi", 0x29)]


def test_pic_nesting_follows_8259_priority():
    # IRQ3 runs, IRQ4 (lower priority) waits under it: nested
    assert pic_in_service(0x18, rip=handler(0x23) + 8) == [("pic-in-service-below-running", 0x24)]
    # IRQ4 runs, yet IRQ3 (higher priority) is in service: IRQ3 could not have been interrupted by IRQ4
    assert pic_in_service(0x18, rip=handler(0x24) + 8) == [("pic-missing-eoi", 0x23)]
    # with IRQ4 rotated to the top, IRQ3 is the lowest: nested again
    assert pic_in_service(0x18, rotation=(4, 0), rip=handler(0x24) + 8) == [("pic-in-service-below-running", 0x23)]


def test_landings_name_why_a_vector_cannot_land():
    short = landings(idt({0x20}, limit=0x20F))
    assert short[0x20].usable and short[0x20].handler == handler(0x20)
    assert short[0x21].why_not == "past the IDT limit 0x20f"
    assert short[0x1F].why_not == "gate not present"
    view = IdtView(0, CpuMode.LONG, 0, 0xF, (IdtSlot(0, None, "Cannot access memory at address 0x0"),))
    assert "unreadable" in landings(view)[0].why_not


# --- documents and texts from fixtures ---------------------------------------------------------


def lapic_doc(state_text: str, rip: int = 0x300000, present: frozenset[int] = frozenset(range(32, 256))) -> dict:
    state = parse_info_lapic(state_text)
    view = LapicView(state.cpu, state.cpu, state)
    return lapic_document(view, rip, True, landings(idt(set(present))), names)


def test_lapic_document_of_the_captured_self_ipi():
    data = lapic_doc(text(FIXTURES / "info_lapic_0_long.txt"))
    assert (data["enabled"], data["spurious_vector"], data["tpr"], data["ppr"]) == (True, 0xFF, 0x10, 0x50)
    assert data["lvt"]["timer"] | {"problems": []} == {
        "raw": 0x20040, "vector": 0x40, "masked": False, "delivery_mode": "fixed", "trigger": "edge",
        "polarity": None, "remote_irr": None, "delivery_status": "idle", "timer_mode": "periodic", "problems": []}
    assert data["lvt"]["lint0"]["delivery_mode"] == "extint" and data["lvt"]["lint0"]["vector"] is None
    assert data["timer"] == {"mode": "periodic", "divide": 1, "divide_configuration": 0xB,
                             "initial_count": 2147483647, "current_count": 1376012689}
    assert data["icr"]["shorthand"] == "self" and data["icr"]["vector"] == 0x50
    assert (data["isr"], data["irr"], data["tmr"]) == ([80], [64, 69], [69])
    rows = {row["vector"]: row for row in data["vectors"]}
    assert rows[0x50]["symbol"] == "isr_50" and rows[0x50]["roles"] == ["ISR"]
    assert rows[0x40]["roles"] == ["LVT timer", "IRR"] and rows[0xFE]["roles"] == ["LVT error"]
    codes = [(d["code"], d["vector"]) for d in data["diagnoses"]]
    assert ("missing-eoi", 0x50) in codes and ("held-back", 0x40) in codes and ("held-back", 0x45) in codes
    assert data["missing"] == [] and data["unparsed"] == []
    shown = render(Result("controllers.lapic", data))
    assert "missing-eoi" not in shown and "in service (ISR)" in shown and "<isr_50>" in shown


def test_lapic_document_of_an_x2apic_vcpu():
    data = lapic_doc(text(FIXTURES / "info_lapic_3_x2apic_from_source.txt"))
    assert data["x2apic"] is True and data["cpu"] == 3
    assert data["icr"]["destination"] == 0x10004 and data["icr"]["destination_mode"] == "logical"
    assert data["esr"] == 0x40 and data["esr_errors"] == ["received_illegal_vector"]
    assert data["lvt"]["timer"]["timer_mode"] == "tsc-deadline"
    assert data["lvt"]["perfmon"]["delivery_status"] == "pending"
    assert "x2APIC in CPUID" in render(Result("controllers.lapic", data))


@pytest.mark.parametrize("path", LAPIC_FIXTURES, ids=lambda p: p.stem)
def test_lapic_cut_anywhere_gives_a_partial_view(path):
    whole = text(path)
    header_end = whole.index("\n") + 1
    for cut in range(header_end - 2, len(whole), 7):
        part = whole[:cut]
        try:
            data = lapic_doc(part)
        except IdtscopeError as error:
            assert cut < header_end and "\n" not in str(error)
            continue
        json.dumps(data)
        shown = render(Result("controllers.lapic", {"cpus": [data]}))
        if data["missing"]:
            assert "not in the monitor text" in shown


def test_lapic_keeps_lines_it_does_not_know():
    changed = text(FIXTURES / "info_lapic_0_long.txt").replace(
        "ESR\t 0x00000000", "ESR\t 0x00000000 (newer words)") + "APICV   vm inhibit: 0x10\r\n"
    data = lapic_doc(changed)
    assert data["esr"] is None and "esr" in data["missing"]
    assert data["unparsed"] == ["ESR\t 0x00000000 (newer words)", "APICV   vm inhibit: 0x10"]
    assert "APICV   vm inhibit" in render(Result("controllers.lapic", data))


@pytest.mark.parametrize("path", PIC_FIXTURES, ids=lambda p: p.stem)
def test_pic_and_ioapic_documents_from_every_fixture(path):
    state = parse_info_pic(text(path))
    lands = landings(idt(set(range(32, 48))))
    pic = pic_document(state, 0, lands, names)
    ioapic = ioapic_document(state, 0, lands, names)
    json.dumps([pic, ioapic])
    assert render(Result("controllers.pic", pic)) and render(Result("controllers.ioapic", ioapic))
    assert len(ioapic["pins"]) == sum(len(chip.pins) for chip in state.ioapics)
    if state.master is None:
        assert pic["note"] and pic["slave"] is None


def test_pic_document_of_the_captured_long_mode_guest():
    state = parse_info_pic(text(FIXTURES / "info_pic_long.txt"))
    data = pic_document(state, 0, landings(idt({0x20, 0x21})), names)
    assert {k: data["master"][k] for k in ("irr", "imr", "isr", "base", "elcr")} == {
        "irr": 1, "imr": 0xFB, "isr": 0, "base": 0x20, "elcr": 0}
    assert data["slave"]["base"] == 0x28 and data["slave"]["elcr"] == 0x0C and data["cascade_irq"] == 2
    irq0, irq2 = data["master"]["lines"][0], data["master"]["lines"][2]
    assert irq0["device"] == "PIT timer (8254)" and irq0["symbol"] == "isr_20" and irq0["requested"]
    assert irq2["cascade"] and not irq2["masked"]
    assert [(d["code"], d["vector"]) for d in data["diagnoses"]] == [("unmasked-no-gate", 0x28)]
    assert "cascade from the slave" in render(Result("controllers.pic", data))


def test_ioapic_document_of_the_captured_long_mode_guest():
    state = parse_info_pic(text(FIXTURES / "info_pic_long.txt"))
    data = ioapic_document(state, 0, landings(idt({0x31, 0x34})), names)
    pins = {row["pin"]: row for row in data["pins"]}
    assert pins[1] | {"raw": 0} == pins[1] | {
        "vector": 0x31, "masked": False, "delivery_mode": "fixed", "dest": 0, "dest_mode": "physical",
        "trigger": "edge", "polarity": "active-high", "remote_irr": False, "isa_irq": 1,
        "device": "PS/2 keyboard", "symbol": "isr_31", "present": True, "raw": 0}
    assert pins[4]["delivery_mode"] == "lowest-priority" and pins[4]["dest"] == 3 and pins[4]["dest_mode"] == "logical"
    assert pins[9]["trigger"] == "level" and pins[9]["polarity"] == "active-low" and pins[9]["masked"]
    assert pins[11]["delivery_mode"] == "nmi" and pins[11]["vector"] is None and pins[11]["handler"] is None
    assert pins[2]["isa_irq"] == 0 and pins[0]["isa_irq"] is None
    assert data["diagnoses"] == []
