"""Snapshots: a live session's answers saved to one file and replayed offline.

Saving runs the read-only commands through a ``RecordingTarget`` that keeps
every monitor text, memory range and symbol name they asked for; opening the
file gives a ``SnapshotTarget`` that answers the same questions from it, so
every read-only command works as if live.

File format (JSON, UTF-8), version 1::

    {"format": "idtscope-snapshot", "version": 1, "created": "<ISO 8601 UTC>",
     "source": "<target label>", "cpus": [0, 1], "selected_cpu": 0,
     "monitor": {"info registers 0": "<text>", ...},
     "memory": [{"cpu": 0 | null (physical), "address": int, "data": "<hex>"}, ...],
     "symbols": {"<address as decimal string>": "name" | null, ...}}

Linear ranges are kept per vCPU (each may use its own page tables); physical
ranges have ``"cpu": null``. The file is written to a temporary name and
renamed into place, so a crash never leaves half a snapshot.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ParseError, TargetError
from .base import Target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT = "idtscope-snapshot"
VERSION = 1


class RecordingTarget(Target):
    """Passes every question to ``inner`` and remembers the answers."""

    def __init__(self, inner: Target) -> None:
        super().__init__()
        self.inner = inner
        self.label = inner.label
        self.monitor_texts: dict[str, str] = {}
        self.ranges: dict[tuple[int | None, int], bytes] = {}
        self.names: dict[int, str | None] = {}

    def _list_cpus(self) -> tuple[int, ...]:
        return self.inner.cpus()

    def selected_cpu(self) -> int:
        return self.inner.selected_cpu()

    def select_cpu(self, cpu: int) -> None:
        self.inner.select_cpu(cpu)

    def _ask_monitor(self, command: str) -> str:
        text = self.inner.monitor(command)
        self.monitor_texts[command] = text
        return text

    def _read_memory(self, address: int, size: int, cpu: int, physical: bool) -> bytes:
        data = self.inner.read_memory(address, size, cpu, physical)
        key = (None if physical else cpu, address)
        if len(self.ranges.get(key, b"")) < len(data):
            self.ranges[key] = data
        return data

    def symbolize(self, address: int) -> str | None:
        return self.symbolize_many([address])[address]

    def symbolize_many(self, addresses: list[int]) -> dict[int, str | None]:
        names = self.inner.symbolize_many(addresses)
        self.names.update(names)
        return names

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": self.inner.label,
            "cpus": list(self.inner.cpus()),
            "selected_cpu": self.inner.selected_cpu(),
            "monitor": self.monitor_texts,
            "memory": [
                {"cpu": cpu, "address": address, "data": data.hex()}
                for (cpu, address), data in sorted(
                    self.ranges.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0, kv[0][1])
                )
            ],
            "symbols": {str(address): name for address, name in sorted(self.names.items())},
        }


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    directory = path.resolve().parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as error:
        raise TargetError(f"cannot write {path}: {error.strerror}") from None
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise TargetError(f"cannot write {path}: {error.strerror}") from None


def save(recording: RecordingTarget, path: Path) -> dict[str, Any]:
    document = recording.document()
    write_atomically(path, json.dumps(document, indent=1) + "\n")
    return document


#: the largest file read (a 2-vCPU Linux snapshot is about 200 KB)
MAX_FILE = 64 << 20
MAX_CPUS = 4096
_HEX = re.compile("[0-9a-fA-F]*")


def _is_int(value: object, low: int = 0, high: int = 1 << 64) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


def damage(document: dict[str, Any]) -> str | None:
    """What makes ``document`` unusable as a snapshot (every field's type and range), or None."""
    for key, kind in (("cpus", list), ("selected_cpu", int), ("monitor", dict), ("memory", list),
                      ("symbols", dict)):
        if not isinstance(document.get(key), kind) or isinstance(document.get(key), bool):
            return f'"{key}" is missing or not a JSON {kind.__name__.replace("dict", "object")}'
    cpus = document["cpus"]
    if not cpus or len(cpus) > MAX_CPUS or not all(_is_int(cpu, 0, MAX_CPUS) for cpu in cpus) \
            or len(set(cpus)) != len(cpus):
        return f'"cpus" must list 1 to {MAX_CPUS} distinct vCPU numbers below {MAX_CPUS}'
    if document["selected_cpu"] not in cpus:
        return f"selected vCPU {document['selected_cpu']} is not listed"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in document["monitor"].items()):
        return '"monitor" must map command texts to output texts'
    for index, entry in enumerate(document["memory"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), str) \
                or not _is_int(entry.get("address")) \
                or not (entry.get("cpu") is None or _is_int(entry.get("cpu")) and entry.get("cpu") in cpus):
            return f"memory range {index} needs a listed \"cpu\" (or null), an \"address\" and hex \"data\""
        if len(entry["data"]) % 2 or not _HEX.fullmatch(entry["data"]) \
                or entry["address"] + len(entry["data"]) // 2 > 1 << 64:
            return f"memory range {index} has data that is not hex bytes within the 64-bit space"
    for address, name in document["symbols"].items():
        if not (address.isascii() and address.isdigit() and len(address) <= 20) \
                or not (name is None or isinstance(name, str)):
            return f"symbol {address[:24]!r} must be a decimal address naming a text or null"
    return None


