"""Test guest kernels built from source at test time (see README.md).

The build, layout and run code, the long64 guest and common/ live in the package
(shell/guests/), because the demo needs them outside a checkout. This package adds
its own guests (prot32, real16, linux) to the search path, builds into
tests/guests/build/, and answers to the names tests import (tests.guests.build,
.layout, .run) with those modules.
"""

import sys
from pathlib import Path

from shell.guests import build, layout, run

_HERE = Path(__file__).resolve().parent
layout.SOURCE_DIRS.append(_HERE)
build.BUILD_ROOT = _HERE / "build"
sys.modules.update({f"{__name__}.build": build, f"{__name__}.layout": layout, f"{__name__}.run": run})
