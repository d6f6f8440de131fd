"""The test setup's API-7 header derivation refuses a source it was not written for.

That the derived header is right is proven live (tests/live/test_trace_plugin.py); here,
that an edit which does not match exactly stops the derivation instead of leaving a
header half API 5, half API 7.
"""

import pytest

from tests.guests.plugin_header import HeaderDerivationError, derive


def test_a_header_without_the_expected_declarations_is_refused_naming_the_first_missing_edit():
    with pytest.raises(HeaderDerivationError, match=r"^API 6: qemu_plugin_read_register .*matched 0 times, expected 2"):
        derive("#define QEMU_PLUGIN_VERSION 5\n")


def test_an_already_derived_header_is_not_derived_twice():
    with pytest.raises(HeaderDerivationError, match=r"QEMU_PLUGIN_VERSION: 5 becomes 7: matched 0 times"):
        derive("#define QEMU_PLUGIN_VERSION 7\n")

