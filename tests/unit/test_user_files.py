"""Files idtscope writes for the user get the permissions the user's umask gives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS_LOG = ROOT / "tests" / "fixtures" / "intlog" / "events64.log"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
@pytest.mark.parametrize("name", ["timeline.svg", "timeline.html"])
def test_log_plot_follows_the_umask(tmp_path, umask, mode, name):
    target = tmp_path / name
    run = subprocess.run([sys.executable, "-m", "shell", "-c", f"log {EVENTS_LOG} --plot {target}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(umask))
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == [name]
