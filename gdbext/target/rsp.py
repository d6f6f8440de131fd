"""A direct client of QEMU's gdbstub (the GDB remote serial protocol), for
read-only sessions that need no gdb: one-shot scripts start in the time it
takes Python to start, not gdb.

Protocol (GDB manual, "Remote Protocol"): packets ``$payload#cc`` with a
two-digit hex checksum, acknowledged with ``+``; ``}`` escapes (x ^ 0x20) and
``*`` run-length encoding in replies. Used here: ``qSupported`` (the stub's
``PacketSize``), ``qfThreadInfo``/``qsThreadInfo`` (vCPUs), ``Hg`` (the
thread memory reads use), ``m addr,len``, ``qRcmd`` (the QEMU monitor; output
arrives in ``O`` packets before ``OK``), ``Qqemu.PhyMemMode`` (physical
reads), ``D`` / ``D;pid`` (detach: the guest runs on).

Whatever listens on the port may send anything, so every answer is bounded:
one deadline for the whole answer to a request (not per ``recv``), a packet
no longer than the stub's advertised ``PacketSize`` plus a margin, and limits
on thread counts, stop replies and monitor output. Past any of them, or on
any socket or parse error, a TargetError names the peer and what it did.

Leaving QEMU as it was found (QEMU 7.2, gdbstub/gdbstub.c):
- QEMU stops the guest when a client connects, and ``monitor info status``
  then says ``VM status: paused``; a guest that was already stopped keeps its
  reason (``paused (prelaunch)``, ``paused (debug)``, ...).
- ``D`` resumes the guest. Once any client negotiated the multiprocess
  extensions (every gdb does) QEMU answers a bare ``D`` with ``E22`` and only
  ``D;pid`` detaches; that mode outlives the connection, so ``D`` is tried
  first (it leaves the mode as it is) and ``D;pid`` after an error.
- A guest that was stopped is left without ``D``: closing the connection
  leaves the run state alone.
- Physical-memory mode is global and outlives the connection: it is switched
  on for one read and back off before the read returns.
"""

from __future__ import annotations

import re
import socket
import time

from ..errors import TargetError
from .base import Target, split_address

#: seconds for the whole answer to one request (QEMU answers in milliseconds)
DEADLINE = 5.0
#: QEMU 7.2's MAX_PACKET_LENGTH, advertised as PacketSize=1000; newer QEMU advertise more
DEFAULT_PACKET_SIZE = 0x1000
#: the largest PacketSize believed (QEMU 10.2 and later advertise 0x20020)
MAX_PACKET_SIZE = 0x40000
#: bytes allowed past the advertised size (``$``, ``#cc``, a stop reply's extra fields)
PACKET_MARGIN = 1024
MAX_THREADS = 4096
#: unsolicited stop replies skipped while waiting for an answer
MAX_STOP_REPLIES = 64
#: bytes and packets of monitor output for one command
MAX_MONITOR_OUTPUT = 1 << 20
MAX_OUTPUT_PACKETS = 4096
#: ``-`` (resend) answers tolerated for one request
MAX_RESENDS = 3

class MonitorRefused(TargetError):
    """The stub answered a monitor command with an error or does not know qRcmd."""


_THREAD = re.compile(r"(?:p([0-9a-fA-F]{1,8})\.)?([0-9a-fA-F]{1,8})")


