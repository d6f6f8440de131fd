"""The wheel works outside the checkout: built from the package's files only,
installed into a fresh virtual environment made with gdb's Python, run from a
directory that is not the checkout (no PYTHONPATH): the demo (whose guest is built
from the sources the wheel carries), `idtscope gdbinit`, and a real gdb loading
idtscope with that line. pip's cache makes the install take seconds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shell.guests.run import RunningGuest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FILES = ("pyproject.toml", "README.md", "gdbext", "shell")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, env): idtscope installed from its wheel, and the environment to run it in."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in PACKAGE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    run(pip + ["wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(source)], work)
    wheel, = (work / "dist").glob("idtscope-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    run(pip + ["--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile", str(wheel)], work)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(XDG_CACHE_HOME=str(work / "cache"), NO_COLOR="1")
    return venv, env


def run(argv: list, cwd: Path, env: dict | None = None, timeout: float = 180) -> str:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    venv, env = installed
    where = run([venv / "bin" / "python", "-c", "import gdbext, shell.guests; print(gdbext.__file__); "
                 "print(shell.guests.__file__)"], tmp_path, env)
    assert all(line.startswith(str(venv)) for line in where.split()), where


def test_demo_takes_commands_from_the_wheel(installed, tmp_path, long64):
    venv, env = installed
    out = run([venv / "bin" / "idtscope", "--demo", "-c", "idt", "-c", "regs --json"], tmp_path, env)
    assert "try:" not in out.lower()
    handlers = {row["handler"] for row in long64.layout["idt"]["gates"] if row["present"]}
    shown = set(re.findall(r"<(\w+)>", out))
    assert shown and shown <= handlers and "isr_pf" in shown, out
    assert (Path(env["XDG_CACHE_HOME"]) / "idtscope" / "guests" / "long64" / "kernel.bin").is_file()


def test_gdb_loads_the_installed_package(installed, tmp_path, long64):
    venv, env = installed
    line = run([venv / "bin" / "idtscope", "gdbinit"], tmp_path, env).strip()
    site = venv / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages"
    assert line == f"source {site / 'gdbext' / 'gdbinit.py'}"
    with RunningGuest(long64) as guest:
        out = run(["gdb", "-nx", "-batch", "-ex", line, "-ex", "python import gdbext; print(gdbext.__file__)",
                   "-ex", f"target remote 127.0.0.1:{guest.port}", "-ex", f"symbol-file {long64.elf}",
                   "-ex", f"tbreak {long64.layout['symbols']['ready']}", "-ex", "continue",
                   "-ex", "x86 idt 14"], tmp_path, env, timeout=90)
    assert str(site / "gdbext" / "__init__.py") in out
    assert re.search(r"0x0e\s+#PF Page Fault\s+P\s+64-bit interrupt gate.*<isr_pf>", out), out
    assert "Traceback" not in out


def test_gdb_says_what_to_do_for_another_python(installed, tmp_path):
    """A package installed for another Python version: one line naming gdb's Python and the fix."""
    venv, env = installed
    site = venv / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages"
    other = tmp_path / "lib" / "python3.99" / "site-packages" / "gdbext"
    shutil.copytree(site / "gdbext", other)
    result = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"source {other / 'gdbinit.py'}", "-ex", "help x86"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    lines = [line for line in result.stderr.splitlines() if line.startswith("idtscope:")]
    assert len(lines) == 1 and "python3.99" in lines[0] and "Traceback" not in result.stderr, result.stderr
    python = re.search(r"gdb embeds Python [\d.]+ \((\S+)\)", lines[0]).group(1)
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    gdb_version = subprocess.run(["gdb", "-nx", "-batch", "-ex", "python import sys; print('%d.%d' % "
                                  "sys.version_info[:2])"], capture_output=True, text=True, timeout=30).stdout
    assert version == gdb_version.strip().splitlines()[-1]
    assert f"{python} -m venv" in lines[0]
    assert 'Undefined command: "x86"' in result.stderr
