"""ExceptionVector names the vectors of SDM Vol. 3A Table 6-1 by the same mnemonics as the vector table."""

import pytest

from gdbext.model.exception_vectors import SELECTOR_ERROR_VECTORS, ExceptionVector
from gdbext.model.vectors import ErrorCodeFormat, vector


@pytest.mark.parametrize("member", list(ExceptionVector))
def test_each_member_is_the_vector_the_table_names(member):
    mnemonic = vector(member).mnemonic
    assert mnemonic in (f"#{member.name}", member.name) or (member is ExceptionVector.CSO and mnemonic is None)


def test_known_numbers_from_the_manual():
    assert (ExceptionVector.DF, ExceptionVector.GP, ExceptionVector.PF, ExceptionVector.CP) == (8, 13, 14, 21)


def test_selector_error_vectors_are_those_whose_error_code_is_a_selector():
    assert SELECTOR_ERROR_VECTORS == {
        number for number in range(32) if vector(number).error_code is ErrorCodeFormat.SELECTOR}
