"""Counts of the interrupt stream: per vector, per kind and per vCPU, and a timeline.

Live under `idtscope run` (or `attach HOST:PORT --log FILE`), or offline on a log:
  stats
  stats --log qemu.log --top 5
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..model.exception_vectors import EventKind
from ..model.numbers import parse_int
from .base import Context, Result
from .events import stream_of

#: only reads (the stream, not the guest)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", default="12", metavar="N", help="vectors in the timeline (default 12)")
    parser.add_argument("--log", metavar="FILE", help="read this -d int log instead of the live stream")


def run(context: Context, args: argparse.Namespace) -> Result:
    from ..model.vectors import vector
    from .log import timeline_data

    top = parse_int(args.top, "--top")
    if top < 1:
        raise UsageError(f"--top takes 1 or more, got {top}")
    stream, source, read = stream_of(context, args.log)
    return Result("stream.stats", {
        "source": source,
        "read_bytes": read,
        "total": stream.total,
        "vectors": [{"vector": number, "mnemonic": vector(number).mnemonic, "name": vector(number).name,
                     "count": stream.by_vector[number]} for number in sorted(stream.by_vector)],
        "by_kind": {kind.value: stream.by_kind.get(kind, 0) for kind in EventKind},
        "by_cpu": [{"cpu": cpu, "count": count}
                   for cpu, count in sorted(stream.by_cpu.items(), key=lambda item: (item[0] is None, item[0] or 0))],
        "triple_faults": stream.triple_faults,
        "resets": stream.resets,
        "malformed": stream.malformed,
        "timeline": timeline_data(stream.timeline, stream.by_vector, stream.total, top),
    })
