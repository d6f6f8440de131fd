"""A gdb subprocess spoken to in GDB/MI (mi3), for the standalone shell.

Each MI line is read by our own bounded parser (mi_parse.py); every command
carries a token and we read until its result record, so a reply costs one round
trip instead of a fixed settling delay. Asynchronous records (``*stopped``,
``*running``) are recorded and handed to listeners.

gdb may hang, die or print what MI did not promise: each wait has one deadline,
a line or a reply's stream output has a size bound, and a result line that
breaks the grammar fails its command; all of it as TargetError.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from dataclasses import dataclass, field

from ..errors import TargetError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

DEFAULT_TIMEOUT = 15.0
#: the longest line read (a 4 KiB memory read is an 8 KiB line)
MAX_LINE = 4 << 20
#: the most stream output (console, target, log) one command may bring
MAX_OUTPUT = 16 << 20


@dataclass
class MiReply:
    """The result of one MI command and the stream output that came with it."""

    result: str
    payload: Any
    console: list[str] = field(default_factory=list)
    target: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    #: characters of stream output so far
    size: int = 0

    @property
    def text(self) -> str:
        """What a CLI user would have seen: console and target streams."""
        return "".join(self.console + self.target)


class MiError(TargetError):
    """gdb answered ^error."""


class MiClient:
    """One gdb process in MI mode.

    Commands may be pipelined: ``send`` writes a command and returns its token,
    ``wait`` reads until that token's result. gdb answers in order, so stream
    output always belongs to the oldest command still waiting. The start-up
    settings are sent without waiting, so gdb boots while Python goes on.
    """

    def __init__(self, gdb: str = "gdb", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.running = False
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._token = 0
        self._buffer = b""
        self._pending: dict[int, tuple[MiReply, str]] = {}
        self._done: dict[int, MiReply] = {}
        self._failed: dict[int, TargetError] = {}
        try:
            self.proc = subprocess.Popen(
                [gdb, "--nx", "--quiet", "--interpreter=mi3"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise TargetError(f"cannot start gdb ({gdb}): {error.strerror}") from None
        from .mi_parse import parse_record  # after the spawn: gdb boots while this loads

        self._parse = parse_record
        for setting in ("mi-async on", "pagination off", "confirm off", "width 0", "height 0",
                        "style enabled off", "print pretty off"):
            self.send(f"-gdb-set {setting}")
        self._python_probe: int | None = self.send(
            '-interpreter-exec console "python import sys; print(sys.version_info[0])"')
        self._has_python = False

    @property
    def has_python(self) -> bool:
        """Whether this gdb was built with Python (asked once, at start)."""
        if self._python_probe is not None:
            reply = self.wait(self._python_probe, check=False)
            self._python_probe = None
            self._has_python = reply.result == "done" and reply.text.strip() == "3"
        return self._has_python

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Ask gdb to exit (it detaches, and the guest runs on) without waiting for it."""
        if self.alive:
            try:
                self.proc.stdin.write(b"-gdb-exit\n")
                self.proc.stdin.close()
            except OSError:
                self.proc.kill()
        self.proc.stdout.close()

    def command(self, text: str, timeout: float | None = None, check: bool = True) -> MiReply:
        """Send one MI command and return its reply; MiError on ^error when ``check``."""
        return self.wait(self.send(text), timeout, check)

    def send(self, text: str) -> int:
        """Write one MI command without waiting; its token."""
        if not self.alive:
            raise TargetError("gdb is not running any more (it exited or was killed)")
        self._token += 1
        try:
            self.proc.stdin.write(f"{self._token}{text}\n".encode())
            self.proc.stdin.flush()
        except OSError:
            raise TargetError("gdb is not running any more (its input is closed)") from None
        self._pending[self._token] = (MiReply("", None), text)
        return self._token

    def wait(self, token: int, timeout: float | None = None, check: bool = True) -> MiReply:
        """Read until ``token``'s result; the reply (MiError on ^error when ``check``)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while token in self._pending:
            oldest_token = next(iter(self._pending))
            oldest, what = self._pending[oldest_token]
            record = self._next_record(deadline, what)
            kind = record.get("type")
            if kind in ("console", "target", "log"):
                getattr(oldest, kind).append(record.get("payload") or "")
                oldest.size += len(record.get("payload") or "")
                if oldest.size > MAX_OUTPUT:
                    self._fail(oldest_token, f"gdb printed more than {MAX_OUTPUT >> 20} MiB for `{what}`")
            elif kind == "malformed" and record.get("token") in self._pending:
                self._fail(record["token"], f"gdb answered `{self._pending[record['token']][1]}` with a line "
                                            f"that is not GDB/MI ({record['payload'][:60]!r})")
            elif kind == "result" and record.get("token") in self._pending:
                reply, _ = self._pending.pop(record["token"])
                reply.result = record.get("message") or ""
                reply.payload = record.get("payload")
                if reply.result == "running":
                    self.running = True
                self._done[record["token"]] = reply
            elif kind == "notify":
                self._async(record)
        if token in self._failed:
            raise self._failed.pop(token)
        reply = self._done.pop(token)
        if check and reply.result == "error":
            message = reply.payload.get("msg", "error") if isinstance(reply.payload, dict) else "error"
            raise MiError(" ".join(str(message).split())[:500])
        return reply

    def _fail(self, token: int, message: str) -> None:
        """``token``'s command gets ``message`` as its error; what gdb still sends for it is dropped."""
        self._pending.pop(token)
        self._failed[token] = TargetError(message)

    def wait_for_stop(self, timeout: float) -> dict[str, Any] | None:
        """Read records until ``*stopped`` (returned) or until ``timeout`` (None)."""
        deadline = time.monotonic() + timeout
        while self.running:
            try:
                record = self._next_record(deadline, "waiting for the guest to stop")
            except TargetError:
                if self.alive:
                    return None
                raise
            if record.get("type") == "notify":
                self._async(record)
                if record.get("message") == "stopped":
                    return record
        return None

    def poll(self) -> None:
        """Handle the asynchronous records already waiting, without blocking."""
        while select.select([self.proc.stdout], [], [], 0)[0]:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                break
            self._buffer += chunk
        while True:
            record = self._buffered_record()
            if record is None:
                return
            if record.get("type") == "notify":
                self._async(record)

    def _async(self, record: dict[str, Any]) -> None:
        message = record.get("message")
        if message == "running":
            self.running = True
        elif message == "stopped":
            self.running = False
        for listener in self.listeners:
            listener(record)

    def _buffered_record(self) -> dict[str, Any] | None:
        """The next complete record already read, skipping prompts; None if there is none."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_LINE:
                    self._buffer = b""
                    raise TargetError(f"gdb printed a line longer than {MAX_LINE >> 20} MiB (not GDB/MI)")
                return None
            line = self._buffer[:newline].decode(errors="replace").rstrip("\r")
            self._buffer = self._buffer[newline + 1:]
            if line and not line.startswith("(gdb)"):
                return self._parse(line)

    def _next_record(self, deadline: float, what: str) -> dict[str, Any]:
        while True:
            record = self._buffered_record()
            if record is not None:
                return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TargetError(f"gdb did not answer within {self.timeout:.0f} s ({what})")
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                self.proc.wait()
                code = self.proc.returncode
                how = f"was killed by signal {-code}" if code < 0 else f"exited (status {code})"
                raise TargetError(f"gdb {how} while {what}")
            self._buffer += chunk


def c_string(text: str) -> str:
    """Quote ``text`` as an MI C string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
