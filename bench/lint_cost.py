"""Cost of one `x86 lint` on live guests of each kind (QEMU 7.2 under TCG).

For each guest (long64: a kernel with user mode and IST stacks; its ring0
variant: a ring-0 program; prot32's pae variant: 32-bit PAE), prints:
1. the remote-protocol packets gdb sends for one `x86 lint` with a cold
   cache: memory reads (`m`), monitor commands (`qRcmd`) and all packets;
2. the wall time of `x86 lint` in gdb, median of RUNS, idtscope's per-stop
   cache dropped before each run.

Usage: .venv/bin/python bench/lint_cost.py [RUNS]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/, finds prot32 and real16)
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402

GDB = ["gdb", "-nx", "-batch", "-ex", "set style enabled off", "-ex", "set pagination off"]
GUESTS = (("long64", None, 2), ("long64", "ring0", 2), ("prot32", "pae", 1))
MARK = "qIdtscopeMark"


def gdb(port: int, elf: Path, ready: str, commands: list[str], log: Path | None = None) -> str:
    argv = GDB + ["-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}", "-ex", "set architecture i386:x86-64"]
    if log is not None:
        argv += ["-ex", f"set remotelogfile {log}"]
    argv += ["-ex", f"target remote 127.0.0.1:{port}", "-ex", f"symbol-file {elf}",
                  "-ex", f"tbreak {ready}", "-ex", "continue"]
    for command in commands:
        argv += ["-ex", command]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    return run.stdout + run.stderr


def packets(port: int, elf: Path, ready: str, out: Path) -> list[str]:
    log = out / "lint-remote.log"
    gdb(port, elf, ready, [f"maint packet {MARK}", "x86 lint", f"maint packet {MARK}"], log)
    sent = re.findall(r"^w \+?\$([^#]*)#", log.read_text(errors="replace"), re.M)
    first, last = sent.index(MARK), len(sent) - 1 - sent[::-1].index(MARK)
    return sent[first + 1:last]


def timed(port: int, elf: Path, ready: str, runs: int, out: Path) -> float:
    script = out / "lint-timed.py"
    script.write_text(f"""
import statistics, time, gdb
from gdbext import gdb_entry
times = []
for _ in range({runs}):
    gdb_entry._core.target.cache.clear()
    start = time.perf_counter(); gdb.execute("x86 lint", to_string=True); times.append(time.perf_counter() - start)
print("RESULT", statistics.median(times))
""")
    text = gdb(port, elf, ready, [f"source {script}"])
    match = re.search(r"RESULT (\S+)", text)
    if not match:
        raise SystemExit(text)
    return float(match.group(1))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    for name, variant, smp in GUESTS:
        image = build(name, variant)
        ready = image.layout["symbols"]["ready"]
        with RunningGuest(image, smp=smp) as guest:
            sent = packets(guest.port, image.elf, ready, out)
        with RunningGuest(image, smp=smp) as guest:
            seconds = timed(guest.port, image.elf, ready, runs, out)
        reads = sum(1 for p in sent if p.startswith("m"))
        monitor = sum(1 for p in sent if p.startswith("qRcmd"))
        label = name + (f"-{variant}" if variant else "")
        print(f"{label:14} x86 lint: {reads} memory reads, {monitor} monitor commands, {len(sent)} packets; "
              f"{seconds * 1000:.0f} ms (median of {runs}, cold cache)")


if __name__ == "__main__":
    main()
