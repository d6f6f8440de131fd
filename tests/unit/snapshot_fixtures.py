"""The snapshot fixtures of tests/fixtures/snapshots/ as targets, and the layout each guest was built from."""

from __future__ import annotations

import json
from pathlib import Path

from gdbext.target.snapshot import SnapshotTarget
from shell.guests.layout import load_layout

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
#: fixture -> the `walk` arguments (a handler's address, a user address) whose pages make.py adds
WALKS: dict[str, list[str]] = json.loads((SNAPSHOTS / "walks.json").read_text())
#: fixtures stopped at a handler's first instruction (where `frame` has a frame), and the long64 scenario
AT_A_HIT = {"long64-pf": 2, "long64-gp": 5, "long64-df": 7}
#: fixture -> (guest, variant) it was saved from (tests/fixtures/snapshots/make.py)
GUESTS = {"long64": ("long64", None), "long64-pf": ("long64", None), "long64-gp": ("long64", None),
          "long64-df": ("long64", None), "long64-broken": ("long64", "broken"),
          "prot32": ("prot32", None), "prot32-pae": ("prot32", "pae"), "real16": ("real16", None)}


def open_fixture(name: str) -> SnapshotTarget:
    return SnapshotTarget.open(SNAPSHOTS / f"{name}.json")


def layout(name: str) -> dict:
    """The layout.json (variant applied) of the guest the fixture was saved from."""
    return load_layout(*GUESTS[name])
