"""Following a log file as QEMU writes it: read from the last offset to the end, feed the source.

Only what is new is read (in chunks of at most ``CHUNK`` bytes, ``BUDGET`` per
poll so a prompt never waits long), a partial last line waits in the source's
reader for the rest, and a file that shrinks (QEMU started again with the same
``-D``) is read again from its start into a fresh stream.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ParseError
from .model.intstream import EventStream, IntLogSource

CHUNK = 1 << 20
BUDGET = 64 << 20


class LogFollower:
    """A ``-d int`` log followed into an :class:`EventStream` (``stream``)."""

    def __init__(self, path: str | Path, cpu: int | None = None, stream: EventStream | None = None) -> None:
        self.path = Path(path)
        self.cpu = cpu
        self.stream = stream or EventStream()
        self.source = IntLogSource(self.stream, cpu)
        self.offset = 0

    def poll(self, budget: int = BUDGET) -> int:
        """Read what the log gained since the last poll (at most ``budget`` bytes); bytes read."""
        try:
            with open(self.path, "rb") as raw:
                size = os.fstat(raw.fileno()).st_size
                if size < self.offset:
                    self._restart()
                raw.seek(self.offset)
                done = 0
                while done < budget:
                    chunk = raw.read(min(CHUNK, budget - done))
                    if not chunk:
                        break
                    nul = chunk.find(b"\0")
                    if nul >= 0:
                        raise ParseError(f"{self.path} holds a NUL byte at offset {self.offset + nul}: "
                                         "not a QEMU -d int log")
                    self.source.feed(chunk)
                    self.offset += len(chunk)
                    done += len(chunk)
                return done
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise ParseError(f"cannot read {self.path}: {error.strerror or error}") from None

    def finish(self) -> None:
        """Read to the end and take a last line without a newline as whole (the log is complete)."""
        while self.poll():
            pass
        self.source.close()

    def _restart(self) -> None:
        catches = self.stream.catches
        self.stream = EventStream()
        self.stream.catches = catches
        self.source = IntLogSource(self.stream, self.cpu)
        self.offset = 0
