"""Time to the first named `idt` of a Linux guest with no symbol file: its kallsyms read
from guest memory (QEMU 7.2 under TCG, Debian's 6.1 kernel, KASLR on).

Each run is a fresh Python process doing what a one-shot run does: attach to
QEMU's gdbstub directly (RspTarget.attach), read the kernel's kallsyms tables
(read_guest_kallsyms), load them, and print `idt` with its handler names. It
prints the median wall time of the whole process (goal: under 2 s), the
median time inside it from attach to the printed table, the kallsyms read
alone, and the gdbstub packets and bytes that read took.

Usage: .venv/bin/python bench/kallsyms_read.py [RUNS] [amd64|i386]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.guests.linux import booted_linux  # noqa: E402

ONE_SHOT = """
import json, sys, time
started = time.perf_counter()
from gdbext.machine.kallsyms import read_guest_kallsyms
from shell.session import Session
imported = time.perf_counter()
session = Session()
session.attach_direct(sys.argv[1])
target = session.context.target
connection = target.connection
sent = {"packets": 0, "memory_packets": 0, "bytes": 0}
request = connection.request
def counted(payload):
    reply = request(payload)
    sent["packets"] += 1
    if payload.startswith("m"):
        sent["memory_packets"] += 1
        sent["bytes"] += len(reply) // 2
    return reply
connection.request = counted
attached = time.perf_counter()
table = read_guest_kallsyms(target)
target.load_symbols(table)
read = time.perf_counter()
packets = dict(sent)
text = session.run("idt")
shown = time.perf_counter()
session.close()
print(json.dumps({"imports": imported - started, "to_idt": shown - imported, "kallsyms": read - attached,
                  "symbols": len(table), "named": "asm_exc_page_fault" in text or "exc_page_fault" in text,
                  **packets}))
"""


def one_run(port: int) -> tuple[float, dict]:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", ONE_SHOT, f"127.0.0.1:{port}"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(run.stderr)
    return wall, json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    arch = sys.argv[2] if len(sys.argv) > 2 else "amd64"
    subprocess.run([sys.executable, "-m", "compileall", "-q", "gdbext", "shell"], check=True, cwd=ROOT)
    with booted_linux(Path(tempfile.mkdtemp()), arch, kaslr=True) as (guest, _, _):
        results = [one_run(guest.port) for _ in range(runs)]
    walls = [wall for wall, _ in results]
    inside = [result for _, result in results]
    if not all(result["named"] for result in inside):
        raise SystemExit("idt printed no handler names: the kallsyms symbols did not resolve")

    def median(key: str) -> float:
        return statistics.median(result[key] for result in inside) * 1000

    last = inside[-1]
    print(f"Debian {arch} Linux 6.1 under TCG, KASLR on, {last['symbols']} code and data symbols "
          f"(median of {runs} one-shot processes)")
    print(f"process start to named idt: {statistics.median(walls) * 1000:.0f} ms (goal < 2000 ms)")
    print(f"  imports:                  {median('imports'):.0f} ms")
    print(f"  attach to printed idt:    {median('to_idt'):.0f} ms")
    print(f"  kallsyms located + read:  {median('kallsyms'):.0f} ms")
    print(f"kallsyms read: {last['packets']} packets, {last['memory_packets']} memory reads, "
          f"{last['bytes'] / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
