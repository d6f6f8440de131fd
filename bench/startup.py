"""Start-up cost of an offline command against a bare interpreter.

Runs `idtscope -c "decode pf 0x6"` (the console script the install made)
and `python3 -c pass` with the same interpreter, alternating, and prints the median wall time of each and their
ratio (the goal is <= 3). Usage: .venv/bin/python bench/startup.py [RUNS]

The package is byte-compiled first, as an ordinary install leaves it (a
PYTHONDONTWRITEBYTECODE environment would otherwise recompile every module on
every start and measure the compiler instead).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    subprocess.run([sys.executable, "-m", "compileall", "-q", "gdbext", "shell"], check=True, cwd=ROOT)
    tool = [str(Path(sys.executable).parent / "idtscope"), "-c", "decode pf 0x6"]
    bare = [sys.executable, "-c", "pass"]
    wall(tool)
    tool_times, bare_times = [], []
    for _ in range(runs):
        tool_times.append(wall(tool))
        bare_times.append(wall(bare))
    tool_ms = statistics.median(tool_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    print(f"idtscope -c 'decode pf 0x6': {tool_ms:.1f} ms (median of {runs})")
    print(f"python3 -c pass:             {bare_ms:.1f} ms")
    print(f"ratio: {tool_ms / bare_ms:.2f} (goal <= 3)")


if __name__ == "__main__":
    main()
