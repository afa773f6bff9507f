"""Client systems on the bus (issue 3 item 8), on the real RabbitMQ: a plain-AMQP client (kombu, no nameko) and a
nameko RPC client submit with the same authentication, validation, idempotency and codes as HTTP, and take their
inbound events from their own durable queue; wrong credentials are refused."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection

from tests.conftest import ROOT, require_service
from tests.faults.cluster import Cluster

pytestmark = pytest.mark.amqp
EXAMPLE = str(ROOT / "examples" / "amqp_client.py")


@pytest.fixture
def cluster(tmp_path, pg_url):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    c = Cluster(tmp_path, pg_url).setup()
    c.start(workers=1)
    yield c
    c.stop()


def example(cluster: Cluster, *args: str, token: str = "sandbox-demo-token") -> tuple[int, list[dict]]:
    out = subprocess.run([sys.executable, EXAMPLE, "--amqp", cluster.amqp, "--token", token, *args],
                         capture_output=True, text=True, timeout=90)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_plain_amqp_client_submits_calls_and_receives_its_events(cluster):
    mid = f"amqp-{uuid.uuid4().hex[:8]}"
    envelope = {"id": mid, "type": "demo.ping", "payload": {"text": "queue: hồ sơ đã tiếp nhận"}}
    code, [answer] = example(cluster, "submit", json.dumps(envelope))
    assert code == 0 and answer == {"status_code": 202, "id": mid, "status": "accepted"}
    code, [again] = example(cluster, "submit", json.dumps(envelope))          # idempotent, as over HTTP
    assert again == answer
    code, [conflict] = example(cluster, "submit", json.dumps({**envelope, "payload": {"text": "queue: khác"}}))
    assert code == 1 and conflict["status_code"] == 422 and conflict["code"] == "message.id_reused"

    code, [called] = example(cluster, "call", json.dumps({"type": "demo.echo", "payload": {"text": "Bạn có nghe không?"}}))
    assert called["status_code"] == 200 and called["reply"] == {"text": "Bạn có nghe không?"}

    code, [event] = example(cluster, "events", "--client", "demo", "--count", "1")
    assert event["id"] == mid and event["payload"] == {"text": "queue: hồ sơ đã tiếp nhận"}
    with cluster.engine.connect() as conn:
        source = conn.exec_driver_sql("SELECT source FROM messages WHERE id = %s", (mid,)).scalar()
    assert source == "demo"


def test_bus_clients_get_the_same_error_codes(cluster):
    bad = {"type": "demo.ping", "payload": {"text": 42}}
    code, [wrong_token] = example(cluster, "submit", json.dumps(bad), token="not-a-token")
    assert wrong_token["status_code"] == 401 and wrong_token["code"] == "auth.invalid_token"
    code, [invalid] = example(cluster, "submit", json.dumps(bad))
    assert invalid["status_code"] == 422 and invalid["code"] == "message.payload_invalid"
    code, [no_token] = example(cluster, "submit", json.dumps(bad), token="")
    assert no_token["code"] == "auth.missing_token"


def test_headers_cannot_impersonate_another_client(cluster):
    """Only the token says who the client is: a `source` or `x-client` header is ignored."""
    from kombu import Exchange, Producer
    mid = f"spoof-{uuid.uuid4().hex[:8]}"
    with Connection(cluster.amqp, transport_options={"confirm_publish": True}) as conn:  # confirmed: not lost on close
        Producer(conn.channel()).publish(
            json.dumps({"id": mid, "type": "demo.ping", "payload": {"text": "xin chào"}}),
            exchange=Exchange("hub.submit", type="direct", durable=True), routing_key="submit",
            content_type="application/json",
            headers={"authorization": "Bearer sandbox-demo-token", "source": "registry-office", "x-client": "dvcqg"})
    from tests.harness import wait_until
    source = wait_until(lambda: _source(cluster, mid), timeout=30)
    assert source == "demo"


def _source(cluster: Cluster, mid: str) -> str | None:
    with cluster.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT source FROM messages WHERE id = %s", (mid,)).scalar()


def test_wrong_broker_credentials_are_refused(cluster):
    with pytest.raises(AccessRefused):
        with Connection(cluster.amqp.replace("guest:guest", "guest:wrong"), connect_timeout=5) as conn:
            conn.connect()


def test_nameko_rpc_client(cluster):
    script = (
        "import eventlet; eventlet.monkey_patch()\n"
        "import json, sys\n"
        "from nameko.standalone.rpc import ClusterRpcProxy\n"
        f"with ClusterRpcProxy({{'AMQP_URI': {cluster.amqp!r}}}, timeout=30) as rpc:\n"
        "    ok = rpc.lgsp_hub.submit('sandbox-demo-token', {'id': sys.argv[1], 'type': 'demo.ping', 'payload': {'text': 'rpc'}})\n"
        "    bad = rpc.lgsp_hub.submit('wrong', {'type': 'demo.ping', 'payload': {'text': 'rpc'}})\n"
        "    call = rpc.lgsp_hub.call('sandbox-demo-token', {'type': 'demo.echo', 'payload': {'text': 'rpc'}})\n"
        "print(json.dumps([ok, bad, call]))\n")
    mid = f"rpc-{uuid.uuid4().hex[:8]}"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", script, mid], capture_output=True, text=True,
                         timeout=90, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    ok, bad, call = json.loads(out.stdout.strip().splitlines()[-1])
    assert ok == {"status": 202, "body": {"id": mid, "status": "accepted"}}
    assert bad["status"] == 401 and bad["body"]["code"] == "auth.invalid_token"
    assert call["status"] == 200 and call["body"]["reply"] == {"text": "rpc"}


def test_a_client_cannot_direct_answers_into_the_hubs_queues(cluster):
    """reply_to naming one of the hub's own queues is ignored: the request is processed, no answer is injected."""
    from kombu import Exchange, Producer

    from tests.harness import wait_until
    mid = f"replyto-{uuid.uuid4().hex[:8]}"
    with Connection(cluster.amqp, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(
            json.dumps({"id": mid, "type": "demo.ping", "payload": {"text": "xin chào"}}),
            exchange=Exchange("hub.submit", type="direct", durable=True), routing_key="submit",
            content_type="application/json", headers={"authorization": "Bearer sandbox-demo-token"},
            reply_to="hub.deliver.echo", correlation_id="x")
    assert wait_until(lambda: _source(cluster, mid), timeout=30) == "demo"
    assert wait_until(lambda: cluster.echo_keys().get(f"{mid}/demo-ping-to-echo"), timeout=30) == 1
    time.sleep(1)
    assert "without a delivery id" not in cluster.log("worker0"), "an answer was pushed into a delivery queue"
    assert "reply queue it may not use" in cluster.log("gateway")
