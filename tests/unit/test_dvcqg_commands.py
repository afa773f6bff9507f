"""`run.py procedures sync|show` against the simulator, and `run.py stats sync-lag` over recorded lags."""
from __future__ import annotations

import json

from hub.cli import main
from hub.message import Message, utcnow
from hub.store import Store, dossiers
from tests.conftest import CONFIG, free_port


def test_procedures_sync_then_show(tmp_path, capsys):
    store = f"sqlite:///{tmp_path}/hub.db"
    assert main(["procedures", "sync", "--sim", "--sim-port", str(free_port()), "--store", store,
                 "--config", str(CONFIG)]) == 0
    assert "240 procedure(s) synced" in capsys.readouterr().out
    assert main(["procedures", "show", "1.000894", "--store", store, "--config", str(CONFIG)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["name"] == "Đăng ký kết hôn" and record["active"] is True
    assert record["online_services"] == [{"agency_code": "000.00.14.H20", "level": "full"}]
    assert main(["procedures", "show", "9.999999", "--store", store, "--config", str(CONFIG)]) == 1


def test_stats_sync_lag_per_agency(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/hub.db"
    s = Store(url)
    s.migrate()
    now = utcnow()
    for i, agency in enumerate(["000.00.14.H20", "000.00.15.H20"]):
        s.accept(Message(id=f"m{i}", type="dossier.sync", source="demo", payload={}, subject=f"{agency}-231120-0001"),
                 "d", [], [])
        dossiers.record(s, [dossiers.Acknowledged(f"{agency}-231120-0001", agency, "1.000894", 2, now, f"m{i}", utcnow())])
    s.close()
    assert main(["stats", "sync-lag", "--store", url, "--config", str(CONFIG), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["agency_id"] for r in rows] == ["000.00.14.H20", "000.00.15.H20"] and all(r["syncs"] == 1 for r in rows)
    assert main(["stats", "sync-lag", "--store", url, "--config", str(CONFIG)]) == 0
    assert "000.00.15.H20" in capsys.readouterr().out
