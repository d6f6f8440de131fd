"""Stop the guest when the interrupt stream shows an event the gdbstub cannot break on.

The interrupt stream (under `idtscope run`, or `attach HOST:PORT --log FILE`:
QEMU's log, or the trace plugin's stream when `run` loaded it) is watched while
`continue` waits: when it shows a caught event, the guest is interrupted through
gdb and the event is reported (vector, error code, CPL, CS:RIP; CR2 from the
log). The guest stops a little after the event: its own RIP is where it was
interrupted. A handler need not exist or work.
`catch triple-fault` is on under `idtscope run`; at a caught triple fault
`why` runs by itself.
Examples:
  catch exception 14 --from user     a #PF taken in user mode (CPL 3)
  catch exception '#GP'              any #GP
  catch triple-fault
  catch list
  catch delete 1                     (or: catch delete all)
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..model.intstream import Catch, CatchKind, Privilege
from ..model.numbers import parse_int
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: changes what the session does
READ_ONLY = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    exception = actions.add_parser("exception", help="stop when QEMU logs this exception")
    exception.add_argument("vector", metavar="VECTOR", help="number, mnemonic (#PF) or name")
    exception.add_argument("--from", dest="privilege", choices=[p.value for p in Privilege],
                           help="only when taken in user mode (CPL 3) or kernel mode (CPL 0-2)")
    actions.add_parser("triple-fault", help="stop when QEMU logs a triple fault (then `why` runs)")
    actions.add_parser("list", help="the catchpoints")
    delete = actions.add_parser("delete", help="delete catchpoint N, or all")
    delete.add_argument("number", metavar="N|all")
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")


def run(context: Context, args: argparse.Namespace) -> Result:
    from ..model.vectors import lookup

    catches = context.catches
    added = None
    if args.action == "exception":
        number = lookup(args.vector).number
        if number >= 32:
            raise UsageError(f"vector {number:#x} is not an exception (0-31): `events --vector {number:#x}` "
                             "shows its interrupts")
        added = Catch(CatchKind.EXCEPTION, number, None if args.privilege is None else Privilege(args.privilege))
    elif args.action == "triple-fault":
        added = Catch(CatchKind.TRIPLE_FAULT)
    elif args.action == "delete":
        if args.number == "all":
            catches.clear()
        else:
            index = parse_int(args.number, "catchpoint number")
            if not 1 <= index <= len(catches):
                raise UsageError(f"no catchpoint {index} (`catch list` shows {len(catches)})")
            del catches[index - 1]
    if added is not None and added not in catches:
        if context.follower is not None:
            context.follower.poll()  # what the log already holds is not caught
        catches.append(added)
    return Result("stream.catches", {
        "added": None if added is None else catch_data(catches.index(added) + 1, added),
        "catches": [catch_data(number, catch) for number, catch in enumerate(catches, 1)],
        "watching": None if context.follower is None else str(context.follower.file),
    })


def catch_data(number: int, catch: Catch) -> dict[str, Any]:
    return {
        "number": number,
        "kind": catch.kind.value,
        "vector": catch.vector,
        "from": None if catch.privilege is None else catch.privilege.value,
    }
