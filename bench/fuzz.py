"""Fuzz every decoder and parser with hypothesis: only idtscope's own
documented errors (IdtscopeError and subclasses) may escape.

Byte decoders get arbitrary bytes; text parsers get arbitrary text and
mutations of real captured fixtures (QEMU monitor texts, -d int logs, hex
dumps). The edges that talk to other programs get the same: the remote-protocol
client talks to a loopback stub that sends what hypothesis scripts (framed
packets, acks, raw bytes) and then hangs up; GDB/MI lines (mutations of what
gdb 13 prints) go through the MI record parser; snapshot files (a real Linux
guest's, with one field replaced by arbitrary JSON) go through the loader and
`idt`. Prints per-target and total counts of generated inputs and any escaped
exception (with the input) - the run fails if there is one.

Usage: .venv/bin/python bench/fuzz.py [INPUTS_PER_TARGET [TARGET...]]   (default 50000;
22 targets x 50000 = 1,100,000 inputs; name targets to run only those)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdbext.errors import IdtscopeError  # noqa: E402
from gdbext.model import vectors  # noqa: E402
from gdbext.model.descriptor import decode_descriptor_table  # noqa: E402
from gdbext.model.errcode import ControlProtectionCode, PageFaultCode, SelectorErrorCode  # noqa: E402
from gdbext.model.frame import InterruptFrame, guess_error_code  # noqa: E402
from gdbext.model.gate import Gate  # noqa: E402
from gdbext.model.hexinput import parse_hex  # noqa: E402
from gdbext.model.idt import CpuMode, decode_table  # noqa: E402
from gdbext.model.numbers import parse_int  # noqa: E402
from gdbext.model.paging import Access, walk  # noqa: E402
from gdbext.model.tss import Tss32, Tss64, allowed_ports  # noqa: E402
from gdbext.target.qemu_text import parse_info_lapic, parse_info_pic, parse_info_registers  # noqa: E402

FIXTURES = [p.read_text(errors="replace") for p in sorted((ROOT / "tests" / "fixtures").rglob("*.txt"))]
FIXTURES += [p.read_text(errors="replace") for p in sorted((ROOT / "tests" / "fixtures").rglob("*.log"))]


class DictMemory:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, address: int, size: int) -> bytes:
        offset = address % max(1, len(self.data))
        chunk = (self.data * 2)[offset:offset + size]
        if len(chunk) < size:
            from gdbext.errors import TargetError

            raise TargetError("short")
        return chunk


def _int(data: bytes) -> int:
    return int.from_bytes(data[:5] or b"\0", "little")


BYTE_TARGETS = {
    "gate64": lambda b: Gate.from_bytes(b[:16], True),
    "gate32": lambda b: Gate.from_bytes(b[:8], False),
    "idt-long": lambda b: decode_table(b, CpuMode.LONG),
    "ivt": lambda b: decode_table(b, CpuMode.REAL),
    "gdt-long": lambda b: decode_descriptor_table(b, True),
    "gdt-legacy": lambda b: decode_descriptor_table(b, False),
    "tss64": lambda b: allowed_ports(b, len(b) - 1, Tss64.from_bytes(b).iopb),
    "tss32": lambda b: Tss32.from_bytes(b),
    "frame": lambda b: InterruptFrame.from_bytes(b, CpuMode(["long", "protected", "real"][b[0] % 3] if b else "long"),
                                                 bool(b and b[0] & 4) and b[0] % 3 != 2, b[-1] % 4 if b else 0),
    "frame-guess": lambda b: guess_error_code(b, CpuMode.LONG),
    "error-codes": lambda b: (PageFaultCode(_int(b)).summary, SelectorErrorCode.from_int(_int(b)).summary,
                              ControlProtectionCode(_int(b)).summary),
    "page-walk": lambda b: walk(DictMemory(b or b"\0" * 8), _int(b[:6]) & ((1 << 48) - 1), _int(b[6:11]) & ~0xFFF,
                                0x80000011 | (_int(b[11:12]) & 1) << 16, _int(b[12:15]) & 0x301030, 0xD00,
                                Access(write=bool(b[:1] and b[0] & 1), user=bool(b[:1] and b[0] & 2))),
}
TEXT_TARGETS = {
    "hex": parse_hex,
    "int": parse_int,
    "vector-lookup": vectors.lookup,
    "info-registers": parse_info_registers,
    "info-lapic": parse_info_lapic,
    "info-pic": parse_info_pic,
}


def _log_parser():
    """The -d int log analysis, fed the text in two chunks (a cut mid-line included)."""
    from gdbext.model.intlog import LogAnalysis

    def analyse(text: str) -> None:
        analysis = LogAnalysis(keep=10)
        middle = len(text) // 2
        analysis.feed(text[:middle])
        analysis.feed(text[middle:])
        analysis.report()

    return analyse


class ScriptedStub:
    """A loopback server that answers each connection with the next script, then hangs up."""

    def __init__(self) -> None:
        import queue
        import socket
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.scripts: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket

        while True:
            client, _ = self.listener.accept()
            with client:
                try:
                    client.sendall(self.scripts.get())
                    client.shutdown(socket.SHUT_WR)
                    while client.recv(65536):
                        pass
                except OSError:
                    pass


def _rsp_client():
    """The one-shot client against a stub that sends a hypothesis script."""
    from gdbext.errors import TargetError
    from gdbext.target.rsp import RspTarget

    stub = ScriptedStub()

    def talk(script: bytes) -> None:
        stub.scripts.put(script)
        target = RspTarget.attach(stub.address)
        try:
            for ask in (lambda: target.cpus(), lambda: target.monitor("info registers 0"),
                        lambda: target.read_memory(0x1000, 16, 0), lambda: target.read_memory(0, 8, 0, True)):
                try:
                    ask()
                except TargetError:
                    pass
        finally:
            target.close()

    return talk


def _frame(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + f"{sum(payload) & 0xFF:02x}".encode()


RSP_REPLIES = [b"OK", b"T05thread:01;", b"T02thread:p01.01;", b"PacketSize=1000;multiprocess+", b"m01", b"mp01.02,3",
               b"l", b"E14", b"E22", b"", b"O" + b"VM status: paused\r\n".hex().encode(), b"00" * 16, b"ff" * 8,
               b"0*~", b"}]}", b"m", b"O4"]
RSP_SCRIPTS = st.lists(st.one_of(
    st.sampled_from(RSP_REPLIES).map(_frame),
    st.binary(max_size=40).map(_frame),
    st.tuples(st.sampled_from(RSP_REPLIES), st.binary(max_size=3)).map(lambda pair: b"$" + pair[0] + b"#" + pair[1]),
    st.sampled_from([b"+", b"-", b"$", b"#", b"}", b"*"]),
    st.binary(max_size=20),
), max_size=16).map(lambda pieces: _frame(b"T05thread:01;") + b"".join(pieces))

MI_LINES = [
    '^done,memory=[{begin="0x1000",offset="0x0",end="0x1010",contents="00112233445566778899aabbccddeeff"}]',
    '*stopped,reason="breakpoint-hit",disp="keep",bkptno="1",frame={addr="0x100b10",func="??",args=[]},'
    'thread-id="1",stopped-threads="all",core="0"',
    '^done,thread-ids={thread-id="1",thread-id="2"},current-thread-id="1",number-of-threads="2"',
    '^done,bkpt={number="1",type="breakpoint",disp="keep",enabled="y",addr="0x0000000000100b10",times="0"}',
    '~"0x0000000000100b10 in ?? ()\n"', '&"warning: remote target does not support file transfer\n"',
    '^error,msg="Cannot access memory at address 0x0"', '*running,thread-id="all"', '=thread-group-started,id="i1"',
    '^connected', '(gdb) ', '@"\033[31mtarget\n"',
]


def _mi_records(text: str) -> None:
    """Each line through the MI parser: a record of a known type, with a dict or no payload for results."""
    from gdbext.target.mi_parse import parse_record

    for line in text.split("\n"):
        record = parse_record(line)
        if record["type"] not in ("result", "notify", "console", "target", "log", "output", "malformed"):
            raise AssertionError(f"record type {record['type']!r}")
        if record["type"] in ("result", "notify") and not isinstance(record["payload"], (dict, type(None))):
            raise AssertionError("a result payload that is not a tuple")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)


def _snapshot_loader():
    """A real Linux guest's snapshot (its first 40 memory ranges) with one field replaced, opened and
    asked for `idt`."""
    import json
    import tempfile

    from gdbext.commands import dispatch
    from gdbext.commands.base import Context
    from gdbext.target.snapshot import SnapshotTarget

    base = json.loads((ROOT / "tests" / "fixtures" / "snapshots" / "linux-amd64.json").read_text())
    base["memory"] = base["memory"][:40]
    base["symbols"] = {}
    path = Path(tempfile.mkdtemp(prefix="idtscope-fuzz-")) / "snap.json"

    def load(change: tuple[int, int, object]) -> None:
        where, inner, value = change
        document = json.loads(json.dumps(base))
        key = sorted(document)[where % len(document)]
        if isinstance(document[key], list) and document[key] and inner % 2:
            entry = document[key][inner % len(document[key])]
            if isinstance(entry, dict):
                entry[sorted(entry)[inner % len(entry)]] = value
            else:
                document[key][inner % len(document[key])] = value
        elif isinstance(document[key], dict) and document[key] and inner % 2:
            document[key][sorted(document[key])[inner % len(document[key])]] = value
        else:
            document[key] = value
        path.write_text(json.dumps(document))
        dispatch.execute(Context(target=SnapshotTarget.open(path)), ["idt", "--json"])

    return load


def mutate_text(base: str, cuts: list[tuple[int, int, str]]) -> str:
    """``base`` with each (position, length, insert) splice applied in turn."""
    text = base
    for position, length, insert in cuts:
        if text:
            position %= len(text)
            text = text[:position] + insert + text[position + length:]
    return text


CUTS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 50), st.text(max_size=8)), max_size=6)


def mutated(draw_text: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(mutate_text, st.sampled_from(FIXTURES or [""]), CUTS)


def run(name, function, strategy, count: int) -> tuple[int, list[str]]:
    seen = [0]
    escaped: list[str] = []

    @settings(max_examples=count, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def fuzz(value):
        seen[0] += 1
        try:
            function(value)
        except IdtscopeError:
            pass
        except Exception as error:  # noqa: BLE001 - the point of the run is to catch anything else
            if len(escaped) < 3:
                escaped.append(f"{type(error).__name__}: {error} on {value!r:.200}")

    fuzz()
    return seen[0], escaped


def main() -> None:
    per_target = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    targets = [(name, fn, st.binary(max_size=300)) for name, fn in BYTE_TARGETS.items()]
    targets += [(name, fn, st.one_of(st.text(max_size=400), mutated(st.text()))) for name, fn in TEXT_TARGETS.items()]
    targets.append(("qemu-d-int-log", _log_parser(), st.one_of(st.text(max_size=400), mutated(st.text()))))
    targets.append(("rsp-client", _rsp_client(), RSP_SCRIPTS))
    mi_text = st.builds(mutate_text, st.sampled_from(MI_LINES), CUTS)
    targets.append(("mi-records", _mi_records, st.one_of(st.text(max_size=200), mi_text)))
    targets.append(("snapshot-loader", _snapshot_loader(), st.tuples(st.integers(0, 20), st.integers(0, 1000), JSON)))
    if len(sys.argv) > 2:
        targets = [target for target in targets if target[0] in sys.argv[2:]]
    total = 0
    failures = 0
    start = time.perf_counter()
    for name, function, strategy in targets:
        count, escaped = run(name, function, strategy, per_target)
        total += count
        failures += len(escaped)
        print(f"{name:16} {count:8d} inputs  {'OK' if not escaped else 'ESCAPED: ' + ' | '.join(escaped)}", flush=True)
    print(f"total: {total} inputs over {len(targets)} targets in {time.perf_counter() - start:.0f} s; "
          f"escaped exceptions: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
