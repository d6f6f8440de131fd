"""Delay from a triple fault to its post-mortem on screen.

Boots long64 with -d int,cpu_reset -no-reboot -action reboot=shutdown,shutdown=pause,
runs a crash scenario (default 18: stack overflow, #DF without IST), and measures:
- detect: from gdb's detach (the guest runs the scenario) to the log's "Triple fault" line (polled every 20 ms);
- live: `idtscope --attach HOST:PORT -c "why --log LOG"` at the paused machine, whole process;
- offline: `idtscope --snapshot S -c "why --log LOG"`, whole process.
Prints the median of RUNS for live and offline.
Usage: .venv/bin/python bench/postmortem.py [RUNS] [SCENARIO]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/)
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402
from tests.guests.crash import crash_options, start_scenario, wait_for_triple_fault  # noqa: E402


def timed(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {run.stderr}")
    return elapsed, run.stdout


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    scenario = int(sys.argv[2]) if len(sys.argv) > 2 else 18
    image = build("long64")
    idtscope = [sys.executable, "-m", "shell"]
    with tempfile.TemporaryDirectory() as tmp:
        log, snap = Path(tmp) / "qemu.log", Path(tmp) / "crash.snap"
        with RunningGuest(image, extra=crash_options(log)) as guest:
            start_scenario(guest, image, scenario)
            detect = wait_for_triple_fault(log)
            attach = [*idtscope, "--attach", f"127.0.0.1:{guest.port}", "--symbols", str(image.elf)]
            live = [timed([*attach, "-c", f"why --log {log}"]) for _ in range(runs)]
            timed([*attach, "-c", f"snapshot save {snap}"])
        offline = [timed([*idtscope, "--snapshot", str(snap), "-c", f"why --log {log}"]) for _ in range(runs)]
        size = log.stat().st_size
    print(live[0][1])
    print(f"scenario {scenario}, log {size / 1e6:.2f} MB, {runs} runs")
    print(f"the log holds 'Triple fault' {detect * 1000:.0f} ms after gdb's detach returned")
    print(f"live    why (one-shot attach, whole process): median {statistics.median(t for t, _ in live) * 1000:.0f} ms")
    offline_ms = statistics.median(t for t, _ in offline) * 1000
    print(f"offline why (snapshot, whole process):        median {offline_ms:.0f} ms")


if __name__ == "__main__":
    main()
