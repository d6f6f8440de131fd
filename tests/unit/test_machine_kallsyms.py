"""gdbext.machine.kallsyms failure paths on the snapshot fixtures: a guest that is not Linux,
real mode, and a Linux snapshot that holds no kernel image each give one TargetError line."""

import pytest

from gdbext.errors import TargetError
from gdbext.machine.kallsyms import guest_kallsyms, read_guest_kallsyms
from tests.unit.snapshot_fixtures import open_fixture


def test_real_mode_has_no_kernel_to_read():
    with pytest.raises(TargetError, match="real mode"):
        guest_kallsyms(open_fixture("real16"), 0)


@pytest.mark.parametrize("fixture", ["long64", "long64-pf"])
def test_a_kernel_without_kallsyms_is_told_so(fixture):
    with pytest.raises(TargetError, match="no kallsyms tables .* CONFIG_KALLSYMS"):
        read_guest_kallsyms(open_fixture(fixture), 0)


@pytest.mark.parametrize("fixture", ["linux-amd64", "prot32-pae"])
def test_every_failure_is_one_line(fixture):
    with pytest.raises(TargetError) as error:
        guest_kallsyms(open_fixture(fixture), 0)
    assert "\n" not in str(error.value) and str(error.value)
