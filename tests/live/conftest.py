import pytest

from shell.guests.build import build


@pytest.fixture(scope="session")
def long64():
    return build("long64")
