"""What the Target base class does for every target: HOST:PORT, range checks, the per-stop cache."""

import pytest

from gdbext.errors import TargetError
from gdbext.target.base import Target, split_address


class Counting(Target):
    """A target over a bytes buffer that counts how often each primitive is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = {"cpus": 0, "monitor": 0, "memory": 0}

    def _list_cpus(self):
        self.asked["cpus"] += 1
        return (0, 1)

    def selected_cpu(self):
        return 0

    def select_cpu(self, cpu):
        self.check_cpu(cpu)

    def _ask_monitor(self, command):
        self.asked["monitor"] += 1
        return f"answer to {command}"

    def _read_memory(self, address, size, cpu, physical):
        self.asked["memory"] += 1
        return bytes(range(address, address + size))

    def symbolize(self, address):
        return None


def test_host_port():
    assert split_address("localhost:1234") == ("localhost", 1234)
    assert split_address("[::1]:1234") == ("[::1]", 1234)
    for bad in ("localhost", ":1234", "host:port", "host:"):
        with pytest.raises(TargetError, match="HOST:PORT"):
            split_address(bad)


def test_answers_are_asked_once_per_stop():
    target = Counting()
    for _ in range(3):
        assert target.cpus() == (0, 1)
        assert target.monitor("info pic") == "answer to info pic"
        assert target.read_memory(0x10, 4, 0) == bytes([0x10, 0x11, 0x12, 0x13])
    assert target.asked == {"cpus": 1, "monitor": 1, "memory": 1}
    target.read_memory(0x10, 4, 1)
    target.read_memory(0x10, 4, 1, physical=True)
    assert target.asked["memory"] == 3
    target.cache.clear()
    target.cpus()
    assert target.asked["cpus"] == 2


def test_ranges_are_checked_before_the_guest_is_asked():
    target = Counting()
    assert target.read_memory(0x10, 0, 0) == b""
    with pytest.raises(TargetError, match="outside the 64-bit space"):
        target.read_memory((1 << 64) - 2, 4, 0)
    with pytest.raises(TargetError, match="outside the 64-bit space"):
        target.read_memory(-1, 4, 0)
    with pytest.raises(TargetError, match="no vCPU 5; this guest has 0, 1"):
        target.check_cpu(5)
    assert target.asked["memory"] == 0


def test_the_base_answers_what_every_front_end_asks():
    target = Counting()
    assert target.symbols is None and not target.is_running()
    target.close()
    with pytest.raises(TargetError, match="read-only"):
        target.insert_breakpoint(0x1000, False)
