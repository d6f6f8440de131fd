"""Load idtscope into gdb:  (gdb) source /path/to/idtscope/gdbext/gdbinit.py

It puts the project's virtual environment (.venv, made by setup.sh with gdb's
own Python; or $IDTSCOPE_VENV) and the source tree on gdb's sys.path, then
registers the ``x86`` commands. It defines nothing else, so it sits beside
pwndbg or GEF in the same gdb.
"""

import os
import sys

import gdb


def _site_packages(venv):
    version = "python%d.%d" % sys.version_info[:2]
    path = os.path.join(venv, "lib", version, "site-packages")
    if os.path.isdir(path):
        return path
    others = os.listdir(os.path.join(venv, "lib")) if os.path.isdir(os.path.join(venv, "lib")) else []
    if others:
        gdb.write("idtscope: %s was made with %s but gdb runs %s; run setup.sh again\n"
                  % (venv, ", ".join(others), version), gdb.STDERR)
    return None


def _load():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv = os.environ.get("IDTSCOPE_VENV") or os.path.join(root, ".venv")
    site = _site_packages(venv) if os.path.isdir(venv) else None
    for path in (site, root):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    try:
        from gdbext.gdb_entry import register
    except ImportError as error:
        gdb.write("idtscope: cannot load (%s); run setup.sh in %s\n" % (error, root), gdb.STDERR)
        return
    register()


_load()