class SnapshotTarget(Target):
    """A saved session: answers from the file, nothing runs."""

    is_snapshot = True

    def __init__(self, document: dict[str, Any], path: str) -> None:
        """``document`` as ``open`` checked it (see the module docstring for the format)."""
        super().__init__()
        self.path = path
        self.label = f"snapshot {Path(path).name}"
        self._cpus = tuple(document["cpus"])
        self._selected = document["selected_cpu"]
        self._monitor = document["monitor"]
        self._names = {int(address): name for address, name in document["symbols"].items()}
        self._ranges: dict[int | None, list[tuple[int, bytes]]] = {}
        for entry in document["memory"]:
            self._ranges.setdefault(entry["cpu"], []).append((entry["address"], bytes.fromhex(entry["data"])))

    @classmethod
    def open(cls, path: str | Path) -> SnapshotTarget:
        path = Path(path)
        try:
            with path.open("rb") as stream:
                raw = stream.read(MAX_FILE + 1)
        except OSError as error:
            raise ParseError(f"cannot read {path}: {error.strerror}") from None
        if len(raw) > MAX_FILE:
            raise ParseError(f"{path} is larger than {MAX_FILE >> 20} MiB: not a snapshot idtscope wrote")
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ParseError(f"{path} is not an idtscope snapshot (not JSON: {error})") from None
        except (RecursionError, ValueError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error).split(":")[0]
            raise ParseError(f"{path} is not an idtscope snapshot (JSON {reason})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ParseError(f"{path} is not an idtscope snapshot (no \"format\": \"{FORMAT}\")")
        if document.get("version") != VERSION or isinstance(document.get("version"), bool):
            raise ParseError(f"{path} is snapshot version {str(document.get('version'))[:20]}; this idtscope "
                             f"reads version {VERSION}")
        problem = damage(document)
        if problem is not None:
            raise ParseError(f"{path} is a damaged snapshot ({problem})")
        return cls(document, str(path))

    def _list_cpus(self) -> tuple[int, ...]:
        return self._cpus

    def selected_cpu(self) -> int:
        return self._selected

    def select_cpu(self, cpu: int) -> None:
        self._selected = self.check_cpu(cpu)

    def _ask_monitor(self, command: str) -> str:
        try:
            return self._monitor[command]
        except KeyError:
            raise TargetError(
                f"the snapshot has no answer to `monitor {command}` (it was not asked when saved)"
            ) from None

    def _read_memory(self, address: int, size: int, cpu: int, physical: bool) -> bytes:
        for start, data in self._ranges.get(None if physical else cpu, ()):
            if start <= address and address + size <= start + len(data):
                return data[address - start:address - start + size]
        kind = "physical" if physical else f"CPU {cpu} linear"
        raise TargetError(f"{size} bytes at {kind} address {address:#x} are not in the snapshot")

    def symbolize(self, address: int) -> str | None:
        return self._names.get(address)
