"""Which exceptions the processor can raise as configured (gdbext.model.raised)."""

import pytest

from gdbext.model.raised import not_raised


@pytest.mark.parametrize(("number", "cr4", "why"), [
    (14, 0, None),
    (0x80, 0, None),
    (18, 0, "CR4.MCE=0"),
    (18, 1 << 6, None),
    (21, 0, "CR4.CET=0"),
    (21, 1 << 23, None),
    (29, 0xFFFFFFFF, "SEV-ES"),
    (22, 0xFFFFFFFF, "reserved"),
    (15, 0, "reserved"),
])
def test_not_raised_says_why_the_processor_cannot_raise_an_exception(number, cr4, why):
    reason = not_raised(number, cr4)
    assert reason is None if why is None else why in reason
