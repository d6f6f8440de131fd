"""Only gdb's own adapters import the `gdb` module: the target inside gdb, the loader,
the command registration and the modules under gdbext/gdb/ (the frame unwinder)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"gdbext/target/gdb_python.py", "gdbext/gdbinit.py", "gdbext/gdb_entry.py"}


def imports_gdb(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "gdb" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "gdb":
            return True
    return False


def test_only_the_gdb_adapters_import_gdb():
    importers = {str(path.relative_to(ROOT)) for path in (ROOT / "gdbext").rglob("*.py") if imports_gdb(path)}
    outside = {name for name in importers if name not in ALLOWED and not name.startswith("gdbext/gdb/")}
    assert not outside, outside
    assert "gdbext/gdb/unwind.py" in importers
