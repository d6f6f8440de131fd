"""A second, newer QEMU and gdb for the live tests: a root of Debian's development suite.

``root()`` builds it once (``debootstrap --variant=minbase`` of sid with
``qemu-system-x86``, ``gdb`` and ``python3-venv``) into ``~/.cache/idtscope/sid-root``,
outside the checkout. It is built in a temporary directory beside it and renamed only
when complete, under a lock, so an interrupted build is never taken for a finished one.
Then, inside the root, a virtual environment made with the root's own Python holds the
project's runtime dependencies (those of pyproject.toml), for gdbext/gdbinit.py to load.

- ``qemu_prefix()``: the argv that stands for ``qemu-system-x86_64``: the root's QEMU
  started through the root's own dynamic loader and libraries, no chroot needed, with
  ``-L`` pointing at its firmware (the loader is what /proc/self/exe names, so QEMU
  would look for its data files beside the loader).
- ``gdb()``: an executable that runs the root's gdb with the arguments it is given,
  usable wherever a gdb path is (``gdb -batch ...``, the shell's ``Session(gdb=...)``,
  ``idtscope --gdb``). It enters a private mount namespace, binds ``/dev``, ``/proc``,
  ``/tmp`` and this checkout (read-only, at the same path) into the root, chroots, and
  keeps the working directory when it exists there. The mounts live only in that
  namespace and vanish with the process: nothing stays mounted in the root, so deleting
  a root can never reach through a bind into the machine's ``/dev``.
- ``in_root(argv)``: the argv that runs ``argv`` inside the root the same way.
- ``versions()``: the QEMU and gdb versions the root holds.

Needs root privileges (mounts, chroot, debootstrap), as the test machine has; debootstrap
is installed with apt-get when missing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from importlib.metadata import requires
from pathlib import Path

from shell.guests import build as guest_build

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "idtscope"
ROOT = CACHE / "sid-root"
LOCK = CACHE / "sid-root.lock"
PARTIAL_PREFIX = "sid-root.partial-"
SUITE = "sid"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("qemu-system-x86", "gdb", "python3-venv")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CHECKOUT = Path(__file__).resolve().parents[2]
LIBRARY_DIRS = ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu")
LOADER = "lib64/ld-linux-x86-64.so.2"
BUILD_TIMEOUT = 1800

#: run ARGV in a private mount namespace chrooted into ROOT, with /dev, /proc, /tmp and
#: CHECKOUT (read-only) bound in and the working directory kept when the root has it
_ENTER = r"""
set -e
root=$1 checkout=$2 venv=$3
shift 3
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount --rbind /tmp "$root/tmp"
mkdir -p "$root$checkout"
mount --bind "$checkout" "$root$checkout"
mount -o remount,bind,ro "$root$checkout"
wd=$PWD
[ -d "$root$wd" ] || wd=/
exec chroot "$root" /usr/bin/env IDTSCOPE_VENV="$venv" /bin/sh -c 'cd "$0" && exec "$@"' "$wd" "$@"
"""


def _dependencies() -> list[str]:
    """The project's runtime dependencies (pyproject.toml's, as setup.sh installed them: no extras)."""
    return [requirement for requirement in requires("idtscope") or [] if "extra ==" not in requirement]


def venv_path() -> str:
    """The virtual environment inside the root (a path in the root): named after the
    dependencies it holds, so a change of pyproject.toml makes a new one."""
    digest = hashlib.sha1("\n".join(_dependencies()).encode()).hexdigest()[:12]
    return f"/opt/idtscope-venv-{digest}"


def in_root(argv: list[str], root_dir: Path = ROOT) -> list[str]:
    """The argv that runs ``argv`` (a command inside the root) chrooted into ``root_dir``."""
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", _ENTER, "sh",
            str(root_dir), str(CHECKOUT), venv_path(), *argv]


def root() -> Path:
    """The sid root with its venv, built on first use (a few minutes: a 500 MB download)."""
    if _complete(ROOT):
        return ROOT
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ROOT.exists():
            print(f"building the Debian {SUITE} root with its QEMU and gdb in {ROOT} (once; about a minute, 600 MB)",
                  file=sys.stderr)
            _remove_stale_partials()
            _bootstrap()
        if not _complete(ROOT):
            _make_venv(ROOT)
    return ROOT


def _complete(root_dir: Path) -> bool:
    return (root_dir / venv_path().lstrip("/") / ".complete").exists()


def _bootstrap() -> None:
    """debootstrap into a fresh partial directory, then rename it to ROOT. debootstrap
    mounts /proc and /sys into its target: in a private mount namespace those mounts
    end with it, even when it is interrupted."""
    if shutil.which("debootstrap") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "debootstrap"]):
            subprocess.run(step, check=True, env=env, capture_output=True, timeout=BUILD_TIMEOUT)
    partial = CACHE / f"{PARTIAL_PREFIX}{os.getpid()}"
    argv = ["unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase",
            f"--include={','.join(PACKAGES)}", SUITE, str(partial), MIRROR]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if run.returncode != 0:
        log = partial / "debootstrap" / "debootstrap.log"
        detail = log.read_text(errors="replace")[-3000:] if log.exists() else run.stderr[-3000:]
        raise RuntimeError(f"debootstrap of {SUITE} failed ({run.returncode}); {partial} is left for a look:\n"
                           f"{run.stdout[-2000:]}\n{detail}")
    partial.rename(ROOT)


def _make_venv(root_dir: Path) -> None:
    """The runtime dependencies in a venv made with the root's Python. pip inside the root
    checks TLS with this machine's CA bundle (the minbase root has none) and resolves names
    with its resolv.conf."""
    certs = root_dir / CA_BUNDLE.relative_to("/")
    certs.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CA_BUNDLE, certs)
    shutil.copyfile("/etc/resolv.conf", root_dir / "etc" / "resolv.conf")
    venv = venv_path()
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "PIP_CERT": str(CA_BUNDLE),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for step in (["python3", "-m", "venv", "--clear", venv],
                 [f"{venv}/bin/pip", "install", "-q", *_dependencies()]):
        run = subprocess.run(in_root(step, root_dir), capture_output=True, text=True, env=env,
                             timeout=BUILD_TIMEOUT)
        if run.returncode != 0:
            raise RuntimeError(f"in the {SUITE} root, {' '.join(step)} failed ({run.returncode}):\n"
                               f"{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    (root_dir / venv.lstrip("/") / ".complete").touch()


def _mounted_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace."""
    prefix = str(path)
    with open("/proc/self/mountinfo") as mounts:
        points = [line.split()[4] for line in mounts]
    return [point for point in points if point == prefix or point.startswith(prefix + "/")]


