"""How fast the trace plugin's follower reads, and that its memory stays flat.

Writes a stream of RECORDS plugin records (gdbext/model/trace.py's format, built with
format_record: timer ticks on 2 vCPUs, a third of them nested in another handler, page
faults from user mode, each handler left by its IRET) into a file, then reads it in
1 MiB chunks as `idtscope run` follows it (gdbext.follow.TraceFollower) and, for
comparison, with the offline reader `log` uses (Pairing, which keeps every delivery).
Prints records per CPU second for both, and the peak memory each allocated (tracemalloc)
at RECORDS and at RECORDS/4: the follower's stays the same, the offline reader's grows.
Usage: .venv/bin/python bench/follow_trace.py [RECORDS]
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdbext.follow import TraceFollower  # noqa: E402
from gdbext.model.trace import Delivery, Pairing, Return, TraceHeader, TraceReader, format_record  # noqa: E402

IDT = {14: 0x500, 0x20: 0x600}
CHUNK = 1 << 20


def write(path: Path, records: int) -> None:
    lines = [format_record(TraceHeader(1, {"api": "7", "target": "x86_64", "vcpus": "2", "icount": "off"}))]
    time_ns = 1000
    while len(lines) <= records:
        for cpu in (0, 1):
            time_ns += 997
            nested = len(lines) % 3 == 0
            lines.append(format_record(Delivery(0, "interrupt", cpu, time_ns, None, 0x100, 0x600, 0x1FD8,
                                                0x100, 0x8, 0x246)))
            if nested:
                lines.append(format_record(Delivery(0, "interrupt", cpu, time_ns + 50, None, 0x610, 0x600, 0x1F00,
                                                    0x610, 0x8, 0x46)))
                lines.append(format_record(Return(0, cpu, time_ns + 90, None, 0x6F0, 0x1F00)))
            lines.append(format_record(Return(0, cpu, time_ns + 400, None, 0x6F0, 0x1FD8)))
            lines.append(format_record(Delivery(0, "exception", cpu, time_ns + 500, None, 0x401000, 0x401000,
                                                0x3000, 0, 0, 0)))
            lines.append(format_record(Delivery(0, "interrupt", cpu, time_ns + 510, None, 0x401000, 0x500, 0x1FD0,
                                                0x6, 0x401000, 0x2B)))
            lines.append(format_record(Return(0, cpu, time_ns + 900, None, 0x5F0, 0x1FD8)))
    path.write_text("\n".join(lines[:records + 1]) + "\n")


def follow(path: Path) -> int:
    follower = TraceFollower(path)
    follower.learn_idt(IDT, ())
    follower.finish()
    return follower.plugin.stats.deliveries


def offline(path: Path) -> int:
    reader, pairing = TraceReader(), Pairing(IDT)
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            pairing.feed(reader.feed(chunk))
    return len(pairing.handled)


def measure(function, path: Path) -> tuple[float, int, int]:
    start = time.process_time()
    count = function(path)
    seconds = time.process_time() - start
    tracemalloc.start()
    function(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, count


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as directory:
        for size in (records // 4, records):
            path = Path(directory) / f"trace-{size}.txt"
            write(path, size)
            mib = path.stat().st_size / (1 << 20)
            for name, function in (("follower (run)", follow), ("offline (log)", offline)):
                seconds, peak, count = measure(function, path)
                print(f"{size:>9} records ({mib:.0f} MiB), {name:<15} {size / seconds:>10.0f} records/CPU s, "
                      f"peak {peak / (1 << 20):7.1f} MiB, {count} deliveries")


if __name__ == "__main__":
    main()
