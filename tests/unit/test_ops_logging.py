"""JSON log lines carry the message and correlation ids and mask personal data; the monitoring files name only
metrics the hub exports."""
from __future__ import annotations

import io
import json
import logging
import re

import yaml

from hub import metrics
from hub.logging import configure, mask, message_context
from tests.conftest import ROOT


def test_json_lines_with_ids_and_masking():
    stream = io.StringIO()
    handler = configure("INFO", stream)
    try:
        with message_context("m-42", "corr-7"):
            logging.getLogger("hub.test").warning("citizen 001203004567 phone 0912345678 refused",
                                                  extra={"detail": "call +84 912 345 678"})
        try:
            raise ValueError("bad id 001203004567")
        except ValueError:
            logging.getLogger("hub.test").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message_id"] == "m-42" and first["correlation_id"] == "corr-7" and first["level"] == "warning"
    assert "001203004567" not in first["msg"] and "0912345678" not in first["msg"]
    assert first["msg"] == "citizen 001******567 phone *******678 refused"
    assert "912 345 678" not in first["detail"]
    assert "message_id" not in second and "001203004567" not in second["error"]


def test_mask_leaves_other_numbers_alone():
    assert mask("order 12345 at 2026-11-23") == "order 12345 at 2026-11-23"


def test_monitoring_files_use_exported_metrics():
    rules = yaml.safe_load((ROOT / "config/monitoring/alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((ROOT / "config/monitoring/grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exported = {"hub_messages_total", "hub_delivery_attempts_total", "hub_delivery_attempt_seconds_bucket",
                "hub_dead_letters_total", "hub_dead_letters_waiting", "hub_deliveries", "hub_circuit_state",
                "hub_certificate_days_left", "hub_store_up", "hub_dossier_sync_lag_seconds_bucket", "hub_service_restarts_total", "up"}
    assert {m.group(0) for e in exprs for m in re.finditer(r"\b(hub_[a-z_]+|up)\b(?=[{\[ )]|$)", e)} <= exported
    import connectors.dvcqg  # noqa: F401 - registers the sync-lag histogram where dvcqg deliveries run
    assert b"hub_dossier_sync_lag_seconds" in metrics.exposition()
    assert b"hub_service_restarts_total" in metrics.exposition()
    # the scrape example's job is the one the alert on `up` watches, for gateways and workers alike
    scrape = yaml.safe_load((ROOT / "config/monitoring/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert 'up{job="lgsp-hub"}' in " ".join(exprs) and "lgsp-hub" in jobs
    assert {c["labels"]["role"] for c in jobs["lgsp-hub"]["static_configs"]} == {"gateway", "worker"}
    metrics.record_message("demo.ping", "accepted")
    assert b"hub_messages_total" in metrics.exposition()


def test_landlines_are_masked_like_mobiles():
    """A citizen may give a home landline (0 + area code + number, 11 digits): masked as a mobile is."""
    assert mask("gọi 02773852222 hoặc 0277 385 2222") == "gọi ********222 hoặc **********222"
    assert mask("0912345678") == "*******678"
    assert mask("20261202045600") == "20261202045600", "a 14-digit timestamp is not a phone number"
