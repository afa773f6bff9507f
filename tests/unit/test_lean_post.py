"""Partner POSTs go straight through urllib3 (connectors/lean_post.py): the connectors still read a requests
Response, errors map as before, and a redirect is refused with its Location, never followed (a POST redirected by
301/302 would reach the partner as a GET)."""
from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.rest import RestConnector
from hub import errors
from hub.errors import PermanentError, TransientError


class _Partner(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list = []

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append((self.command, self.path, dict(self.headers), body))
        if self.path == "/moved":
            self._answer(302, b"", {"Location": "https://partner.example/new"})
        elif self.path == "/slow":
            time.sleep(1.0)
            self._answer(200, b"{}", {"Content-Type": "application/json"})
        else:
            answer = json.dumps({"nhan": "Đã tiếp nhận", "echo": json.loads(body)}, ensure_ascii=False).encode()
            self._answer(200, answer, {"Content-Type": "application/json; charset=utf-8", "X-Ref": "r-1"})

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(("GET", self.path, dict(self.headers), b""))
        self._answer(200, b"{}", {"Content-Type": "application/json"})

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture()
def partner():  # noqa: ANN201
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Partner)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Partner.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def _connector(url: str, **options):  # noqa: ANN003, ANN202
    connector = RestConnector("partner", {"url": url, **options}, context=None)
    connector.concurrency = 4
    connector.start()
    try:
        yield connector
    finally:
        connector.stop()


def test_a_post_answers_a_requests_response_the_connectors_can_read(partner) -> None:
    with _connector(partner) as connector:
        response = connector.post_json(partner + "/in?docId=A%201", {"ten": "Nguyễn Văn Ả"}, {"Idempotency-Key": "m-1/r"})
    assert response.status_code == 200 and response.headers["x-ref"] == "r-1"
    assert response.json() == {"nhan": "Đã tiếp nhận", "echo": {"ten": "Nguyễn Văn Ả"}}
    assert "Đã tiếp nhận" in response.text
    method, path, headers, body = _Partner.seen[0]
    assert (method, path) == ("POST", "/in?docId=A%201")
    assert headers["Idempotency-Key"] == "m-1/r" and headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {"ten": "Nguyễn Văn Ả"}


def test_a_redirect_is_refused_with_its_location_and_not_followed(partner) -> None:
    with _connector(partner) as connector, pytest.raises(PermanentError) as raised:
        connector.post_json(partner + "/moved", {"n": 1})
    assert raised.value.code == errors.DLV_REDIRECTED
    assert "HTTP 302 to https://partner.example/new" in raised.value.detail
    assert [s[0] for s in _Partner.seen] == ["POST"], "the redirect was not followed (no GET to the new address)"


def test_a_slow_answer_is_a_timeout_and_a_closed_port_a_network_error(partner) -> None:
    with _connector(partner, read_timeout=0.2) as connector, pytest.raises(TransientError) as slow:
        connector.post_json(partner + "/slow", {"n": 1})
    assert slow.value.code == errors.DLV_TIMEOUT
    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with _connector(closed) as connector, pytest.raises(TransientError) as down:
        connector.post_json(closed + "/in", {"n": 1})
    assert down.value.code == errors.DLV_NETWORK
