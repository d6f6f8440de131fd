"""Does the log follower keep up with QEMU on a Linux boot?

Boots the test suite's Debian Linux (tests/guests/linux.py, 2 vCPUs, TCG) with
-d int,cpu_reset -D LOG and follows LOG with gdbext.follow.LogFollower, polling every
POLL seconds as `idtscope run` does while a `continue` waits with catchpoints set. For
SECONDS it records, at each poll, how far the follower is behind the file (bytes not yet
read right after the poll), and the CPU time the follower spent. Prints the log's growth
rate, the follower's throughput (bytes per CPU second), its share of one core, the worst
lag, the follower's peak memory growth (VmHWM) and that its event count matches the
event lines of the log it read.
Usage: .venv/bin/python bench/follow_linux.py [SECONDS]
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdbext.follow import LogFollower  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402
from tests.guests.linux import linux_image  # noqa: E402

POLL = 0.05


def peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM (Linux only)")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    image = linux_image("amd64")
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "qemu.log"
        follower = LogFollower(log)
        worst_lag = 0
        cpu = 0.0
        start_peak = peak_kib()
        with RunningGuest(image, extra=["-d", "int,cpu_reset", "-D", str(log)], stopped=False):
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                before = time.process_time()
                follower.poll()
                cpu += time.process_time() - before
                worst_lag = max(worst_lag, log.stat().st_size - follower.offset if log.exists() else 0)
                time.sleep(POLL)
            elapsed = time.monotonic() - start
        before = time.process_time()
        follower.finish()
        cpu += time.process_time() - before
        grown = peak_kib() - start_peak
        size = follower.offset
        text = log.read_bytes()[:size].decode(errors="replace")
        lines = len(re.findall(r"^ *\d+: v=[0-9a-f]{2} ", text, flags=re.M))
    total = follower.stream.total
    print(f"Linux boot, {elapsed:.0f} s under TCG: log {size / 1e6:.1f} MB ({size / elapsed / 1e6:.2f} MB/s), "
          f"{total} events ({'matches' if total == lines else 'DIFFERS FROM'} the log's {lines} event lines)")
    print(f"follower: {cpu:.2f} s CPU ({cpu / elapsed * 100:.1f}% of one core), "
          f"{size / max(cpu, 1e-9) / 1e6:.0f} MB per CPU second")
    print(f"worst lag right after a poll: {worst_lag} bytes; peak memory grew {grown} KiB while following")


if __name__ == "__main__":
    main()
