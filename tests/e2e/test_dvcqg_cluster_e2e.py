"""The DVCQG scenario of issue 5 on RabbitMQ and PostgreSQL: 20 agencies' dossiers through statuses 1→2→4→9→10 with
steps, submitted to a gateway and 4 worker processes while the portal simulator injects random faults. Afterwards
the portal holds, for every dossier, exactly the final state and the full ordered step history, no update was skipped
or refused, and the sync lag of every status of every dossier is recorded.

The cluster (gateway + workers on a fresh vhost and database) is the fault harness's (tests/faults/cluster.py); the
scenario is tests/e2e/test_dvcqg_e2e.py's. Dossiers per agency: ``HUB_E2E_DVCQG_DOSSIERS``, default 50 as the issue
asks (8,000 messages: 4 min 43 s measured on the shared 2-core machine at load ~5); 10 (1,600 messages, 79 s) for a
quick look: ``HUB_E2E_DVCQG_DOSSIERS=10 pytest tests/e2e/test_dvcqg_cluster_e2e.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests
import sqlalchemy as sa
import yaml

from tests.conftest import ROOT, require_service
from tests.e2e.test_dvcqg_e2e import (AGENCIES, STATUSES, interleaved, partner_faults, plans, portal_problems,
                                      quick_portal)
from tests.faults.cluster import Cluster
from tests.harness import TOKEN, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.amqp, pytest.mark.postgres]
PER_AGENCY = int(os.environ.get("HUB_E2E_DVCQG_DOSSIERS", "50"))
WORKERS = 4
CLIENTS = 40          # one-stop systems posting at once; each dossier's updates come from one of them, in order


@pytest.fixture
def cluster(tmp_path, pg_url):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    c = Cluster(tmp_path, pg_url).setup()
    quick_portal(c.config)
    fast_portal_retries(c.config)
    yield c
    c.stop()


def fast_portal_retries(config) -> None:  # noqa: ANN001
    """Retries of the portal routes scaled for tests as the fault harness scales the demo routes' (a fault costs
    a fraction of a second, not the production backoff of minutes), and the harness's dispatcher concurrency."""
    path = config / "routes.yaml"
    routes = yaml.safe_load(path.read_text(encoding="utf-8"))
    for route in routes["routes"]:
        if route.get("to") == "dvcqg" and route["name"].startswith("dossier-"):
            route["retry"] = {"max_attempts": 60, "backoff": "0.2s", "multiplier": 1.5, "max_backoff": "2s",
                              "jitter": 0.2, "max_age": "10m"}
    path.write_text(yaml.safe_dump(routes, allow_unicode=True), encoding="utf-8")
    path = config / "connectors.yaml"
    connectors = yaml.safe_load(path.read_text(encoding="utf-8"))
    connectors["connectors"]["dvcqg"]["concurrency"] = 16
    path.write_text(yaml.safe_dump(connectors, allow_unicode=True), encoding="utf-8")


def catalogue_ready(cluster: Cluster) -> bool:
    r = requests.post(cluster.url + "/v1/calls", timeout=30, headers={"Authorization": f"Bearer {TOKEN}"},
                      json={"type": "procedure.lookup", "payload": {"procedure_code": "1.001612.000.00.00.H20"}})
    return r.status_code == 200 and bool((r.json().get("reply") or {}).get("found"))


@pytest.mark.timeout(1200)   # bounded inside (start 130 s, drain 240 s); the suite's 600 s default is too tight here
def test_every_dossier_reaches_the_portal_in_order_with_four_workers_and_faults(cluster):
    started = time.monotonic()
    cluster.start(workers=1)
    # the first worker's first poll syncs the catalogue (check_procedure needs it); the others find it synced
    assert wait_until(lambda: catalogue_ready(cluster), timeout=90), cluster.log("worker0")[-3000:]
    for _ in range(WORKERS - 1):
        cluster.add_worker()
    todo = plans(PER_AGENCY)
    streams = interleaved(todo, CLIENTS)
    sent = {m["id"] for stream in streams for m in stream}
    with partner_faults(cluster.sim_url) as injected:
        accepted = cluster.post_in_order(streams)
    assert accepted == sent, f"{len(sent - accepted)} messages never accepted"
    submitted = time.monotonic()

    states = cluster.drain(accepted, timeout=240)
    unsettled = {m: s for m, s in states.items() if m in accepted and set(s.values()) - {"delivered"}}
    assert not unsettled and accepted <= set(states), (
        f"not delivered: {list(unsettled.items())[:10]}, missing: {len(accepted - set(states))}\n"
        + cluster.log("worker0")[-3000:])
    drained = time.monotonic()

    # exactly the final state and the full ordered history, for every dossier
    problems = portal_problems(cluster.sim_url, list(todo))
    assert problems == [], f"{len(problems)} dossiers wrong on the portal, e.g. {problems[:5]}"
    with cluster.engine.connect() as conn:
        # no update skipped as stale: each one-stop update was newer than the portal's state when it was sent
        skipped = conn.execute(sa.text("SELECT count(*) FROM hops WHERE kind = 'answered' AND detail LIKE '%skipped: older%'"))
        assert skipped.scalar_one() == 0
        lagged = conn.execute(sa.text("SELECT dossier_code, status FROM dossier_sync_lag")).all()
        latest = dict(conn.execute(sa.text("SELECT dossier_code, status FROM dossier_state")).all())
    recorded: dict[str, set[int]] = {}
    for code, status in lagged:
        recorded.setdefault(code, set()).add(status)
    assert {c: recorded.get(c) for c in todo if recorded.get(c) != set(STATUSES)} == {}
    assert {c: latest.get(c) for c in todo if latest.get(c) != 10} == {}

    lag = subprocess.run([sys.executable, str(ROOT / "run.py"), "stats", "sync-lag", "--json", "--since", "all",
                          "--config", str(cluster.config), "--store", cluster.pg_url],
                         capture_output=True, text=True, timeout=60)
    rows = {r["agency_id"]: r for r in json.loads(lag.stdout)}
    assert all(rows[a]["syncs"] >= PER_AGENCY * len(STATUSES) for a in AGENCIES), rows
    summary = requests.get(cluster.sim_url + "/dvcqg/_dossiers", timeout=10).json()
    # sessions reused, not one per message: a login per worker, and one more per 'invalid session' answer at most
    assert summary["logins"] <= WORKERS + 2 * injected["invalid_session"], (summary["logins"], injected)
    print(f"dvcqg cluster e2e: {len(accepted)} messages, {len(todo)} dossiers, {WORKERS} workers; "
          f"submitted in {submitted - started:.0f}s, drained in {drained - submitted:.0f}s, "
          f"total {time.monotonic() - started:.0f}s; logins {summary['logins']}, calls {summary['calls']}")
