"""Remote-protocol packets for one `idt` of the long64 test guest, under the machine's
QEMU and gdb and under the newer ones of the Debian sid root (tests/guests/newer.py,
built on first use), counted on the wire by a relay between the client and QEMU's
gdbstub (tests/live/wire.py): nothing in idtscope or gdb counts or is told.

For each pair it prints the PacketSize the stub announces, then the packets of
1. the one-shot path, `idtscope --attach HOST:PORT -c idt` (no gdb: gdbext/target/rsp.py),
   for the whole run (connect, stop query, qSupported, vCPUs, monitor, reads, detach);
2. `x86 idt` inside gdb, between two marker packets;
with the `m` reads of the 4 KiB IDT among them.

Usage: .venv/bin/python bench/rsp_packets.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/, which the sid root's gdb sees)
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402
from tests.live.harness import gdb_run, ready_symbol  # noqa: E402
from tests.live.toolchain import MACHINE, Toolchain, sid  # noqa: E402
from tests.live.wire import PacketRelay  # noqa: E402

MARK = "qIdtscopeMark"


def versions(toolchain: Toolchain) -> str:
    qemu = subprocess.run([*toolchain.qemu, "--version"], capture_output=True, text=True, check=True).stdout
    gdb = subprocess.run([toolchain.gdb, "--version"], capture_output=True, text=True, check=True).stdout
    return f"{qemu.splitlines()[0]}; {gdb.splitlines()[0]}"


def kinds(packets: list[str]) -> str:
    """Packets counted by kind: a query's name (qRcmd, qSupported, ...), Hg, or the command letter (m, D, ?)."""
    counted = Counter(re.match(r"[qQv][A-Za-z.]+|H[gc]|.", packet, re.S).group() for packet in packets)
    return ", ".join(f"{name} {count}" for name, count in counted.most_common())


def measure(toolchain: Toolchain) -> None:
    image = build("long64")
    base, size = image.layout["idt"]["base"], image.layout["idt"]["limit"] + 1
    with RunningGuest(image, qemu=toolchain.qemu) as guest:
        gdb_run(guest.port, [f"symbol-file {image.elf}", f"tbreak {ready_symbol(image)}", "continue"], [],
                gdb=toolchain.gdb)
        with PacketRelay(guest.port) as one_shot:
            subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{one_shot.port}", "-c", "idt"],
                           check=True, capture_output=True, timeout=60, cwd=ROOT)
        with PacketRelay(guest.port) as in_gdb:
            gdb_run(in_gdb.port, [f"symbol-file {image.elf}", f"maint packet {MARK}"],
                    ["x86 idt", f"maint packet {MARK}"], gdb=toolchain.gdb)
    print(f"{toolchain.name}: {versions(toolchain)}")
    print(f"  PacketSize announced: {one_shot.packet_size():#x} (largest read {one_shot.packet_size() // 2} bytes)")
    reads = one_shot.reads(base, size)
    print(f"  one-shot `idtscope --attach -c idt`: {len(one_shot.sent)} packets ({kinds(one_shot.sent)}); "
          f"IDT ({size} bytes) in {len(reads)} m read(s) of {[length for _, length in reads]} bytes")
    marked = in_gdb.marked(MARK)
    reads = in_gdb.reads(base, size, marked)
    print(f"  inside gdb `x86 idt`: {len(marked)} packets ({kinds(marked)}); "
          f"IDT in {len(reads)} m read(s) of {[length for _, length in reads]} bytes")


def main() -> None:
    for toolchain in (MACHINE, sid()):
        measure(toolchain)


if __name__ == "__main__":
    main()
