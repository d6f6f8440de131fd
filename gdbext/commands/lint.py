"""Check the interrupt set-up for the mistakes OS developers make: missing
exception gates, #DF/NMI/#MC without IST, IST slots that are zero, stacks
without guard pages, bad gate selectors, unmapped handlers, DPL 0 on int3 /
int 0x80, a cut I/O bit map, a spurious vector without a handler. Each
finding says what, why and how to fix it.

Examples:
  lint
  lint --cpu 1 --json
"""

from __future__ import annotations

import argparse

from ..machine.lint import lint
from ..model.record import as_dict
from .base import Context, Result, add_cpu_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    target = context.require_target()
    cpu = target.check_cpu(args.cpu)
    findings = [as_dict(finding) | {"vectors": list(finding.vectors)} for finding in lint(target, cpu)]
    counts = {level: sum(1 for f in findings if f["severity"] == level) for level in ("error", "warning", "info")}
    return Result("lint", {"cpu": cpu, "findings": findings, "counts": counts})
