"""The machine's limits and the peers, measured in the same run as the hub:
raw kombu publish-with-confirms and consume+ack, raw ``requests`` POSTs to the simulator, raw signxml signing of
the same edXML document the hub signs, the client calling the simulator directly (no hub), and Node-RED running
the pass-through flow (http in -> function -> http request -> http response)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench import load
from bench.procs import Group
from bench.stack import AMQP_BASE, ROOT, Simulators, free_port, service_up, wait_until

NODE_RED = ROOT / "bench" / ".node" / "node_modules" / "node-red" / "red.js"


class EchoUnits:
    """The body a client posts straight to the echo simulator (what the hub's echo connector posts)."""

    def __call__(self, sender: str, n: int) -> list[dict[str, Any]]:
        return [{"body": {"text": f"bench hồ sơ {n}", "seq": n}}]


def kombu_rates(seconds: float) -> dict[str, Any]:
    """Publish persistent messages to a durable queue, each publish waiting for its confirm; then consume+ack."""
    if not service_up(5672):
        return {"skipped": "RabbitMQ not running on 127.0.0.1:5672"}
    from kombu import Connection, Exchange, Queue
    vhost = f"hub_bench_raw_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True, timeout=60)
    try:
        exchange = Exchange("bench", type="direct", durable=True)
        queue = Queue("bench.raw", exchange, routing_key="raw", durable=True)
        body = json.dumps({"id": "x" * 36, "type": "demo.ping", "payload": {"text": "bench hồ sơ", "seq": 1}})
        with Connection(f"{AMQP_BASE}/{vhost}", transport_options={"confirm_publish": True}) as conn:
            producer = conn.Producer(serializer="json")
            queue(conn.default_channel).declare()
            n, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                producer.publish(body, exchange=exchange, routing_key="raw", delivery_mode=2, declare=[queue])
                n += 1
            published = n / (time.perf_counter() - started)
            got = {"n": 0}

            def on_message(_body: Any, message: Any) -> None:
                message.ack()
                got["n"] += 1
            with conn.Consumer(queue, callbacks=[on_message], prefetch_count=64):
                started = time.perf_counter()
                while got["n"] < n:
                    conn.drain_events(timeout=5)
                consumed = n / (time.perf_counter() - started)
        return {"publish_confirmed_per_s": round(published, 1), "consume_ack_per_s": round(consumed, 1), "n": n}
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


def signxml_rate(seconds: float) -> dict[str, Any]:
    """The edXML envelope the hub's `edxml` transform makes of the bench's document.send, signed as the route signs it."""
    from bench.signing import rate
    from hub import registry
    from hub.signing import xmldsig
    from hub.signing.keys import KeyRing
    from hub.signing.service import SigningService
    from lxml import etree
    registry.load_plugins(("transforms",))
    from transforms.edxml import build_document
    payload = json.loads((ROOT / "tests/fixtures/messages/document.send.json").read_text(encoding="utf-8"))
    doc = build_document(payload, dt.datetime.now(dt.timezone.utc))
    ring = KeyRing.from_config({"sandbox_pki": str(ROOT / "var" / "pki"), "keys": {"agency": {"sandbox": "agency"}},
                                "trust": {"agency": {"sandbox": "agency"}}})
    service = SigningService(ring)
    result = rate(lambda: service.sign_xml(doc, "agency", xmldsig.EDXML_SIGNATURE_PARENT), seconds)
    result["document_bytes"] = len(etree.tostring(doc))
    return result


def direct(sims: Simulators, seconds: float, concurrency: int, rate: float | None) -> load.LoadResult:
    return load.run(sims.url + "/echo/messages", EchoUnits(), seconds, concurrency, rate=rate, ok_status=200)


class NodeRed:
    """Node-RED (bench/.node, installed by `make bench`) with the pass-through flow, posting to the same simulator."""

    def __init__(self, workdir: Path, sim_url: str) -> None:
        self.workdir, self.sim_url, self.port = workdir / "node-red", sim_url, free_port()
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def installed() -> bool:
        return NODE_RED.is_file()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/messages"

    def start(self) -> "NodeRed":
        self.workdir.mkdir(parents=True, exist_ok=True)
        flow = [
            {"id": "tab", "type": "tab", "label": "pass-through"},
            {"id": "in", "type": "http in", "z": "tab", "url": "/messages", "method": "post", "wires": [["fn"]]},
            {"id": "fn", "type": "function", "z": "tab", "outputs": 1, "wires": [["out"]],
             "func": "msg.url = env.get('PARTNER_URL');\n"
                     "msg.headers = {'content-type': 'application/json'};\n"
                     "msg.payload = {body: msg.payload};\nreturn msg;"},
            {"id": "out", "type": "http request", "z": "tab", "method": "POST", "ret": "obj", "url": "",
             "wires": [["clean"]]},
            # the partner's response headers (length, encoding) must not leak into ours
            {"id": "clean", "type": "function", "z": "tab", "outputs": 1, "wires": [["res"]],
             "func": "msg.headers = {};\nreturn msg;"},
            {"id": "res", "type": "http response", "z": "tab", "statusCode": "", "headers": {}, "wires": []},
        ]
        (self.workdir / "flows.json").write_text(json.dumps(flow), encoding="utf-8")
        (self.workdir / "settings.js").write_text(
            "module.exports = {uiHost: '127.0.0.1', httpAdminRoot: false, flowFile: 'flows.json',\n"
            "  credentialSecret: false, logging: {console: {level: 'warn'}}};\n", encoding="utf-8")
        log = open(self.workdir / "node-red.log", "ab")
        self.proc = subprocess.Popen(
            ["node", str(NODE_RED), "--settings", str(self.workdir / "settings.js"), "--userDir", str(self.workdir),
             "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "PARTNER_URL": self.sim_url + "/echo/messages"})
        import requests
        if not wait_until(lambda: requests.post(self.url, json={"ping": 1}, timeout=2).status_code == 200, 60):
            raise RuntimeError(f"Node-RED did not start; see {self.workdir / 'node-red.log'}")
        return self

    def group(self) -> Group:
        assert self.proc is not None
        return Group("node-red", root=self.proc.pid)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
