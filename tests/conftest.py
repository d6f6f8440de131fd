"""Every test builds its guests with tests/guests/ configured (prot32, real16, builds in tests/guests/build/)."""

import tests.guests  # noqa: F401
