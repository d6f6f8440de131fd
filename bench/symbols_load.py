"""Loading Debian's debug vmlinux as a symbol table, against `nm` on the same file.

Each run is a fresh process (as a one-shot `idtscope --symbols vmlinux -c ...` is):
the load runs `SymbolTable.load(FILE)` and one lookup; `nm FILE > /dev/null` is
the yardstick. Prints the median wall time of each, their ratio (goal <= 1.5) and
the load's peak resident memory (goal <= 200 MB), The file defaults to the vmlinux the live tests fetch
(tests/guests/linux.py, debug_vmlinux).

With ``--live``, also the whole one-shot the issue measured (3.5 s, 616 MB before):
``idtscope --attach HOST:PORT --symbols VMLINUX -c "idt 0x21"`` against Debian's kernel
booted with KASLR under TCG, wall time and peak memory of the idtscope process
(``/usr/bin/time``), median of RUNS.
Usage: .venv/bin/python bench/symbols_load.py [FILE] [RUNS] [--live]
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


def one_shot(path: Path, runs: int) -> None:
    import tempfile

    from tests.guests.linux import booted_linux

    with tempfile.TemporaryDirectory() as directory, \
            booted_linux(Path(directory), "amd64", kaslr=True) as (guest, _, _):
        argv = ["/usr/bin/time", "-f", "@@ %e %M", str(Path(sys.executable).parent / "idtscope"), "--attach",
                f"127.0.0.1:{guest.port}", "--symbols", str(path), "-c", "idt 0x21"]
        seconds, peaks, shown = [], [], ""
        for _ in range(runs):
            done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)
            wall_s, peak_kb = done.stderr.rsplit("@@ ", 1)[1].split()
            seconds.append(float(wall_s))
            peaks.append(int(peak_kb))
            shown = done.stdout.strip().splitlines()[-1]
    print(f"one-shot `idtscope --attach --symbols {path.name} -c 'idt 0x21'` on a KASLR boot:")
    print(f"  {shown}")
    print(f"  wall: {statistics.median(seconds) * 1000:7.1f} ms (median of {runs}), "
          f"peak memory: {max(peaks) / 1024:.1f} MB")


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--live"]
    sys.path.insert(0, str(ROOT))
    if args:
        path = Path(args[0])
    else:
        from tests.guests.linux import debug_vmlinux

        path = debug_vmlinux("amd64")
    runs = int(args[1]) if len(args) > 1 else 9
    measure(path, runs)
    if "--live" in sys.argv:
        one_shot(path, runs)


if __name__ == "__main__":
    main()
