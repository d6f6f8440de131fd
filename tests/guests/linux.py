"""Real Linux kernels as test guests: Debian's kernels with a busybox initramfs.

The other guests' tables are ours; these are Linux's, built by code idtscope
was not written against. Truth comes from outside idtscope: the kernel's own
``/proc/kallsyms``, which the initramfs prints to COM1 between
``SYMBOLS_BEGIN`` and ``SYMBOLS_END``, and facts of the Linux 6.1 source that
``tests/live/test_linux*.py`` cite. Booted with ``all_symbols``, ``/init`` then
also prints the whole ``/proc/kallsyms``, gzipped and in base64 to keep COM1
short (about 1 MB for the amd64 kernel), between ``ALL_SYMBOLS_BEGIN`` and
``ALL_SYMBOLS_END``; ``all_kallsyms(serial)`` gives it back as text.

Two kernels, one per ``arch``:
- ``amd64``: ``linux-image-<abi>-cloud-amd64`` (IA-32e, IST stacks, PTI);
- ``i386``: ``linux-image-<abi>-686`` (32-bit paging, a task gate for #DF).
``linux_image(arch)`` asks apt which kernel the metapackage names, downloads
it and that architecture's ``busybox-static`` with ``apt-get download``, and
unpacks them with ``dpkg -x``. apt runs on a private state directory per
architecture (its own ``apt-get update``), so the machine's own apt set-up
and package lists are left alone. The initramfs is a newc cpio written here.
After printing the symbols, ``/init`` keeps starting programs, so user-mode
page faults (demand paging of each new process) happen all the time.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import gzip
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from shell.guests.build import BUILD_ROOT, GuestImage
from shell.guests.run import QEMU, RunningGuest

#: architecture -> the metapackage that names the current kernel of that flavour
METAPACKAGES = {"amd64": "linux-image-cloud-amd64", "i386": "linux-image-686"}
SYMBOLS_BEGIN = "@@kallsyms-begin@@"
SYMBOLS_END = "@@kallsyms-end@@"
ALL_SYMBOLS_BEGIN = "@@kallsyms-all-begin@@"
ALL_SYMBOLS_END = "@@kallsyms-all-end@@"
#: a kernel parameter with "=" that the kernel does not know reaches /init as an environment variable
ALL_SYMBOLS_PARAMETER = "idtscope_kallsyms=all"
#: the kallsyms lines worth printing: interrupt entry points and the idle loop
SYMBOL_PATTERN = r" [Tt] (asm_|entry_|irq_entries_start|spurious_entries_start|early_idt_handler_array|default_idle)"
#: quiet: COM1 carries little else; ``nokaslr`` is added unless a test boots as distributions do
APPEND = "console=ttyS0 quiet loglevel=1 panic=-1"

INIT = f"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox echo {SYMBOLS_BEGIN}
/bin/busybox grep -E '{SYMBOL_PATTERN}' /proc/kallsyms
/bin/busybox echo {SYMBOLS_END}
if [ -n "$idtscope_kallsyms" ]; then
    /bin/busybox echo {ALL_SYMBOLS_BEGIN}
    /bin/busybox gzip -c /proc/kallsyms | /bin/busybox base64
    /bin/busybox echo {ALL_SYMBOLS_END}
fi
while :; do /bin/busybox true; /bin/busybox sleep 1; done
"""

_S_IFDIR, _S_IFREG, _S_IFCHR = 0o040000, 0o100000, 0o020000


def linux_image(arch: str = "amd64", kaslr: bool = False, all_symbols: bool = False) -> GuestImage:
    """The kernel and initramfs of ``arch``, fetched and written once into tests/guests/build/linux-ARCH/.

    ``kaslr``: boot as distributions do, with the kernel at a random slide; otherwise
    ``nokaslr`` keeps every kernel address at its link-time value. ``all_symbols``:
    /init prints the whole /proc/kallsyms too.
    """
    build_dir = BUILD_ROOT / f"linux-{arch}"
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        apt = _Apt(build_dir, arch)
        kernel = _kernel(apt)
        initrd = build_dir / "initramfs.cpio"
        if not initrd.exists() or initrd.stat().st_mtime < Path(__file__).stat().st_mtime:
            initrd.write_bytes(initramfs(INIT, apt.unpacked("busybox-static") / "bin" / "busybox"))
    append = " ".join([APPEND] + ([] if kaslr else ["nokaslr"]) + ([ALL_SYMBOLS_PARAMETER] if all_symbols else []))
    layout = {"name": f"linux-{arch}", "smp": 2, "qemu_memory": "256M",
              "boot": {"method": "linux", "initrd": str(initrd), "append": append}}
    return GuestImage(f"linux-{arch}", None, kernel, None, layout, build_dir)


@contextlib.contextmanager
def booted_linux(directory: Path, arch: str = "amd64", extra: Sequence[str] = (), timeout: float = 180,
                 kaslr: bool = False, all_symbols: bool = False,
                 qemu: Sequence[str] = (QEMU,)) -> Iterator[tuple[RunningGuest, Path, dict[str, int]]]:
    """Linux of ``arch`` running under QEMU (``qemu``: its argv prefix; ``extra``: more QEMU options) after /init
    printed its symbols: about 4 s of boot under TCG for amd64, 16 s for i386
    (``all_symbols``: after it printed the whole /proc/kallsyms too).

    Yields the guest (running: a debugger that attaches stops it), the System.map
    written into ``directory``, and the same symbols as a name -> address dict.
    """
    with RunningGuest(linux_image(arch, kaslr, all_symbols), extra=extra, stopped=False, qemu=qemu) as guest:
        serial = guest.wait_for_serial(ALL_SYMBOLS_END if all_symbols else SYMBOLS_END, timeout=timeout)
        text = kallsyms(serial)
        path = directory / "System.map"
        path.write_text(text)
        yield guest, path, {line.split()[2]: int(line.split()[0], 16) for line in text.splitlines()}


