"""The shell (gdb over MI) attached to a stub that misbehaves: one line per failure, and
the same session then attaches to a real QEMU and works."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from shell.guests.build import build
from shell.guests.run import RunningGuest
from tests.live.harness import ROOT
from tests.unit.rsp_stub import StubServer, frame
from tests.unit.test_rsp import SNAPSHOT, on


def no_core_files() -> None:
    """gdb 13 aborts on a stub that never answers qSupported: keep its core out of the tree."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


HOSTILE = [on("qfThreadInfo", frame("mzz,-1")), on("qSupported"), on("?", frame("OK") * 1000)]


def test_the_shell_survives_hostile_stubs_and_attaches_again():
    stubs = [StubServer(str(SNAPSHOT), misbehave) for misbehave in HOSTILE]
    try:
        with RunningGuest(build("long64")) as guest:
            script = "".join(f"attach {stub.address}\n" for stub in stubs)
            script += f"attach 127.0.0.1:{guest.port}\nidt 3 --json\n"
            run = subprocess.run([sys.executable, "-m", "shell"], input=script, capture_output=True, text=True,
                                 timeout=120, cwd=ROOT, preexec_fn=no_core_files)
    finally:
        for stub in stubs:
            stub.close()
    errors = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr
    assert len(errors) == len(HOSTILE), run.stderr
    assert all(line.startswith("error: ") and stub.address in line or "gdb" in line
               for line, stub in zip(errors, stubs)), errors
    assert run.returncode == 2
    attached, answer = run.stdout.split("\n", 1)
    assert attached.startswith(f"attached to 127.0.0.1:{guest.port}")
    assert json.loads(answer)["gates"][0]["vector"] == 3
