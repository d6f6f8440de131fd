"""Snapshot files written to hurt: deeply nested or huge JSON, a wrong type in every
field, and a real guest's snapshot with its fields swapped. Each gives one line, fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gdbext.errors import ParseError
from gdbext.target import snapshot
from gdbext.target.snapshot import SnapshotTarget

LINUX = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "linux-amd64.json"
GOOD = json.loads(LINUX.read_text())

WRONG = [None, True, 1.5, -1, 1 << 70, "x", [], {}, [None], {"": None}]


def opened(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "snap.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    start = time.monotonic()
    with pytest.raises(ParseError) as failure:
        SnapshotTarget.open(path)
    assert time.monotonic() - start < 5
    message = str(failure.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


def test_the_real_snapshot_opens():
    target = SnapshotTarget.open(LINUX)
    assert target.cpus() == (0, 1) and len(target.read_memory(0xFFFFFE0000000000, 4096, 0)) == 4096


@pytest.mark.parametrize("depth", [10_000, 1_000_000])
def test_deep_nesting(tmp_path, depth):
    assert "nested too deeply" in opened(tmp_path, "[" * depth + "]" * depth)


def test_a_huge_file(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_FILE", 1 << 20)
    assert "larger than 1 MiB" in opened(tmp_path, " " * (2 << 20))


def test_an_integer_with_100000_digits(tmp_path):
    assert "not an idtscope snapshot" in opened(tmp_path, '{"format": ' + "9" * 100_000 + "}")


#: (field, value) pairs that are right: a snapshot with nothing saved there is empty, not wrong
EMPTY = {("monitor", "{}"), ("symbols", "{}"), ("memory", "[]")}


@pytest.mark.parametrize("key, value", [(key, value) for key in ("cpus", "selected_cpu", "monitor", "memory",
                                                                  "symbols", "version")
                                        for value in WRONG if (key, repr(value)) not in EMPTY], ids=repr)
def test_a_wrong_type_in_each_field(tmp_path, key, value):
    opened(tmp_path, json.dumps(GOOD | {key: value}))


@pytest.mark.parametrize("field, value", [(field, value) for field in ("cpu", "address", "data")
                                          for value in WRONG + ["0", "abc", 7]
                                          if (field, value) not in (("cpu", None), ("address", 7))], ids=repr)
def test_a_wrong_type_in_each_memory_field(tmp_path, field, value):
    """(A null cpu is a physical range and 7 an address: both right, so not among the cases.)"""
    memory = [dict(GOOD["memory"][0], **{field: value})] + GOOD["memory"][1:]
    opened(tmp_path, json.dumps(GOOD | {"memory": memory}))


@pytest.mark.parametrize("monitor, symbols", [({"info registers 0": 5}, {}), ({"info registers 0": None}, {}),
                                              ({}, {"12": 5}), ({}, {"-12": "a"}), ({}, {"0x10": "a"}),
                                              ({}, {"1" * 30: "a"})])
def test_wrong_monitor_texts_and_symbols(tmp_path, monitor, symbols):
    opened(tmp_path, json.dumps(GOOD | {"monitor": monitor or GOOD["monitor"], "symbols": symbols}))


def test_a_range_past_the_64_bit_space(tmp_path):
    memory = [{"cpu": 0, "address": (1 << 64) - 2, "data": "00112233"}]
    assert "64-bit space" in opened(tmp_path, json.dumps(GOOD | {"memory": memory}))


def test_cpus_repeated_or_too_many(tmp_path):
    assert "distinct" in opened(tmp_path, json.dumps(GOOD | {"cpus": [0, 0]}))
    assert "distinct" in opened(tmp_path, json.dumps(GOOD | {"cpus": list(range(5000)), "selected_cpu": 0}))
