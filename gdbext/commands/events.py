"""The latest interrupts and exceptions, in order, from the live stream (or a log file).

Under `idtscope run` (or `attach HOST:PORT --log FILE`) QEMU's -d int log is
followed as the guest runs; the last 4096 events are kept (counts cover all).
Examples:
  events                        the last 20 events
  events --vector '#PF' --last 5
  events --log qemu.log         offline, the end of a log file
QEMU's -d int log does not say which vCPU took an event: --cpu needs a guest
with one vCPU (or a source that names it). The trace plugin, which `idtscope run`
loads when QEMU can, names it, and gives each event its time (seconds since the
plugin started) and nesting depth.
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..model.numbers import parse_int
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads (the stream, not the guest)
READ_ONLY = True

DEFAULT_LAST = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vector", action="append", metavar="V", help="only this vector (repeatable)")
    parser.add_argument("--cpu", metavar="N", help="only events of this vCPU")
    parser.add_argument("--last", default=str(DEFAULT_LAST), metavar="N",
                        help=f"how many of the latest events (default {DEFAULT_LAST})")
    parser.add_argument("--log", metavar="FILE",
                        help="read this -d int log (or trace plugin stream) instead of the live stream")


def run(context: Context, args: argparse.Namespace) -> Result:
    from ..model.vectors import lookup

    follower = stream_of(context, args.log)
    stream = follower.stream
    vectors = frozenset(lookup(text).number for text in args.vector) if args.vector else None
    last = parse_int(args.last, "--last")
    if last < 1:
        raise UsageError(f"--last takes 1 or more, got {last}")
    cpu = None if args.cpu is None else parse_int(args.cpu, "--cpu")
    if cpu is not None and None in stream.by_cpu:
        raise UsageError("this stream does not say which vCPU took each event (QEMU's -d int log names none "
                         "when the machine has several): drop --cpu")
    chosen = stream.select(vectors, cpu, last)
    return Result("stream.events", {
        "source": str(follower.file),
        "read_bytes": follower.offset,
        "total": stream.total,
        "kept": len(stream.recent),
        "events": [event_data(event) for event in chosen],
    })


def stream_of(context: Context, log: str | None) -> Any:
    """The follower of the stream to read (a gdbext.follow.LogFollower): ``log`` (a -d int log or
    the trace plugin's stream) read whole, else the live one brought up to date."""
    from ..follow import LogFollower, TraceFollower

    if log is not None:
        from pathlib import Path

        from .trace_stream import is_trace

        follower = TraceFollower(log) if Path(log).is_file() and is_trace(Path(log)) else LogFollower(log)
        follower.finish()
        if follower.offset == 0:
            raise UsageError(f"{log} is empty or missing")
        return follower
    follower = context.follower
    if follower is None:
        raise UsageError("no interrupt stream: start the guest with `idtscope run -- QEMU...`, attach with "
                         "`attach HOST:PORT --log FILE`, or give --log FILE")
    follower.poll()
    return follower


def event_data(event: Any) -> dict[str, Any]:
    from ..model.vectors import vector

    return {
        "index": event.index,
        "source": event.source,
        "where": event.where,
        "cpu": event.cpu,
        "vector": event.vector,
        "mnemonic": vector(event.vector).mnemonic,
        "kind": event.kind.value,
        "error_code": event.error_code,
        "cpl": event.cpl,
        "cs": event.cs,
        "rip": event.rip,
        "cr2": event.cr2,
        "time_ns": event.time_ns,
        "handler": event.handler,
        "depth": event.depth,
    }
