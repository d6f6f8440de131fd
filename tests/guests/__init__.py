"""Test guest kernels built from source at test time (see README.md).

The build, layout and run code, the long64 guest and common/ live in the package
(shell/guests/), because the demo needs them outside a checkout; tests import them
from there. Importing this package points that code at the test guests: its own
guests (prot32, real16, linux) join the search path and builds go to
tests/guests/build/. tests/conftest.py imports it for every test.
"""

from pathlib import Path

from shell.guests import build, layout

_HERE = Path(__file__).resolve().parent
layout.SOURCE_DIRS.append(_HERE)
build.BUILD_ROOT = _HERE / "build"
