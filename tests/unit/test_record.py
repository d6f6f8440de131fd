"""The model's immutable records (gdbext.model.record): what @dataclass(frozen=True) gave us."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdbext.model.record import FrozenRecordError, as_dict, fields, record, replace


@record
class Pair:
    """Two numbers; ``high`` may not be below ``low``."""

    low: int
    high: int = 10

    def __post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError(f"{self.high} < {self.low}")

    @property
    def span(self) -> int:
        return self.high - self.low


@record(slots=True)
class Event:
    vector: int
    cpu: int | None = None


@given(st.integers(), st.integers(min_value=0))
def test_equal_fields_make_equal_hashable_values(low, extra):
    one, two = Pair(low, low + extra), Pair(high=low + extra, low=low)
    assert one == two and hash(one) == hash(two) and one.span == extra
    assert {one, two} == {one}
    assert replace(one, high=low + extra + 1) != one


def test_defaults_repr_and_field_order():
    assert Pair(3) == Pair(3, 10)
    assert repr(Pair(3)) == "Pair(low=3, high=10)"
    assert fields(Pair) == ("low", "high") and as_dict(Pair(1, 2)) == {"low": 1, "high": 2}
    assert Pair.__init__.__annotations__ == {"low": int, "high": int, "return": "None"}


def test_a_different_class_with_equal_fields_is_not_equal():
    assert Pair(1, 2) != (1, 2)
    assert Event(1) != Pair(1, 10)


def test_post_init_validates_construction_and_replace():
    with pytest.raises(ValueError):
        Pair(5, 1)
    with pytest.raises(ValueError):
        replace(Pair(1, 5), high=0)


def test_fields_cannot_be_assigned_or_deleted():
    value = Pair(1, 2)
    with pytest.raises(FrozenRecordError):
        value.low = 3
    with pytest.raises(AttributeError):
        del value.high
    assert value == Pair(1, 2)


def test_replace_names_an_unknown_field():
    with pytest.raises(TypeError, match="no field colour"):
        replace(Pair(1), colour=3)


def test_slots_records_have_no_dict_and_keep_defaults():
    event = Event(14)
    assert event.cpu is None and Event(14, 1).cpu == 1
    assert not hasattr(event, "__dict__") and Event.__slots__ == ("vector", "cpu")
    with pytest.raises(FrozenRecordError):
        event.vector = 13


def test_declaration_mistakes_are_refused():
    with pytest.raises(TypeError, match="follows one with a default"):
        @record
        class Wrong:
            first: int = 0
            second: int

    with pytest.raises(TypeError, match="shared by every instance"):
        @record
        class Shared:
            items: list = []  # noqa: RUF012 (the mistake under test)
