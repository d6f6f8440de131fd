import pytest

from shell.guests.build import build
from tests.live.toolchain import MACHINE, Toolchain
from tests.live.toolchain import toolchain as named


@pytest.fixture(scope="session")
def long64():
    return build("long64")


@pytest.fixture(scope="session", params=[MACHINE.name, "qemu11"])
def toolchain(request) -> Toolchain:
    """The machine's QEMU and gdb, then the newer ones of the sid root (tests/live/toolchain.py)."""
    return named(request.param)
