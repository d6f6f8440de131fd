"""List the 256 interrupt vectors of the bundled model, filtered.

Examples:
  vectors                      all 256 rows
  vectors --exceptions         vectors 0-31
  vectors --class fault        faults only (fault, trap, abort, interrupt, fault-or-trap)
  vectors --error-code         the vectors whose exception pushes an error code
  vectors --range 0x20-0x2f    a range (the legacy IRQs under the usual remap)
  vectors --vendor amd         rows with an AMD-specific note
  vectors --search stack       rows whose name or description mentions a word
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..model import vectors as model
from ..model.numbers import parse_int
from .base import Context, Result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: only reads the guest (a one-shot run needs no gdb)
READ_ONLY = True

CLASSES = tuple(c.value for c in model.VectorClass)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class", dest="vector_class", choices=CLASSES, help="only this class")
    parser.add_argument("--exceptions", action="store_true", help="only vectors 0-31")
    parser.add_argument("--error-code", action="store_true", help="only vectors that push an error code")
    parser.add_argument("--range", dest="vector_range", metavar="LO-HI", help="only vectors LO..HI (inclusive)")
    parser.add_argument("--vendor", choices=("intel", "amd"), help="only rows with a note for this vendor")
    parser.add_argument("--search", metavar="TEXT", help="only rows whose text mentions TEXT")


def parse_range(text: str) -> range:
    """``LO-HI`` or a single vector, each 0-255, as a range."""
    low_text, _, high_text = text.partition("-")
    low = parse_int(low_text, "range start")
    high = parse_int(high_text, "range end") if high_text else low
    if low > high or high > 255:
        raise UsageError(f"range {text!r} must be LO-HI with 0 <= LO <= HI <= 255")
    return range(low, high + 1)


def vector_data(row: model.Vector) -> dict[str, Any]:
    """The JSON form of one row of the model."""
    linux = row.linux
    irq = model.legacy_irq_for_vector(row.number)
    return {
        "vector": row.number,
        "mnemonic": row.mnemonic,
        "name": row.name,
        "class": row.vector_class.value,
        "error_code": row.error_code.value,
        "saved_ip": row.saved_ip.value,
        "origin": row.origin.value,
        "double_fault_class": row.double_fault_class.value,
        "source": row.source,
        "description": row.description,
        "intel": row.intel,
        "amd": row.amd,
        "linux": None if linux is None else {"handler": linux.handler, "signal": linux.signal, "note": linux.note},
        "legacy_irq": None if irq is None else {"irq": irq.irq, "device": irq.device, "chip": irq.chip},
    }


def _keep(row: model.Vector, args: argparse.Namespace, wanted: range | None) -> bool:
    if args.exceptions and row.number >= 32:
        return False
    if wanted is not None and row.number not in wanted:
        return False
    if args.vector_class and row.vector_class.value != args.vector_class:
        return False
    if args.error_code and row.error_code is model.ErrorCodeFormat.NONE:
        return False
    if args.vendor and not getattr(row, args.vendor):
        return False
    if args.search:
        text = " ".join(filter(None, (row.mnemonic, row.name, row.description, row.source)))
        if args.search.lower() not in text.lower():
            return False
    return True


def run(context: Context, args: argparse.Namespace) -> Result:
    wanted = parse_range(args.vector_range) if args.vector_range else None
    rows = [vector_data(row) for row in model.VECTORS if _keep(row, args, wanted)]
    return Result("vectors.vector_list", {"vectors": rows})
