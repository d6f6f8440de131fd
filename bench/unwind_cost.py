"""What idtscope's interrupt-frame unwinder costs a stop, and what `bt` at a handler entry takes.

Boots long64 and stops at guest_ready in gdb with idtscope sourced, then times
`stepi` RUNS times with the unwinder enabled and with it disabled (`disable
unwinder global idtscope-interrupt-frame`); every stop rebuilds frame #0, so
the difference is the unwinder's sniff (QEMU's `info registers` and one IDT
read, cached for the rest of the stop). Then, at the #PF handler's entry
(scenario 3), times `bt` with every per-stop cache dropped.
Prints medians in milliseconds.
Usage: .venv/bin/python bench/unwind_cost.py [RUNS]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/)
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402

SCRIPT = """
import statistics, time, gdb
from gdbext import gdb_entry

def median_ms(command, runs, before=None):
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        gdb.execute(command, to_string=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000

runs = {runs}
on = median_ms("stepi", runs)
gdb.execute("disable unwinder global idtscope-interrupt-frame", to_string=True)
off = median_ms("stepi", runs)
gdb.execute("enable unwinder global idtscope-interrupt-frame", to_string=True)
gdb.execute("set {{unsigned long long}}&scenario = 3")
gdb.execute("hbreak isr_pf", to_string=True)
gdb.execute("continue", to_string=True)

def fresh():
    gdb_entry._context.target.cache.clear()
    gdb.invalidate_cached_frames()

bt = median_ms("bt", runs, fresh)
print(f"stepi with the unwinder:    {{on:.1f}} ms (median of {{runs}})")
print(f"stepi without the unwinder: {{off:.1f}} ms")
print(f"bt at isr_pf's entry, caches dropped: {{bt:.1f}} ms")
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    image = build("long64")
    script = ROOT / "bench" / "out" / "unwind_cost_gdb.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(SCRIPT.format(runs=runs))
    with RunningGuest(image) as guest:
        run = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}",
                              "-ex", f"target remote 127.0.0.1:{guest.port}", "-ex", f"symbol-file {image.elf}",
                              "-ex", "hbreak guest_ready", "-ex", "continue", "-ex", "delete",
                              "-ex", f"source {script}"], capture_output=True, text=True, timeout=300)
    print("\n".join(line for line in run.stdout.splitlines() if " ms" in line) or run.stdout + run.stderr)


if __name__ == "__main__":
    main()
