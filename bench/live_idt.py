"""Cost of a full `idt` on a live guest (QEMU 7.2 under TCG, the long64 test guest).

Prints three figures:
1. the remote-protocol packets gdb sends for one `x86 idt` (goal: one monitor
   command + ceil(bytes / 2048) memory packets on QEMU 7.2);
2. wall time of `x86 idt` against a raw `x/512gx` of the same IDT in the same
   gdb, median of RUNS, idtscope's per-stop cache dropped before each run
   (goal: ratio <= 1.5);
3. wall time of `idtscope --attach HOST:PORT -c idt` against `gdb -batch`
   connecting and dumping the same bytes, median of RUNS (goal: ratio <= 1.3).

Usage: .venv/bin/python bench/live_idt.py [RUNS]
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.guests  # noqa: E402,F401  (builds into tests/guests/build/, finds prot32 and real16)
from shell.guests.build import build  # noqa: E402
from shell.guests.run import RunningGuest  # noqa: E402

GDB = ["gdb", "-nx", "-batch", "-ex", "set style enabled off", "-ex", "set pagination off"]


def gdb_session(port: int, elf: Path, commands: list[str]) -> subprocess.CompletedProcess:
    argv = GDB + ["-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}", "-ex", f"target remote 127.0.0.1:{port}",
                  "-ex", f"symbol-file {elf}"]
    for command in commands:
        argv += ["-ex", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def packets(port: int, elf: Path) -> list[str]:
    """What gdb sends for one `x86 idt`, from its remote log (debug output would be
    captured into the monitor text that idtscope reads with to_string)."""
    log = ROOT / "bench" / "out" / "remote.log"
    log.parent.mkdir(exist_ok=True)
    argv = GDB + ["-ex", f"source {ROOT / 'gdbext' / 'gdbinit.py'}", "-ex", f"set remotelogfile {log}",
                  "-ex", f"target remote 127.0.0.1:{port}", "-ex", f"symbol-file {elf}",
                  "-ex", "maint packet qIdtscopeMark", "-ex", "x86 idt", "-ex", "maint packet qIdtscopeMark"]
    subprocess.run(argv, capture_output=True, text=True, timeout=120)
    sent = re.findall(r"^w \+?\$([^#]*)#", log.read_text(errors="replace"), re.M)
    first, last = sent.index("qIdtscopeMark"), len(sent) - 1 - sent[::-1].index("qIdtscopeMark")
    return sent[first + 1:last]


def in_gdb_ratio(port: int, elf: Path, base: int, runs: int) -> tuple[float, float]:
    script = f"""
import time, statistics, gdb
from gdbext import gdb_entry
raw, ours = [], []
for _ in range({runs}):
    t = time.perf_counter(); gdb.execute("x/512gx {base:#x}", to_string=True); raw.append(time.perf_counter() - t)
    gdb_entry._core.target.cache.clear()
    t = time.perf_counter(); gdb.execute("x86 idt", to_string=True); ours.append(time.perf_counter() - t)
print("RESULT", statistics.median(raw), statistics.median(ours))
"""
    path = ROOT / "bench" / "out" / "in_gdb.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(script)
    run = gdb_session(port, elf, [f"source {path}"])
    match = re.search(r"RESULT (\S+) (\S+)", run.stdout)
    if not match:
        raise SystemExit(run.stdout + run.stderr)
    return float(match.group(1)), float(match.group(2))


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    subprocess.run([sys.executable, "-m", "compileall", "-q", "gdbext", "shell"], check=True, cwd=ROOT)
    image = build("long64")
    base = image.layout["idt"]["base"]
    size = image.layout["idt"]["limit"] + 1
    with RunningGuest(image) as guest:
        gdb_session(guest.port, image.elf, ["tbreak guest_ready", "continue"])
        sent = packets(guest.port, image.elf)
        memory = [p for p in sent if p.startswith("m")]
        monitor = [p for p in sent if p.startswith("qRcmd")]
        others = [p for p in sent if not p.startswith(("qRcmd", "m"))]
        print(
            f"packets for one `x86 idt`: {len(sent)} in all: {len(monitor)} monitor command(s), "
            f"{len(memory)} memory read(s) {memory}, other: {others}; "
            f"goal: 1 + ceil({size}/2048) = {1 + -(-size // 2048)}"
        )
        raw, ours = in_gdb_ratio(guest.port, image.elf, base, runs)
        print(
            f"in gdb: x/512gx {raw * 1000:.1f} ms, x86 idt {ours * 1000:.1f} ms, ratio {ours / raw:.2f} (goal <= 1.5)"
        )
        shell = [sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{guest.port}", "-c", "idt"]
        plain = GDB + ["-ex", f"target remote 127.0.0.1:{guest.port}", "-ex", f"x/512gx {base:#x}"]
        wall(shell)
        shell_times, plain_times = [], []
        for _ in range(runs):
            shell_times.append(wall(shell))
            plain_times.append(wall(plain))
        a, b = statistics.median(shell_times), statistics.median(plain_times)
        print(f"one-shot: idtscope --attach -c idt {a * 1000:.0f} ms, gdb -batch x/512gx {b * 1000:.0f} ms, "
              f"ratio {a / b:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
