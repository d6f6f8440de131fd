"""Following a file as QEMU writes it (its -d int log, the trace plugin's stream): read from the last
offset to the end, feed the source.

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
from .model.tracestream import TraceSource

CHUNK = 1 << 20
BUDGET = 64 << 20


class LogFollower:
    """A ``-d int`` log followed into an :class:`EventStream` (``stream``); with ``events=False``
    only its triple faults and resets (the trace plugin gives the events).

    ``path`` is the log (`why` reads it), ``file`` the file read (the log here).
    """

    WHAT = "a QEMU -d int log"

    def __init__(self, path: str | Path, cpu: int | None = None, stream: EventStream | None = None,
                 events: bool = True) -> None:
        self.path = self.file = Path(path)
        self.cpu = cpu
        self.events = events
        self.stream = stream or EventStream()
        self.source: IntLogSource | TraceSource = self._source()
        self.offset = 0

    def _source(self) -> IntLogSource | TraceSource:
        return IntLogSource(self.stream, self.cpu, self.events)

    def poll(self, budget: int = BUDGET) -> int:
        """Read what the file gained since the last poll (at most ``budget`` bytes); bytes read."""
        try:
            with open(self.file, "rb") as raw:
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
                        raise ParseError(f"{self.file} holds a NUL byte at offset {self.offset + nul}: "
                                         f"not {self.WHAT}")
                    self.source.feed(chunk)
                    self.offset += len(chunk)
                    done += len(chunk)
                return done
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise ParseError(f"cannot read {self.file}: {error.strerror or error}") from None

    def finish(self) -> None:
        """Read to the end and take a last line without a newline as whole (the file is complete)."""
        while self.poll():
            pass
        self.source.close()

    def _restart(self) -> None:
        catches = self.stream.catches
        self.stream = EventStream()
        self.stream.catches = catches
        self.source = self._source()
        self.offset = 0


class TraceFollower(LogFollower):
    """The trace plugin's stream (``file``) followed into an :class:`EventStream` and its handler
    statistics (``plugin.stats``), with QEMU's ``-d int,cpu_reset`` log (``path``) followed
    beside it for the triple faults and resets only: the plugin sees neither a reset nor the
    vectors of the exceptions raised on the way to one, which `why` reads from the log.
    Without a log (a trace read offline) ``path`` is the trace.
    """

    WHAT = "an idtscope trace"

    def __init__(self, trace: str | Path, log: str | Path | None = None) -> None:
        self.handlers: dict[int, int] = {}
        #: the IDT slots ``handlers`` was computed from (machine.tables.IdtSlot), to see when it changes
        self.idt_slots: tuple[object, ...] = ()
        self.log = None if log is None else LogFollower(log, events=False)
        super().__init__(trace if log is None else log, stream=None if self.log is None else self.log.stream)
        self.file = Path(trace)

    def _source(self) -> TraceSource:
        self.plugin = TraceSource(self.stream)
        self.plugin.learn_idt(self.handlers)
        return self.plugin

    def poll(self, budget: int = BUDGET) -> int:
        return super().poll(budget) + (0 if self.log is None else self.log.poll(budget))

    def finish(self) -> None:
        super().finish()
        if self.log is not None:
            self.log.finish()

    def learn_idt(self, handlers: dict[int, int], slots: tuple[object, ...]) -> None:
        """The guest's IDT as ``{vector: handler}``, read at a stop from its ``slots``."""
        self.handlers, self.idt_slots = handlers, slots
        self.plugin.learn_idt(handlers)

    def _restart(self) -> None:
        super()._restart()
        if self.log is not None:
            self.log.stream = self.log.source.stream = self.stream
