"""Fuzz every decoder and parser with hypothesis: only idtscope's own
documented errors (IdtscopeError and subclasses) may escape.

Byte decoders get arbitrary bytes; text parsers get arbitrary text and
mutations of real captured fixtures (QEMU monitor texts, -d int logs, hex
dumps). Prints per-target and total counts of generated inputs and any
escaped exception (with the input) - the run fails if there is one.

Usage: .venv/bin/python bench/fuzz.py [INPUTS_PER_TARGET]   (default 50000;
20 targets x 50000 = 1,000,000 inputs)
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


def mutated(draw_text: st.SearchStrategy) -> st.SearchStrategy:
    def mutate(base: str, cuts: list[tuple[int, int, str]]) -> str:
        text = base
        for position, length, insert in cuts:
            if text:
                position %= len(text)
                text = text[:position] + insert + text[position + length:]
        return text

    return st.builds(mutate, st.sampled_from(FIXTURES or [""]),
                     st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 50), st.text(max_size=8)), max_size=6))


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
