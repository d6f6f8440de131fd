"""Golden texts of the offline commands: what a user sees, byte for byte.

Each case is a command line and a file in tests/golden/offline/. To accept a
deliberate change of rendering, run with IDTSCOPE_UPDATE_GOLDEN=1 and review
the diff before committing.
"""

import os
import re
from pathlib import Path

import pytest

from shell.session import Session

HERE = Path(__file__).parent / "offline"
CASES = [
    "explain 14",
    "explain #DF",
    "explain 0x21",
    "explain 0x80",
    "vectors --exceptions",
    "vectors --error-code",
    "decode pf 0x6",
    "decode pf 0x15",
    "decode selector 0x1a",
    "decode selector 0x2c",
    "decode cp 3",
    "decode rflags 0x3246",
    "decode cr0 0x80050033",
    "decode cr4 0x3506f0",
    "decode efer 0xd01",
    "decode gate 0x81a08e0000100b10 0xffffffff --mode 64 --first 14",
    "decode gate 0x0000850000280000 0x00008e0000081000 --mode 32 --first 8",
    "decode gate 53ff00f0 a5fe00f0 --mode 16",
    "decode tss @tests/golden/tss64.hex --mode 64 --port 0x3f8",
    "decode desc 0x0 0x00af9b000000ffff 0x00cf93000000ffff 0x00affb000000ffff 0x00008b1000000067 0x0",
    "decode frame 0x6 0x401000 0x2b 0x246 0x7ffff000 0x23 --mode 64 --vector 14",
    "decode frame 0x1a 0x401000 0x2b 0x246 0x7ffff000 0x23 --mode 64 --vector 13",
    "decode frame 0x101000 0x08 0x202 --mode 32 --vector 3",
]


def golden_name(command: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_")[:80] + ".txt"


def assert_golden(path: Path, text: str) -> None:
    """``text`` equals the golden file at ``path`` (IDTSCOPE_UPDATE_GOLDEN=1 rewrites it first)."""
    if os.environ.get("IDTSCOPE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}; run with IDTSCOPE_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text()


@pytest.mark.parametrize("command", CASES)
def test_golden(command):
    assert_golden(HERE / golden_name(command), Session().run(command) + "\n")
