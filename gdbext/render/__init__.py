"""Text renderings of command results. Colour lives here and nowhere else."""

from __future__ import annotations

import importlib

from .style import Style

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..commands.base import Result

def render(result: Result, color: bool = False, width: int = 100) -> str:
    """The text of a result: its ``kind`` names the renderer as ``module.function`` of this package."""
    module_name, _, function = result.kind.partition(".")
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, function)(result.data, Style(color, width))
