"""Seconds and peak memory of `idtscope --attach STUB -c idt` against each misbehaving stub of
tests/unit/test_rsp.py (a real Linux guest's state served by a loopback stand-in), and against
the well-behaved stub for comparison.

Usage: .venv/bin/python bench/hostile_stub.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.unit.rsp_stub import StubServer  # noqa: E402
from tests.unit.test_rsp import HOSTILE, SNAPSHOT, idtscope  # noqa: E402


def main() -> None:
    cases = [("well-behaved", None)] + [(name, misbehave) for name, (misbehave, _) in HOSTILE.items()]
    worst_time = worst_memory = 0.0
    for name, misbehave in cases:
        with StubServer(str(SNAPSHOT), misbehave) as stub:
            status, _, err, seconds, peak = idtscope("--attach", stub.address, "-c", "idt")
        lines = len(err.strip().splitlines())
        print(f"{name:34} exit {status}  {seconds:5.2f} s  peak {peak / 1024:5.1f} MB  {lines} stderr line(s)",
              flush=True)
        worst_time, worst_memory = max(worst_time, seconds), max(worst_memory, peak / 1024)
    print(f"worst: {worst_time:.2f} s, {worst_memory:.1f} MB over {len(cases)} stubs")


if __name__ == "__main__":
    main()
