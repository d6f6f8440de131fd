"""A table is read in as few ``m`` packets as the gdbstub allows, counted on the wire
(tests/live/wire.py). QEMU answers a read of at most half its PacketSize: 2 KiB on
QEMU 7.2 (PacketSize 0x1000), 64 KiB on QEMU 10.2 and later (0x20020), where the
4 KiB IDT of the long-mode guest is one read, on the one-shot path
(gdbext/target/rsp.py) and inside gdb alike."""

import json
import subprocess
import sys

from shell.guests.run import RunningGuest
from tests.live.harness import gdb_run, ready_symbol
from tests.live.wire import PacketRelay

MARK = "qIdtscopeMark"


def test_the_idt_is_read_in_as_few_packets_as_the_stub_allows(long64, toolchain):
    base, size = long64.layout["idt"]["base"], long64.layout["idt"]["limit"] + 1
    with RunningGuest(long64, qemu=toolchain.qemu) as guest:
        gdb_run(guest.port, [f"symbol-file {long64.elf}", f"tbreak {ready_symbol(long64)}", "continue"], [],
                gdb=toolchain.gdb)
        with PacketRelay(guest.port) as one_shot:
            run = subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{one_shot.port}",
                                  "-c", "idt --json"], capture_output=True, text=True, timeout=60)
        with PacketRelay(guest.port) as in_gdb:
            outputs = gdb_run(in_gdb.port, [f"symbol-file {long64.elf}", f"maint packet {MARK}"],
                              ["x86 idt", f"maint packet {MARK}"], gdb=toolchain.gdb)
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)["gates"]) == 256 and "256 vectors covered" in outputs[0]
    largest = one_shot.packet_size() // 2
    reads = -(-size // largest)
    assert [length for _, length in one_shot.reads(base, size)] == [min(largest, size - n * largest)
                                                                    for n in range(reads)]
    assert len(in_gdb.reads(base, size, in_gdb.marked(MARK))) == reads
    assert [packet for packet in one_shot.sent if packet.startswith("D")] == ["D;1"], \
        "after a gdb, QEMU lists threads as p1.N and wants D;pid: asked once, not after a refused D"
    if toolchain.name == "qemu11":
        assert reads == 1, f"QEMU 10.2 and later take a {size}-byte read in one packet (PacketSize {largest * 2:#x})"
