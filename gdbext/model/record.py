"""Immutable value records: the type of every decoded value in the model.

``@record`` makes a class with annotated fields a frozen value type, the way
``@dataclass(frozen=True)`` does: ``__init__`` takes the fields in order
(defaults allowed, then ``__post_init__`` validates), ``__repr__``, ``__eq__``
and ``__hash__`` work over the fields, and assignment after construction
raises. ``@record(slots=True)`` gives instances ``__slots__`` instead of a
``__dict__`` (the log decoder keeps many small events).

Why not dataclasses: ``import dataclasses`` loads inspect, and with it ast,
dis and tokenize. On the 2-core CI machine that alone took about 16 ms, a
quarter of an offline command's whole run (``bench/startup.py``). The model
only needs immutable records.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    R = TypeVar("R")
else:
    def dataclass_transform(**_options: object):
        """Tells a type checker that ``@record`` makes dataclass-like classes (PEP 681); nothing at run time."""
        return lambda decorator: decorator

_MUTABLE_DEFAULTS = (list, dict, set, bytearray)


class FrozenRecordError(AttributeError):
    """An assignment to a field of a record after construction."""


@dataclass_transform(frozen_default=True)
def record(cls: type | None = None, /, *, slots: bool = False):
    """Class decorator: ``@record`` or ``@record(slots=True)``."""
    if cls is None:
        return lambda target: _build(target, slots)
    return _build(cls, slots)


def fields(value: Any) -> tuple[str, ...]:
    """The field names of a record class or instance, in declaration order."""
    return value.__record_fields__


def replace(value: R, **changes: object) -> R:
    """A copy of ``value`` with some fields changed (validated again)."""
    unknown = set(changes) - set(fields(value))
    if unknown:
        raise TypeError(f"{type(value).__name__} has no field {', '.join(sorted(unknown))}")
    return type(value)(**{name: changes.get(name, getattr(value, name)) for name in fields(value)})


def as_dict(value: Any) -> dict[str, Any]:
    """The fields of a record as a dict (one level: nested records stay records)."""
    return {name: getattr(value, name) for name in fields(value)}


def _build(cls: Any, slots: bool) -> Any:
    names = tuple(cls.__dict__.get("__annotations__", {}))
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    _check_defaults(cls, names, defaults)
    if slots:
        namespace = {key: value for key, value in cls.__dict__.items()
                     if key not in names and key not in ("__dict__", "__weakref__")}
        namespace["__slots__"] = names
        cls = type(cls)(cls.__name__, cls.__bases__, namespace)
    scope: dict[str, Any] = {"_set": object.__setattr__, "_Frozen": FrozenRecordError}
    scope.update({f"_d_{name}": value for name, value in defaults.items()})
    exec(_source(names, defaults, hasattr(cls, "__post_init__")), scope)  # noqa: S102 (generated from field names)
    for method in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        function = scope[method]
        function.__qualname__ = f"{cls.__qualname__}.{method}"
        setattr(cls, method, function)
    cls.__init__.__annotations__ = {name: cls.__annotations__[name] for name in names} | {"return": "None"}
    cls.__record_fields__ = names
    return cls


def _check_defaults(cls: type, names: tuple[str, ...], defaults: dict[str, object]) -> None:
    seen_default = False
    for name in names:
        if name in defaults:
            seen_default = True
            if isinstance(defaults[name], _MUTABLE_DEFAULTS):
                raise TypeError(f"{cls.__name__}.{name}: a mutable default would be shared by every instance")
        elif seen_default:
            raise TypeError(f"{cls.__name__}.{name}: a field without a default follows one with a default")


def _source(names: tuple[str, ...], defaults: dict[str, object], post_init: bool) -> str:
    parameters = ", ".join(["self"] + [f"{n}=_d_{n}" if n in defaults else n for n in names])
    body = [f"    _set(self, {n!r}, {n})" for n in names] or ["    pass"]
    if post_init:
        body.append("    self.__post_init__()")
    values = "".join(f"self.{n}, " for n in names)
    others = "".join(f"other.{n}, " for n in names)
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    return "\n".join([
        f"def __init__({parameters}):", *body,
        "def __repr__(self):",
        f"    return f'{{type(self).__qualname__}}({shown})'",
        "def __eq__(self, other):",
        "    if other.__class__ is not self.__class__:",
        "        return NotImplemented",
        f"    return ({values}) == ({others})",
        "def __hash__(self):",
        f"    return hash(({values}))",
        "def __setattr__(self, name, value):",
        "    raise _Frozen(f'cannot assign to field {name!r} of a record')",
        "def __delattr__(self, name):",
        "    raise _Frozen(f'cannot delete field {name!r} of a record')",
    ]) + "\n"
