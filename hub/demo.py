"""``python run.py demo``: a handful of realistic messages through the running hub, and where each went."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import requests

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "messages"


def _messages() -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    msgs = [
        {"id": f"demo-{run}-1", "type": "demo.ping", "payload": {"text": "Xin chào từ Một cửa điện tử", "seq": 1}},
        {"id": f"demo-{run}-2", "type": "demo.ping",
         "payload": {"text": "notify: hồ sơ 000.00.14.H20-231120-0001 đã được tiếp nhận", "seq": 2}},
    ]
    # every other sandbox type whose example payload has a route today (partners arrive with their issues)
    for path in sorted(FIXTURES.glob("*.json")):
        if path.stem not in ("demo.ping", "demo.echo"):
            msgs.append({"id": f"demo-{run}-{path.stem}", "type": path.stem, "payload": json.loads(path.read_text())})
    return msgs


def run_demo(url: str, token: str) -> int:
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    try:
        session.get(f"{url}/healthz", timeout=3)
    except requests.RequestException:
        print(f"the hub is not answering at {url}: start it with `make run` first")
        return 1
    sent: list[str] = []
    unrouted: list[str] = []
    for msg in _messages():
        r = session.post(f"{url}/v1/messages", json=msg, timeout=10)
        body = r.json()
        if r.status_code == 202:
            sent.append(msg["id"])
            print(f"sent     {msg['type']:<20} {msg['id']}")
        elif body.get("code") == "message.no_route":
            unrouted.append(msg["type"])
        else:
            print(f"refused  {msg['type']:<20} {body.get('code')}: {body.get('detail')}")
    if unrouted:
        print(f"not routed in this configuration (their partner connectors are not configured): {', '.join(unrouted)}")
    call = session.post(f"{url}/v1/calls", json={"type": "demo.echo", "payload": {"text": "Bạn có nghe không?"}},
                        timeout=30).json()
    print(f"call     demo.echo            -> {call.get('status')}: {json.dumps(call.get('reply'), ensure_ascii=False)}")
    deadline = time.monotonic() + 15
    views: dict[str, dict] = {}
    while time.monotonic() < deadline:
        views = {i: session.get(f"{url}/v1/messages/{i}", timeout=5).json() for i in sent}
        if all(v["state"] != "in_progress" for v in views.values()):
            break
        time.sleep(0.3)
    print()
    for mid, view in views.items():
        where = ", ".join(f"{d['route']} -> {d['connector']} ({d['state']}, {d['attempts']} attempt(s))"
                          for d in view["deliveries"])
        print(f"{view['type']:<20} {view['state']:<20} {where}")
    print(f"\ntrace any of them: python run.py trace {sent[0] if sent else '<id>'}")
    return 0
