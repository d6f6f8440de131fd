"""The target for the standalone shell: a gdb subprocess spoken to over MI.

``attach`` starts gdb, connects it to QEMU's gdbstub and returns the target.
Stop and run records from gdb drop the per-stop cache.
"""

from __future__ import annotations

import re
import time

from ..errors import TargetError
from ..symbols import SymbolTable, parse_gdb_info_symbol
from .base import split_address
from .gdb_backed import GdbBackedTarget
from .mi import MiClient, MiError, c_string

#: how often a watched `resume` looks at its watcher while the guest runs (seconds)
WATCH_INTERVAL = 0.05

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


class GdbMiTarget(GdbBackedTarget):
    def __init__(self, client: MiClient, address: str) -> None:
        super().__init__()
        self.client = client
        self.address = address
        self.label = address
        self._ours: dict[str, int] = {}
        client.listeners.append(self._on_async)

    @classmethod
    def attach(cls, address: str, gdb: str = "gdb", timeout: float = 15.0,
               meanwhile: Callable[[], None] | None = None, client: MiClient | None = None) -> GdbMiTarget:
        """Start gdb (or use ``client``, already started) and connect it; ``meanwhile``
        runs while gdb boots and connects."""
        try:
            split_address(address)
        except TargetError:
            if client is not None:
                client.close()
            raise
        client = client or MiClient(gdb, timeout=timeout)
        token = client.send(f"-target-select remote {address}")
        if meanwhile is not None:
            meanwhile()
        try:
            client.wait(token)
        except MiError as error:
            client.close()
            raise TargetError(f"cannot attach to {address}: {error}") from None
        except TargetError:
            client.close()
            raise
        return cls(client, address)

    def close(self) -> None:
        self.client.close()

    def load_symbols(self, table: SymbolTable) -> None:
        """Resolve names from ``table``; an ELF is also given to gdb (for breakpoints by name),
        at the table's KASLR slide and without its DWARF (a debug vmlinux's takes gdb seconds).

        The architecture QEMU reported is pinned first: a 32-bit ELF would
        otherwise switch gdb to i386 and its register packets stop matching.
        """
        super().load_symbols(table)
        if table.is_elf:
            architecture = self.console("show architecture")
            current = architecture.rsplit('"', 2)[-2] if architecture.count('"') >= 2 else None
            if current:
                self.console(f"set architecture {current}")
            self.console(f"symbol-file -readnever -o {table.slide:#x} {table.source}")

    def insert_breakpoint(self, address: int, hardware: bool) -> object:
        try:
            reply = self.client.command(f"-break-insert {'-h ' if hardware else ''}*{address:#x}")
        except MiError as error:
            raise TargetError(f"cannot set a breakpoint at {address:#x}: {error}") from None
        number = _field(_field(reply.payload, "bkpt", dict), "number", str)
        if number is None:
            raise TargetError(f"gdb set a breakpoint at {address:#x} but did not say its number")
        self._ours[number] = address
        return number

    def remove_breakpoint(self, handle: object) -> None:
        self._ours.pop(str(handle), None)
        self.client.command(f"-break-delete {handle}", check=False)

    def resume(self, timeout: float | None = None, watch: Callable[[], bool] | None = None) -> str | None:
        """Continue the guest and wait for it to stop; the stop as one line, or None on timeout.

        A hit of our breakpoint that does not match its filters continues
        silently. Ctrl-C while waiting stops the guest, and so does ``watch``
        (asked every WATCH_INTERVAL seconds) when it answers True.
        """
        self.require_stopped()
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while True:
            self.client.command("-exec-continue")
            try:
                record = self._wait_watching(deadline, watch)
            except KeyboardInterrupt:
                self.client.command("-exec-interrupt", check=False)
                record = self.client.wait_for_stop(self.client.timeout)
            if record is None:
                return None
            payload = record.get("payload") or {}
            verdict = self._judge_hit(payload)
            if verdict is False:
                continue
            if verdict:
                payload = dict(payload, reason="handler-entry")
            return self.describe_stop(payload)

    def _wait_watching(self, deadline: float, watch: Callable[[], bool] | None) -> dict[str, Any] | None:
        """The ``*stopped`` record before ``deadline``; the guest is interrupted once ``watch`` says so."""
        while True:
            left = max(0.0, deadline - time.monotonic())
            record = self.client.wait_for_stop(left if watch is None else min(left, WATCH_INTERVAL))
            if record is not None or watch is None or time.monotonic() >= deadline:
                return record
            if watch():
                self.client.command("-exec-interrupt", check=False)
                return self.client.wait_for_stop(self.client.timeout)

    def _judge_hit(self, payload: dict[str, Any]) -> bool | None:
        """Whether this stop is a matching hit of our breakpoints (None: not ours).

        A plain SIGTRAP is judged too: in real mode with CS != 0 gdb sees IP,
        not the linear address the breakpoint was set at.
        """
        thread = _field(payload, "thread-id", str) or "1"
        cpu = int(thread) - 1 if thread.isdigit() else 0
        number = _field(payload, "bkptno", str)
        if payload.get("reason") == "breakpoint-hit" and number in self._ours:
            return self.on_hit(cpu, self._ours[number]) is not False
        if payload.get("reason") == "signal-received" and payload.get("signal-name") == "SIGTRAP" and self._ours:
            return self.on_hit(cpu)
        return None

    def step_instructions(self, count: int) -> str:
        """Execute ``count`` instructions on the selected vCPU; the stop as one line."""
        self.require_stopped()
        record = None
        for _ in range(count):
            self.client.command("-exec-step-instruction")
            record = self.client.wait_for_stop(self.client.timeout)
            if record is None:
                raise TargetError("the guest did not stop after a single step")
        return self.describe_stop((record or {}).get("payload") or {})

    def interrupt(self) -> str:
        if not self.is_running():
            return "the guest is already stopped"
        self.client.command("-exec-interrupt", check=False)
        record = self.client.wait_for_stop(self.client.timeout)
        if record is None:
            raise TargetError("the guest did not stop after an interrupt")
        return self.describe_stop(record.get("payload") or {})

    def describe_stop(self, payload: dict[str, Any]) -> str:
        """One line for a ``*stopped`` record: why, where, on which vCPU."""
        reason = _field(payload, "reason", str) or "stopped"
        text = _field(_field(payload, "frame", dict), "addr", str)
        address = int(text, 16) if text and re.fullmatch(r"0x[0-9a-fA-F]{1,16}", text) else None
        where = ""
        if address is not None:
            symbol = self.symbolize(address)
            where = f" at {address:#x}" + (f" <{symbol}>" if symbol else "")
        thread = _field(payload, "thread-id", str)
        cpu = f" on CPU {int(thread) - 1}" if thread and thread.isdigit() and int(thread) > 0 else ""
        if reason == "breakpoint-hit":
            return f"gdb breakpoint {payload.get('bkptno', '?')}{where}{cpu}"
        if reason == "handler-entry":
            return f"stopped at a handler's entry{where}{cpu}"
        if reason == "signal-received":
            return f"stopped ({payload.get('signal-name', 'signal')}){where}{cpu}"
        if reason in ("exited", "exited-normally", "exited-signalled"):
            return "the guest exited (QEMU quit or reset with -no-reboot)"
        return f"stopped ({reason}){where}{cpu}"

    def _on_async(self, record: dict[str, Any]) -> None:
        if record.get("message") in ("stopped", "running"):
            self.cache.clear()

    def _gdb_symbols(self, addresses: list[int]) -> dict[int, str | None]:
        """All addresses in one round trip through gdb's Python, when it has one."""
        if not self.client.has_python:
            return super()._gdb_symbols(addresses)
        script = ("python [print('%%#x|%%s' %% (a, gdb.execute('info symbol %%#x' %% a, to_string=True).strip()))"
                  " for a in (%s,)]" % ",".join(str(a) for a in addresses))
        text = self.console(script)
        names: dict[int, str | None] = dict.fromkeys(addresses)
        for line in text.splitlines():
            address, _, answer = line.partition("|")
            if answer and re.fullmatch(r"0x[0-9a-f]+", address) and int(address, 16) in names:
                names[int(address, 16)] = parse_gdb_info_symbol(answer)
        return names

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
        chunks = _field(reply.payload, "memory", list) or []
        contents = [_field(chunk, "contents", str) for chunk in chunks]
        try:
            data = b"".join(bytes.fromhex(text) for text in contents if text is not None)
        except ValueError:
            raise TargetError(f"gdb answered a read at {address:#x} with contents that are not hex") from None
        if len(data) != size:
            raise TargetError(f"cannot read {size} bytes at {address:#x} (only {len(data)} readable)")
        return data

    def _thread_numbers(self) -> tuple[int, ...]:
        reply = self.client.command("-thread-list-ids")
        values = _field(reply.payload, "thread-ids", dict) or {}
        values = values.get("thread-id", [])
        if isinstance(values, str):
            values = [values]
        if not values:
            raise TargetError("gdb reports no threads: is the guest connected?")
        if not isinstance(values, list) or not all(isinstance(v, str) and v.isdigit() and len(v) < 9 for v in values):
            raise TargetError(f"gdb listed threads idtscope cannot read ({str(values)[:60]})")
        return tuple(int(v) for v in values)

    def _selected_thread(self) -> int:
        reply = self.client.command("-thread-list-ids")
        current = _field(reply.payload, "current-thread-id", str)
        if current is None or not current.isdigit() or len(current) > 8:
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


def _field(record: object, name: str, kind: type) -> Any:
    """``record[name]`` when ``record`` is an MI tuple holding a ``kind`` there, else None."""
    value = record.get(name) if isinstance(record, dict) else None
    return value if isinstance(value, kind) else None
