"""Event lines of a ``-d int`` log that another vCPU's output cut in two.

QEMU writes an event line in three calls (target/i386/tcg/seg_helper.c,
``do_interrupt_all``): the fields up to SP, then `` CR2=...`` (vector 0x0e) or
`` env->regs[R_EAX]=...``, then the newline. Each call takes the log lock on
its own, so with several vCPUs another vCPU's whole line can land in between.
Two shapes were seen in a Linux boot on two vCPUs (QEMU 7.2)::

      1893: v=0e e=0014 ... SP=002b:00007ffdf5637bc8 CR2=00000000004610d3check_exception old: 0xffffffff new 0xe
    <empty line: the event's own newline>

      2970: v=0e e=0007 ... SP=002b:00007ffdf5637cd0check_exception old: 0xffffffff new 0xe
     CR2=000000003fe2880c

``split`` takes the first line apart; ``continuation`` reads the tail that
arrives alone on a later line.
"""

from __future__ import annotations

import re

_HEAD = re.compile(
    rb" *-?[0-9]{1,10}: v=[0-9a-f]{2} e=[0-9a-f]{1,8} i=[01] cpl=[0-3] "
    rb"IP=[0-9a-f]{1,4}:[0-9a-f]{1,16} pc=[0-9a-f]{1,16} SP=[0-9a-f]{1,4}:[0-9a-f]{1,16}"
)
_TAIL = re.compile(rb" (?:CR2|env->regs\[R_EAX\]|EAX)=[0-9a-f]{1,16}")
#: the whole lines another vCPU writes in one call, which can land inside an event line
_FOREIGN = re.compile(rb"check_exception old: 0x[0-9a-f]{1,8} new 0x[0-9a-f]{1,8}"
                      rb"|Servicing (?:virtual )?hardware INT=0x[0-9a-f]{1,2}")


def split(line: bytes) -> tuple[bytes, bytes | None, bytes] | None:
    """``(event fields, their tail or None if it comes later, the other vCPU's line)`` of a
    cut event line, or None when ``line`` is not one."""
    head = _HEAD.match(line)
    if head is None:
        return None
    tail = _TAIL.match(line, head.end())
    rest = line[tail.end() if tail else head.end():].rstrip(b" \r")
    if not _FOREIGN.fullmatch(rest):
        return None
    return line[:head.end()], (tail.group() if tail else None), rest


def continuation(line: bytes) -> bytes | None:
    """The tail of a cut event line when ``line`` is only that, else None."""
    match = _TAIL.fullmatch(line.rstrip(b" \r"))
    return match.group() if match else None
