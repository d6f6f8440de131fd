"""Text for the symbol table in use (``symbols``)."""

from __future__ import annotations

from .style import Style
from .table import block, hexval

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def symbols(data: dict[str, Any], style: Style) -> str:
    if data["source"] is None:
        why = f": {data['absent']}" if data["absent"] else ""
        return style.dim(f"no symbol table loaded (inside gdb, gdb's own symbols name addresses){why}")
    slide = data["slide"]
    pairs = [("table", data["source"]), ("format", data["format"]), ("symbols", str(data["symbols"])),
             ("slide", hexval(slide) if slide >= 0 else f"-{hexval(-slide)}")]
    if data["verified"] is not None:
        pairs.append(("verified", data["verified"]["evidence"]))
    return block(pairs, style)
