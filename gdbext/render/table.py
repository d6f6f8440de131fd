"""Plain-text tables and key/value blocks that fit a terminal width."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .style import Style

_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def visible_len(text: str) -> int:
    return len(_ESCAPE.sub("", text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], style: Style) -> str:
    """Columns padded to their widest cell; the last column is cut to fit ``style.width`` (0: no limit)."""
    widths = [visible_len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], visible_len(cell))
    lines = [_line([style.heading(h) for h in headers], widths, style)]
    lines += [_line(list(row), widths, style) for row in rows]
    return "\n".join(lines)


def _line(cells: list[str], widths: list[int], style: Style) -> str:
    parts = []
    for i, cell in enumerate(cells):
        pad = widths[i] - visible_len(cell)
        parts.append(cell if i == len(cells) - 1 else cell + " " * pad)
    text = "  ".join(parts).rstrip()
    if style.width and visible_len(text) > style.width and not style.color:
        text = text[: style.width - 1] + "…"
    return text


def block(pairs: Sequence[tuple[str, str]], style: Style) -> str:
    """``key: value`` lines with the keys aligned."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{style.dim(k.rjust(width))}  {v}" for k, v in pairs)


def hexval(value: int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:#0{digits + 2}x}" if digits else f"{value:#x}"


def yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
