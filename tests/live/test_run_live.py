"""`idtscope run` with real QEMU and gdb: long64's crash scenarios stop at the triple fault by
themselves and `why` names the cause; the Debian Linux guest's interrupt stream matches the
log QEMU wrote, and `catch exception 14 --from user` stops on a user #PF the log shows.
QEMU is gone when `run` returns."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shell.guests.run import boot_options
from tests.guests.crash import CRASH_SCENARIOS
from tests.guests.linux import linux_image

EVENT_LINE = re.compile(r"^ *\d+: v=([0-9a-f]{2}) e=[0-9a-f]+ i=\d cpl=(\d) IP=([0-9a-f]+):([0-9a-f]+) ", re.M)


def idtscope_run(options: list[str], commands: list[str], qemu: list[str], timeout: int = 300) -> str:
    argv = [sys.executable, "-m", "shell", "run", "--no-color", *options]
    for command in commands:
        argv += ["-c", command]
    run = subprocess.run(argv + ["--", "qemu-system-x86_64", "-accel", "tcg", "-display", "none", *qemu],
                         capture_output=True, text=True, timeout=timeout, env=dict(os.environ, NO_COLOR="1"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "idtscope run: added -gdb tcp:127.0.0.1:" in run.stderr
    return run.stdout


def qemu_alive_with(word: str) -> list[int]:
    """QEMU processes whose command line holds ``word`` (the session's own log path)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and word in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def last_document(text: str) -> dict:
    return json.loads(text[text.rindex("\n{\n") + 1:])


@pytest.mark.parametrize("scenario", CRASH_SCENARIOS)
def test_run_stops_at_the_triple_fault_and_says_why(long64, tmp_path, scenario):
    crash = long64.layout["scenarios"][scenario]["crash"]
    log = tmp_path / "qemu.log"
    out = crash_run(long64, tmp_path, scenario, f"why --log {log} --json")
    assert not qemu_alive_with(str(log)), "QEMU outlived the session"
    assert "Triple fault" in log.read_text().splitlines(), "another vCPU may log after it, not instead"
    stop = out[out.index("<guest_ready>"):]
    assert "caught a triple fault" in stop
    automatic = stop[stop.index("caught a triple fault"):stop.rindex("\n{\n")]
    assert f"[{crash['cause']}]" in automatic and "cause:" in automatic and "fix:" in automatic, automatic
    data = last_document(out)
    named = [step["problem"] for step in data["steps"]
             if step["problem"] and (step["problem"]["check"], step["problem"]["vector"]) == (crash["cause"],
                                                                                            crash["vector"])]
    assert named, data["steps"]
    assert named[0]["fix"] in automatic and data["cause"]["vector"] == 8


def crash_run(image, directory: Path, scenario: int, last: str) -> str:
    """`idtscope run` on long64: stop at guest_ready, choose ``scenario``, continue to the crash, run ``last``."""
    return idtscope_run(
        ["--serial", str(directory / "serial.txt"), "--symbols", str(image.elf),
         "--session-log", str(directory / "qemu.log")],
        ["gdb hbreak guest_ready", "continue", "gdb delete", f"gdb set {{unsigned long long}}&scenario = {scenario}",
         "continue", last],
        ["-smp", "2", "-m", image.layout.get("qemu_memory", "128M"), "-kernel", str(image.kernel)])


def test_run_follows_linux_and_catches_a_user_page_fault(tmp_path):
    image = linux_image("amd64")
    log = tmp_path / "qemu.log"
    out = idtscope_run(
        ["--serial", str(tmp_path / "serial.txt"), "--session-log", str(log)],
        ["catch exception 14 --from user", "continue 240", "stats --json", "events --json --last 5"],
        ["-smp", "2", "-m", image.layout["qemu_memory"], *boot_options(image)])
    assert not qemu_alive_with(str(log)), "QEMU outlived the session"
    caught = re.search(r"caught #PF \(Page Fault\) error code (0x[0-9a-f]+) at ([0-9a-f]{4}):([0-9a-f]+) .*"
                       r"CPL (\d) .*\(event #(\d+), log line (\d+)\)", out)
    assert caught, out[:3000]
    error_code, cs, rip, cpl, index, line = caught.groups()
    logged = log.read_text(errors="replace").splitlines()[int(line) - 1]
    event = EVENT_LINE.match(logged)
    assert event, logged
    vector, logged_cpl, logged_cs, logged_rip = event.groups()
    assert (vector, logged_cpl, int(logged_cs, 16), int(logged_rip, 16)) == ("0e", "3", int(cs, 16), int(rip, 16))
    assert cpl == "3" and int(error_code, 16) & 0x4, "the CPU sets U/S in a #PF's error code for a CPL 3 access"

    stats, events = json.loads(out[out.index("\n{\n") + 1:out.rindex("\n{\n")]), last_document(out)
    raw = log.read_bytes()[:stats["read_bytes"]]
    whole = raw[:raw.rfind(b"\n") + 1].decode(errors="replace")
    logged_events = EVENT_LINE.findall(whole)
    assert stats["total"] == len(logged_events) > 100, "the stream counts each event line the log holds"
    counts: dict[int, int] = {}
    for found in logged_events:
        counts[int(found[0], 16)] = counts.get(int(found[0], 16), 0) + 1
    assert {row["vector"]: row["count"] for row in stats["vectors"]} == counts
    assert stats["by_cpu"] == [{"cpu": None, "count": stats["total"]}], "-d int does not name the vCPU on -smp 2"
    assert int(index) < stats["total"]
    assert events["total"] >= stats["total"] and len(events["events"]) == 5
    assert [e["index"] for e in events["events"]] == list(range(events["total"] - 5, events["total"]))


def children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL", "gdb killed"])
def test_qemu_never_outlives_the_session(long64, tmp_path, how):
    import signal
    import time

    log = tmp_path / "qemu.log"
    argv = [sys.executable, "-m", "shell", "run", "--no-color", "--serial", str(tmp_path / "serial.txt"),
            "--session-log", str(log), "-c", "continue", "--", "qemu-system-x86_64", "-accel", "tcg",
            "-display", "none", "-smp", "2", "-m", "128M", "-kernel", str(long64.kernel)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("gdb" in cmd for cmd in children_of(proc.pid).values()):
        time.sleep(0.1)
    assert qemu_alive_with(str(log)), "QEMU did not start"
    time.sleep(1.0)  # `continue` is waiting
    if how == "gdb killed":
        gdb = next(pid for pid, cmd in children_of(proc.pid).items() if "gdb" in cmd and "qemu" not in cmd)
        os.kill(gdb, signal.SIGKILL)
    else:
        proc.send_signal(getattr(signal, how))
    out, err = proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while qemu_alive_with(str(log)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not qemu_alive_with(str(log)), f"QEMU outlived idtscope ({how})"
    assert "Traceback" not in out + err
    if how == "gdb killed":
        assert proc.returncode == 2 and "gdb was killed by signal 9" in err, err


def test_attach_with_log_follows_a_qemu_the_user_started(long64, tmp_path):
    """`idtscope --attach HOST:PORT --log FILE`: the stream of a QEMU started by hand, here crashed by
    scenario 10, counted against the log's own event lines."""
    from shell.guests.run import RunningGuest
    from tests.guests.crash import crash_options, start_scenario, wait_for_triple_fault

    log = tmp_path / "qemu.log"
    with RunningGuest(long64, extra=crash_options(log)) as guest:
        start_scenario(guest, long64, 10)
        wait_for_triple_fault(log)
        run = subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{guest.port}", "--log", str(log),
                              "-c", "stats --json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout)
    logged = EVENT_LINE.findall(log.read_text(errors="replace"))
    assert stats["total"] == len(logged) > 0 and stats["triple_faults"] == 1
    assert {row["vector"]: row["count"] for row in stats["vectors"]} == {
        vector: sum(1 for found in logged if int(found[0], 16) == vector) for vector in {int(f[0], 16) for f in logged}}
