"""Load idtscope into gdb:  (gdb) source /path/to/gdbext/gdbinit.py

`idtscope gdbinit` prints that line for the installed package; put it in
~/.gdbinit. Where the package is found:

- a checkout: the virtual environment setup.sh made beside it (.venv, built with
  gdb's own Python; or $IDTSCOPE_VENV), and the source tree;
- an install (pip, pipx): the site-packages this file sits in, when it belongs to
  gdb's Python version. Otherwise one line says which Python gdb embeds and the
  command that makes an environment for it.

It then registers the ``x86`` commands and defines nothing else, so it sits
beside pwndbg or GEF in the same gdb.
"""

import os
import re
import sys

import gdb

VERSION = "python%d.%d" % sys.version_info[:2]


def _site_packages(venv):
    path = os.path.join(venv, "lib", VERSION, "site-packages")
    if os.path.isdir(path):
        return path
    others = os.listdir(os.path.join(venv, "lib")) if os.path.isdir(os.path.join(venv, "lib")) else []
    if others:
        gdb.write("idtscope: %s was made with %s but gdb runs %s; run setup.sh again\n"
                  % (venv, ", ".join(others), VERSION), gdb.STDERR)
    return None


def _gdb_python():
    """The interpreter gdb embeds, as a command (the one to make an environment with)."""
    return "%s/bin/%s" % (sys.base_prefix, VERSION)


def _advice():
    python = _gdb_python()
    return ("gdb embeds Python %d.%d (%s): install idtscope for it with `%s -m venv ~/.idtscope-gdb && "
            "~/.idtscope-gdb/bin/pip install idtscope` (or its wheel), then put the output of "
            "`~/.idtscope-gdb/bin/idtscope gdbinit` in ~/.gdbinit" % (sys.version_info[0], sys.version_info[1],
                                                                      python, python))


def _load():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = re.search(r"[/\\]lib[/\\](python\d+\.\d+)[/\\](site|dist)-packages$", root)
    if installed and installed.group(1) != VERSION:
        gdb.write("idtscope: %s is installed for %s; %s\n" % (root, installed.group(1), _advice()), gdb.STDERR)
        return
    venv = os.environ.get("IDTSCOPE_VENV") or os.path.join(root, ".venv")
    site = _site_packages(venv) if os.path.isdir(venv) else None
    for path in (site, root):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    try:
        from gdbext.gdb_entry import register
    except ImportError as error:
        where = "run setup.sh in %s" % root if not installed else _advice()
        gdb.write("idtscope: cannot load (%s); %s\n" % (error, where), gdb.STDERR)
        return
    register()


_load()
