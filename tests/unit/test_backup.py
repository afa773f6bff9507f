"""Backup and restore lose nothing: every message, delivery, hop, dead letter and audit entry comes back."""
from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from hub.commands.backup import backup, restore
from hub.message import Message
from hub.store import HopRecord, Outcome, Store
from hub.store.schema import metadata
from hub.web.queries import record_audit
from tests.conftest import ROOT


def fill(store: Store, n: int = 50) -> None:
    for i in range(n):
        store.accept(Message(id=f"b{i}", type="demo.ping", source="demo", subject=f"D-{i % 7}",
                             payload={"text": f"xin chào {i}"}), "d", [("r1", "echo")], [HopRecord("received")])
    claimed = store.claim("b0/r1", 30)
    store.finish(claimed, Outcome("dead", code="delivery.partner_rejected", error="no"), [HopRecord("dead_lettered")])
    record_audit(store, "operator", "operator", "replay", "b0/r1")


def snapshot(store: Store) -> dict[str, list]:
    with store.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
                for t in metadata.sorted_tables if t.name != "alembic_version"}


def round_trip(url: str, other_url: str, tmp_path) -> None:  # noqa: ANN001
    store = Store(url)
    store.migrate()
    fill(store)
    before = snapshot(store)
    dump = backup(url, tmp_path / "copy.bak")
    store.accept(Message(id="after", type="demo.ping", source="demo", payload={}), "d", [("r1", "echo")], [])
    store.close()
    target = Store(other_url)
    target.migrate()                   # a fresh hub's empty schema, as on a replacement machine
    target.close()
    restore(other_url, dump)
    restored = Store(other_url)
    assert snapshot(restored) == before
    assert restored.message("after") is None
    restored.migrate()                 # the restored store is usable as is
    restored.close()


def test_sqlite_round_trip(tmp_path):
    round_trip(f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db", tmp_path)


@pytest.mark.postgres
def test_postgresql_round_trip(tmp_path, pg_url):
    url = pg_url
    store = Store(url)
    store.migrate()
    fill(store)
    before = snapshot(store)
    dump = backup(url, tmp_path / "copy.dump")
    store.accept(Message(id="after", type="demo.ping", source="demo", payload={}), "d", [("r1", "echo")], [])
    store.close()
    restore(url, dump)                 # back to the state of the dump, over a store that moved on
    restored = Store(url)
    assert snapshot(restored) == before
    assert restored.message("after") is None
    restored.close()


def test_cli_backup_and_restore_need_yes(tmp_path):
    url = f"sqlite:///{tmp_path}/hub.db"
    store = Store(url)
    store.migrate()
    fill(store, 3)
    store.close()
    out = tmp_path / "b.sqlite"
    run = [sys.executable, str(ROOT / "run.py")]
    done = subprocess.run(run + ["backup", "--store", url, "--output", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and out.is_file(), done.stderr
    refused = subprocess.run(run + ["restore", str(out), "--store", f"sqlite:///{tmp_path}/c.db"],
                             capture_output=True, text=True)
    assert refused.returncode == 2
    ok = subprocess.run(run + ["restore", str(out), "--store", f"sqlite:///{tmp_path}/c.db", "--yes"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert Store(f"sqlite:///{tmp_path}/c.db").message("b1") is not None
