"""A store whose every pooled connection stays busy answers "unavailable" (the gateway's 503, the dispatcher's
requeue), never an unexpected error (a 500 to the client, seen under load in the DVCQG cluster e2e)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool

from hub.errors import STORE_UNAVAILABLE, UnavailableError
from hub.store.repo import _Guard


def test_a_full_pool_is_unavailable_not_an_internal_error(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/pool.db", poolclass=QueuePool, pool_size=1, max_overflow=0,
                           pool_timeout=0.1)
    held = engine.connect()
    try:
        with pytest.raises(UnavailableError) as info:
            with _Guard(engine):
                pass
        assert info.value.code == STORE_UNAVAILABLE
    finally:
        held.close()
    with _Guard(engine) as conn:                     # free again: works
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()
