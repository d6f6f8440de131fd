"""Why the machine triple-faulted: the chain a QEMU `-d int,cpu_reset` log holds,
checked against the tables of the vCPU (live at the paused machine, or a snapshot).
The log does not name the vCPU: without --cpu, the one whose RIP is where the
chain happened is taken (else the selected one).

Each exception the CPU could not deliver gets the check that failed (IDT limit,
gate, code segment, the stack the frame goes on, the handler's page), the first
one gets its own cause, then come the faulting instruction, the lint findings
that bear on the chain, and the fixes.

Boot QEMU so that the crash leaves the machine paused and the log complete:
  qemu-system-x86_64 -accel tcg -s -d int,cpu_reset -D qemu.log \\
      -no-reboot -action reboot=shutdown,shutdown=pause ...
Examples:
  why --log qemu.log                                  at the paused machine
  idtscope --snapshot crash.snap -c "why --log qemu.log"   offline
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from .base import Context, Result, add_cpu_argument

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", required=True, metavar="FILE", help="the log QEMU wrote with -d int,cpu_reset")
    add_cpu_argument(parser)


def run(context: Context, args: argparse.Namespace) -> Result:
    from ..machine.postmortem import faulting_cpu, post_mortem
    from ..model.intlog import LogAnalysis
    from .log import read_log

    target = context.require_target()
    path = Path(args.log)
    analysis = LogAnalysis()
    read_log(path, analysis, sys.stderr)
    report = analysis.report()
    if not report.triple_faults:
        raise UsageError(f"{path} holds no triple fault ({report.total_events} events): `why` explains a crash; "
                         "`log` reads the rest")
    fault = report.triple_faults[-1]
    cpu = target.check_cpu(args.cpu if args.cpu is not None else faulting_cpu(target, fault))
    data = post_mortem(target, cpu, fault)
    data["log"] = str(path)
    data["triple_fault_count"] = report.triple_fault_count
    return Result("postmortem.why", data)
