"""The two QEMU and gdb pairs the live suite runs under.

- ``qemu7``: the machine's own ``qemu-system-x86_64`` and ``gdb`` (Debian 12: QEMU 7.2,
  gdb 13.1 with Python 3.11);
- ``qemu11``: those of Debian's development suite, from the root tests/guests/newer.py
  builds (QEMU 11.1, gdb 18.1 with Python 3.14 and its own venv).

The ``toolchain`` fixture (tests/live/conftest.py) gives a test each pair in turn.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from shell.guests.run import QEMU


class Toolchain(NamedTuple):
    #: the test id
    name: str
    #: the argv that stands for ``qemu-system-x86_64``
    qemu: tuple[str, ...]
    #: the gdb executable (a path or a name on PATH)
    gdb: str


MACHINE = Toolchain("qemu7", (QEMU,), "gdb")


@cache
def sid() -> Toolchain:
    """The sid root's QEMU and gdb (the root is built on first use)."""
    from tests.guests import newer

    return Toolchain("qemu11", tuple(newer.qemu_prefix()), str(newer.gdb()))


def toolchain(name: str) -> Toolchain:
    return MACHINE if name == MACHINE.name else sid()
