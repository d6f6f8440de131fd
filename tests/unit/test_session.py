"""The session core (gdbext/session.py) every front end drives: dispatch, output format, stops.

Offline commands and a snapshot target built from QEMU's own monitor text
(tests/fixtures/qemu, captured from QEMU 7.2) need no guest.
"""

import json
from pathlib import Path

import pytest

from gdbext.errors import TargetError, UsageError
from gdbext.session import SessionCore, Stop, split
from gdbext.target.snapshot import SnapshotTarget

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qemu"


def snapshot(cpu_text: str) -> SnapshotTarget:
    document = {"cpus": [0], "selected_cpu": 0, "monitor": {"info registers 0": cpu_text}, "memory": [],
                "symbols": {}}
    return SnapshotTarget(document, "/nowhere/saved.json")


def test_json_is_the_result_data_and_text_is_its_rendering():
    core = SessionCore()
    result, as_json = core.execute(["decode", "pf", "0x6"])
    assert not as_json and result.kind == "errors.page_fault"
    assert json.loads(core.run(["decode", "pf", "0x6", "--json"])) == result.data
    text = core.run(["decode", "pf", "0x6"])
    assert not text.startswith("{") and "0x6" in text


def test_colour_and_width_are_the_front_ends_choice():
    plain, coloured = SessionCore(), SessionCore(color=True)
    assert "\x1b[" not in plain.run(["explain", "14"])
    assert "\x1b[" in coloured.run(["explain", "14"])


def test_help_is_an_answer_and_a_mistake_one_line():
    core = SessionCore(prog_prefix="x86 ")
    assert core.run(["idt", "--help"]).startswith("usage: x86 idt")
    with pytest.raises(UsageError, match="did you mean idt"):
        core.run(["idtt"])
    with pytest.raises(UsageError, match="cannot split"):
        split("idt 'unclosed")


@pytest.mark.parametrize("command", ["idt", "break 14", "break list"])
def test_a_live_command_offline_asks_for_a_guest(command):
    with pytest.raises(UsageError, match="needs a guest"):
        SessionCore().run(split(command))


def test_a_snapshot_says_so_above_its_text_but_not_in_json():
    core = SessionCore(snapshot((FIXTURES / "info_registers_protected.txt").read_text()))
    text = core.run(["regs"])
    assert text.startswith("(snapshot saved.json)\n")
    assert json.loads(core.run(["regs", "--json"]))["cpu"] == 0


def test_a_stop_without_breakpoints_is_its_line_alone():
    core = SessionCore()
    stop = core.stop("stopped at 0x1000")
    assert stop == Stop("stopped at 0x1000", [], [], None)
    assert stop.data() == {"stop": "stopped at 0x1000", "changes": [], "report": None}
    assert core.stop_text(stop) == "stopped at 0x1000"


def test_a_snapshot_takes_no_breakpoint():
    target = snapshot((FIXTURES / "info_registers_protected.txt").read_text())
    with pytest.raises(TargetError, match="read-only"):
        target.insert_breakpoint(0x1000, False)
