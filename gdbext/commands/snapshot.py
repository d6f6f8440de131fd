"""Save what the read-only commands read (registers and monitor texts per vCPU,
IDT/GDT/LDT/TSS bytes, IST stack tops, the page-table pages they walk, the
symbols in use) into one file; `idtscope --snapshot FILE` opens it later and
every read-only command works as if live.

Examples:
  snapshot save before-crash.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import IdtscopeError, UsageError
from ..target.snapshot import RecordingTarget, save
from . import registry
from .base import Context, Result

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True

#: the commands whose reads a snapshot keeps, per vCPU ({cpu} is filled in)
PER_CPU = ("regs --cpu {cpu}", "idt --all --disasm 4 --cpu {cpu}", "gdt --cpu {cpu}", "ldt --cpu {cpu}",
           "tss --cpu {cpu}", "ist --cpu {cpu}", "lapic --cpu {cpu}", "frame --cpu {cpu}")
ONCE = ("cpu", "pic", "ioapic")
#: commands that only work at some stops (frame: at a handler's entry); their failure is not news
OPTIONAL = ("frame",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("save",), help="save a snapshot")
    parser.add_argument("file", metavar="FILE", help="where to write it (replaced atomically)")


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    if target.is_snapshot:
        raise UsageError("this is already a snapshot; attach to a live guest to save one")
    recording = RecordingTarget(target)
    target.cache.clear()
    from ..session import SessionCore, split

    replay = SessionCore(recording)
    commands = [c.format(cpu=cpu) for cpu in target.cpus() for c in PER_CPU] + list(ONCE)
    skipped = []
    for command in commands:
        if split(command)[0] not in registry.names():
            continue
        try:
            replay.execute(split(command))
        except IdtscopeError as error:
            if split(command)[0] not in OPTIONAL:
                skipped.append(f"{command}: {error}")
    document = save(recording, Path(args.file))
    size = sum(len(entry["data"]) // 2 for entry in document["memory"])
    return Result("frame.message", {"text": f"saved {args.file}: {len(document['cpus'])} vCPUs, "
                                      f"{len(document['monitor'])} monitor texts, {len(document['memory'])} memory "
                                      f"ranges ({size} bytes), {len(document['symbols'])} symbols"
                                      + "".join(f"\n  not saved: {line}" for line in skipped),
                              "file": args.file, "skipped": skipped})
