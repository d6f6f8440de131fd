"""A stand-in gdbstub on loopback for the remote-protocol client's tests.

It serves a real guest's state, saved as a snapshot (the registers QEMU's
monitor printed, the memory the CPU read), the way QEMU 7.2's gdbstub does:
a stop reply at connect, ``PacketSize=1000``, threads ``1..N``, ``m`` reads of
at most 2048 bytes, ``qRcmd`` output in ``O`` packets, physical-memory mode,
``D``. A ``Misbehaviour`` changes one thing at a time: what it returns for a
request is sent instead of the normal answer (raw bytes, already framed).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable

from gdbext.errors import TargetError
from gdbext.target.snapshot import SnapshotTarget

#: the stub's answer to one request, or None for the normal one: pieces to send in order, each
#: raw bytes, a float (seconds to wait first) or RESET (drop the connection with a TCP reset)
Misbehaviour = Callable[[str, "StubServer"], "Iterable[bytes | float] | None"]
RESET = b"<reset>"


def frame(payload: bytes | str) -> bytes:
    data = payload.encode("latin-1") if isinstance(payload, str) else payload
    return b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode()


class StubServer:
    """Serves one client at a time, in a thread, until ``close()``."""

    def __init__(self, snapshot: str, misbehave: Misbehaviour | None = None, greeting: bytes = b"") -> None:
        self.state = SnapshotTarget.open(snapshot)
        self.misbehave = misbehave
        self.greeting = greeting
        self.requests: list[str] = []
        self.detached = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self._thread.join(5)

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    self._session(client)
                except OSError:
                    pass

    def _session(self, client: socket.socket) -> None:
        self.physical = False
        self.thread = 1
        self.listed = 0
        client.sendall(self.greeting + frame("T02thread:01;"))
        buffer = b""
        while not self._stopping:
            chunk = client.recv(65536)
            if not chunk:
                return
            buffer += chunk
            while (start := buffer.find(b"$")) >= 0 and (end := buffer.find(b"#", start)) >= 0 \
                    and len(buffer) >= end + 3:
                payload = buffer[start + 1:end].decode("latin-1")
                buffer = buffer[end + 3:]
                client.sendall(b"+")
                self.requests.append(payload)
                answer = self.misbehave(payload, self) if self.misbehave else None
                if answer is None:
                    answer = self.replies(payload)
                for piece in answer:
                    if piece == RESET:
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                        return
                    if isinstance(piece, float):
                        time.sleep(piece)
                        continue
                    client.sendall(piece)
                if self.detached:
                    return

    def replies(self, payload: str) -> list[bytes]:
        """The packets QEMU 7.2 would send for ``payload``, from the saved state."""
        if payload.startswith("qRcmd,"):
            return self.monitor_replies(bytes.fromhex(payload[6:]).decode())
        return [frame(self.answer(payload))]

    def answer(self, payload: str) -> str:
        """QEMU 7.2's one-packet answer to ``payload``."""
        state = self.state
        if payload == "?":
            return f"T05thread:{self.thread:02x};"
        if payload.startswith("qSupported"):
            return "PacketSize=1000;qXfer:features:read+;vContSupported+"
        if payload in ("qfThreadInfo", "qsThreadInfo"):
            self.listed = 0 if payload == "qfThreadInfo" else self.listed + 1
            cpus = state.cpus()
            return f"m{cpus[self.listed] + 1:02x}" if self.listed < len(cpus) else "l"
        if payload.startswith("Hg"):
            self.thread = int(payload[2:], 16)
            return "OK"
        if payload.startswith("Qqemu.PhyMemMode:"):
            self.physical = payload.endswith("1")
            return "OK"
        if payload.startswith("m"):
            address, _, length = payload[1:].partition(",")
            if int(length, 16) > 2048:
                return "E22"
            try:
                data = state.read_memory(int(address, 16), int(length, 16), self.thread - 1, self.physical)
            except TargetError:  # a range the snapshot lacks reads as unmapped
                return "E14"
            return data.hex()
        if payload in ("D", "D;1"):
            self.detached = True
            return "OK"
        return ""

    def monitor_replies(self, command: str) -> list[bytes]:
        """Output packets of at most 1 KiB of text each, then ``OK`` (``E01`` for what the snapshot lacks)."""
        if command == "info status":
            text = "VM status: paused\r\n"
        else:
            try:
                text = self.state.monitor(command)
            except TargetError:
                return [frame("E01")]
        data = text.encode()
        return [frame("O" + data[i:i + 1024].hex()) for i in range(0, len(data), 1024)] + [frame("OK")]
