"""Count remote-protocol packets on the wire: a loopback relay between a client (gdb,
or idtscope's one-shot path) and QEMU's gdbstub that records every packet each side
sends. Nothing in the client is changed or told: the count is what crossed the socket.

    with PacketRelay(guest.port) as relay:
        run a client against 127.0.0.1:relay.port
    relay.sent       # the client's payloads, in order ("qSupported", "m1000,800", ...)
    relay.received   # the stub's
"""

from __future__ import annotations

import re
import socket
import threading

#: a framed packet ``$payload#cc`` (acks ``+``/``-`` and the ``\x03`` interrupt are not packets)
_PACKET = re.compile(rb"\$([^#]*)#[0-9a-fA-F]{2}")
_READ = re.compile(r"m([0-9a-fA-F]+),([0-9a-fA-F]+)")


class PacketRelay:
    """Relays one connection on ``.port`` to the gdbstub on ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent: list[str] = []
        self.received: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> "PacketRelay":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def packet_size(self) -> int:
        """The PacketSize the stub announced in its answer to ``qSupported``."""
        for reply in self.received:
            for feature in reply.split(";"):
                name, _, value = feature.partition("=")
                if name == "PacketSize":
                    return int(value, 16)
        raise AssertionError(f"the stub announced no PacketSize: {self.received[:4]}")

    def reads(self, address: int, size: int, packets: list[str] | None = None) -> list[tuple[int, int]]:
        """(address, length) of each ``m`` read among ``packets`` (default: all sent) that
        touches the ``size`` bytes at ``address``."""
        found = []
        for packet in self.sent if packets is None else packets:
            match = _READ.fullmatch(packet)
            if match:
                start, length = int(match[1], 16), int(match[2], 16)
                if start < address + size and address < start + length:
                    found.append((start, length))
        return found

    def marked(self, mark: str) -> list[str]:
        """The packets sent between the first and the last packet ``mark`` (a client
        sends it, e.g. gdb's ``maint packet MARK``; the stub answers it as unknown)."""
        first = self.sent.index(mark)
        last = len(self.sent) - 1 - self.sent[::-1].index(mark)
        return self.sent[first + 1:last]

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        stub = socket.create_connection(("127.0.0.1", self.target_port))
        self._sockets += [client, stub]
        for source, sink, record in ((client, stub, self.sent), (stub, client, self.received)):
            threading.Thread(target=self._pump, args=(source, sink, record), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: list[str]) -> None:
        pending = b""
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                for sock in (source, sink):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            pending += data
            end = 0
            for match in _PACKET.finditer(pending):
                record.append(match.group(1).decode("latin-1"))
                end = match.end()
            pending = pending[end:]
            try:
                sink.sendall(data)
            except OSError:
                return
