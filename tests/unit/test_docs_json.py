"""docs/json.md cannot drift from the real `--json` documents.

docs/json.md has one section per document (a heading ``## `NAME` ``) and in it a
table whose rows are ``| `PATH` | TYPES | meaning |``. PATH names a value inside
the document: ``a.b`` is key b of object a, ``a[]`` is any item of list a, and
``*`` is any key of an object whose keys are data (a vCPU number, an LVT name),
and ``**`` any path below (a document another section lists, such as a stop's frame).
TYPES are ``int``, ``float``, ``str``, ``bool``, ``null``, ``object`` and
``list``, joined by ``or``.

The documents are real: offline commands, and read-only commands on the snapshot
fixtures of tests/fixtures/snapshots/ (saved from the test guests and Debian's
Linux). For each section, every documented PATH is met in some document with one
of its TYPES (rows inside a list that is empty in every document are exempt: no
item can show them), and every value in every document is documented with its type.
The sections whose documents need a live guest (`snapshot`, `break`, `symbols`,
the MCP server's run control) are held to the same rules by
tests/live/test_docs_json_live.py, `why` at real triple faults by
tests/live/test_postmortem_live.py, and the keys of `stats` and `events` only a live trace
plugin stream has (named vectors) by tests/live/test_run_plugin_live.py, with the functions here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shell.session import Session
from tests.unit.snapshot_fixtures import AT_A_HIT, SNAPSHOTS, WALKS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "json.md"
INTLOG = "tests/fixtures/intlog"
TRACE = "tests/fixtures/trace/long64_run.trace"
FIXTURES = sorted(WALKS)
TYPES = {"int": int, "float": float, "str": str, "bool": bool, "null": type(None), "object": dict, "list": list}
#: sections checked live (tests/live/test_docs_json_live.py)
LIVE = ("snapshot", "break", "symbols", "why", "mcp attach", "mcp open_snapshot", "mcp continue", "mcp interrupt",
        "mcp stepi")

#: section -> commands run offline (no guest)
OFFLINE = {
    "explain": ["explain 14", "explain #DF", "explain 0x21", "explain 0x80", "explain 0xef"],
    "vectors": ["vectors", "vectors --error-code", "vectors --exceptions"],
    "decode pf": ["decode pf 0x6", "decode pf 0x15", "decode pf 0x8000"],
    "decode selector": ["decode selector 0x1a", "decode selector 0x2c", "decode selector 0x38"],
    "decode cp": ["decode cp 3"],
    "decode rflags": ["decode rflags 0x3246"],
    "decode cr0": ["decode cr0 0x80050033"],
    "decode cr4": ["decode cr4 0x3506f0"],
    "decode efer": ["decode efer 0xd01"],
    "decode gate": ["decode gate 0x81a08e0000100b10 0xffffffff --mode 64 --first 14",
                    "decode gate 0x0000850000280000 0x00008e0000081000 --mode 32 --first 8",
                    "decode gate 53ff00f0 a5fe00f0 --mode 16"],
    "decode desc": ["decode desc 0x0 0x00af9b000000ffff 0x00cf93000000ffff 0x00affb000000ffff "
                    "0x00008b1000000067 0x0"],
    "decode tss": ["decode tss @tests/golden/tss64.hex --mode 64 --port 0x3f8"],
    "decode frame": ["decode frame 0x6 0x401000 0x2b 0x246 0x7ffff000 0x23 --mode 64 --vector 14",
                     "decode frame 0x1a 0x401000 0x2b 0x246 0x7ffff000 0x23 --mode 64 --vector 13",
                     "decode frame 0x101000 0x08 0x202 --mode 32 --vector 3"],
    "log": [f"log {INTLOG}/events64.log", f"log {INTLOG}/events64.log --vector 14 --events",
            f"log {INTLOG}/idtlimit32.log", f"log {INTLOG}/linux_smp_cut_tail.log --events --limit 3",
            f"log {INTLOG}/stackoverflow64.log --snapshot tests/fixtures/snapshots/long64.json"],
    "events": [f"events --log {INTLOG}/events64.log --last 40", f"events --log {INTLOG}/linux_smp_cut_tail.log",
               f"events --log {TRACE}"],
    "stats": [f"stats --log {INTLOG}/events64.log", f"stats --log {INTLOG}/stackoverflow64.log",
              f"stats --log {TRACE}"],
    "catch": ["catch exception 14 --from user", "catch triple-fault", "catch list"],
}

#: section -> commands run on every snapshot fixture where they answer
ON_SNAPSHOTS = {
    "regs": ["regs"],
    "cpu": ["cpu"],
    "idt": ["idt --all", "idt 8 --disasm 4", "idt 0x20-0x2f"],
    "gdt": ["gdt"],
    "ldt": ["ldt"],
    "tss": ["tss", "tss --port 0x3f8"],
    "ist": ["ist"],
    "lapic": ["lapic"],
    "ioapic": ["ioapic"],
    "pic": ["pic"],
    "lint": ["lint"],
    "frame": ["frame"],
    "bt": ["bt"],
    "break list": ["break list"],
}


def sections() -> dict[str, dict[str, tuple[str, ...]]]:
    """docs/json.md as {section: {path: types}}."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    current = None
    for number, line in enumerate(DOC.read_text().splitlines(), 1):
        heading = re.fullmatch(r"## `([^`]+)`", line)
        if heading:
            current = found.setdefault(heading.group(1), {})
            continue
        row = re.match(r"\| `([^`]+)` \| ([^|]+) \|", line)
        if row and current is not None:
            types = tuple(word.strip() for word in row.group(2).split(" or "))
            assert all(word in TYPES for word in types), f"json.md:{number}: unknown type in {row.group(2)!r}"
            assert row.group(1) not in current, f"json.md:{number}: {row.group(1)} documented twice"
            current[row.group(1)] = types
    return found


