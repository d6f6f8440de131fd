"""Check the interrupt set-up for the mistakes OS developers make: missing
exception gates, #DF/NMI/#MC without IST, IST slots that are zero, stacks
without guard pages, bad gate selectors, unmapped handlers, DPL 0 on int3 /
int 0x80, a cut I/O bit map, a spurious vector without a handler. Each
finding says what, why and how to fix it.

The checks fit the guest, judged from its tables: a ring-0 program (no DPL 3
segment or gate, no IST gate, TR null) is not asked for a TSS or user gates;
a kernel with a TSS gets its stacks checked; a kernel with user mode gets
the DPL of the gates user code reaches checked too.

Examples:
  lint
  lint --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..machine.lint import lint
from .base import Context, Result, add_cpu_argument

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    cpu = target.check_cpu(args.cpu)
    kind, found = lint(target, cpu)
    findings = [finding.as_data() for finding in found]
    counts = {level: sum(1 for f in findings if f["severity"] == level) for level in ("error", "warning", "info")}
    guest = None if kind is None else {"kind": kind.name, "user_mode": list(kind.user_mode),
                                       "stacks": list(kind.stacks)}
    return Result("frame.lint", {"cpu": cpu, "guest": guest, "findings": findings, "counts": counts})
