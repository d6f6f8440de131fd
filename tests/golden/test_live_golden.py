"""Golden texts and JSON of the commands that read a guest, on the snapshot fixtures.

Each fixture of tests/fixtures/snapshots/ (saved from a real guest by make.py
there) is opened offline and each command's text and `--json` document is
compared, byte for byte, with tests/golden/snapshots/FIXTURE/NAME.txt and
NAME.json. `walk` goes to the addresses of walks.json (a handler's and a user
address), `frame` runs where the fixture stopped at a handler's entry. To accept
a deliberate change, run with IDTSCOPE_UPDATE_GOLDEN=1 and review the diff.
"""

from pathlib import Path

import pytest

from shell.session import Session
from tests.golden.test_offline_golden import assert_golden, golden_name
from tests.unit.snapshot_fixtures import AT_A_HIT, SNAPSHOTS, WALKS

HERE = Path(__file__).parent / "snapshots"
COMMANDS = ["idt", "gdt", "tss", "ist", "lapic", "ioapic", "pic", "lint"]
CASES = [(fixture, command) for fixture in sorted(WALKS)
         for command in COMMANDS + [f"walk {walk}" for walk in WALKS[fixture]]
         + (["frame"] if fixture in AT_A_HIT else [])]


@pytest.mark.parametrize("fixture, command", CASES)
def test_snapshot_golden(fixture, command):
    session = Session()
    session.open_snapshot(str(SNAPSHOTS / f"{fixture}.json"))
    name = golden_name(command).removesuffix(".txt")
    assert_golden(HERE / fixture / f"{name}.txt", session.run(command) + "\n")
    assert_golden(HERE / fixture / f"{name}.json", session.run(f"{command} --json") + "\n")
