"""docs/tutorial.md shows real output, and keeps showing it.

The tutorial pastes what commands printed on the demo guest (long64). The
snapshot fixtures hold the same guest at the same stops: long64 at guest_ready,
long64-pf at the #PF of scenario 2. Each pasted block of a command that reads
those stops, and of the offline `decode`, must equal what the command prints on
them now (the snapshot's first line, which names the file, aside). Blocks with
lines left out (`...`) and commands whose output depends on time or on running
the guest (lapic counters, stepi, continue) are not compared.
"""

from pathlib import Path

import pytest

from shell.session import Session
from tests.unit.snapshot_fixtures import SNAPSHOTS

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
#: command -> the fixture whose stop the tutorial shows it at (None: offline)
COMPARED = {"idt 0x40": "long64", "gdt": "long64", "idt 14": "long64", "tss": "long64", "idt 8": "long64",
            "ist": "long64-pf", "decode pf 0x6": None}
#: the stop report `continue` printed at the #PF, which `frame` prints on the fixture
PF_STOP = "breakpoint 1, vector 0x0e: hit 1, matched 1\n"


def pasted() -> dict[str, str]:
    """Command -> the output pasted under its `idtscope> ` prompt (the first time it appears)."""
    outputs: dict[str, str] = {}
    command, in_block = None, False
    for line in TUTORIAL.read_text().splitlines():
        if line.startswith("```"):
            in_block, command = not in_block, None
        elif in_block and line.startswith("idtscope> "):
            command = line.removeprefix("idtscope> ")
            first = command not in outputs
            outputs.setdefault(command, "")
        elif in_block and command is not None and first:
            outputs[command] += line + "\n"
    return outputs


def printed(fixture: str | None, command: str) -> str:
    session = Session()
    if fixture is None:
        return session.run(command) + "\n"
    session.open_snapshot(str(SNAPSHOTS / f"{fixture}.json"))
    text = session.run(command)
    assert text.startswith(f"(snapshot {fixture}.json)\n")
    return text.split("\n", 1)[1] + "\n"


@pytest.mark.parametrize("command", sorted(COMPARED))
def test_pasted_output_is_what_the_command_prints(command):
    output = pasted()[command]
    assert "..." not in output
    assert output == printed(COMPARED[command], command)


def test_the_page_fault_stop_is_what_frame_prints():
    output = pasted()["continue 20"]
    assert PF_STOP in output
    assert output.split(PF_STOP, 1)[1] == printed("long64-pf", "frame")
