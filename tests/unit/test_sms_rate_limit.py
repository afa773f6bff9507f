"""The per-number limit of status look-ups by SMS is counted in the store: two hub runtimes (two processes behind
a balancer) sharing one store share one limit, on SQLite and on PostgreSQL."""
from __future__ import annotations

import shutil
import threading
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from hub.config import load_config
from hub.contracts import InboundRequest
from hub.runtime import HubRuntime
from hub.store import Store, procedures, rate_limits
from hub.store.dossiers import Acknowledged, record
from tests.conftest import CONFIG

SECRET = "sandbox-sms-mo-secret"
CODE = "000.00.14.H20-231120-0001"
TOO_MANY = "0;72;Ban da tra cuu qua nhieu lan"


@pytest.fixture(scope="module")
def sandbox_config(tmp_path_factory):
    """One copy of the sandbox configuration for the module (its signing keys are made once, on first load)."""
    target = tmp_path_factory.mktemp("sms-limit") / "config"
    shutil.copytree(CONFIG, target)
    return target


@pytest.fixture
def runtimes(sandbox_config, store_url):
    config = load_config(sandbox_config, overrides={"store": store_url})
    first, second = HubRuntime(config), HubRuntime(config)     # each with its own engine, as two processes
    first.store.migrate()
    at = datetime(2023, 11, 20, 1, 15, tzinfo=timezone.utc)
    record(first.store, [Acknowledged(CODE, "000.00.14.H20", "1.001612", 4, at, "m-1", at)])
    yield first, second
    for rt in (first, second):
        rt.store.close()
    procedures.install(None)    # each runtime installed its catalogue cache for check_procedure: not for later tests


@pytest.fixture
def stores(store_url):
    """Two stores on one database: what two processes hold (the runtime test above shows the connector uses it)."""
    first, second = Store(store_url), Store(store_url)
    first.migrate()
    yield first, second
    first.close()
    second.close()


def ask(runtime: HubRuntime, phone: str) -> str:
    body = urlencode({"userId": phone, "serviceNumber": "8188", "commandCode": "DVC", "info": f"DVC {CODE}"}).encode()
    request = InboundRequest("POST", "/v1/inbound/sms", {"X-Gateway-Token": SECRET,
                                                          "Content-Type": "application/x-www-form-urlencoded"},
                             {}, body, remote_addr="127.0.0.1")
    _, response = runtime.connectors["sms"].inbound(request)
    return response.body.decode("ascii")


def test_two_runtimes_on_one_store_share_the_per_number_limit(runtimes):
    first, second = runtimes
    limit = first.config.connectors["sms"].options["rate_limit_count"]
    answers = [ask((first, second)[n % 2], "0977000001") for n in range(limit)]
    assert all(a.startswith(f"0;71;Ho so {CODE}") for a in answers), answers
    assert ask(first, "0977000001").startswith(TOO_MANY)       # the limit is spent, whichever process asks
    assert ask(second, "0977000001").startswith(TOO_MANY)
    assert ask(second, "84977000002").startswith("0;71;")       # another number has its own count


def test_racing_processes_never_exceed_the_limit(stores):
    allowed: list[bool] = []
    lock = threading.Lock()

    def texts(store) -> None:  # noqa: ANN001
        for _ in range(6):
            ok = rate_limits.allow(store, "sms", "84977000009", 5, 3600, now=1_000_000.0)
            with lock:
                allowed.append(ok)
    threads = [threading.Thread(target=texts, args=(store,)) for store in stores for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 24 and allowed.count(True) == 5


def test_a_new_window_opens_after_the_old_one_and_sweeping_forgets_passed_windows(stores):
    first, second = stores
    assert [rate_limits.allow(first, "sms", "n1", 2, 60, now=1000.0 + t) for t in (0, 10, 20)] == [True, True, False]
    assert rate_limits.allow(second, "sms", "n1", 2, 60, now=1059.0) is False     # still the first window
    assert rate_limits.allow(second, "sms", "n1", 2, 60, now=1060.0) is True      # a new one: 1060..1120
    assert rate_limits.allow(first, "other", "n1", 2, 60, now=1060.0) is True      # scopes are separate
    assert rate_limits.sweep(first, "sms", 60, now=1119.0) == 0
    assert rate_limits.sweep(first, "sms", 60, now=1120.0) == 1
    assert rate_limits.allow(first, "sms", "n1", 2, 60, now=1120.0) is True
