"""The GDB/MI record parser: lines gdb 13 prints, a round trip of arbitrary values, and
garbage that must end as one record, quickly (pygdbmi looped forever on `^done,a=[`)."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from gdbext.target.mi_parse import parse_record


def test_lines_gdb_prints():
    assert parse_record('12^done,memory=[{begin="0x1000",offset="0x0",end="0x1002",contents="0b10"}]') == {
        "type": "result", "message": "done", "token": 12,
        "payload": {"memory": [{"begin": "0x1000", "offset": "0x0", "end": "0x1002", "contents": "0b10"}]}}
    assert parse_record('^done,thread-ids={thread-id="1",thread-id="2"},current-thread-id="1"')["payload"] == {
        "thread-ids": {"thread-id": ["1", "2"]}, "current-thread-id": "1"}
    stopped = parse_record('*stopped,reason="breakpoint-hit",bkptno="1",frame={addr="0x100b10",args=[]},'
                           'thread-id="2"')
    assert stopped["type"] == "notify" and stopped["message"] == "stopped"
    assert stopped["payload"]["frame"] == {"addr": "0x100b10", "args": []}
    assert parse_record('^done,stack=[frame={level="0"},frame={level="1"}]')["payload"] == {
        "stack": [{"level": "0"}, {"level": "1"}]}
    assert parse_record("^running") == {"type": "result", "message": "running", "payload": None, "token": None}
    assert parse_record('~"0x100b10 in ?? ()\\n"') == {"type": "console", "message": None,
                                                       "payload": "0x100b10 in ?? ()\n"}
    assert parse_record('&"a\\\\b \\"q\\" \\033[0m"')["payload"] == 'a\\b "q" \x1b[0m'
    assert parse_record("(gdb) ")["type"] == "output"
    assert parse_record("warning: not MI")["type"] == "output"


def test_broken_lines_are_malformed_records_with_their_token():
    for line in ('7^done,a=[', '7^done,a={b="1"', '7^done,a=b', '7^done,', '7^done,a="x', '7^done x',
                 '7^done,a={b=[c]}', "7^done," + "a=[" * 100_000):
        record = parse_record(line)
        assert record["type"] == "malformed" and record["token"] == 7, line[:40]
    assert parse_record('~"unterminated')["type"] == "malformed"


def test_garbage_takes_linear_time():
    line = "^done," + ",".join(f'a{i}=[{{b="{"x" * 50}"}}]' for i in range(20_000))[:-1]
    start = time.perf_counter()
    assert parse_record(line)["type"] == "malformed"
    assert time.perf_counter() - start < 2


def _mi(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_mi(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(_mi(v) for v in value) + "]"


NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
VALUES = st.recursive(st.text(max_size=12), lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(NAMES, inner, min_size=1, max_size=3), max_leaves=10)


@given(st.dictionaries(NAMES, VALUES, min_size=1, max_size=4), st.integers(0, 10**6),
       st.sampled_from(["^", "*", "=", "+"]))
def test_round_trip(results, token, kind):
    line = f"{token}{kind}done," + ",".join(f"{k}={_mi(v)}" for k, v in results.items())
    record = parse_record(line)
    assert record["payload"] == results and record["token"] == token
    assert record["type"] == ("result" if kind == "^" else "notify")


@given(st.text(max_size=300))
def test_any_text_is_one_record(text):
    assert parse_record(text)["type"] in ("result", "notify", "console", "target", "log", "output", "malformed")