def flatten(value: object, path: str = "") -> list[tuple[str, object]]:
    """Every (path, value) inside a document, the root excluded."""
    pairs = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            pairs += [(child, item)] + flatten(item, child)
    elif isinstance(value, list):
        for item in value:
            pairs += [(f"{path}[]", item)] + flatten(item, f"{path}[]")
    return pairs


def pattern(path: str) -> re.Pattern:
    parts = re.split(r"(\*\*|\*)", path)
    regex = {"**": r".+", "*": r"[^.\[\]]+"}
    return re.compile("".join(regex.get(part, re.escape(part)) for part in parts))


def type_name(value: object) -> str:
    return next(name for name, kind in TYPES.items() if type(value) is kind)


def check(section: str, documents: list[dict]) -> None:
    """The rules of this module for one section and the real documents of its commands."""
    documented = sections()[section]
    assert documented, f"json.md documents no key of {section}"
    patterns = {path: pattern(path) for path in documented}
    met: set[str] = set()
    undocumented = set()
    for document in documents:
        assert isinstance(document, dict), f"{section}: the document is not an object"
        for path, value in flatten(document):
            rows = [row for row, regex in patterns.items() if regex.fullmatch(path)]
            if not rows:
                undocumented.add(f"{path}: {type_name(value)}")
                continue
            for row in rows:
                assert type_name(value) in documented[row], (
                    f"{section}: {path} is {type_name(value)} ({value!r:.60}), "
                    f"json.md says {' or '.join(documented[row])}")
                met.add(row)
    assert not undocumented, f"{section}: keys missing from json.md: {sorted(undocumented)}"
    unseen = sorted(row for row in set(documented) - met if not inside_empty_list(row, met))
    assert not unseen, f"{section}: json.md documents keys no output has: {unseen}"


def inside_empty_list(row: str, met: set[str]) -> bool:
    """Some list on the way to ``row`` was met, but never with an item."""
    lists = [row[:match.start()] for match in re.finditer(r"\[\]", row)]
    return any(path in met and f"{path}[]" not in met for path in lists)


def offline_json(command: str) -> dict:
    return json.loads(Session().run(f"{command} --json"))


def snapshot_json(fixture: str, command: str) -> dict:
    session = Session()
    session.open_snapshot(str(SNAPSHOTS / f"{fixture}.json"))
    return json.loads(session.run(f"{command} --json"))


def test_every_command_has_a_section():
    """Each command `help` lists (each kind of `decode` too) has a section of json.md, and each
    section is checked here or by the live test."""
    help_text = Session().run("help")
    commands = set(re.findall(r"^  (\w+) ", help_text.split("\n  attach ")[0], flags=re.M))
    decode_help = Session().run("help decode").split("positional arguments:")[1]
    kinds = set(re.findall(r"^    (\w+) +\S", decode_help, flags=re.M))
    assert len(commands) > 15 and len(kinds) > 10
    names = {name.split()[0] for name in sections()}
    assert commands <= names, commands - names
    assert {name for name in sections() if name.startswith("decode ")} == {f"decode {kind}" for kind in kinds}
    assert set(sections()) == set(OFFLINE) | set(ON_SNAPSHOTS) | {"walk"} | set(LIVE)


@pytest.mark.parametrize("section", sorted(OFFLINE))
def test_offline_documents_match(section, tmp_path):
    documents = [offline_json(command) for command in OFFLINE[section]]
    if section == "log":
        documents.append(offline_json(f"log {damaged_log(tmp_path)}"))
    check(section, documents)


def damaged_log(directory: Path) -> Path:
    """A -d int log with an event line that does not parse, cut in the middle of its last event."""
    text = (ROOT / INTLOG / "events64.log").read_text()
    text = text.replace("     3: v=80 e=0000 i=1", "     3: v=80 e=00zz i=1", 1)
    path = directory / "damaged.log"
    path.write_text(text[:text.rfind(" v=") + 40])
    return path


@pytest.mark.parametrize("section", sorted(ON_SNAPSHOTS))
def test_snapshot_documents_match(section):
    documents = []
    for fixture in FIXTURES:
        for command in ON_SNAPSHOTS[section]:
            if section in ("frame", "bt") and fixture not in AT_A_HIT:
                continue
            documents.append(snapshot_json(fixture, command))
    check(section, documents)


def why_documents() -> list[dict]:
    """`why` on every snapshot fixture with two crash logs of the fixtures: the chains do not
    fit those machines, so no step names its cause; the live test (tests/live/test_postmortem_live.py)
    adds the documents of real triple faults and checks `why` with these."""
    return [snapshot_json(fixture, f"why --log {INTLOG}/{log}") for fixture in FIXTURES
            for log in ("stackoverflow64.log", "idtlimit32.log")]


def test_walk_documents_match():
    check("walk", [snapshot_json(fixture, f"walk {walk}") for fixture in FIXTURES for walk in WALKS[fixture]])
