"""The store unreachable: the gateway answers 503 with Retry-After quickly (never hangs, never 500), nothing is
acknowledged without its record, and it accepts again - with no gaps - once PostgreSQL is back."""
from __future__ import annotations

import time
import uuid

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, require_service
from tests.faults.cluster import Cluster, count

pytestmark = pytest.mark.amqp


def _set_connections(db: str, allowed: bool) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS {"true" if allowed else "false"}'))
        if not allowed:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"), {"db": db})
    admin.dispose()


# the store goes away while the worker may still be starting: it waits for it (hub/startup.py), never exits
def test_store_outage_fails_closed_then_recovers(tmp_path, pg_url):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    db = pg_url.rsplit("/", 1)[1]
    cluster = Cluster(tmp_path, pg_url).setup()
    try:
        cluster.start(workers=1)
        before = cluster.submit([f"before-{i}" for i in range(200)])
        _set_connections(db, False)
        cluster.engine.dispose()
        answers = []
        for i in range(5):
            started = time.monotonic()
            r = requests.post(cluster.url + "/v1/messages", timeout=30,
                              headers={"Authorization": "Bearer sandbox-demo-token"},
                              json={"id": f"during-{i}", "type": "demo.ping", "payload": {"text": "notify: hồ sơ during-%d" % i, "seq": 1}})
            answers.append((r.status_code, r.headers.get("Retry-After"), r.json().get("code"), time.monotonic() - started))
        _set_connections(db, True)
        for status, retry_after, code, took in answers:
            assert status == 503 and retry_after and code == "hub.store_unavailable", answers
            assert took < 15, f"the gateway must answer quickly when the store is away ({took:.1f} s)"
        # the clients retry with the same ids once the store is back: each is accepted once, nothing lost
        during = cluster.submit([f"during-{i}" for i in range(5)])
        after = cluster.submit([f"after-{i}" for i in range(200)])
        verdict = count(cluster, before | during | after)
        print(verdict.report())
        assert verdict.lost == [] and verdict.unexpected == [] and verdict.echo_effects_not_one == {}
    finally:
        _set_connections(db, True)
        cluster.stop()
