"""One line of GDB/MI output as a record, read by a bounded parser of our own.

Grammar (GDB manual, "GDB/MI Output Syntax")::

    result-record  [token] "^" class ("," result)*
    async-record   [token] ("*" | "+" | "=") class ("," result)*
    stream-record  ("~" | "@" | "&") c-string
    result         variable "=" value
    value          c-string | "{" [result ("," result)*] "}" | "[" [value|result ("," ...)*] "]"

A record is a dict: ``type`` (``result``, ``notify`` for the three async kinds,
``console``/``target``/``log`` for the streams, ``output`` for a line that is no
record at all, ``malformed`` for one that starts as a record and breaks the
grammar), ``message`` (the class), ``payload`` (a dict of results, the stream
text, or the line) and ``token`` (int or None). In a tuple a repeated variable
collects its values in a list (``thread-ids={thread-id="1",thread-id="2"}``);
a list of results keeps the values. Every line ends in one record, in time
linear in its length: no exception, no unbounded recursion.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: nesting deeper than gdb ever prints is garbage
MAX_DEPTH = 64
_HEAD = re.compile(r"(\d*)([\^*+=])([a-zA-Z][\w-]*)")
_STREAMS = {"~": "console", "@": "target", "&": "log"}
_VARIABLE = re.compile(r"[a-zA-Z_][\w-]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "e": "\x1b"}
_C_STRING = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)", re.S)
_KINDS = {"^": "result", "*": "notify", "+": "notify", "=": "notify"}


class _Malformed(Exception):
    """The line breaks the MI grammar (caught in parse_record)."""


def parse_record(line: str) -> dict[str, Any]:
    """The record one line of MI output holds (see the module docstring)."""
    if line[:1] in _STREAMS:
        try:
            text, end = _c_string(line, 1)
        except _Malformed:
            return {"type": "malformed", "message": None, "payload": line, "token": None}
        if end != len(line):
            return {"type": "malformed", "message": None, "payload": line, "token": None}
        return {"type": _STREAMS[line[0]], "message": None, "payload": text}
    head = _HEAD.match(line)
    if head is None:
        return {"type": "output", "message": None, "payload": line}
    token = int(head[1]) if head[1] and len(head[1]) < 19 else None
    try:
        payload = _results(line, head.end())
    except (_Malformed, RecursionError):
        return {"type": "malformed", "message": head[3], "payload": line, "token": token}
    return {"type": _KINDS[head[2]], "message": head[3], "payload": payload, "token": token}


def _results(line: str, position: int) -> dict[str, Any] | None:
    """The ``,result`` list after a record's class, up to the end of the line."""
    if position == len(line):
        return None
    results, end = _tuple(line, position, 0, None)
    if end != len(line):
        raise _Malformed
    return results


def _tuple(line: str, position: int, depth: int, closer: str | None) -> tuple[dict[str, Any], int]:
    """Results separated by commas up to ``closer`` (None: the end of the line, each result
    after a comma); a repeated variable collects its values in a list."""
    results: dict[str, Any] = {}
    repeated: set[str] = set()
    first = closer is not None
    while (line[position:position + 1] or None) != closer:
        if not first:
            if line[position:position + 1] != ",":
                raise _Malformed
            position += 1
        first = False
        name, value, position = _result(line, position, depth + 1)
        if name not in results:
            results[name] = value
        elif name in repeated:
            results[name].append(value)
        else:
            results[name] = [results[name], value]
            repeated.add(name)
    return results, position if closer is None else position + 1


def _result(line: str, position: int, depth: int) -> tuple[str, Any, int]:
    variable = _VARIABLE.match(line, position)
    if variable is None or line[variable.end():variable.end() + 1] != "=":
        raise _Malformed
    value, end = _value(line, variable.end() + 1, depth)
    return variable[0], value, end


def _value(line: str, position: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH or position >= len(line):
        raise _Malformed
    opener = line[position]
    if opener == '"':
        return _c_string(line, position)
    if opener == "{":
        return _tuple(line, position + 1, depth, "}")
    if opener != "[":
        raise _Malformed
    items: list[Any] = []
    position += 1
    while line[position:position + 1] != "]":
        if position >= len(line):
            raise _Malformed
        if items:
            if line[position] != ",":
                raise _Malformed
            position += 1
        variable = _VARIABLE.match(line, position)
        if variable is not None and line[variable.end():variable.end() + 1] == "=":
            _, value, position = _result(line, position, depth + 1)
        else:
            value, position = _value(line, position, depth + 1)
        items.append(value)
    return items, position + 1


def _c_string(line: str, position: int) -> tuple[str, int]:
    """The C string that starts at ``line[position]`` (a quote) and the index after it."""
    match = _C_STRING.match(line, position)
    if match is None:
        raise _Malformed
    text = match[1]
    if "\\" in text:
        text = _ESCAPE.sub(_unescape, text)
    return text, match.end()


def _unescape(match: re.Match) -> str:
    escape = match[1]
    return chr(int(escape, 8)) if escape[0] in "01234567" else _ESCAPES.get(escape, escape)
