"""Start a built test guest under QEMU, stopped and waiting for gdb.

``qemu_command`` is the argv; ``RunningGuest`` starts it on a free port, waits
until the gdb stub accepts connections and kills QEMU on exit.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from .build import GuestImage

QEMU = "qemu-system-x86_64"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
SERIAL_TIMEOUT = 5.0
#: QEMU's gdbstub pauses the guest when a client connects, the readiness probe too: this resumes it
CONTINUE_PACKET = b"$c#63"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def boot_options(image: GuestImage) -> list[str]:
    """How QEMU loads the image: multiboot ``-kernel``, a boot floppy, or Linux with its initramfs."""
    boot = image.layout["boot"]
    if boot["method"] == "floppy":
        return ["-drive", f"format=raw,file={image.kernel},if=floppy", "-boot", "a"]
    if boot["method"] == "linux":
        return ["-kernel", str(image.kernel), "-initrd", boot["initrd"], "-append", boot["append"]]
    return ["-kernel", str(image.kernel)]


def qemu_command(image: GuestImage, gdb_port: int, smp: int = 2, extra: Sequence[str] = (),
                 serial_log: Path | None = None, stopped: bool = True, qemu: Sequence[str] = (QEMU,)) -> list[str]:
    """The QEMU argv: TCG, no display, no reboot, a gdb stub on ``gdb_port``, and
    stopped before the first instruction (-S) unless ``stopped`` is False.

    COM1 goes to ``serial_log`` (default ``<build dir>/serial.log``). ``qemu`` is the
    argv that starts QEMU (another build: its loader, binary and ``-L`` directory).
    """
    return [
        *qemu, "-accel", "tcg", "-display", "none", "-no-reboot", *(["-S"] if stopped else []),
        "-gdb", f"tcp:127.0.0.1:{gdb_port}",
        "-smp", str(smp), "-m", image.layout.get("qemu_memory", "128M"),
        "-serial", f"file:{image.serial_log if serial_log is None else serial_log}",
        *boot_options(image),
        *extra,
    ]


class RunningGuest:
    """QEMU running ``image``, stopped before the first instruction (unless ``stopped`` is
    False), gdb stub on ``.port``.

    ``smp`` defaults to the layout's ``smp``; ``qemu`` is the argv that starts QEMU
    (see ``qemu_command``). Use as a context manager; ``stop()``
    kills QEMU and waits for it. Starting raises RuntimeError with QEMU's stderr
    if QEMU exits or the stub does not accept connections within ``timeout`` s.

    Each run logs into its own directory under the build directory (several
    processes may run the same guest at once); ``stop()`` copies the serial log
    to ``<build dir>/serial.log`` and removes that directory.
    """

    def __init__(self, image: GuestImage, smp: int | None = None, extra: Sequence[str] = (),
                 timeout: float = START_TIMEOUT, stopped: bool = True, qemu: Sequence[str] = (QEMU,)) -> None:
        self.image = image
        self.qemu = tuple(qemu)
        self.stopped = stopped
        self.smp = image.layout.get("smp", 1) if smp is None else smp
        self.extra = list(extra)
        self.timeout = timeout
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._run_dir: Path | None = None
        self._serial_text = ""
        self._stderr_text = ""

    def __enter__(self) -> "RunningGuest":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=self.image.build_dir))
        self.port = free_port()
        argv = qemu_command(self.image, self.port, self.smp, self.extra,
                            serial_log=self._run_dir / "serial.log", stopped=self.stopped, qemu=self.qemu)
        with open(self._run_dir / "qemu.stderr", "w") as stderr:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"QEMU exited ({self.proc.returncode}) before its gdb stub "
                                   f"listened: {' '.join(argv)}\n{self.stderr()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    if not self.stopped:
                        probe.sendall(CONTINUE_PACKET)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"QEMU's gdb stub did not accept connections on port {self.port} "
                           f"within {self.timeout:.0f} s\n{self.stderr()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self._run_dir is not None:
            self._serial_text = self.serial()
            self._stderr_text = self.stderr()
            if (self._run_dir / "serial.log").exists():
                shutil.copyfile(self._run_dir / "serial.log", self.image.serial_log)
            shutil.rmtree(self._run_dir)
            self._run_dir = None

    def stderr(self) -> str:
        """What QEMU has written to stderr so far."""
        return self._read("qemu.stderr", self._stderr_text)

    def serial(self) -> str:
        """What the guest has written to COM1 so far."""
        return self._read("serial.log", self._serial_text)

    def wait_for_serial(self, *lines: str, timeout: float = SERIAL_TIMEOUT) -> str:
        """The serial log once it contains every one of ``lines`` (or as it is after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        text = self.serial()
        while not all(line in text for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
            text = self.serial()
        return text

    def _read(self, name: str, saved: str) -> str:
        if self._run_dir is None:
            return saved
        path = self._run_dir / name
        return path.read_text(errors="replace") if path.exists() else ""
