"""The target inside gdb: the `gdb` module answers directly, with no extra process.

Caches are dropped on gdb's stop, continue and new-objfile events (the loader
connects them; see gdbext/gdbinit.py).
"""

from __future__ import annotations

import gdb  # only this module and gdbinit.py import gdb

from ..errors import TargetError
from .gdb_backed import GdbBackedTarget


class _HandlerBreakpoint(gdb.Breakpoint):
    """A breakpoint whose stop() asks the target whether the hit matches the user's filters."""

    def __init__(self, target: "GdbPythonTarget", address: int, hardware: bool) -> None:
        kind = gdb.BP_HARDWARE_BREAKPOINT if hardware else gdb.BP_BREAKPOINT
        super().__init__(f"*{address:#x}", type=kind)
        self.target = target
        self.handler_address = address

    def stop(self) -> bool:
        thread = gdb.selected_thread()
        return self.target.on_hit(thread.num - 1 if thread else 0, self.handler_address) is not False


class GdbPythonTarget(GdbBackedTarget):
    label = "gdb"

    def insert_breakpoint(self, address: int, hardware: bool) -> object:
        try:
            return _HandlerBreakpoint(self, address, hardware)
        except gdb.error as error:
            raise TargetError(_one_line(str(error))) from None

    def remove_breakpoint(self, handle: object) -> None:
        if isinstance(handle, gdb.Breakpoint) and handle.is_valid():
            handle.delete()

    def console(self, command: str) -> str:
        try:
            return gdb.execute(command, to_string=True) or ""
        except gdb.error as error:
            raise TargetError(_one_line(str(error))) from None

    def _read(self, address: int, size: int) -> bytes:
        try:
            return gdb.selected_inferior().read_memory(address, size).tobytes()
        except gdb.MemoryError:
            raise TargetError(f"cannot read {size} bytes at {address:#x} (not mapped)") from None
        except gdb.error as error:
            raise TargetError(_one_line(str(error))) from None

    def _inferior_threads(self) -> tuple:
        inferior = gdb.selected_inferior()
        if inferior is None or inferior.pid == 0:
            raise TargetError("gdb is not connected to a guest (target remote HOST:PORT)")
        return inferior.threads()

    def _thread_numbers(self) -> tuple[int, ...]:
        return tuple(thread.num for thread in self._inferior_threads())

    def _selected_thread(self) -> int:
        thread = gdb.selected_thread()
        if thread is None:
            raise TargetError("gdb is not connected to a guest (target remote HOST:PORT)")
        return thread.num

    def _switch_thread(self, number: int) -> None:
        for thread in self._inferior_threads():
            if thread.num == number:
                thread.switch()
                return
        raise TargetError(f"no gdb thread {number}")

    def is_running(self) -> bool:
        thread = gdb.selected_thread()
        return thread is not None and thread.is_running()


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "gdb error"
