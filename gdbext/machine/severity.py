"""How much a finding of `lint` or a controller diagnosis matters; the value is its JSON word."""

from __future__ import annotations

from enum import Enum


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    #: lint: something to know that is not wrong
    INFO = "info"
    #: a controller diagnosis: a state worth a look (a nested handler, an interrupt held back)
    NOTE = "note"
