"""Family 10 at rest: the citizen access log (who looked up which citizen) keeps a keyed digest of the id plus
its masked form. With a public key, the six hidden digits come back from a copy of the database in a million
HMACs; so production uses a secret key (HUB_ACCESS_LOG_KEY), lookups still work across a key change, and
`check --production` refuses the sandbox key."""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from hub.check import secret_problems
from hub.config.load import load_config
from hub.store import Store
from hub.store.tables_access_log import SANDBOX_KEY, AccessLog, citizen_access_log
from tests.conftest import ROOT
from tests.security.conftest import CITIZEN_ID

SECRET_OLD, SECRET_NEW = "access-log-secret-old-5b7e0c9d", "access-log-secret-new-a41f8e23"


def _record(log: AccessLog, citizen: str = CITIZEN_ID) -> None:
    log.record(citizen_id=citizen, operation="verify", client="demo", officer_id="CB01", procedure_code="1.000894",
               dossier_code="000.00.14.H20-240101-0001", message_id="m-1", connector="dancu")


def _recover(digest: str, masked: str, key: bytes) -> str | None:
    """The attack: fill the masked digits back in and compare digests (here over the last 2 hidden digits
    only, to keep the test fast; the full six are a million tries, seconds of work)."""
    prefix = masked[:4] + "0000"
    for tail in range(100):
        candidate = prefix + f"{tail:02d}" + masked[-2:]
        if hmac.compare_digest(hmac.new(key, candidate.encode(), hashlib.sha256).hexdigest(), digest):
            return candidate
    return None


def _stored(store: Store) -> tuple[str, str]:
    with store.engine.connect() as conn:
        row = conn.execute(select(citizen_access_log.c.citizen_digest, citizen_access_log.c.citizen_masked)).first()
    return row.citizen_digest, row.citizen_masked


def test_a_secret_key_keeps_the_ids_out_of_a_copy_of_the_database(tmp_path, monkeypatch):
    citizen = "001200000567"               # hidden digits 0000 05: in the range _recover tries
    monkeypatch.delenv("HUB_ACCESS_LOG_KEY", raising=False)
    sandbox = Store(f"sqlite:///{tmp_path}/a.db")
    sandbox.migrate()
    _record(AccessLog(sandbox.engine), citizen)
    digest, masked = _stored(sandbox)
    assert citizen not in digest + masked
    assert _recover(digest, masked, SANDBOX_KEY) == citizen      # why the sandbox key must never be used for real
    sandbox.close()

    monkeypatch.setenv("HUB_ACCESS_LOG_KEY", SECRET_NEW)
    production = Store(f"sqlite:///{tmp_path}/b.db")
    production.migrate()
    _record(AccessLog(production.engine), citizen)
    digest, masked = _stored(production)
    assert _recover(digest, masked, SANDBOX_KEY) is None           # the public key no longer opens it
    assert [r["officer_id"] for r in AccessLog(production.engine).for_citizen(citizen)] == ["CB01"]
    production.close()


def test_lookups_find_rows_of_an_older_key_while_it_is_listed(tmp_path, monkeypatch):
    store = Store(f"sqlite:///{tmp_path}/hub.db")
    store.migrate()
    log = AccessLog(store.engine)
    monkeypatch.setenv("HUB_ACCESS_LOG_KEY", SECRET_OLD)
    _record(log)
    monkeypatch.setenv("HUB_ACCESS_LOG_KEY", f"{SECRET_NEW},{SECRET_OLD}")
    _record(log)
    assert len(log.for_citizen(CITIZEN_ID)) == 2                   # both keys listed: both rows
    monkeypatch.setenv("HUB_ACCESS_LOG_KEY", SECRET_NEW)
    assert len(log.for_citizen(CITIZEN_ID)) == 1                   # the old key dropped: its rows no longer match
    store.close()


def test_production_check_refuses_the_public_digest_key(monkeypatch):
    monkeypatch.delenv("HUB_ACCESS_LOG_KEY", raising=False)
    config = load_config(ROOT / "config")
    assert any("HUB_ACCESS_LOG_KEY" in p for p in secret_problems(config))
    monkeypatch.setenv("HUB_ACCESS_LOG_KEY", SECRET_NEW)
    problems = secret_problems(config)
    assert not any("HUB_ACCESS_LOG_KEY" in p for p in problems)
    assert SECRET_NEW not in "\n".join(problems)
