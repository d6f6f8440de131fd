"""Loading Debian's debug vmlinux as a symbol table, against `nm` on the same file.

Each run is a fresh process (as a one-shot `idtscope --symbols vmlinux -c ...` is):
the load runs `SymbolTable.load(FILE)` and one lookup; `nm FILE > /dev/null` is
the yardstick. Prints the median wall time of each, their ratio (goal <= 1.5) and
the load's peak resident memory (goal <= 200 MB), The file defaults to the vmlinux the live tests fetch
(tests/guests/linux.py, debug_vmlinux).
Usage: .venv/bin/python bench/symbols_load.py [FILE] [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = ("import sys, resource; sys.path.insert(0, sys.argv[2]); from gdbext.symbols import SymbolTable;"
        "table = SymbolTable.load(sys.argv[1]); table.lookup(table.address_of('asm_exc_page_fault') or 0);"
        "print(len(table), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def wall(argv: list[str], keep: bool = False) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, stdout=subprocess.PIPE if keep else subprocess.DEVNULL, text=True,
                          cwd=ROOT)
    return time.perf_counter() - start, done.stdout or ""


def measure(path: Path, runs: int) -> None:
    nm = ["nm", str(path)]
    load = [sys.executable, "-c", LOAD, str(path), str(ROOT)]
    wall(nm)
    wall(load)
    nm_times, load_times, peaks = [], [], []
    for _ in range(runs):
        nm_times.append(wall(nm)[0])
        seconds, out = wall(load, keep=True)
        load_times.append(seconds)
        count, peak_kb = out.split()
        peaks.append(int(peak_kb))
    nm_ms, load_ms = statistics.median(nm_times) * 1000, statistics.median(load_times) * 1000
    print(f"{path.name} ({path.stat().st_size >> 20} MB, {count} symbols kept)")
    print(f"  nm:                {nm_ms:7.1f} ms (median of {runs})")
    print(f"  SymbolTable.load:  {load_ms:7.1f} ms, interpreter start included")
    print(f"  ratio to nm:       {load_ms / nm_ms:7.2f} (goal <= 1.5)")
    print(f"  peak memory:       {max(peaks) / 1024:7.1f} MB (goal <= 200)")


def main() -> None:
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        sys.path.insert(0, str(ROOT))
        from tests.guests.linux import debug_vmlinux

        path = debug_vmlinux("amd64")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    measure(path, runs)


if __name__ == "__main__":
    main()
