"""The `idtscope` command as a user runs it: exit codes, one-line errors, JSON keys, stdin scripts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest


def idtscope(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "shell", *args], input=stdin, capture_output=True,
                          text=True, timeout=30)


def test_decode_pf_json_keys():
    run = idtscope("-c", "decode pf 0x6 --json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {"vector", "error_code", "present", "write", "user", "reserved_bit", "instruction_fetch",
            "protection_key", "shadow_stack", "sgx", "summary"} <= set(data)
    assert data["vector"] == 14 and data["error_code"] == 6
    assert data["write"] and data["user"] and not data["present"]


def test_decode_selector_json():
    data = json.loads(idtscope("-c", "decode selector 0x1a --json").stdout)
    assert data == data | {"error_code": 0x1A, "external": False, "table": "IDT", "index": 3}


def test_frame_json_keys():
    run = idtscope("-c", "decode frame 0x6 0x401000 0x2b 0x246 0x7ffff000 0x23 --vector 14 --json")
    data = json.loads(run.stdout)
    for key in ("vector", "error_code", "rip", "cs", "rflags", "rsp", "ss", "cr2", "from_cpl", "stack"):
        assert key in data
    assert (data["rip"], data["cs"], data["from_cpl"], data["cr2"]) == (0x401000, 0x2B, 3, None)


def test_commands_run_in_order_and_stop_at_first_error():
    run = idtscope("-c", "decode pf 0x2", "-c", "explain 300", "-c", "decode pf 0x4")
    assert run.returncode == 2
    assert "supervisor-mode write" in run.stdout and "user-mode read" not in run.stdout
    assert run.stderr.strip() == "error: vector 300 is out of range 0-255"


@pytest.mark.parametrize("command, message", [
    ("decode gate 00 00 00 00 00 00 00 00 00 00 00 00 --mode 64", "a long-mode gate is 16 bytes, got 12"),
    ("decode gate 0x1 0x2 0x3 --mode 32 --word-size 4", "a protected-mode gate is 8 bytes, got 12"),
    ("decode pf zz", "is not a number"),
    ("decode frame 0x1 --mode 64 --vector 14", "a 64-bit frame with an error code is 48 bytes, got 8"),
    ("decode frame 1g --mode 64", "is not hex"),
    ("explain #XX", "did you mean"),
    ("frobnicate", "unknown command 'frobnicate'"),
    ("decode", "required"),
    ("decode pf", "required"),
    ("decode tss @/nonexistent/file", "cannot read /nonexistent/file"),
    ("vectors --range 0x30-0x20", "LO <= HI"),
    ('explain "unterminated', "cannot split"),
])
def test_bad_input_is_one_line_and_exit_2(command, message):
    run = idtscope("-c", command)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]


def test_help_lists_commands_and_command_help_is_the_parser():
    run = idtscope("-c", "help", "-c", "help decode", "-c", "explain --help")
    assert run.returncode == 0
    assert "explain" in run.stdout and "vectors" in run.stdout
    assert "usage: decode" in run.stdout and "usage: explain" in run.stdout


def test_stdin_script_runs_every_line_and_reports_errors():
    run = idtscope(stdin="decode pf 0x6\nexplain 999\n# a comment\ndecode selector 0x1a\n")
    assert run.returncode == 2
    assert "user-mode write" in run.stdout and "IDT vector 3" in run.stdout
    assert run.stderr.strip() == "error: vector 999 is out of range 0-255"


#: modules an offline command must not load: the heavy dependencies, and the
#: standard modules that cost most of a start (bench/startup.py)
SLOW_IMPORTS = ("prompt_toolkit", "capstone", "elftools", "pygdbmi", "dataclasses", "inspect", "typing", "shutil")
EVENTS_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "intlog" / "events64.log"


@pytest.mark.parametrize("command", [
    "decode pf 0x6", "explain 14", "vectors --exceptions", "decode selector 0x1a",
    "decode gate 0x81a08e0000100b10 0xffffffff --mode 64", "decode frame 0x6 0x401000 0x2b 0x246 0x7ffff000 0x23",
    f"log {EVENTS_LOG}",
])
def test_offline_commands_do_not_import_slow_modules(command):
    code = ("import sys, io, contextlib; import shell.cli as c\n"
            f"with contextlib.redirect_stdout(io.StringIO()): status = c.main(['-c', {command!r}])\n"
            f"print(status, sorted({{m.split('.')[0] for m in sys.modules}} & set({SLOW_IMPORTS!r})))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert run.stdout.strip() == "0 []", run.stderr


def test_no_color_when_not_a_terminal():
    run = idtscope("-c", "decode pf 0x6")
    assert "\x1b[" not in run.stdout
