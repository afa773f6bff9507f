"""Payloads at rest (codec, rotation), literal secrets refused by the config, check --production, purge."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import yaml
from cryptography.fernet import Fernet

from hub.check import production_problems
from hub.config.load import load_config
from hub.errors import ConfigError, HubError
from hub.message import Message, utcnow
from hub.store import Store
from hub.store.codec import Codec
from hub.commands.purge import expired, purge, retention_for
from tests.conftest import ROOT


def test_rotation_reads_old_rows_and_writes_with_the_newest_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    written = Codec([old], "test").encode("Nguyễn Văn A 001203004567")
    rotated = Codec([new, old], "test")
    assert rotated.decode(written) == "Nguyễn Văn A 001203004567"
    assert Codec([new], "test").decode(rotated.rotate(written)) == "Nguyễn Văn A 001203004567"
    with pytest.raises(HubError) as caught:
        Codec([new], "test").decode(written)
    assert caught.value.code == "store.key_unavailable" and old not in str(caught.value)


def test_bad_key_refused_with_its_code():
    with pytest.raises(HubError) as caught:
        Codec(["not-a-key"], "environment HUB_STORE_KEY")
    assert caught.value.code == "store.key_unavailable" and "not-a-key" not in caught.value.detail


def test_store_encrypts_envelope_and_purge_removes_finished_messages(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/hub.db", Codec([Fernet.generate_key().decode()], "test"))
    store.migrate()
    msg = Message(id="m1", type="demo.ping", source="demo", payload={"text": "001203004567"})
    store.accept(msg, "d", [], [])
    with store.engine.connect() as conn:
        raw = conn.exec_driver_sql("select envelope from messages").scalar()
    assert raw.startswith("f1:") and "001203004567" not in raw
    assert '"001203004567"' in store.message("m1")["message"]["envelope"]
    assert retention_for("citizen.verify", (("citizen.*", 86400.0),), 9e9) == 86400.0
    assert expired(store, (), 3600, utcnow()) == []
    ids = expired(store, (), 3600, utcnow() + timedelta(hours=2))
    assert ids == ["m1"] and purge(store, ids) == 1 and store.message("m1") is None


def _config_with(tmp_path, section: str, name: str, key: str, value):
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    fname = "connectors.yaml" if section == "connectors" else "hub.yaml"
    data = yaml.safe_load((config / fname).read_text(encoding="utf-8"))
    data[section][name][key] = value
    (config / fname).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


@pytest.mark.parametrize("name,key", [("vnpay", "secret"), ("momo", "secret_key"), ("momo", "access_key"),
                                      ("dvcqg", "password"), ("vnpost", "webhook_token"), ("dancu", "client_secret")])
def test_literal_secrets_are_refused_without_printing_them(tmp_path, name, key):
    config = _config_with(tmp_path, "connectors", name, key, "literal-secret-123")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    text = str(caught.value)
    assert f"{key} is a secret written in the file" in text and "literal-secret-123" not in text


def test_production_check_names_problems_never_values(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_VNPAY_SECRET", "sandbox-but-from-env")
    config = _config_with(tmp_path, "connectors", "echo", "verify_tls", False)
    problems = "\n".join(production_problems(_load_lenient(config)))
    assert "vnpay.secret is the sandbox default" in problems
    assert "sandbox store key" in problems and "http:// URL" in problems
    assert "sandbox-but-from-env" not in problems


def _load_lenient(config):
    try:
        return load_config(config)
    except ConfigError:      # echo's schema may refuse verify_tls; the production check still has to see it
        cfg = config / "connectors.yaml"
        data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        data["connectors"]["echo"].pop("verify_tls")
        cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
        return load_config(config)
