"""Store key rotation on both engines: after a new key is put first and ``reencrypt`` ran, the old key can be
removed and everything still decrypts; before ``reencrypt``, removing the old key leaves old rows unreadable
(so this test fails if reencrypt did nothing). Also: resumable (a second run finds nothing to do), rows stored
in clear are encrypted, the command itself prints counts and never a key."""
from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import insert, select, update

from hub.commands.reencrypt import reencrypt
from hub.errors import HubError
from hub.message import Message, utcnow
from hub.store import HopRecord, Outcome, Store
from hub.store.codec import Codec
from hub.store.evidence import evidence_for
from hub.store.schema import deliveries, messages
from hub.store.tables_evidence import signature_evidence
from tests.conftest import ROOT
from tests.security.conftest import CITIZEN_ID, PHONE

ROUTE = "demo-ping-to-echo"
COUNT = 7                 # more than one batch of 3: the keyset walk must go past the first batch


def _seed(store: Store) -> dict[str, str]:
    """COUNT messages (one of them answered, with an encrypted reply, and one with signature evidence)."""
    texts = {}
    for i in range(COUNT):
        mid = f"rot-{i}"
        texts[mid] = f"CCCD {CITIZEN_ID} ĐT {PHONE} #{i}"
        store.accept(Message(id=mid, type="demo.ping", source="demo", payload={"text": texts[mid]}), f"d{i}",
                     [(ROUTE, "echo")], [HopRecord("received")])
    claimed = store.claim(f"rot-0/{ROUTE}", 30)
    store.finish(claimed, Outcome("delivered", reply={"payload": {"text": f"reply {CITIZEN_ID}"}}), [])
    with store.engine.begin() as conn:
        conn.execute(insert(signature_evidence).values(
            message_id="rot-1", delivery_id=None, at=utcnow(), action="verified", format="jws", sha256="0" * 64,
            data=store.codec.encode(base64.b64encode(f"<doc>{CITIZEN_ID}</doc>".encode()).decode()),
            signature=None, certificates="", anchors="", meta="{}"))
    return texts


def _seeded(url: str, key: str) -> str:
    """A migrated store at url, seeded with values under key; returns the raw stored values."""
    store = Store(url, Codec([key], "test"))
    store.migrate()
    _seed(store)
    raw = _raw(store)
    store.close()
    return raw


def _raw(store: Store) -> str:
    with store.engine.connect() as conn:
        values = [r[0] for r in conn.execute(select(messages.c.envelope))]
        values += [r[0] for r in conn.execute(select(deliveries.c.reply).where(deliveries.c.reply.isnot(None)))]
        values += [r[0] for r in conn.execute(select(signature_evidence.c.data))]
    return "\n".join(values)


def _everything_reads(store: Store, texts: dict[str, str]) -> None:
    for mid, text in texts.items():
        record = store.message(mid)
        assert text in record["message"]["envelope"]
    assert f"reply {CITIZEN_ID}" in store.message("rot-0")["deliveries"][0]["reply"]
    assert evidence_for(store, "rot-1")[0]["data"] == f"<doc>{CITIZEN_ID}</doc>".encode()


def test_rotation_then_reencrypt_lets_the_old_key_go(store_url):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = Store(store_url, Codec([old], "test"))
    before.migrate()
    texts = _seed(before)
    # a row from before encryption existed: stored in clear, read as it is, encrypted by reencrypt
    clear = _envelope_of(before, "rot-6")
    with before.engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == "rot-6").values(envelope=clear))
    before.close()

    only_new = Store(store_url, Codec([new], "test"))
    with pytest.raises(HubError) as caught:          # the control: without reencrypt the old key cannot go
        only_new.message("rot-0")
    assert caught.value.code == "store.key_unavailable"
    only_new.close()

    rotated = Store(store_url, Codec([new, old], "test"))
    _everything_reads(rotated, texts)                 # both keys listed: old rows still read
    counts = reencrypt(rotated, batch=3)
    assert counts["messages.envelope"].rotated == COUNT - 1 and counts["messages.envelope"].from_clear == 1
    assert counts["deliveries.reply"].rotated == 1
    assert counts["signature_evidence.data"].rotated == 1
    assert all(c.unreadable == 0 and c.changed == 0 for c in counts.values())
    again = reencrypt(rotated, batch=3)               # resumable: a second run has nothing left to do
    assert all(c.rotated == 0 and c.from_clear == 0 for c in again.values())
    assert again["messages.envelope"].current == COUNT
    rotated.close()

    after = Store(store_url, Codec([new], "test"))    # the old key removed
    _everything_reads(after, texts)
    raw = _raw(after)
    assert CITIZEN_ID not in raw and PHONE not in raw and all(v.startswith("f1:") for v in raw.splitlines())
    after.close()