def debug_vmlinux(arch: str = "amd64") -> Path:
    """The vmlinux with full symbols of the kernel ``linux_image(arch)`` boots, from
    Debian's ``linux-image-<abi>-dbg`` package (283 MB to download for amd64, the
    vmlinux 633 MB unpacked). Its real System.map (the kernel package ships a one-line
    placeholder) is extracted beside it as ``System.map-<release>``. Only those two
    files are kept, once, in the user's cache (``$XDG_CACHE_HOME/idtscope`` or
    ``~/.cache/idtscope``), outside the checkout, so every clone on the machine reuses them.
    """
    image = linux_image(arch)
    release = image.kernel.name.removeprefix("vmlinuz-")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "idtscope" / release
    vmlinux = cache / f"vmlinux-{release}"
    if vmlinux.exists():
        return vmlinux
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not vmlinux.exists():
            package = f"linux-image-{release}-dbg"
            subprocess.run(["apt-get", *_Apt(image.build_dir, arch).options, "download", package], cwd=cache,
                           check=True, capture_output=True, timeout=3600)
            deb = next(cache.glob(f"{package}_*.deb"))
            _extract(deb, f"./usr/lib/debug/boot/System.map-{release}", cache / f"System.map-{release}")
            _extract(deb, f"./usr/lib/debug/boot/vmlinux-{release}", vmlinux)
            deb.unlink()
    return vmlinux


def _extract(deb: Path, member: str, destination: Path) -> None:
    """One file of a .deb's data archive, written whole or not at all."""
    partial = destination.with_name(destination.name + ".partial")
    with partial.open("wb") as out:
        tar = subprocess.Popen(["dpkg", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-xO", member], stdin=tar.stdout, stdout=out, check=True, timeout=900)
        tar.stdout.close()
        if tar.wait(timeout=60) != 0:
            raise RuntimeError(f"dpkg --fsys-tarfile {deb} failed")
    partial.rename(destination)


def kallsyms(serial: str) -> str:
    """The System.map text printed between the markers (``ADDRESS TYPE NAME`` lines)."""
    begin, end = serial.find(SYMBOLS_BEGIN), serial.find(SYMBOLS_END)
    if begin < 0 or end < begin:
        raise RuntimeError(f"the guest did not print its symbols; serial so far:\n{serial[-2000:]}")
    lines = serial[begin + len(SYMBOLS_BEGIN):end].replace("\r", "").splitlines()
    return "\n".join(line for line in lines if re.fullmatch(r"(?:[0-9a-f]{8}){1,2} [A-Za-z] \S+", line)) + "\n"


def all_kallsyms(serial: str) -> str:
    """The whole /proc/kallsyms text that /init printed when booted with ``all_symbols``."""
    begin, end = serial.find(ALL_SYMBOLS_BEGIN), serial.find(ALL_SYMBOLS_END)
    if begin < 0 or end < begin:
        raise RuntimeError(f"the guest did not print all its symbols; serial so far:\n{serial[-2000:]}")
    encoded = "".join(serial[begin + len(ALL_SYMBOLS_BEGIN):end].split())
    return gzip.decompress(base64.b64decode(encoded)).decode()


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


def _kernel(apt: _Apt) -> Path:
    metapackage = METAPACKAGES[apt.arch]
    depends = apt.run("apt-cache", "depends", metapackage).stdout
    package = re.search(r"Depends: (linux-image-\S+)", depends)
    if package is None:
        raise RuntimeError(f"apt-cache names no kernel for {metapackage} ({apt.arch}):\n{depends}")
    kernels = sorted((apt.unpacked(package.group(1)) / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise RuntimeError(f"{package.group(1)} holds no /boot/vmlinuz-*")
    return kernels[-1]


class _Apt:
    """apt for one architecture on a private state directory (package lists, no installs)."""

    def __init__(self, build_dir: Path, arch: str) -> None:
        self.build_dir = build_dir
        self.arch = arch
        state = build_dir / "apt"
        self.options = [f"-oDir::State={state / 'state'}", f"-oDir::State::status={state / 'status'}",
                        f"-oDir::Cache={state / 'cache'}", f"-oAPT::Architecture={arch}",
                        f"-oAPT::Architectures::={arch}"]
        if not (state / "state" / "lists").exists():
            for sub in ("state/lists/partial", "cache/archives/partial"):
                (state / sub).mkdir(parents=True, exist_ok=True)
            (state / "status").touch()
            # an index that fails (a mirror mid-sync) is only an error if the packages are then missing
            subprocess.run(["apt-get", *self.options, "update"], capture_output=True, timeout=600)

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([tool, *self.options, *args], cwd=self.build_dir, check=True, capture_output=True,
                              text=True, timeout=600)

    def unpacked(self, package: str) -> Path:
        """``package`` downloaded and unpacked under the build directory (once)."""
        root = self.build_dir / package
        if not root.exists():
            self.run("apt-get", "download", package)
            deb = next(self.build_dir.glob(f"{package}_*.deb"))
            partial = self.build_dir / f"{package}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(["dpkg", "-x", str(deb), str(partial)], check=True, timeout=300)
            partial.rename(root)
            deb.unlink()
        return root
