"""The target for the standalone shell: a gdb subprocess spoken to over MI.

``attach`` starts gdb, connects it to QEMU's gdbstub and returns the target.
Stop and run records from gdb drop the per-stop cache.
"""

from __future__ import annotations

from typing import Any

from ..errors import TargetError
from .gdb_backed import GdbBackedTarget
from .mi import MiClient, MiError, c_string


class GdbMiTarget(GdbBackedTarget):
    def __init__(self, client: MiClient, address: str) -> None:
        super().__init__()
        self.client = client
        self.address = address
        self.label = address
        client.listeners.append(self._on_async)

    @classmethod
    def attach(cls, address: str, gdb: str = "gdb", timeout: float = 15.0) -> GdbMiTarget:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise TargetError(f"attach to HOST:PORT, got {address!r}")
        client = MiClient(gdb, timeout=timeout)
        try:
            client.command(f"-target-select remote {address}")
        except MiError as error:
            client.close()
            raise TargetError(f"cannot attach to {address}: {error}") from None
        except TargetError:
            client.close()
            raise
        return cls(client, address)

    def close(self) -> None:
        self.client.close()

    def _on_async(self, record: dict[str, Any]) -> None:
        if record.get("message") in ("stopped", "running"):
            self.cache.clear()

    def console(self, command: str) -> str:
        try:
            return self.client.command(f"-interpreter-exec console {c_string(command)}").text
        except MiError as error:
            raise TargetError(" ".join(str(error).split())) from None

    def _read(self, address: int, size: int) -> bytes:
        try:
            reply = self.client.command(f"-data-read-memory-bytes {address:#x} {size}")
        except MiError:
            raise TargetError(f"cannot read {size} bytes at {address:#x} (not mapped)") from None
        chunks = reply.payload.get("memory", []) if isinstance(reply.payload, dict) else []
        data = b"".join(bytes.fromhex(chunk.get("contents", "")) for chunk in chunks)
        if len(data) != size:
            raise TargetError(f"cannot read {size} bytes at {address:#x} (only {len(data)} readable)")
        return data

    def _thread_numbers(self) -> tuple[int, ...]:
        reply = self.client.command("-thread-list-ids")
        ids = (reply.payload or {}).get("thread-ids") or {}
        values = ids.get("thread-id", []) if isinstance(ids, dict) else []
        if isinstance(values, str):
            values = [values]
        if not values:
            raise TargetError("gdb reports no threads: is the guest connected?")
        return tuple(int(v) for v in values)

    def _selected_thread(self) -> int:
        reply = self.client.command("-thread-list-ids")
        current = (reply.payload or {}).get("current-thread-id")
        if current is None:
            raise TargetError("gdb has no selected thread: is the guest connected?")
        return int(current)

    def _switch_thread(self, number: int) -> None:
        try:
            self.client.command(f"-thread-select {number}")
        except MiError as error:
            raise TargetError(str(error)) from None

    def is_running(self) -> bool:
        self.client.poll()
        return self.client.running
