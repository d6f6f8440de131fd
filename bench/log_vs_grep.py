"""`log FILE` against `grep -c ': v=' FILE` on a 200 MB QEMU -d int log.

The log repeats the events of tests/fixtures/intlog/events64.log (real QEMU 7.2
output with its register dumps; bench/log_throughput.py's build_log) up to SIZE MB.
Each of `idtscope -c "log FILE"` (the whole process, as a user runs it) and
`grep -c ': v=' FILE` runs ROUNDS times, alternating, on a file already in the page
cache; the best wall time of each counts (other work only ever adds time). The goal:
`log` within twice grep's time.

`log` is timed with no bytecode cache for the project (its __pycache__ directories
removed, PYTHONDONTWRITEBYTECODE=1, as this machine's sessions run: each run compiles the
project modules it imports), then as Python runs by default, with that bytecode cached
(compileall writes it).
Usage: .venv/bin/python bench/log_vs_grep.py [SIZE_MB [ROUNDS]]   (the file is deleted afterwards)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from log_throughput import FIXTURE, build_log  # noqa: E402


def best(argv: list[str], rounds: int, env: dict[str, str] | None = None) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(rounds):
        start = time.perf_counter()
        run = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if run.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed: {run.stderr}")
        out = run.stdout
    return min(times), out


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    text = FIXTURE.read_text()
    body = text[text.index("check_exception"):]
    events_per_mb = body.count(": v=") * (1 << 20) / len(body)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "big.log"
        events = build_log(path, int(size_mb * events_per_mb))
        size = path.stat().st_size
        path.read_bytes()  # into the page cache for both
        log = [sys.executable, "-m", "shell", "-c", f"log {path} --json"]
        packages = [ROOT / "gdbext", ROOT / "shell"]
        for cache in [cache for package in packages for cache in package.rglob("__pycache__")]:
            shutil.rmtree(cache)
        cached = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        grep_time, grep_out = best(["grep", "-c", ": v=", str(path)], rounds)
        uncached_time, _ = best(log, rounds, dict(cached, PYTHONDONTWRITEBYTECODE="1"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, packages)], check=True, env=cached)
        log_time, _ = best(log, rounds, cached)
    print(f"log file: {size / 1e6:.0f} MB, {events} events (grep counted {grep_out.strip()} lines)")
    print(f"grep -c ': v=':  {grep_time:6.2f} s")
    print(f"idtscope log:    {log_time:6.2f} s   ({log_time / grep_time:.2f}x grep; goal <= 2x)")
    print(f"  no bytecode cache: {uncached_time:6.2f} s   ({uncached_time / grep_time:.2f}x grep)")


if __name__ == "__main__":
    main()
