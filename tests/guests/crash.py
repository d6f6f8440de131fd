"""Run one of long64's crash scenarios (10, 16-19) to its triple fault, QEMU left paused.

QEMU gets `-d int,cpu_reset -D LOG -no-reboot -action reboot=shutdown,shutdown=pause`:
the triple fault pauses the machine instead of resetting it, its final state stays
readable through the gdb stub, and the log holds "Triple fault". A real gdb stops
the guest at guest_ready, writes `scenario` and detaches (the guest runs on).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from shell.guests.build import GuestImage
from shell.guests.run import RunningGuest

CRASH_SCENARIOS = (10, 16, 17, 18, 19)
#: generous: a loaded 2-core machine runs two QEMUs and a gdb at once
TRIPLE_FAULT_TIMEOUT = 60.0


def crash_options(log: Path) -> list[str]:
    return ["-d", "int,cpu_reset", "-D", str(log), "-action", "reboot=shutdown,shutdown=pause"]


def start_scenario(guest: RunningGuest, image: GuestImage, scenario: int, gdb: str = "gdb") -> None:
    """Stop at guest_ready with ``gdb``, set ``scenario`` and detach: the guest runs it."""
    argv = [gdb, "-nx", "-batch", "-ex", f"target remote 127.0.0.1:{guest.port}",
            "-ex", f"symbol-file {image.elf}", "-ex", "hbreak guest_ready", "-ex", "continue",
            "-ex", f"set {{unsigned long long}}&scenario = {scenario}", "-ex", "delete", "-ex", "detach"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if "guest_ready" not in run.stdout:
        raise RuntimeError(f"gdb did not reach guest_ready:\n{run.stdout}\n{run.stderr}")


def wait_for_triple_fault(log: Path, timeout: float = TRIPLE_FAULT_TIMEOUT) -> float:
    """Seconds until the log holds QEMU's "Triple fault" line (RuntimeError after ``timeout``).
    It need not be the last line: another vCPU may log an interrupt of its own before the
    machine pauses."""
    start = time.monotonic()
    position = 0
    while time.monotonic() - start < timeout:
        if log.exists():
            with log.open("rb") as raw:
                raw.seek(max(0, position - 16))  # a line the last read cut is read whole again
                chunk = raw.read()
                position = raw.tell()
            if re.search(rb"^Triple fault$", chunk, re.M):
                return time.monotonic() - start
        time.sleep(0.02)
    raise RuntimeError(f"no triple fault in {log} within {timeout:.0f} s")
