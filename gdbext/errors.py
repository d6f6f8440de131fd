"""The errors idtscope raises on purpose.

Every error a user can provoke (bad input, a guest's garbage, a dead QEMU) is
one of these. The edges (the gdb command wrapper, the shell, one-shot mode)
turn them into one clear line; anything else is a bug and may show a
traceback.
"""


class IdtscopeError(Exception):
    """Base of every error that is reported to the user as one line."""


class DecodeError(IdtscopeError, ValueError):
    """Bytes or a value that do not decode as the layout they claim to be."""


class ParseError(DecodeError):
    """Text (monitor output, logs, hex dumps, symbol maps) that does not parse."""


class UsageError(IdtscopeError):
    """A command line that asks for something impossible (vector 300, bad option)."""


class TargetError(IdtscopeError):
    """The target could not answer: unmapped memory, a running guest, a dead QEMU."""
