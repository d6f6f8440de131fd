"""Colours and widths for text output; a plain Style adds no escape codes.

The theme maps roles to SGR codes; IDTSCOPE_COLORS overrides any of them,
e.g. ``IDTSCOPE_COLORS="heading=1;34:addr=33"``.
"""

from __future__ import annotations

import os
from functools import cache

from ..model.record import record

THEME = {"heading": "1", "dim": "2", "bad": "31", "good": "32", "warn": "33", "name": "36", "addr": "35"}


@cache
def codes() -> dict[str, str]:
    theme = dict(THEME)
    for item in os.environ.get("IDTSCOPE_COLORS", "").split(":"):
        role, _, code = item.partition("=")
        if role in theme and code and all(part.isdigit() for part in code.split(";")):
            theme[role] = code
    return theme


@record
class Style:
    color: bool = False
    width: int = 100

    def paint(self, role: str, text: str) -> str:
        if not self.color or not text:
            return text
        return f"\x1b[{codes()[role]}m{text}\x1b[0m"

    def heading(self, text: str) -> str:
        return self.paint("heading", text)

    def dim(self, text: str) -> str:
        return self.paint("dim", text)

    def bad(self, text: str) -> str:
        return self.paint("bad", text)

    def good(self, text: str) -> str:
        return self.paint("good", text)

    def warn(self, text: str) -> str:
        return self.paint("warn", text)

    def name(self, text: str) -> str:
        return self.paint("name", text)

    def addr(self, text: str) -> str:
        return self.paint("addr", text)