def _remove_stale_partials() -> None:
    """Delete the partial roots of interrupted builds (the lock is held: no build runs).
    Never one with anything mounted in it, and never across a file-system boundary."""
    for partial in CACHE.glob(f"{PARTIAL_PREFIX}*"):
        if _mounted_under(partial):
            raise RuntimeError(f"{partial} has mounts inside ({', '.join(_mounted_under(partial))}): "
                               f"unmount them, then delete it")
        subprocess.run(["rm", "-rf", "--one-file-system", str(partial)], check=True)


def qemu_prefix() -> list[str]:
    """The argv that stands for ``qemu-system-x86_64`` to run the root's QEMU."""
    root_dir = root()
    return [str(root_dir / LOADER), "--library-path", ":".join(str(root_dir / d) for d in LIBRARY_DIRS),
            str(root_dir / "usr/bin/qemu-system-x86_64"), "-L", str(root_dir / "usr/share/qemu")]


def gdb() -> Path:
    """An executable that runs the root's gdb (see the module docstring); it lives in the
    checkout's git-ignored build directory and names the checkout it binds."""
    root_dir = root()
    wrapper = guest_build.BUILD_ROOT / "sid-gdb"
    text = ("#!/bin/sh\n# the gdb of the Debian sid root, made by tests/guests/newer.py\n"
            f"exec {' '.join(shlex.quote(word) for word in in_root(['/usr/bin/gdb'], root_dir))} \"$@\"\n")
    if not wrapper.exists() or wrapper.read_text() != text:
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        temporary = wrapper.with_name(f"sid-gdb.{os.getpid()}")
        temporary.write_text(text)
        temporary.chmod(0o755)
        temporary.rename(wrapper)
    return wrapper


@cache
def versions() -> dict[str, str]:
    """``{"qemu": "11.1.3", "gdb": "18.1"}``: what the root's binaries say of themselves."""
    qemu = subprocess.run([*qemu_prefix(), "--version"], capture_output=True, text=True, check=True).stdout
    debugger = subprocess.run([str(gdb()), "--version"], capture_output=True, text=True, check=True).stdout
    return {"qemu": re.search(r"version (\d+\.\d+\.\d+)", qemu).group(1),
            "gdb": re.search(r"GNU gdb \([^)]*\) (\d+\.\d+)", debugger).group(1)}


if __name__ == "__main__":
    found = versions()
    print(f"the newer QEMU and gdb: QEMU {found['qemu']}, gdb {found['gdb']} ({ROOT})")