def _envelope_of(store: Store, mid: str) -> str:
    """The decrypted envelope as the store holds it (for writing a legacy clear-text row)."""
    return store.message(mid)["message"]["envelope"]


def test_dry_run_counts_and_writes_nothing(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path}/hub.db"
    raw = _seeded(url, old)
    rotated = Store(url, Codec([new, old], "test"))
    counts = reencrypt(rotated, dry_run=True)
    assert counts["messages.envelope"].rotated == COUNT
    assert _raw(rotated) == raw
    rotated.close()


def test_a_missing_key_is_reported_never_guessed(tmp_path):
    """Rows written with a key no longer listed are counted as unreadable and left as they are."""
    lost, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path}/hub.db"
    raw = _seeded(url, lost)
    store = Store(url, Codec([new], "test"))
    counts = reencrypt(store)
    assert counts["messages.envelope"].unreadable == COUNT and counts["messages.envelope"].rotated == 0
    assert _raw(store) == raw
    store.close()


def test_the_command_reports_counts_and_never_a_key(tmp_path, config_dir):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path}/hub.db"
    _seeded(url, old)
    env = {**os.environ, "HUB_STORE_KEY": f"{new},{old}"}
    cmd = [sys.executable, str(ROOT / "run.py"), "reencrypt", "--config", str(config_dir), "--store", url,
           "--batch", "2"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"messages.envelope: {COUNT} re-encrypted" in done.stdout
    assert "the older keys can be dropped" in done.stdout
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr
    after = Store(url, Codec([new], "test"))      # what `reencrypt --dry-run` with the new key alone would count
    counts = reencrypt(after, dry_run=True)
    assert all(c.rotated == c.from_clear == c.unreadable == 0 for c in counts.values())
    after.close()


def test_a_row_the_hub_rewrites_meanwhile_is_never_overwritten(store_url, monkeypatch):
    """Safe while the hub runs: between reencrypt's read and its write, the hub (another connection) records a new
    value in a row; reencrypt leaves that value alone, counts it, and a second run finds it current."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _seeded(store_url, old)
    hub = Store(store_url, Codec([new, old], "test"))          # the running hub, restarted with the new key first
    rotated = Store(store_url, Codec([new, old], "test"))
    real_rotate, calls = rotated.codec.rotate, []

    def rotate_while_the_hub_writes(stored):  # noqa: ANN001, ANN202
        if not calls:                          # the first row of the first batch: the hub rewrites it right now
            with hub.engine.begin() as conn:
                conn.execute(update(messages).where(messages.c.id == "rot-0")
                             .values(envelope=hub.codec.encode('{"written": "by the hub"}')))
        calls.append(stored)
        return real_rotate(stored)

    monkeypatch.setattr(rotated.codec, "rotate", rotate_while_the_hub_writes)
    counts = reencrypt(rotated, batch=3)
    assert counts["messages.envelope"].changed == 1 and counts["messages.envelope"].rotated == COUNT - 1
    assert '"by the hub"' in hub.message("rot-0")["message"]["envelope"]       # the hub's value survived
    monkeypatch.undo()
    again = reencrypt(rotated, batch=3)
    assert again["messages.envelope"].current == COUNT and again["messages.envelope"].changed == 0
    hub.close()
    rotated.close()
