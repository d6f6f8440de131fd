"""Throughput and memory of `log` on a large QEMU -d int log.

Builds logs of about SMALL and LARGE events (default 1 and 5 million) by
repeating the events part of tests/fixtures/intlog/events64.log (real QEMU 7.2
output: exceptions, INT n and timer IRQs with their register dumps), then, each
in a fresh process:
  - decodes it the way `log FILE` does (1 MiB chunks, LogAnalysis),
  - runs a bare `for line in f: pass` over the same file (text mode),
and prints events/s, the ratio of the two CPU times (the goal is <= 3) and each
decoder's peak resident memory (VmHWM), which should not grow with the file.
Each pair runs ROUNDS times, alternating, and the best CPU time of each counts
(other work on the machine only ever adds time).

Usage: python3 bench/log_throughput.py [LARGE [SMALL [ROUNDS]]]   (needs ~1.4 GB
of /tmp per million events; the files are deleted afterwards)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "intlog" / "events64.log"
BLOCK_BYTES = 64 << 20


def build_log(path: Path, events: int) -> int:
    """Write at least ``events`` events by repeating the fixture's events; return the count."""
    text = FIXTURE.read_text()
    body = text[text.index("check_exception"):]
    per_body = body.count(": v=")
    repeats = -(-events // per_body)
    block_repeats = max(1, BLOCK_BYTES // len(body))
    with path.open("w") as out:
        written = 0
        while written < repeats:
            count = min(block_repeats, repeats - written)
            out.write(body * count)
            written += count
    return repeats * per_body


def child(mode: str, path: str) -> None:
    """Run in a fresh process: decode or bare-loop ``path``, print figures as JSON."""
    sys.path.insert(0, str(ROOT))
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    events = None
    if mode == "decode":
        from gdbext.commands.log import read_log
        from gdbext.model.intlog import LogAnalysis

        analysis = LogAnalysis()
        read_log(Path(path), analysis, sys.stderr)
        events = analysis.report().total_events
    else:
        with open(path) as lines:
            for _ in lines:
                pass
    print(json.dumps({
        "cpu": time.process_time() - start_cpu,
        "wall": time.perf_counter() - start_wall,
        "events": events,
        "peak_kib": peak_memory_kib(),
    }))


def peak_memory_kib() -> int:
    """VmHWM: this process's peak resident set (unlike ru_maxrss, not inherited through fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def measure(mode: str, path: Path) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], check=True, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL)
    return json.loads(run.stdout)


def report(label: str, path: Path, expected: int, rounds: int) -> dict:
    bare = decode = None
    for _ in range(rounds):
        bare = min(bare or {"cpu": float("inf")}, measure("bare", path), key=lambda run: run["cpu"])
        decode = min(decode or {"cpu": float("inf")}, measure("decode", path), key=lambda run: run["cpu"])
        assert decode["events"] == expected, (decode["events"], expected)
    size = path.stat().st_size
    print(f"{label}: {expected:,} events, {size / 1e9:.2f} GB, best of {rounds}")
    print(f"  decode   {decode['cpu']:7.1f} s CPU ({decode['wall']:.1f} s wall)  "
          f"{expected / decode['cpu']:,.0f} events/s  {size / decode['cpu'] / 1e6:.0f} MB/s  "
          f"peak memory {decode['peak_kib'] / 1024:.0f} MiB")
    print(f"  bare     {bare['cpu']:7.1f} s CPU ({bare['wall']:.1f} s wall)  `for line in f: pass`  "
          f"peak memory {bare['peak_kib'] / 1024:.0f} MiB")
    print(f"  ratio    {decode['cpu'] / bare['cpu']:.2f} (CPU time, decode / bare loop; goal <= 3)")
    return decode


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    large = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    small = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    with tempfile.TemporaryDirectory(prefix="idtscope-bench-") as directory:
        results = []
        for label, events in (("small", small), ("large", large)):
            path = Path(directory) / f"{label}.log"
            expected = build_log(path, events)
            results.append(report(label, path, expected, rounds))
            path.unlink()
    growth = results[1]["peak_kib"] / results[0]["peak_kib"]
    print(f"decoder peak memory large/small: {growth:.2f} (flat memory: close to 1)")


if __name__ == "__main__":
    main()
