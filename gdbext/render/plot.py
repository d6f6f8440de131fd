"""The `log` timeline as a picture: an SVG (or an HTML page holding it), written atomically.

One row per vector (the busiest first), the x axis is the order of events in
the log, one bar per column whose height is the column's count relative to the
busiest column of that row; the total of each row is printed on its right.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from ..errors import TargetError, UsageError
from ..model.exception_vectors import FIRST_USER_VECTOR, ExceptionVector
from ..target.snapshot import write_atomically

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PLOT_WIDTH = 600  # pixels for the columns; each column gets an equal share
MAX_CELL = 40
CHAR_WIDTH = 8  # generous width of a 12-14 px monospace character, to fit the titles
ROW = 24
BAR = 18
LEFT = 120
RIGHT = 70
TOP = 48
BOTTOM = 52
TICKS = 4
EXCEPTION_COLOUR = "#c0392b"  # vectors 0-31 but NMI
INTERRUPT_COLOUR = "#2471a3"  # NMI and vectors 32-255 (external interrupts and INT n)


def write_plot(path: Path, data: dict[str, Any]) -> None:
    """Write ``data['timeline']`` to ``path`` (.svg, or .html with the SVG inline) via a temp file + rename,
    with the permissions the user's umask gives (as a snapshot is written)."""
    svg = timeline_svg(data)
    text = svg if path.suffix.lower() == ".svg" else _html(data["file"], svg)
    try:
        write_atomically(path, text)
    except TargetError as error:
        raise UsageError(str(error)) from None


def timeline_svg(data: dict[str, Any]) -> str:
    timeline = data["timeline"]
    rows = timeline["rows"]
    columns = max(timeline["buckets"], 1)
    cell = min(MAX_CELL, max(4, PLOT_WIDTH // columns))
    title, subtitle = _title(data), _subtitle(timeline)
    width = max(LEFT + columns * cell + RIGHT, LEFT + CHAR_WIDTH * max(len(title), len(subtitle)))
    height = TOP + max(len(rows), 1) * ROW + BOTTOM
    out = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">'),
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="36" fill="#555555">{escape(subtitle)}</text>',
    ]
    for index, row in enumerate(rows):
        out.extend(_row(index, row, columns, cell))
    if not rows:
        out.append(f'<text x="{LEFT}" y="{TOP + 16}" fill="#555555">no event matches</text>')
    out.extend(_axis(timeline, columns, cell, TOP + max(len(rows), 1) * ROW))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _title(data: dict[str, Any]) -> str:
    return f"{data['file']}: {data['events']} events"


def _subtitle(timeline: dict[str, Any]) -> str:
    width = timeline["bucket_width"]
    per = "1 event" if width == 1 else f"{width} events"
    text = f"one column = {per}; bar height relative to the busiest column of its row"
    if timeline["other_vectors"]:
        text += f"; {timeline['other_vectors']} quieter vectors not shown"
    return text


def _colour(vector: int) -> str:
    return EXCEPTION_COLOUR if vector < FIRST_USER_VECTOR and vector != ExceptionVector.NMI else INTERRUPT_COLOUR


def _label(row: dict[str, Any]) -> str:
    mnemonic = row["mnemonic"]
    return f"{mnemonic} {row['vector']:#04x}" if mnemonic else f"{row['vector']:#04x}"


def _row(index: int, row: dict[str, Any], columns: int, cell: int) -> list[str]:
    top = TOP + index * ROW
    base = top + (ROW + BAR) // 2
    peak = max(row["counts"]) or 1
    colour = _colour(row["vector"])
    out = [
        f'<g class="row" data-vector="{row["vector"]}">',
        (f'<rect x="{LEFT}" y="{top + 1}" width="{columns * cell}" height="{ROW - 2}" '
         f'fill="{"#f4f6f7" if index % 2 == 0 else "#ffffff"}"/>'),
        f'<text x="{LEFT - 8}" y="{base - 4}" text-anchor="end">{escape(_label(row))}</text>',
    ]
    for column, count in enumerate(row["counts"]):
        if not count:
            continue
        height = max(2, round(BAR * count / peak))
        out.append(f'<rect x="{LEFT + column * cell + 1}" y="{base - height}" width="{cell - 2}" '
                   f'height="{height}" fill="{colour}"><title>{count}</title></rect>')
    out.append(f'<text x="{LEFT + columns * cell + 8}" y="{base - 4}">{row["count"]}</text>')
    out.append("</g>")
    return out


def _axis(timeline: dict[str, Any], columns: int, cell: int, y: int) -> list[str]:
    out = [f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + columns * cell}" y2="{y}" stroke="#333333"/>']
    for column in sorted({round(columns * tick / TICKS) for tick in range(TICKS + 1)}):
        x = LEFT + column * cell
        label = min(column * timeline["bucket_width"], timeline["total_events"])
        out.append(f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 5}" stroke="#333333"/>')
        out.append(f'<text x="{x}" y="{y + 18}" text-anchor="middle">{label}</text>')
    out.append(f'<text x="{LEFT + columns * cell // 2}" y="{y + 38}" text-anchor="middle" fill="#555555">'
               f"event number (order in the log)</text>")
    return out


def _html(name: str, svg: str) -> str:
    title = escape(f"idtscope log timeline: {name}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n"
            f"</head>\n<body>\n{svg}</body>\n</html>\n")

