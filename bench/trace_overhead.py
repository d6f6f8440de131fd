"""What watching interrupts costs a guest: a Linux boot under QEMU 11.1 with nothing, with
the idtscope trace plugin, with ``-d int``, and with both as `idtscope run` adds them (the
plugin and ``-d int,cpu_reset``, which the triple-fault chain needs).

The guest is the suite's Linux (tests/guests/linux.py: Debian's cloud kernel and a busybox
/init, two vCPUs, TCG) under the QEMU of the Debian sid root (tests/guests/newer.py). Each
run is timed from QEMU's start until /init has printed its symbols on COM1 (the end of the
boot). The modes run ROUNDS times each, interleaved, and the best time of each counts
(other work on the machine only ever adds time). It prints the boot times, each mode's
slowdown against the plain boot, and how many events each record holds (plugin: interrupt
and exception deliveries and IRETs; -d int: event lines) with its size.

Usage: python3 bench/trace_overhead.py [ROUNDS]     (default 3)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdbext.plugin.build import build_plugin  # noqa: E402
from shell.guests.run import free_port, qemu_command  # noqa: E402
from tests.guests import newer, plugin_header  # noqa: E402
from tests.guests.linux import SYMBOLS_END, linux_image  # noqa: E402

BOOT_TIMEOUT = 300.0


def boot_seconds(prefix: list[str], extra: list[str], directory: Path) -> float:
    image = linux_image()
    serial = directory / "serial.log"
    serial.unlink(missing_ok=True)
    argv = prefix + qemu_command(image, free_port(), extra=extra, serial_log=serial, stopped=False)[1:]
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while time.monotonic() - start < BOOT_TIMEOUT:
            if serial.exists() and SYMBOLS_END in serial.read_text(errors="replace"):
                return time.monotonic() - start
            if proc.poll() is not None:
                raise RuntimeError(f"QEMU exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
            time.sleep(0.02)
        raise RuntimeError(f"no boot within {BOOT_TIMEOUT:.0f} s")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    prefix = newer.qemu_prefix()
    library = build_plugin(prefix, header=plugin_header.derived())
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="trace-overhead-") as scratch:
        directory = Path(scratch)
        trace, log = directory / "trace.txt", directory / "int.log"
        modes = {"plain": [], "plugin": ["-plugin", f"{library},out={trace}"], "-d int": ["-d", "int", "-D", str(log)],
                 "run": ["-plugin", f"{library},out={directory / 'run.trace'}", "-d", "int,cpu_reset",
                         "-D", str(directory / "run.log")]}
        for _ in range(rounds):
            for name, extra in modes.items():
                seconds = boot_seconds(prefix, extra, directory)
                best[name] = min(best.get(name, seconds), seconds)
        text = trace.read_text(errors="replace")
        plugin_events = {tag: len(re.findall(rf"^{tag} ", text, flags=re.M)) for tag in "IER"}
        log_events = len(re.findall(rb"^ *\d+: v=", log.read_bytes(), flags=re.M))
        sizes = {"plugin": trace.stat().st_size, "-d int": log.stat().st_size}
    print(f"Linux boot (2 vCPUs, TCG) under QEMU {newer.versions()['qemu']}, best of {rounds}:")
    for name in modes:
        print(f"  {name:7} {best[name]:6.2f} s   x{best[name] / best['plain']:.2f}")
    print(f"  plugin stream: {plugin_events['I']} deliveries, {plugin_events['E']} raises, "
          f"{plugin_events['R']} IRETs, {sizes['plugin'] / 1e6:.1f} MB")
    print(f"  -d int log:    {log_events} events, {sizes['-d int'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
