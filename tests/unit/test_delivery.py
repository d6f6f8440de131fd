"""model.delivery: the checks of one IDT delivery, on known values from SDM Vol. 3A
6.10 and 6.14.2, and properties over every vector and limit."""

from hypothesis import given
from hypothesis import strategies as st

from gdbext.model.delivery import (
    frame_span,
    gate_address_problem,
    gate_problem,
    idt_vector,
    missing_stack_problem,
    overflow_problem,
    stack_problem,
)


def test_a_gate_past_the_limit_says_where_it_would_be():
    problem = gate_address_problem(3, 16, 0)
    assert problem.check == "idt-limit"
    assert problem.summary == "vector 0x03's gate would be at IDTR.base + 0x30, past the IDT limit 0x0"
    assert "0xfff" in problem.fix
    assert gate_address_problem(3, 8, 0x1F) is None
    assert gate_address_problem(3, 8, 0x1E).summary.endswith("IDTR.base + 0x18, past the IDT limit 0x1e")


@given(st.integers(0, 255), st.sampled_from([8, 16]), st.integers(0, 0xFFFF))
def test_the_whole_gate_must_lie_inside_the_limit(vector, size, limit):
    assert (gate_address_problem(vector, size, limit) is None) == ((vector + 1) * size - 1 <= limit)


def test_gate_checks_come_in_the_processors_order():
    label = "the #DF gate (vector 0x08)"
    assert gate_problem(8, label, False, "reserved", False, 0, None).check == "gate-type"
    assert gate_problem(3, label, True, "trap", False, 0, 3).check == "gate-dpl"
    assert gate_problem(8, label, True, "interrupt", False, 0, None).summary == f"{label} is not present (P=0)"
    assert gate_problem(3, label, True, "trap", True, 3, 3) is None


def test_a_64_bit_frame_is_aligned_and_five_or_six_slots():
    assert frame_span(True, 0x50000000, True, True) == (0x4FFFFFD0, 0x50000000)
    assert frame_span(True, 0x21FFE8, False, False) == (0x21FFE0 - 40, 0x21FFE0)


def test_a_32_bit_frame_pushes_ss_and_esp_only_on_a_switch():
    assert frame_span(False, 0x9000, False, False) == (0x9000 - 12, 0x9000)
    assert frame_span(False, 0x9000, True, True) == (0x9000 - 24, 0x9000)


@given(st.integers(0x1000, 2**47), st.booleans(), st.booleans())
def test_a_64_bit_frame_ends_16_byte_aligned_below_the_top(top, switched, error):
    low, high = frame_span(True, top, switched, error)
    assert high % 16 == 0 and top - 16 < high <= top and high - low == 40 + 8 * error


def test_idt_error_codes_doubled_by_old_qemu_name_the_right_vector():
    assert idt_vector(0x60, True, 0x30, 256) == 0x30
    assert idt_vector(6, True, 3, 0) == 3
    assert idt_vector(6, True, None, 0) == 3
    assert idt_vector(6, True, None, 256) == 6
    assert idt_vector(7, True, None, 0) == 7
    assert idt_vector(6, False, None, 0) == 6


def test_stack_problems_name_the_stack_and_fix():
    ist = stack_problem(8, "ist1", 0x50000000, 0x4FFFFFD0, 0x4FFFFFFF, "PDPTE not present (P=0)", overflow=False)
    assert ist.check == "stack-not-mapped" and ist.summary.startswith("IST1's top 0x50000000 is not mapped")
    assert "TSS.IST1" in ist.fix
    same = stack_problem(8, "same", 0x21D000, 0x21CFD0, 0x21CFFF, "PTE not present (P=0)", overflow=True)
    assert same.check == "stack-overflow" and "#DF gate has no IST" in same.summary and "IST" in same.fix
    push = overflow_problem(0x10116B, "scn_recurse", 0x21D000, 0x21CFF8, "PTE not present (P=0)")
    assert "0x10116b <scn_recurse>" in push.summary and "0x21cff8" in push.summary


def test_a_stack_without_a_top_says_which_slot():
    problem = missing_stack_problem(8, "ist1", "TSS.IST1 is 0")
    assert problem.check == "stack-not-mapped"
    assert problem.summary == "the frame goes on IST1, but TSS.IST1 is 0" and "IST1" in problem.fix
