"""A real Linux kernel as a test guest: Debian's cloud kernel with a busybox initramfs.

The other guests' tables are ours; this one's are Linux's, built by code
idtscope was not written against. Truth comes from outside idtscope: the
kernel's own ``/proc/kallsyms``, which the initramfs prints to COM1 between
``SYMBOLS_BEGIN`` and ``SYMBOLS_END``, and facts of the Linux 6.1 source that
``tests/live/test_linux.py`` cites.

``linux_image()`` downloads ``linux-image-<abi>-cloud-amd64`` (the one the
``linux-image-cloud-amd64`` metapackage names) and ``busybox-static`` with
``apt-get download``, unpacks them with ``dpkg -x`` and writes the initramfs
(a newc cpio, written here). After printing the symbols, ``/init`` keeps
starting programs, so user-mode page faults (demand paging of each new
process) happen all the time.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.guests.build import BUILD_ROOT, GuestImage
from tests.guests.run import RunningGuest

BUILD_DIR = BUILD_ROOT / "linux"
METAPACKAGE = "linux-image-cloud-amd64"
SYMBOLS_BEGIN = "@@kallsyms-begin@@"
SYMBOLS_END = "@@kallsyms-end@@"
#: the kallsyms lines worth printing: interrupt entry points and the idle loop
SYMBOL_PATTERN = r" [Tt] (asm_|entry_|irq_entries_start|spurious_entries_start|early_idt_handler_array|default_idle)"
#: nokaslr: kallsyms and the IDT agree whatever the boot; quiet: COM1 carries little else
APPEND = "console=ttyS0 nokaslr quiet loglevel=1 panic=-1"

INIT = f"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox echo {SYMBOLS_BEGIN}
/bin/busybox grep -E '{SYMBOL_PATTERN}' /proc/kallsyms
/bin/busybox echo {SYMBOLS_END}
while :; do /bin/busybox true; /bin/busybox sleep 1; done
"""

_S_IFDIR, _S_IFREG, _S_IFCHR = 0o040000, 0o100000, 0o020000


def linux_image() -> GuestImage:
    """The kernel and initramfs, fetched and written once into tests/guests/build/linux/."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kernel = _kernel()
        initrd = BUILD_DIR / "initramfs.cpio"
        if not initrd.exists() or initrd.stat().st_mtime < Path(__file__).stat().st_mtime:
            initrd.write_bytes(initramfs(INIT, _unpacked("busybox-static") / "bin" / "busybox"))
    layout = {"name": "linux", "smp": 2, "qemu_memory": "256M",
              "boot": {"method": "linux", "initrd": str(initrd), "append": APPEND}}
    return GuestImage("linux", None, kernel, None, layout, BUILD_DIR)


@contextlib.contextmanager
def booted_linux(directory: Path, extra: Sequence[str] = (),
                 timeout: float = 120) -> Iterator[tuple[RunningGuest, Path, dict[str, int]]]:
    """Linux running under QEMU (``extra``: more QEMU options) after /init printed its
    symbols, about 4 s of boot under TCG.

    Yields the guest (running: a debugger that attaches stops it), the System.map
    written into ``directory``, and the same symbols as a name -> address dict.
    """
    with RunningGuest(linux_image(), extra=extra, stopped=False) as guest:
        serial = guest.wait_for_serial(SYMBOLS_END, timeout=timeout)
        text = kallsyms(serial)
        path = directory / "System.map"
        path.write_text(text)
        yield guest, path, {line.split()[2]: int(line.split()[0], 16) for line in text.splitlines()}


def kallsyms(serial: str) -> str:
    """The System.map text printed between the markers (``ADDRESS TYPE NAME`` lines)."""
    begin, end = serial.find(SYMBOLS_BEGIN), serial.find(SYMBOLS_END)
    if begin < 0 or end < begin:
        raise RuntimeError(f"the guest did not print its symbols; serial so far:\n{serial[-2000:]}")
    lines = serial[begin + len(SYMBOLS_BEGIN):end].replace("\r", "").splitlines()
    return "\n".join(line for line in lines if re.fullmatch(r"[0-9a-f]{16} [A-Za-z] \S+", line)) + "\n"


def initramfs(init: str, busybox: Path) -> bytes:
    """A newc cpio archive: /init, /bin/busybox, /proc and the /dev/console node (5, 1)."""
    entries = [
        ("bin", _S_IFDIR | 0o755, b"", 0),
        ("dev", _S_IFDIR | 0o755, b"", 0),
        ("proc", _S_IFDIR | 0o755, b"", 0),
        ("dev/console", _S_IFCHR | 0o600, b"", (5 << 8) | 1),
        ("init", _S_IFREG | 0o755, init.encode(), 0),
        ("bin/busybox", _S_IFREG | 0o755, busybox.read_bytes(), 0),
    ]
    out = bytearray()
    for inode, (name, mode, data, device) in enumerate(entries, start=1):
        out += _cpio_entry(inode, name, mode, data, device)
    out += _cpio_entry(0, "TRAILER!!!", 0, b"", 0)
    return bytes(out)


def _cpio_entry(inode: int, name: str, mode: int, data: bytes, device: int) -> bytes:
    encoded = name.encode() + b"\0"
    fields = [inode, mode, 0, 0, 1, 0, len(data), 0, 0, device >> 8, device & 0xFF, len(encoded), 0]
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields) + encoded
    return _pad4(header) + _pad4(data)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _kernel() -> Path:
    depends = subprocess.run(["apt-cache", "depends", METAPACKAGE], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    package = re.search(r"Depends: (linux-image-\S+-cloud-amd64)", depends)
    if package is None:
        raise RuntimeError(f"apt-cache names no kernel for {METAPACKAGE}:\n{depends}")
    kernels = sorted((_unpacked(package.group(1)) / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise RuntimeError(f"{package.group(1)} holds no /boot/vmlinuz-*")
    return kernels[-1]


def _unpacked(package: str) -> Path:
    """``package`` downloaded and unpacked under the build directory (once)."""
    root = BUILD_DIR / package
    if not root.exists():
        subprocess.run(["apt-get", "download", package], cwd=BUILD_DIR, check=True, capture_output=True,
                       timeout=600)
        deb = next(BUILD_DIR.glob(f"{package}_*.deb"))
        partial = BUILD_DIR / f"{package}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["dpkg", "-x", str(deb), str(partial)], check=True, timeout=300)
        partial.rename(root)
        deb.unlink()
    return root
