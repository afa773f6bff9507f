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
    assert headers["User-Agent"] == "lgsp-hub"
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


class _Counting(_Partner):
    """The partner of the tests above, counting the TCP connections it was given."""
    connections: list = []

    def setup(self) -> None:
        super().setup()
        _Counting.connections.append(self.client_address)


@pytest.fixture()
def counting():  # noqa: ANN201
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Partner.seen, _Counting.connections = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def test_posts_reuse_one_kept_alive_connection(counting) -> None:
    url, _ = counting
    with _connector(url) as connector:
        for i in range(5):
            assert connector.post_json(url + "/in", {"n": i}).json()["echo"] == {"n": i}
    assert len(_Counting.connections) == 1
    assert [json.loads(s[3])["n"] for s in _Partner.seen] == [0, 1, 2, 3, 4]


def test_a_connection_the_partner_closed_while_idle_is_never_posted_on(counting) -> None:
    url, _ = counting
    with _connector(url) as connector:
        connector.post_json(url + "/in", {"n": 1})
        pooled = connector.pool._idle  # noqa: SLF001 - the one kept-alive connection
        (conn,) = [c for conns in pooled.values() for c in conns]
        conn.sock.shutdown(socket.SHUT_RD)   # what the partner's close looks like from here: readable, at EOF
        assert connector.post_json(url + "/in", {"n": 2}).json()["echo"] == {"n": 2}
    assert [json.loads(s[3])["n"] for s in _Partner.seen] == [1, 2], "each POST reached the partner once"
    assert len(_Counting.connections) == 2


def test_beyond_the_pool_a_connection_serves_one_call_and_is_closed(counting) -> None:
    url, _ = counting
    with _connector(url) as connector:
        pool = connector.pool
        conns = [pool._open(("http", "127.0.0.1", int(url.rsplit(":", 1)[1])), 3) for _ in range(pool._size + 2)]  # noqa: SLF001
        for conn in conns:
            pool._give_back(("http", "127.0.0.1", int(url.rsplit(":", 1)[1])), conn)  # noqa: SLF001
        kept = [c for cs in pool._idle.values() for c in cs]  # noqa: SLF001
        assert len(kept) == pool._size  # noqa: SLF001
        assert all(c.sock is None for c in conns if c not in kept), "the surplus was closed"


def test_a_partner_whose_certificate_is_not_trusted_is_refused_before_anything_is_sent(tmp_path) -> None:
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Partner)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Partner.seen = []
    url = f"https://localhost:{server.server_address[1]}"
    try:
        with _connector(url) as connector, pytest.raises(TransientError) as refused:
            connector.post_json(url + "/in", {"n": 1})
    finally:
        server.shutdown()
        server.server_close()
    assert refused.value.code == errors.DLV_NETWORK and "TLS" in refused.value.detail
    assert _Partner.seen == [], "nothing reached a partner that could not prove who it is"


def test_a_compressed_answer_reads_as_its_json() -> None:
    import gzip

    from connectors.lean_post import as_response

    class _Raw:
        status, reason, will_close = 200, "OK", False

        @staticmethod
        def getheaders() -> list[tuple[str, str]]:
            return [("Content-Type", "application/json"), ("Content-Encoding", "gzip"), ("Via", "a"), ("Via", "b")]

    response = as_response("http://p/x", _Raw(), gzip.compress(b'{"ok": true}'))  # type: ignore[arg-type]
    assert response.json() == {"ok": True} and response.headers["via"] == "a, b"