class RspConnection:
    """One connection to a gdbstub: framed requests and bounded answers."""

    def __init__(self, address: str, timeout: float = DEADLINE) -> None:
        host, port = split_address(address)
        self.address = address
        self.timeout = timeout
        self.packet_size = DEFAULT_PACKET_SIZE
        #: the error with which the peer broke the protocol: nothing more is asked of it then
        self.failure: TargetError | None = None
        self._buffer = bytearray()
        self._sent = b""
        self._asking = "connect"
        self._deadline = time.monotonic() + timeout
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as error:
            raise TargetError(f"cannot attach to {address}: {error.strerror or error}") from None
        except (ValueError, UnicodeError) as error:
            raise TargetError(f"cannot attach to {address}: {error}") from None

    def close(self) -> None:
        self.sock.close()

    def _fail(self, what: str) -> TargetError:
        """The error for a peer that broke the protocol; the connection is of no further use."""
        self.failure = TargetError(f"the gdbstub at {self.address} {what}")
        return self.failure

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise self._fail(f"dropped the connection ({error.strerror or error})") from None

    def _fill(self) -> None:
        """Read more bytes before the request's deadline."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._fail(f"did not finish its answer to `{self._asking}` within {self.timeout:g} s")
        try:
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise self._fail(f"did not finish its answer to `{self._asking}` within {self.timeout:g} s") from None
        except OSError as error:
            raise self._fail(f"dropped the connection ({error.strerror or error})") from None
        if not chunk:
            raise self._fail("closed the connection (QEMU gone?)")
        self._buffer += chunk

    def send(self, payload: str, fresh: bool = True) -> None:
        """Send one request; its answer must be complete within the deadline (a new one
        unless ``fresh`` is False: the request continues an answer, as ``qsThreadInfo`` does)."""
        if self.failure is not None:
            raise self.failure
        self._asking = payload if len(payload) <= 40 else payload[:37] + "..."
        if fresh:
            self._deadline = time.monotonic() + self.timeout
        data = payload.encode("latin-1")
        self._sent = b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode()
        self._send(self._sent)

    def packet(self) -> str:
        """The next packet of the current answer (acknowledged), expanded."""
        resends = 0
        while True:
            if not self._buffer:
                self._fill()
            head = self._buffer[0]
            if head == ord("$"):
                break
            if head == ord("-"):
                resends += 1
                if resends > MAX_RESENDS:
                    raise self._fail(f"rejected `{self._asking}` {resends} times")
                self._send(self._sent)
            elif head != ord("+"):
                self.failure = TargetError(f"{self.address} does not speak the gdb remote protocol "
                                           f"(got {bytes(self._buffer[:16])!r})")
                raise self.failure
            del self._buffer[0]
        limit = self.packet_size + PACKET_MARGIN
        scanned = 1
        while (end := self._buffer.find(b"#", scanned)) < 0:
            scanned = len(self._buffer)
            if scanned > limit:
                raise self._fail(f"sent a packet longer than {limit} bytes in answer to `{self._asking}`")
            self._fill()
        if end > limit:
            raise self._fail(f"sent a packet longer than {limit} bytes in answer to `{self._asking}`")
        while len(self._buffer) < end + 3:
            self._fill()
        body = bytes(self._buffer[1:end])
        checksum = bytes(self._buffer[end + 1:end + 3])
        del self._buffer[:end + 3]
        if f"{sum(body) & 0xFF:02x}".encode() != checksum.lower():
            self._send(b"-")
            raise self._fail(f"sent a packet with a bad checksum in answer to `{self._asking}`")
        self._send(b"+")
        expanded = _expand(body, 2 * limit)
        if expanded is None:
            raise self._fail(f"sent a run-length encoded packet that expands past {2 * limit} bytes")
        return expanded.decode("latin-1")

    def answer(self) -> str:
        """The next packet that is not a stop reply (QEMU announces the stop it makes at connect)."""
        for _ in range(MAX_STOP_REPLIES):
            reply = self.packet()
            if reply[:1] not in ("T", "S"):
                return reply
        raise self._fail(f"sent more than {MAX_STOP_REPLIES} stop replies instead of answering `{self._asking}`")

    def request(self, payload: str) -> str:
        """Send one packet; its reply (stop replies skipped)."""
        self.send(payload)
        return self.answer()

    def stop_reason(self) -> str:
        """The answer to ``?``: a stop reply."""
        self.send("?")
        return self.packet()

    def negotiate(self) -> None:
        """Learn the stub's PacketSize (``qSupported`` with no features: no mode of QEMU changes)."""
        reply = self.request("qSupported")
        for feature in reply.split(";"):
            name, _, value = feature.partition("=")
            if name == "PacketSize":
                try:
                    size = int(value, 16)
                except ValueError:
                    raise self._fail(f"advertised a PacketSize of {value[:20]!r}") from None
                self.packet_size = min(max(size, DEFAULT_PACKET_SIZE), MAX_PACKET_SIZE)

    def threads(self) -> list[tuple[int | None, int]]:
        """(pid or None, thread id) of each thread, from one bounded listing."""
        self.send("qfThreadInfo")
        found: dict[tuple[int | None, int], None] = {}
        for _ in range(MAX_THREADS):
            reply = self.answer()
            if reply == "l":
                return list(found)
            if not reply.startswith("m"):
                raise self._fail(f"answered {reply[:40]!r} to a thread list request")
            for item in reply[1:].split(","):
                match = _THREAD.fullmatch(item)
                if match is None or int(match[2], 16) == 0:
                    raise self._fail(f"sent a thread list idtscope cannot read ({reply[:40]!r})")
                found[(int(match[1], 16) if match[1] else None, int(match[2], 16))] = None
                if len(found) > MAX_THREADS:
                    raise self._fail(f"listed more than {MAX_THREADS} threads")
            self.send("qsThreadInfo", fresh=False)
        raise self._fail(f"did not end its thread list after {MAX_THREADS} packets")

    def monitor(self, command: str) -> str:
        """A QEMU monitor command's output (``qRcmd``), bounded in size and packets."""
        self.send("qRcmd," + command.encode().hex())
        output = bytearray()
        for _ in range(MAX_OUTPUT_PACKETS):
            reply = self.answer()
            if reply == "OK":
                return output.decode(errors="replace")
            if reply == "":
                raise MonitorRefused(f"the gdbstub at {self.address} does not take monitor commands (qRcmd)")
            if reply[0] == "E" and len(reply) == 3:
                raise MonitorRefused(f"QEMU refused `monitor {command}` ({reply})")
            if reply[0] != "O":
                raise self._fail(f"answered {reply[:40]!r} to `monitor {command}`")
            try:
                output += bytes.fromhex(reply[1:])
            except ValueError:
                raise self._fail(f"sent monitor output that is not hex ({reply[:40]!r})") from None
            if len(output) > MAX_MONITOR_OUTPUT:
                raise self._fail(f"sent more than {MAX_MONITOR_OUTPUT} bytes for `monitor {command}`")
        raise self._fail(f"sent more than {MAX_OUTPUT_PACKETS} output packets for `monitor {command}`")

    def read(self, address: int, size: int) -> bytes:
        """``size`` bytes at ``address`` in ``m`` packets of half the PacketSize: QEMU's cap, past which
        it answers E22 (2 KiB on QEMU 7.2; 0x10010 bytes from QEMU 10.2, so one packet per table)."""
        data = bytearray()
        chunk = self.packet_size // 2
        while len(data) < size:
            step = min(chunk, size - len(data))
            reply = self.request(f"m{address + len(data):x},{step:x}")
            if len(reply) != 2 * step:
                if reply[:1] == "E" or reply == "":
                    raise TargetError(f"cannot read {size} bytes at {address:#x} (not mapped)")
                raise self._fail(f"sent {len(reply)} characters for a read of {step} bytes")
            try:
                data += bytes.fromhex(reply)
            except ValueError:
                raise self._fail(f"sent {reply[:20]!r} for a memory read") from None
        return bytes(data)

    def detach(self, pid: int | None) -> None:
        """Detach so that the guest runs on: ``D;pid`` when the stub lists threads in the
        multiprocess form (``pP.T``, so it wants that form), else ``D``, then ``D;1`` if QEMU
        answers that with an error."""
        reply = self.request("D" if pid is None else f"D;{pid:x}")
        if pid is None and reply.startswith("E"):
            reply = self.request("D;1")
        if reply != "OK":
            raise TargetError(f"QEMU at {self.address} refused to detach ({reply[:20] or 'no answer'}): the guest "
                              "stays paused; `cont` in QEMU's monitor resumes it")


