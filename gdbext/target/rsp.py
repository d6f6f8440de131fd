"""A direct client of QEMU's gdbstub (the GDB remote serial protocol), for
read-only sessions that need no gdb: one-shot scripts start in the time it
takes Python to start, not gdb.

Protocol (GDB manual, "Remote Protocol"): packets ``$payload#cc`` with a
two-digit hex checksum, acknowledged with ``+``; ``}`` escapes (x ^ 0x20) and
``*`` run-length encoding in replies. Used here: ``qfThreadInfo``/``qsThreadInfo``
(vCPUs), ``Hg`` (the thread memory reads use), ``m addr,len``, ``qRcmd`` (the
QEMU monitor; output arrives in ``O`` packets before ``OK``),
``Qqemu.PhyMemMode`` (physical reads), ``D`` (detach: the guest runs on).
QEMU stops the guest when a client connects (checked on QEMU 7.2).
"""

from __future__ import annotations

import socket

from ..errors import TargetError
from .base import Target, split_address

MAX_READ = 2048


class RspConnection:
    def __init__(self, address: str, timeout: float = 10.0) -> None:
        try:
            self.sock = socket.create_connection(split_address(address), timeout=timeout)
        except OSError as error:
            raise TargetError(f"cannot attach to {address}: {error.strerror or error}") from None
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.address = address
        self._buffer = b""
        self._position = 0

    def close(self) -> None:
        try:
            self.sock.sendall(self._frame("D"))
        except OSError:
            pass
        self.sock.close()

    @staticmethod
    def _frame(payload: str) -> bytes:
        data = payload.encode("latin-1")
        return b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode()

    def _byte(self) -> int:
        if self._position >= len(self._buffer):
            try:
                chunk = self.sock.recv(65536)
            except OSError as error:
                raise TargetError(f"the gdbstub at {self.address} stopped answering ({error})") from None
            if not chunk:
                raise TargetError(f"the gdbstub at {self.address} closed the connection (QEMU gone?)")
            self._buffer, self._position = chunk, 0
        self._position += 1
        return self._buffer[self._position - 1]

    def receive(self) -> str:
        """The next packet from the stub (acknowledged), with escapes and run-lengths undone."""
        while (byte := self._byte()) != ord("$"):
            if byte not in b"+-\x03":
                raise TargetError(f"{self.address} does not speak the gdb remote protocol (got {bytes([byte])!r})")
        body = bytearray()
        while (byte := self._byte()) != ord("#"):
            body.append(byte)
        checksum = bytes([self._byte(), self._byte()])
        if f"{sum(body) & 0xFF:02x}".encode() != checksum.lower():
            self.sock.sendall(b"-")
            raise TargetError(f"bad checksum from {self.address}")
        self.sock.sendall(b"+")
        return _expand(bytes(body)).decode("latin-1")

    def request(self, payload: str) -> str:
        """Send one packet; the reply packet (``O`` output packets are collected by ``monitor``).

        QEMU announces the stop it makes when a client connects with a stop
        reply of its own; such ``T``/``S`` packets are skipped here (none of
        the requests below is answered by one, except ``?``).
        """
        try:
            self.sock.sendall(self._frame(payload))
        except OSError as error:
            raise TargetError(f"cannot talk to {self.address}: {error}") from None
        reply = self.receive()
        while payload != "?" and reply[:1] in ("T", "S"):
            reply = self.receive()
        return reply


def _expand(body: bytes) -> bytes:
    """Undo ``}`` escapes and ``*`` run-length encoding."""
    out = bytearray()
    index = 0
    while index < len(body):
        byte = body[index]
        if byte == ord("}") and index + 1 < len(body):
            out.append(body[index + 1] ^ 0x20)
            index += 2
        elif byte == ord("*") and out and index + 1 < len(body):
            out += bytes([out[-1]]) * (body[index + 1] - 29)
            index += 2
        else:
            out.append(byte)
            index += 1
    return bytes(out)


class RspTarget(Target):
    """Read-only answers straight from QEMU's gdbstub; symbols only from a loaded table."""

    def __init__(self, connection: RspConnection) -> None:
        super().__init__()
        self.connection = connection
        self.label = connection.address
        self._selected: int | None = None
        self._memory_thread: int | None = None
        self._physical = False

    @classmethod
    def attach(cls, address: str) -> RspTarget:
        target = cls(RspConnection(address))
        reply = target.connection.request("?")
        if not reply or reply[0] not in "STWX":
            target.connection.close()
            raise TargetError(f"{address} answered {reply[:40]!r} to a stop query: not a QEMU gdbstub?")
        return target

    def close(self) -> None:
        self.connection.close()

    def _list_cpus(self) -> tuple[int, ...]:
        threads: list[int] = []
        reply = self.connection.request("qfThreadInfo")
        while reply.startswith("m"):
            for item in reply[1:].split(","):
                threads.append(int(item.rsplit(".", 1)[-1], 16))
            reply = self.connection.request("qsThreadInfo")
        if not threads:
            raise TargetError(f"the gdbstub lists no threads ({reply[:40]!r})")
        return tuple(sorted(t - 1 for t in threads))

    def selected_cpu(self) -> int:
        if self._selected is None:
            self._selected = self.cpus()[0]
        return self._selected

    def select_cpu(self, cpu: int) -> None:
        self._selected = self.check_cpu(cpu)

    def _ask_monitor(self, command: str) -> str:
        reply = self.connection.request("qRcmd," + command.encode().hex())
        output = []
        while reply.startswith("O") and reply != "OK":
            output.append(bytes.fromhex(reply[1:]).decode(errors="replace"))
            reply = self.connection.receive()
        if reply.startswith("E"):
            raise TargetError(f"QEMU refused `monitor {command}` ({reply})")
        return "".join(output).replace("\r\n", "\n").lstrip("\n")

    def _read_memory(self, address: int, size: int, cpu: int, physical: bool) -> bytes:
        if physical != self._physical:
            self.connection.request(f"Qqemu.PhyMemMode:{int(physical)}")
            self._physical = physical
        if not physical and self._memory_thread != cpu + 1:
            self.connection.request(f"Hg{cpu + 1:x}")
            self._memory_thread = cpu + 1
        data = bytearray()
        while len(data) < size:
            step = min(MAX_READ, size - len(data))
            reply = self.connection.request(f"m{address + len(data):x},{step:x}")
            if len(reply) != 2 * step:
                raise TargetError(f"cannot read {size} bytes at {address:#x} (not mapped)")
            try:
                data += bytes.fromhex(reply)
            except ValueError:
                raise TargetError(f"the gdbstub sent {reply[:20]!r} for a memory read") from None
        return bytes(data)

    def symbolize(self, address: int) -> str | None:
        return None if self.symbols is None else self.symbols.lookup(address)
