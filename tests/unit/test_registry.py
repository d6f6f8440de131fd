"""Each command is declared once, in its own module (gdbext/commands/registry.py finds them)."""

from pathlib import Path

import pytest

from gdbext.commands import registry
from gdbext.errors import UsageError

COMMANDS_DIR = Path(registry.__file__).parent


def test_every_module_but_the_helpers_is_a_command():
    stems = {path.stem for path in COMMANDS_DIR.glob("*.py") if not path.stem.startswith("_")}
    assert {registry._commands()[name] for name in registry.names()} == stems - registry.HELPERS
    assert "break" in registry.names() and registry.module("break").__name__ == "gdbext.commands.break_"


@pytest.mark.parametrize("name", registry.names())
def test_a_command_module_declares_all_it_is(name):
    module = registry.module(name)
    assert isinstance(module.READ_ONLY, bool)
    assert callable(module.run) and module.__doc__
    assert "--json" in registry.parser(name).format_help()


def test_only_break_catch_and_log_change_anything():
    assert [name for name in registry.names() if not registry.read_only(name)] == ["break", "catch", "log"]


def test_an_unknown_command_is_one_line():
    with pytest.raises(UsageError, match="unknown command 'walkk'.*walk"):
        registry.module("walkk")
