"""Time from a stop at a handler's entry to the decoded, explained frame.

Stops the long64 guest at its #PF handler (scenario 2: a user write to a
not-present page, the case with a page walk), then measures, with every
per-stop cache dropped before each run:
- in gdb: `x86 frame` (what a breakpoint hit computes and prints);
- in the shell (MI): `frame`.
Prints the median of RUNS (goal: <= 50 ms).
Usage: .venv/bin/python bench/stop_report.py [RUNS]
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/, finds prot32 and real16)
from gdbext.symbols import SymbolTable  # noqa: E402
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402
from shell.session import Session  # noqa: E402


def in_gdb(image, runs: int) -> float:
    scenario = SymbolTable.load(image.elf).address_of("scenario")
    script = ROOT / "bench" / "out" / "stop_report_gdb.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"""
import time, statistics, gdb
from gdbext import gdb_entry
times = []
for _ in range({runs}):
    gdb_entry._core.target.cache.clear()
    t = time.perf_counter(); gdb.execute("x86 frame", to_string=True); times.append(time.perf_counter() - t)
print("RESULT", statistics.median(times))
""")
    with RunningGuest(image) as guest:
        run = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}",
                              "-ex", f"target remote 127.0.0.1:{guest.port}", "-ex", f"symbol-file {image.elf}",
                              "-ex", "tbreak guest_ready", "-ex", "continue", "-ex", "x86 break 14",
                              "-ex", f"set {{long long}}{scenario:#x} = 2", "-ex", "continue",
                              "-ex", f"source {script}"], capture_output=True, text=True, timeout=120)
    match = re.search(r"RESULT (\S+)", run.stdout)
    if not match:
        raise SystemExit(run.stdout + run.stderr)
    return float(match.group(1))


def in_shell(image, runs: int) -> float:
    scenario = SymbolTable.load(image.elf).address_of("scenario")
    with RunningGuest(image) as guest:
        session = Session()
        session.run(f"attach 127.0.0.1:{guest.port}")
        session.run(f"symbols {image.elf}")
        session.run("gdb tbreak guest_ready")
        session.run("continue 60")
        session.run("break 14")
        session.run(f"gdb set {{long long}}{scenario:#x} = 2")
        session.run("continue 60")
        times = []
        for _ in range(runs):
            session.context.target.cache.clear()
            start = time.perf_counter()
            session.run("frame")
            times.append(time.perf_counter() - start)
        session.close()
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    image = build("long64")
    print(f"stop -> decoded #PF frame with page walk, median of {runs}:")
    print(f"  in gdb (x86 frame): {in_gdb(image, runs) * 1000:.1f} ms (goal <= 50)")
    print(f"  in the shell (frame over MI): {in_shell(image, runs) * 1000:.1f} ms (goal <= 50)")


if __name__ == "__main__":
    main()
