"""A partner connector's connection pool holds as many connections as attempts may run at once (its concurrency).
Issue 10: at concurrency 128 the slow-partner bench opened and dropped a connection per attempt beyond a fixed pool
of 64, each with a "Connection pool is full" warning."""
from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from connectors.rest import RestConnector
from hub.config import load_config
from hub.runtime import HubRuntime


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive: a pooled connection is used again
    peers: set = set()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.peers.add(self.client_address)
        time.sleep(0.1)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_attempts_up_to_the_concurrency_reuse_pooled_connections(caplog):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connector = RestConnector("partner", {"url": f"http://127.0.0.1:{server.server_address[1]}/"}, context=None)
    connector.concurrency = 80
    connector.start()
    try:
        def burst() -> None:
            threads = [threading.Thread(target=connector.post_json, args=(connector.base_url, {"n": i}))
                       for i in range(80)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        with caplog.at_level(logging.WARNING, logger="urllib3"):
            burst()
            burst()   # the second burst finds the first one's 80 connections in the pool
        assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
        assert len(_Slow.peers) <= 82, len(_Slow.peers)     # 160 attempts, at most one connection per slot
    finally:
        connector.stop()
        server.shutdown()
        server.server_close()


def test_the_runtime_hands_each_connector_its_configured_concurrency(config_dir, tmp_path):
    config = load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"})
    assert {spec.concurrency for spec in config.connectors.values()} != {10}   # the sandbox sets its own
    runtime = HubRuntime(config)
    try:
        for name, spec in config.connectors.items():
            assert runtime.connectors[name].concurrency == spec.concurrency, name
    finally:
        runtime.store.close()
