"""Fixtures shared by the unit tests."""
from __future__ import annotations

import pytest

from hub.store import Store


@pytest.fixture
def store(store_url):
    """A migrated, empty store on SQLite and on PostgreSQL (``store_url`` is parametrised in tests/conftest.py)."""
    s = Store(store_url)
    s.migrate()
    yield s
    s.close()
