"""The Target interface: where bytes, monitor texts and symbols come from.

A target is inside gdb (gdb_python), a gdb subprocess driven over MI (gdb_mi),
QEMU's gdbstub spoken to directly (rsp), or a snapshot file. Commands see only
this interface. Each target provides a few primitives (``_list_cpus``,
``_ask_monitor``, ``_read_memory``); this class checks ranges and caches what
they answer while the guest is stopped, until the guest runs again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..errors import IdtscopeError, TargetError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ..symbols import SymbolTable

__all__ = ["Target", "TargetError", "StopCache", "split_address"]


def split_address(address: str) -> tuple[str, int]:
    """HOST and PORT of a gdbstub's ``HOST:PORT``; a TargetError naming the form otherwise."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or int(port) > 0xFFFF:
        raise TargetError(f"attach to HOST:PORT, got {address!r}")
    return host, int(port)


class StopCache:
    """Values read during one stop; dropped when the guest runs or symbols change."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self._values:
            self._values[key] = compute()
        return self._values[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._values

    def put(self, key: Any, value: Any) -> None:
        self._values[key] = value

    def clear(self) -> None:
        self._values.clear()


class Target(ABC):
    """What commands may ask of a guest."""

    #: a short description for prompts and the "(snapshot)" mark
    label: str = "target"
    #: True for a saved file: nothing runs, nothing can be changed
    is_snapshot: bool = False
    #: asked at each hit of a breakpoint this target set (machine/breakpoints.py): ``(target, cpu,
    #: address)`` -> a stop (True), go on (False), not ours (None); unset, every hit is a stop
    hit_filter: Callable[[Target, int, int | None], bool | None] | None = None
    #: the table handler names come from (``symbols FILE``), None until one is loaded
    symbols: SymbolTable | None = None
    #: where names come from when no table was loaded (and a debugger has none): a function of the
    #: target that finds one, such as the running kernel's own kallsyms; the session sets it
    find_symbols: Callable[[Target], SymbolTable] | None = None
    #: why ``find_symbols`` found no table at this stop
    symbols_absent: str | None = None

    def __init__(self) -> None:
        self.cache = StopCache()

    @property
    def failure(self) -> TargetError | None:
        """The error that ended the connection (a peer that broke the protocol), None while it
        holds: every later answer would be a guess, so a command that ran into it fails with it."""
        return None

    def require_stopped(self) -> None:
        """A TargetError while the guest runs (nothing can be read then)."""

    def cpus(self) -> tuple[int, ...]:
        """The vCPU indices (0-based; gdb thread number = index + 1)."""
        self.require_stopped()
        return self.cache.get("cpus", self._list_cpus)

    @abstractmethod
    def _list_cpus(self) -> tuple[int, ...]:
        """The vCPU indices, asked of the guest."""

    @abstractmethod
    def selected_cpu(self) -> int:
        """The vCPU commands use when no --cpu is given."""

    @abstractmethod
    def select_cpu(self, cpu: int) -> None:
        """Make ``cpu`` the default vCPU."""

    def monitor(self, command: str) -> str:
        """The text of a QEMU monitor (HMP) command, with plain ``\\n`` line ends."""
        return self.cache.get(("monitor", command), lambda: self._ask_monitor(command))

    @abstractmethod
    def _ask_monitor(self, command: str) -> str:
        """A monitor command's text, asked of QEMU."""

    def read_memory(self, address: int, size: int, cpu: int, physical: bool = False) -> bytes:
        """``size`` bytes at a linear (as ``cpu`` sees it) or physical address."""
        if size <= 0:
            return b""
        self.check_range(address, size)
        key = ("mem", address, size, None if physical else cpu)
        return self.cache.get(key, lambda: self._read_memory(address, size, cpu, physical))

    @abstractmethod
    def _read_memory(self, address: int, size: int, cpu: int, physical: bool) -> bytes:
        """Memory read from the guest (``read_memory`` checked the range); TargetError when unreadable."""

    @abstractmethod
    def symbolize(self, address: int) -> str | None:
        """``name`` or ``name+offset`` for an address, or None."""

    @staticmethod
    def check_range(address: int, size: int) -> None:
        """A TargetError unless ``address``..``address + size`` lies in the 64-bit space."""
        if address < 0 or address + size > 1 << 64:
            raise TargetError(f"address range {address:#x}+{size:#x} is outside the 64-bit space")

    def symbolize_many(self, addresses: list[int]) -> dict[int, str | None]:
        """``symbolize`` for many addresses; targets may answer in one round trip."""
        return {address: self.symbolize(address) for address in addresses}

    def symbol_table(self) -> SymbolTable | None:
        """The table names come from: the loaded one, else what ``find_symbols`` finds, kept once
        found (until then asked once per stop: a kernel may not have booted yet at the first;
        ``symbols_absent`` says why it found none)."""
        finder = self.find_symbols
        if self.symbols is None and finder is not None:
            self.cache.get("find-symbols", lambda: self._find_symbols(finder))
        return self.symbols

    def _find_symbols(self, finder: Callable[[Target], SymbolTable]) -> None:
        try:
            self.symbols, self.symbols_absent = finder(self), None
        except IdtscopeError as error:
            self.symbols_absent = str(error)

    def load_symbols(self, table: SymbolTable) -> None:
        """Name addresses from ``table``."""
        self.symbols = table
        self.cache.clear()

    def is_running(self) -> bool:
        """Whether the guest runs now (nothing can be read then); a file or a stopped stub never does."""
        return False

    def close(self) -> None:
        """Let go of the guest, leaving it as it was found (it runs on); a file has nothing to let go."""

    def insert_breakpoint(self, address: int, hardware: bool) -> object:
        """Set a breakpoint at ``address``; a handle for remove_breakpoint."""
        raise TargetError(f"{self.label} is read-only: nothing runs in it, so it takes no breakpoint")

    def remove_breakpoint(self, handle: object) -> None:
        """Delete a breakpoint set by insert_breakpoint."""
        raise TargetError(f"{self.label} is read-only: it has no breakpoint")

    def check_cpu(self, cpu: int | None) -> int:
        """``cpu`` if it exists (default: the selected one), else a TargetError naming the choices."""
        if cpu is None:
            return self.selected_cpu()
        known = self.cpus()
        if cpu not in known:
            raise TargetError(f"no vCPU {cpu}; this guest has {', '.join(map(str, known))}")
        return cpu
