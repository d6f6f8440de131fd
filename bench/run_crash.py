"""Delay from a triple fault to its post-mortem on screen under `idtscope run`.

Runs `idtscope run` on long64 (as tests/live/test_run_live.py does): stop at guest_ready,
set the crash scenario (default 18: kernel stack overflow into a guard page), `continue`.
A thread polls QEMU's log every 5 ms for its line "Triple fault"; the delay is from
then to the moment `why`'s "cause:" line reaches idtscope's stdout (the catch watcher's
poll, gdb's stop, the log read again, the tables, the disassembly and the lint). Prints
each run and the median.
Usage: .venv/bin/python bench/run_crash.py [RUNS [SCENARIO]]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shell.guests.build import build  # noqa: E402

POLL = 0.005


def one_run(scenario: int, directory: Path) -> float:
    image = build("long64")
    log = directory / "qemu.log"
    log.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "shell", "run", "--no-color", "--serial", str(directory / "serial.txt"),
            "--symbols", str(image.elf), "--session-log", str(log),
            "-c", "gdb hbreak guest_ready", "-c", "continue", "-c", "gdb delete",
            "-c", f"gdb set {{unsigned long long}}&scenario = {scenario}", "-c", "continue",
            "--", "qemu-system-x86_64", "-accel", "tcg", "-display", "none", "-smp", "2", "-m", "128M",
            "-kernel", str(image.kernel)]
    seen: dict[str, float] = {}

    def watch_log() -> None:
        while "shown" not in seen:
            if log.exists() and b"\nTriple fault\n" in log.read_bytes():
                seen["triple"] = time.perf_counter()
                return
            time.sleep(POLL)

    watcher = threading.Thread(target=watch_log)
    watcher.start()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    for line in proc.stdout:
        if line.startswith("cause:"):
            seen["shown"] = time.perf_counter()
    proc.wait()
    watcher.join()
    if "triple" not in seen or "shown" not in seen:
        raise SystemExit(f"no triple fault or no post-mortem (seen: {sorted(seen)})")
    return seen["shown"] - seen["triple"]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    scenario = int(sys.argv[2]) if len(sys.argv) > 2 else 18
    delays = []
    with tempfile.TemporaryDirectory() as directory:
        for run in range(runs):
            delays.append(one_run(scenario, Path(directory)))
            print(f"run {run + 1}: triple fault -> post-mortem on screen {delays[-1] * 1000:.0f} ms")
    print(f"scenario {scenario}, median of {runs}: {statistics.median(delays) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