def _expand(body: bytes, limit: int) -> bytes | None:
    """Undo ``}`` escapes and ``*`` run-length encoding; None past ``limit`` bytes."""
    if b"}" not in body and b"*" not in body:
        return body
    out = bytearray()
    index = 0
    while index < len(body):
        byte = body[index]
        if byte == ord("}") and index + 1 < len(body):
            out.append(body[index + 1] ^ 0x20)
            index += 2
        elif byte == ord("*") and out and index + 1 < len(body):
            out += bytes([out[-1]]) * max(0, body[index + 1] - 29)
            index += 2
        else:
            out.append(byte)
            index += 1
        if len(out) > limit:
            return None
    return bytes(out)


class RspTarget(Target):
    """Read-only answers straight from QEMU's gdbstub; symbols only from a loaded table."""

    def __init__(self, connection: RspConnection) -> None:
        super().__init__()
        self.connection = connection
        self.label = connection.address
        self._selected: int | None = None
        self._memory_thread: int | None = None
        #: the process id of the stub's multiprocess thread list (``pP.T``), None for the plain form
        self._pid: int | None = None
        #: whether the guest ran before we connected (None: the stub could not say)
        self.was_running: bool | None = None

    @classmethod
    def attach(cls, address: str) -> RspTarget:
        target = cls(RspConnection(address))
        try:
            reply = target.connection.stop_reason()
            if not reply or reply[0] not in "STWX":
                raise TargetError(f"{address} answered {reply[:40]!r} to a stop query: not a QEMU gdbstub?")
            target.connection.negotiate()
            target.was_running = _was_running(target.connection)
        except TargetError:
            target.connection.close()
            raise
        return target

    def close(self) -> None:
        """Leave the guest as found: running again if it ran before we connected (unless the
        peer broke the protocol: its error was the news)."""
        try:
            if self.was_running is not False and self.connection.failure is None:
                self.connection.detach(self._pid)
        finally:
            self.connection.close()

    @property
    def failure(self) -> TargetError | None:
        return self.connection.failure

    def _list_cpus(self) -> tuple[int, ...]:
        threads = self.connection.threads()
        if not threads:
            raise TargetError(f"the gdbstub at {self.connection.address} lists no threads")
        self._pid = threads[0][0]
        return tuple(sorted({thread - 1 for _, thread in threads}))

    def selected_cpu(self) -> int:
        if self._selected is None:
            self._selected = self.cpus()[0]
        return self._selected

    def select_cpu(self, cpu: int) -> None:
        self._selected = self.check_cpu(cpu)

    def _ask_monitor(self, command: str) -> str:
        return self.connection.monitor(command).replace("\r\n", "\n").lstrip("\n")

    def _read_memory(self, address: int, size: int, cpu: int, physical: bool) -> bytes:
        if not physical:
            if self._memory_thread != cpu + 1:
                self._expect_ok(f"Hg{cpu + 1:x}", "select a thread")
                self._memory_thread = cpu + 1
            return self.connection.read(address, size)
        self._expect_ok("Qqemu.PhyMemMode:1", "switch to physical-memory reads")
        try:
            return self.connection.read(address, size)
        finally:
            self._expect_ok("Qqemu.PhyMemMode:0", "switch back to virtual-memory reads")

    def _expect_ok(self, payload: str, what: str) -> None:
        reply = self.connection.request(payload)
        if reply != "OK":
            raise TargetError(f"the gdbstub at {self.connection.address} would not {what} "
                              f"({payload}: {reply[:20] or 'not supported'})")

    def symbolize(self, address: int) -> str | None:
        table = self.symbol_table()
        return None if table is None else table.lookup(address)


def _was_running(connection: RspConnection) -> bool | None:
    """Whether QEMU ran the guest before this connection stopped it (``info status``)."""
    try:
        status = connection.monitor("info status").strip()
    except MonitorRefused:
        return None
    if not status.startswith("VM status: "):
        return None
    return status == "VM status: paused" or status == "VM status: running"
