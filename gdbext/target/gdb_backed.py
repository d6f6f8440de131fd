"""What the two gdb targets share: monitor texts, physical reads, vCPU switching
and per-stop caching, built on four primitives a gdb front end provides.

QEMU facts used here (checked on QEMU 7.2 with gdb 13.1): gdb thread number = vCPU index + 1; the
monitor is reached with ``monitor CMD`` (qRcmd) and answers with ``\\r\\n``
line ends; ``maint packet Qqemu.PhyMemMode:1`` switches gdbstub memory
accesses to physical addresses until ``:0``.
"""

from __future__ import annotations

from abc import abstractmethod

from ..errors import TargetError
from ..symbols import SymbolTable, parse_gdb_info_symbol
from .base import Target

PHYS_ON = "maint packet Qqemu.PhyMemMode:1"
PHYS_OFF = "maint packet Qqemu.PhyMemMode:0"


class GdbBackedTarget(Target):
    """A target whose answers come from a gdb connected to QEMU's gdbstub.

    ``hit_filter(target, cpu, address)`` is asked at each hit of a breakpoint
    this target inserted (address None: a plain stop that may be one); False
    means "not a stop for the user": the guest goes on; None, "not ours".
    """

    #: True while a hit is being judged: gdb still calls the thread running then, but it is stopped
    judging_hit: bool = False

    @abstractmethod
    def insert_breakpoint(self, address: int, hardware: bool) -> object:
        """Set a breakpoint at ``address``; a handle for remove_breakpoint."""

    @abstractmethod
    def remove_breakpoint(self, handle: object) -> None:
        """Delete a breakpoint set by insert_breakpoint."""

    def on_hit(self, cpu: int, address: int | None = None) -> bool | None:
        """Whether a stop of ``cpu`` at our breakpoint ``address`` is a stop for the user (asks ``hit_filter``)."""
        self.cache.clear()
        if self.hit_filter is None:
            return None if address is None else True
        self.judging_hit = True
        try:
            return self.hit_filter(self, cpu, address)
        finally:
            self.judging_hit = False

    @abstractmethod
    def console(self, command: str) -> str:
        """Run a gdb CLI command and return what it printed."""

    @abstractmethod
    def _read(self, address: int, size: int) -> bytes:
        """Read memory as gdb's selected thread sees it; TargetError when unreadable."""

    @abstractmethod
    def _thread_numbers(self) -> tuple[int, ...]:
        """gdb's thread numbers of the inferior."""

    @abstractmethod
    def _selected_thread(self) -> int:
        """gdb's selected thread number."""

    @abstractmethod
    def _switch_thread(self, number: int) -> None:
        """Select a gdb thread."""

    @abstractmethod
    def is_running(self) -> bool:
        """Whether the guest is running (gdb cannot read it then)."""

    def require_stopped(self) -> None:
        if not self.judging_hit and self.is_running():
            raise TargetError("the guest is running; stop it first (`interrupt`, or Ctrl-C in gdb)")

    def _list_cpus(self) -> tuple[int, ...]:
        return tuple(sorted(n - 1 for n in self._thread_numbers()))

    def selected_cpu(self) -> int:
        self.require_stopped()
        return self._selected_thread() - 1

    def select_cpu(self, cpu: int) -> None:
        self._switch_thread(self.check_cpu(cpu) + 1)

    def _ask_monitor(self, command: str) -> str:
        self.require_stopped()
        try:
            text = self.console(f"monitor {command}")
        except TargetError as error:
            if "not supported" in str(error):
                raise TargetError(f"{error} idtscope reads GDTR/IDTR/TR and the APIC through QEMU's monitor: "
                                  "connect gdb to QEMU's gdbstub (qemu -s, then target remote :1234)") from None
            raise
        return text.replace("\r\n", "\n").lstrip("\n")

    def _read_memory(self, address: int, size: int, cpu: int, physical: bool) -> bytes:
        self.require_stopped()
        if physical:
            self.console(PHYS_ON)
            try:
                return self._read(address, size)
            finally:
                self.console(PHYS_OFF)
        current = self._selected_thread()
        wanted = cpu + 1
        if wanted == current:
            return self._read(address, size)
        self._switch_thread(wanted)
        try:
            return self._read(address, size)
        finally:
            self._switch_thread(current)

    def symbolize(self, address: int) -> str | None:
        return self.symbolize_many([address])[address]

    def symbolize_many(self, addresses: list[int]) -> dict[int, str | None]:
        """From the loaded table if any, else from gdb's own symbols (asked once per address per
        stop), else from the table ``find_symbols`` finds."""
        table = self.symbol_table()
        if table is not None:
            return {address: table.lookup(address) for address in addresses}
        if not self.cache.get("gdb-has-symbols", self._gdb_has_symbols):
            return dict.fromkeys(addresses)
        missing = [a for a in dict.fromkeys(addresses) if ("sym", a) not in self.cache]
        if missing:
            for address, name in self._gdb_symbols(missing).items():
                self.cache.put(("sym", address), name)
        return {address: self.cache.get(("sym", address), lambda: None) for address in addresses}

    def symbol_table(self) -> SymbolTable | None:
        """A loaded table; else none while gdb has symbols of its own (they name addresses then)."""
        if self.symbols is None and self.cache.get("gdb-has-symbols", self._gdb_has_symbols):
            return None
        return super().symbol_table()

    def _gdb_has_symbols(self) -> bool:
        """Whether gdb has a symbol file (``info files`` names it: gdb 13 answers ``info symbol``
        alike with none loaded and with one that lacks the address)."""
        return "Symbols from" in self.console("info files")

    def _gdb_symbols(self, addresses: list[int]) -> dict[int, str | None]:
        """gdb's ``info symbol`` for each address."""
        return {a: parse_gdb_info_symbol(self.console(f"info symbol {a:#x}")) for a in addresses}
