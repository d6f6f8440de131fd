"""Corrupt, foreign and partial snapshot files: one clear line each."""

import json

import pytest

from gdbext.errors import ParseError, TargetError
from gdbext.target.snapshot import FORMAT, SnapshotTarget, write_atomically

GOOD = {"format": FORMAT, "version": 1, "created": "2026-01-01T00:00:00+00:00", "source": "test",
        "cpus": [0], "selected_cpu": 0, "monitor": {"info registers 0": "x"},
        "memory": [{"cpu": 0, "address": 4096, "data": "00112233"}, {"cpu": None, "address": 0, "data": "ff"}],
        "symbols": {"4096": "start"}}


def write(tmp_path, content):
    path = tmp_path / "snap.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_good_file_answers_and_refuses_what_it_lacks(tmp_path):
    target = SnapshotTarget.open(write(tmp_path, json.dumps(GOOD)))
    assert target.read_memory(4097, 2, 0) == bytes.fromhex("1122")
    assert target.read_memory(0, 1, 0, physical=True) == b"\xff"
    assert target.symbolize(4096) == "start" and target.symbolize(1) is None
    with pytest.raises(TargetError, match="not in the snapshot"):
        target.read_memory(4096, 8, 0)
    with pytest.raises(TargetError, match="no answer to `monitor info lapic 0`"):
        target.monitor("info lapic 0")
    with pytest.raises(TargetError, match="no vCPU 3"):
        target.select_cpu(3)


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01binary", "not JSON"),
    ('{"format": "idtscope-snapshot", "vers', "not JSON"),
    ('[1, 2]', "not an idtscope snapshot"),
    ('{"format": "something-else"}', "not an idtscope snapshot"),
    (json.dumps(GOOD | {"version": 9}), "version 9"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "memory"}), "damaged snapshot"),
    (json.dumps(GOOD | {"memory": [{"cpu": 0, "address": 1, "data": "zz"}]}), "damaged snapshot"),
    (json.dumps(GOOD | {"selected_cpu": 5}), "selected vCPU 5"),
])
def test_bad_files_give_one_line(tmp_path, content, message):
    with pytest.raises(ParseError, match=message) as failure:
        SnapshotTarget.open(write(tmp_path, content))
    assert "\n" not in str(failure.value)


def test_missing_file(tmp_path):
    with pytest.raises(ParseError, match="cannot read"):
        SnapshotTarget.open(tmp_path / "nope.json")


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    write_atomically(path, "new content")
    assert path.read_text() == "new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    with pytest.raises(TargetError, match="cannot write"):
        write_atomically(tmp_path / "missing-dir" / "x.json", "data")
